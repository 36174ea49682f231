import { describe, expect, it } from "vitest";
import type { ReleaseRecord } from "../../../src/api/index.ts";
import { doraByGroup, doraFigures } from "../../../src/record/dora.ts";
import { releaseRecordOf } from "../../../src/record/release-record.ts";
import { aRelease, iso, MINUTE, T0 } from "../cli/fixtures.ts";

const DAY = 24 * 60 * MINUTE;
const WINDOW = 30 * DAY;

interface Finished {
  day: number;
  outcome: "Succeeded" | "RolledBack" | "Failed";
  target?: string;
  namespace?: string;
  /** Minutes before finishing that the change was committed. */
  committedBefore?: number;
  /** Minutes from the rollback trigger to 100% stable. */
  restoredIn?: number;
}

let serial = 0;
function finished(options: Finished): ReleaseRecord {
  serial += 1;
  const end = T0 + options.day * DAY;
  const triggeredAt = end - 10 * MINUTE;
  const version = `1.${serial}.0`;
  const release = aRelease({
    version,
    name: `${options.target ?? "checkout"}-${serial}`,
    ...(options.target ? { target: options.target } : {}),
    ...(options.namespace ? { namespace: options.namespace } : {}),
    spec:
      options.committedBefore === undefined
        ? {}
        : { changeRequest: { committedAt: iso(end - options.committedBefore * MINUTE) } },
    status: {
      phase: options.outcome,
      startedAt: iso(end - 60 * MINUTE),
      finishedAt: iso(end),
      ...(options.outcome === "Succeeded"
        ? {}
        : {
            rollback: {
              trigger: "metric",
              reason: "error-rate over its threshold",
              at: iso(triggeredAt),
              ...(options.restoredIn === undefined
                ? {}
                : { completedAt: iso(triggeredAt + options.restoredIn * MINUTE) }),
            },
          }),
    },
  });
  const record = releaseRecordOf(release);
  if (!record) throw new Error("not finished");
  return record;
}

describe("DORA figures", () => {
  it("10 releases in the window, 2 rolled back: change failure rate 20%, 8 deployments", () => {
    const records = [
      ...[1, 2, 3, 4, 5, 6, 7, 8].map((day) =>
        finished({ day, outcome: "Succeeded", committedBefore: day * 60 }),
      ),
      finished({ day: 2.5, outcome: "RolledBack", restoredIn: 1 }),
      finished({ day: 6.5, outcome: "RolledBack", restoredIn: 3 }),
    ];
    const figures = doraFigures(records, WINDOW, new Date(T0 + 20 * DAY));
    expect(figures.finished).toBe(10);
    expect(figures.changeFailureRate).toEqual({ ratio: 0.2, failures: 2, finished: 10 });
    expect(figures.deploymentFrequency).toEqual({ deployments: 8, perDay: 8 / 30 });
    // Lead times 1h … 8h: the median is 4.5 h.
    expect(figures.leadTime).toMatchObject({ count: 8, missing: 0, medianMs: 4.5 * 60 * MINUTE });
    // Back to stable in 1 and 3 minutes; the next success came on days 3 and 7.
    expect(figures.timeToRestore.toStable).toMatchObject({ count: 2, medianMs: 2 * MINUTE });
    expect(figures.timeToRestore.toNextSuccess).toMatchObject({
      count: 2,
      medianMs: Math.round(0.5 * DAY + 10 * MINUTE),
    });
    expect(figures.timeToRestore.notYetRestored).toBe(0);
  });

  it("says how many lead times are missing, and counts only the window by finishedAt", () => {
    const records = [
      finished({ day: 1, outcome: "Succeeded" }),
      finished({ day: 2, outcome: "Succeeded", committedBefore: 30 }),
      finished({ day: 40, outcome: "Failed" }),
    ];
    const figures = doraFigures(records, WINDOW, new Date(T0 + 31.5 * DAY));
    // Day 1 finished 30.5 days before "now": outside the 30-day window; day 40 is still to come.
    expect(figures.finished).toBe(1);
    expect(figures.leadTime).toEqual({ count: 1, missing: 0, medianMs: 30 * MINUTE, p90Ms: 30 * MINUTE });
    const later = doraFigures(records, WINDOW, new Date(T0 + 41 * DAY));
    expect(later.leadTime).toEqual({ count: 0, missing: 0 });
    expect(later.changeFailureRate).toEqual({ ratio: 1, failures: 1, finished: 1 });
    expect(later.timeToRestore).toEqual({
      toStable: { count: 0 },
      toNextSuccess: { count: 0 },
      notYetRestored: 1,
    });
    const all = doraFigures(records, 100 * DAY, new Date(T0 + 41 * DAY));
    expect(all.leadTime).toMatchObject({ count: 1, missing: 1 });
  });

  it("with nothing finished, has no ratio rather than 0%", () => {
    const figures = doraFigures([], WINDOW, new Date(T0));
    expect(figures.changeFailureRate).toEqual({ failures: 0, finished: 0 });
    expect(figures.deploymentFrequency).toEqual({ deployments: 0, perDay: 0 });
  });

  it("restores a target only with a later success of the same target and namespace", () => {
    const records = [
      finished({ day: 1, outcome: "RolledBack" }),
      finished({ day: 2, outcome: "Succeeded", target: "payments" }),
      finished({ day: 3, outcome: "Succeeded", namespace: "other" }),
    ];
    expect(doraFigures(records, WINDOW, new Date(T0 + 5 * DAY)).timeToRestore.notYetRestored).toBe(1);
  });

  it("groups by target, by namespace and for the whole cluster", () => {
    const records = [
      finished({ day: 1, outcome: "Succeeded" }),
      finished({ day: 1, outcome: "RolledBack", target: "payments" }),
      finished({ day: 1, outcome: "Succeeded", namespace: "ops" }),
    ];
    const now = new Date(T0 + 2 * DAY);
    const rate = (by: "target" | "namespace" | "cluster") =>
      doraByGroup(records, by, WINDOW, now).map(({ group, figures }) => [
        group,
        figures.changeFailureRate.ratio,
      ]);
    expect(rate("target")).toEqual([
      ["ops/checkout", 0],
      ["shop/checkout", 0],
      ["shop/payments", 1],
    ]);
    expect(rate("namespace")).toEqual([
      ["ops", 0],
      ["shop", 0.5],
    ]);
    expect(rate("cluster")).toEqual([["", 1 / 3]]);
  });
});
