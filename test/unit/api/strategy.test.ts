import { readFileSync } from "node:fs";
import Ajv from "ajv/dist/2020.js";
import { describe, expect, it } from "vitest";
import { parseStrategyFile, StrategyFileError } from "../../../src/api/index.ts";
import { loadStrategyFile } from "../../../src/config/index.ts";

const shippedText = readFileSync("rollout/rollout-strategy.json", "utf8");

function problemsIn(text: string): { path: string; message: string }[] {
  try {
    parseStrategyFile(text);
  } catch (error) {
    if (error instanceof StrategyFileError) return error.issues;
    throw error;
  }
  return [];
}

describe("rollout/rollout-strategy.json", () => {
  it("holds the presets of the product design", async () => {
    const file = await loadStrategyFile("rollout/rollout-strategy.json");
    const weights = (name: string) => file.presets[name]?.stages.map((s) => s.weight);
    expect(weights("standard")).toEqual([1, 10, 50, 100]);
    expect(weights("expedited")).toEqual([1, 100]);
    expect(weights("emergency")).toEqual([1, 100]);
    expect(file.presets.emergency?.stages[0]?.hold).toBe("5m");
    expect(file.presets.emergency).toMatchObject({
      requiresRollbackPlan: true,
      mayPassFreeze: true,
      postMortemDue: true,
    });
    expect(file.defaults.bake).toBe("30m");
    expect(file.defaults.metrics[0]).toMatchObject({ template: "http-error-ratio", max: 0.05 });
  });

  it("passes its generated JSON Schema, as editors will check it", () => {
    const schema = JSON.parse(readFileSync("rollout/rollout-strategy.schema.json", "utf8"));
    const validate = new Ajv.default({ strict: false }).compile(schema);
    expect(validate(JSON.parse(shippedText)), JSON.stringify(validate.errors)).toBe(true);
  });

  it("reports every problem of a broken file with its JSON path", () => {
    const broken = JSON.parse(shippedText);
    broken.defaults.bake = "half an hour";
    broken.presets.standard.stages[2].weight = 5;
    broken.presets.expedited.stages[1].weight = 90;
    broken.defaults.metrics[0].max = "five percent";
    delete broken.presets.emergency;
    expect(problemsIn(JSON.stringify(broken))).toEqual([
      { path: "$.defaults.bake", message: 'must be a duration such as "30s", "5m" or "1h30m"' },
      { path: "$.defaults.metrics[0].max", message: "Invalid input: expected number, received string" },
      {
        path: "$.presets.standard.stages[2].weight",
        message: "stage weights must increase strictly: 5 follows 10",
      },
      {
        path: "$.presets.expedited.stages[1].weight",
        message: "the last stage must send 100% of traffic to the new version, not 90%",
      },
      { path: "$.presets.emergency", message: 'a preset for the change type "emergency" is required' },
    ]);
  });

  it("says so when the file is not JSON at all", () => {
    const problems = problemsIn("{ presets: ");
    expect(problems).toHaveLength(1);
    expect(problems[0]?.path).toBe("$");
    expect(problems[0]?.message).toMatch(/^not valid JSON: /);
  });

  it("names the file in the error", () => {
    expect(() => parseStrategyFile("{}", "/etc/glidepath/strategy.json")).toThrow(
      /^\/etc\/glidepath\/strategy.json is not a valid rollout strategy file:\n {2}\$.defaults: /,
    );
  });
});
