import { describe, expect, it } from "vitest";
import { releaseCrd, validateRelease, type StrategyFile } from "../../../src/api/index.ts";
import { loadStrategyFile } from "../../../src/config/index.ts";
import { exampleRelease } from "../../fixtures/releases.ts";

// Asking for blue/green (issue 17 item 1): spec.blueGreen, its cross-field rules in zod with
// their CEL twins in the CRD, and the messages a person reads when a Release is refused.

const strategy: StrategyFile = await loadStrategyFile("rollout/rollout-strategy.json");

/** The example Release as blue/green: no preset or stages of its own. */
function aBlueGreenSpec(blueGreen: Record<string, unknown> = {}) {
  const release = exampleRelease();
  delete release.spec.strategy;
  delete release.spec.stages;
  (release.spec as Record<string, unknown>).blueGreen = blueGreen;
  return release;
}

function issuesOf(release: unknown) {
  const result = validateRelease(release, strategy);
  expect(result.ok).toBe(false);
  return result.ok ? [] : result.issues;
}

describe("spec.blueGreen", () => {
  it("resolves to a preview, a switch and a promotion with the defaults", () => {
    const result = validateRelease(aBlueGreenSpec(), strategy);
    expect(result.ok, JSON.stringify(result)).toBe(true);
    if (!result.ok) return;
    expect(result.plan.stages.map((stage) => [stage.name, stage.weight, stage.hold])).toEqual([
      ["preview", 0, "1m"],
      ["switch", 100, "30s"],
      ["promote", 100, "0s"],
    ]);
    expect(result.plan.blueGreen).toEqual({ previewMs: 60_000, scaleDownDelayMs: 30_000 });
  });

  it("refuses stages or a preset beside it, at their paths", () => {
    const release = aBlueGreenSpec();
    release.spec.strategy = "standard";
    release.spec.stages = [{ name: "ga", weight: 100, hold: "0s" }];
    const issues = issuesOf(release);
    for (const path of ["$.spec.strategy", "$.spec.stages"]) {
      expect(issues).toContainEqual({
        path,
        message:
          "a blue/green release has its own plan (preview, switch, promote): set blueGreen or strategy/stages, not both",
      });
    }
  });

  it("refuses the replica split, saying why it cannot preview or switch at once", () => {
    const release = aBlueGreenSpec();
    release.spec.traffic = { replicas: {} };
    const issue = issuesOf(release).find((candidate) => candidate.path === "$.spec.traffic.replicas");
    expect(issue?.message).toMatch(/^blue\/green needs a router with a preview Service/);
    expect(issue?.message).toContain("never 100% at once");
  });

  it("refuses a metric compared with the baseline: the preview has no share for a baseline to match", () => {
    const release = aBlueGreenSpec();
    release.spec.analysis = {
      interval: "30s",
      metrics: [{ name: "errors", template: "http-error-ratio", max: 0.05, compare: { baseline: {} } }],
    } as never;
    expect(issuesOf(release)).toContainEqual({
      path: "$.spec.analysis.metrics[0].compare",
      message:
        "a blue/green preview has no traffic share for a baseline to match: a metric with compare needs weighted stages",
    });
  });

  it("refuses durations past the limits, naming the field", () => {
    const issues = issuesOf(aBlueGreenSpec({ preview: "1000h", scaleDownDelay: "soon" }));
    expect(issues.map((issue) => issue.path)).toEqual(
      expect.arrayContaining(["$.spec.blueGreen.preview", "$.spec.blueGreen.scaleDownDelay"]),
    );
    expect(issues.find((issue) => issue.path === "$.spec.blueGreen.preview")?.message).toContain(
      "preview must be at most 720h",
    );
  });

  it("carries each cross-field rule's CEL twin in the CRD", () => {
    const text = JSON.stringify(releaseCrd());
    for (const rule of [
      "!has(self.blueGreen) || (!has(self.strategy) && !has(self.stages))",
      "!has(self.blueGreen) || !has(self.traffic.replicas)",
      "!has(self.blueGreen) || !has(self.analysis) || !has(self.analysis.metrics) || self.analysis.metrics.all(m, !has(m.compare))",
    ]) {
      expect(text).toContain(JSON.stringify(rule).slice(1, -1));
    }
  });
});
