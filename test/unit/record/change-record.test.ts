import { describe, expect, it } from "vitest";
import type { changeRecord } from "../../../src/record/change-record.ts";
import { renderChangeRecord } from "../../../src/record/change-record.ts";
import { aRelease, planFor } from "../engine/builders.ts";
import { runUntil, simulate, type Simulation } from "../engine/cluster.ts";

// The change record is read by people (Markdown) and by scripts (JSON/YAML): people get
// values in the metric's unit, scripts the exact value Prometheus returned.

const isTerminal = (sim: Simulation) =>
  ["Succeeded", "RolledBack", "Failed"].includes(sim.release.status?.phase ?? "");

function rolledBackOnErrorRate(): Simulation {
  const release = aRelease();
  return runUntil(simulate(release, planFor(release)), isTerminal, { verdictFor: () => "fail" });
}

describe("the change record of a release rolled back on its error ratio", () => {
  it("shows the ratio as a percentage against the threshold in the same unit", () => {
    const { release } = rolledBackOnErrorRate();
    expect(release.status?.rollback?.value).toBe("0.2");
    const markdown = renderChangeRecord(release, "md");
    expect(markdown).toContain("| error-rate | 0 | 1 | 0 | 0 | 20% |");
    expect(markdown).toContain("- metric: error-rate = 20% (max 5%)");
    expect(markdown).toMatch(/error-rate \*\*fail\*\* 20% — /);
  });

  it("keeps the exact value in JSON and YAML", () => {
    const { release } = rolledBackOnErrorRate();
    const json = JSON.parse(renderChangeRecord(release, "json")) as ReturnType<typeof changeRecord>;
    expect(json.rollback).toMatchObject({ metric: "error-rate", value: "0.2", unit: "ratio" });
    expect(json.stages[0]?.tallies[0]).toMatchObject({
      metric: "error-rate",
      lastValue: "0.2",
      unit: "ratio",
    });
    expect(renderChangeRecord(release, "yaml")).toContain('lastValue: "0.2"');
  });
});
