import { describe, expect, it } from "vitest";
import { releaseStatusSchema } from "../../../src/api/index.ts";
import { changeRecord, renderChangeRecord } from "../../../src/record/change-record.ts";
import { aSucceededRelease } from "../cli/fixtures.ts";
import { aRelease, iso, MINUTE, planFor, T0 } from "../engine/builders.ts";
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

describe("the change record's approvals", () => {
  const release = aRelease(
    { changeRequest: { requiresApproval: true } },
    releaseStatusSchema.parse({
      phase: "Succeeded",
      approvals: [
        { by: "mallory", at: iso(T0), verified: false, problem: "not stamped by the admission webhook" },
        {
          by: "carol",
          at: iso(T0 + MINUTE),
          comment: "CAB ok",
          verified: true,
          groups: ["release-managers"],
        },
      ],
    }),
  );

  it("says in Markdown who was verified, with groups, and why another was not", () => {
    const markdown = renderChangeRecord(release, "md");
    expect(markdown).toContain(
      `- mallory at ${iso(T0)} (unverified: not stamped by the admission webhook; it counts for no gate)`,
    );
    expect(markdown).toContain(`- carol at ${iso(T0 + MINUTE)}: CAB ok (verified; groups release-managers)`);
  });

  it("keeps verified, groups and problem in JSON", () => {
    expect(changeRecord(release).approvals).toEqual([
      expect.objectContaining({ by: "mallory", verified: false }),
      expect.objectContaining({ by: "carol", verified: true, groups: ["release-managers"] }),
    ]);
  });
});

describe("the change record in Markdown", () => {
  it("leaves out sections the change request left empty, and names them once", () => {
    // The fixture states why and a rollback plan; no scope, success criteria or testing.
    const text = renderChangeRecord(aSucceededRelease("2.4.0", "2.3.1", T0));
    expect(text).not.toContain("## Scope");
    expect(text).not.toContain("## Success criteria");
    expect(text).not.toContain("## Testing");
    expect(text).toContain("## Rollback plan\n\nRevert\n");
    expect(text.match(/not stated/gi)).toHaveLength(1);
    expect(text).toContain(
      "Not stated in the change request: scope; success criteria; unit, integration, manual testing.",
    );
  });

  it("shows what was stated, and only the testing left unsaid in the note", () => {
    const release = aSucceededRelease("2.4.0", "2.3.1", T0, {
      spec: {
        changeRequest: {
          scope: "checkout service",
          successCriteria: ["error ratio under 1%"],
          testing: { unit: true, manual: false },
        },
      },
    });
    const text = renderChangeRecord(release);
    expect(text).toContain("## Scope\n\ncheckout service\n");
    expect(text).toContain("## Success criteria\n\n- error ratio under 1%\n");
    expect(text).toContain("## Testing\n\n- unit: yes\n- manual: no\n");
    expect(text).toContain("Not stated in the change request: integration testing.");
  });

  it("says the release was rolled back later, by which Release, when and why", () => {
    const later = {
      release: "checkout-rollback-2-3-1-x",
      restores: "2.3.1",
      phase: "Succeeded",
      requestedBy: "dave",
      why: "p99 doubled",
      at: iso(T0 + 60 * MINUTE),
      finishedAt: iso(T0 + 61 * MINUTE),
    };
    const release = aSucceededRelease("2.4.0", "2.3.1", T0);
    const text = renderChangeRecord(release, "md", [later]);
    expect(text).toContain(
      "| Rolled back later | by release checkout-rollback-2-3-1-x to 2.3.1 (Succeeded) |",
    );
    expect(text).toContain(
      [
        "## Rolled back later",
        "",
        "- by release: checkout-rollback-2-3-1-x (Succeeded)",
        "- restores: 2.3.1",
        "- requested by: dave",
        "- why: p99 doubled",
        `- at: ${iso(T0 + 60 * MINUTE)}`,
        `- completed: ${iso(T0 + 61 * MINUTE)}`,
      ].join("\n"),
    );
    expect(changeRecord(release, [later]).rolledBackLater).toEqual([later]);
    expect(changeRecord(release)).not.toHaveProperty("rolledBackLater");
  });
});
