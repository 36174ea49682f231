import { describe, expect, it } from "vitest";
import type { DoraFigures } from "../../../src/record/dora.ts";
import { renderDoraJson, renderDoraTable } from "../../../src/cli/dora-view.ts";

const MINUTE = 60_000;

function figures(overrides: Partial<DoraFigures> = {}): DoraFigures {
  return {
    window: { from: "2026-11-06T00:00:00.000Z", to: "2026-12-06T00:00:00.000Z", days: 30 },
    finished: 10,
    succeeded: 8,
    rolledBack: 2,
    failed: 0,
    deploymentFrequency: { deployments: 8, perDay: 8 / 30 },
    leadTime: { count: 6, missing: 2, medianMs: 270 * MINUTE },
    changeFailureRate: { ratio: 0.2, failures: 2, finished: 10 },
    timeToRestore: {
      toStable: { count: 2, medianMs: 2 * MINUTE },
      toNextSuccess: { count: 1, medianMs: 730 * MINUTE },
      notYetRestored: 1,
    },
    ...overrides,
  };
}

describe("glidepath dora", () => {
  it("prints one row per target with medians, counts, and what is missing", () => {
    const text = renderDoraTable([{ group: "shop/checkout", figures: figures() }], "target", "30d");
    expect(text.split("\n")).toEqual([
      "DORA figures over the last 30d (2026-11-06T00:00:00.000Z to 2026-12-06T00:00:00.000Z)",
      "",
      "TARGET          DEPLOYS   PER DAY   LEAD TIME     CHANGE FAILURE RATE   RESTORE TO STABLE   TO NEXT SUCCESS",
      "shop/checkout   8         0.27      4h30m (6/8)   20% (2/10)            2m                  12h (1 not yet)",
      "",
      "Times are medians. Lead time runs from changeRequest.committedAt to the end of a succeeded release;",
      "restore times from the moment Glidepath acted on the breach or alert.",
      "2 succeeded releases carried no changeRequest.committedAt, so their lead time is unknown: set it from CI.",
      "",
    ]);
  });

  it("says so when nothing finished, and shows a dash rather than 0% for a group with no releases", () => {
    expect(renderDoraTable([], "namespace", "7d")).toBe("no finished releases recorded in the last 7d\n");
    const empty = figures({
      finished: 0,
      succeeded: 0,
      rolledBack: 0,
      deploymentFrequency: { deployments: 0, perDay: 0 },
      leadTime: { count: 0, missing: 0 },
      changeFailureRate: { failures: 0, finished: 0 },
      timeToRestore: { toStable: { count: 0 }, toNextSuccess: { count: 0 }, notYetRestored: 0 },
    });
    const row = renderDoraTable([{ group: "", figures: empty }], "cluster", "30d").split("\n")[3];
    expect(row).toMatch(/^cluster\s+0\s+0\s+-\s+-\s+-\s+-$/);
  });

  it("gives the figures whole as JSON", () => {
    const rows = [{ group: "shop", figures: figures() }];
    expect(JSON.parse(renderDoraJson(rows, "namespace"))).toEqual({ groupedBy: "namespace", groups: rows });
  });
});
