import { describe, expect, it } from "vitest";
import type { Measurement, ReleaseStatus } from "../../../src/api/index.ts";
import type { AnalysisRound } from "../../../src/analysis/index.ts";
import { analysedStageOf, type AnalysedStage } from "../../../src/engine/index.ts";
import { MeasurementInbox, roundCountsFor } from "../../../src/controller/measurement-inbox.ts";

// Rounds run beside the reconcile, so one may end after its release has moved on: its
// measurements count only for the stage they were asked for, keyed by the stage's index,
// the time it was entered and what was analysed.

const KEY = "shop/checkout-2-4-0";
const CANARY_ENTERED = "2026-03-01T12:00:00.000Z";

function statusAt(
  phase: ReleaseStatus["phase"],
  stage: { index: number; name: string; startedAt: string; lastAnalysisAt?: string },
  extra: Partial<ReleaseStatus> = {},
): ReleaseStatus {
  return {
    phase,
    currentStage: { weight: 1, ...stage },
    stages: [],
    transitions: [],
    conditions: [],
    approvals: [],
    ...extra,
  } as unknown as ReleaseStatus;
}

const atCanary = statusAt("Progressing", { index: 0, name: "canary", startedAt: CANARY_ENTERED });
const canaryStage = analysedStageOf(atCanary) as AnalysedStage;

function roundAt(at: string): AnalysisRound {
  const measurement: Measurement = {
    metric: "error-rate",
    verdict: "pass",
    at,
    reason: "0.01 ≤ 0.05",
    value: "0.01",
  };
  return { at, measurements: [measurement], queries: { "error-rate": "sum(rate(x[1m]))" } };
}

describe("which stage a round's measurements count for", () => {
  it("the stage it was asked for, paused or awaiting an approval too", () => {
    expect(canaryStage).toEqual({ index: 0, startedAt: CANARY_ENTERED, subject: "canary" });
    const round = { stage: canaryStage, round: roundAt("2026-03-01T12:00:31.000Z") };
    expect(roundCountsFor(round, atCanary)).toBe(true);
    expect(roundCountsFor(round, { ...atCanary, phase: "Paused" })).toBe(true);
    expect(roundCountsFor(round, { ...atCanary, phase: "AwaitingApproval" })).toBe(true);
  });

  it("not the next stage, once a promote or the verdict moved the release on while the round ran", () => {
    const round = { stage: canaryStage, round: roundAt("2026-03-01T12:00:31.000Z") };
    const next = statusAt("Progressing", {
      index: 1,
      name: "early-adopter",
      startedAt: "2026-03-01T12:00:32.000Z",
    });
    expect(roundCountsFor(round, next)).toBe(false);
  });

  it("not the same stage entered again later (another visit of index 0), nor the bake analysing stable", () => {
    const round = { stage: canaryStage, round: roundAt("2026-03-01T12:00:31.000Z") };
    const again = statusAt("Progressing", {
      index: 0,
      name: "canary",
      startedAt: "2026-03-01T12:05:00.000Z",
    });
    expect(roundCountsFor(round, again)).toBe(false);
    const baking = statusAt(
      "Baking",
      { index: 0, name: "canary", startedAt: CANARY_ENTERED },
      { bakeStartedAt: CANARY_ENTERED },
    );
    expect(analysedStageOf(baking)?.subject).toBe("stable");
    expect(roundCountsFor(round, baking)).toBe(false);
  });

  it("nothing once the release rolls back or finishes", () => {
    const round = { stage: canaryStage, round: roundAt("2026-03-01T12:00:31.000Z") };
    for (const phase of ["RollingBack", "RolledBack", "Succeeded", "Failed"] as const) {
      expect(analysedStageOf({ ...atCanary, phase }), phase).toBeUndefined();
      expect(roundCountsFor(round, { ...atCanary, phase }), phase).toBe(false);
    }
  });
});

describe("the inbox of measurements not yet in status", () => {
  it("gives the engine only the rounds of the stage the stored status analyses", () => {
    const inbox = new MeasurementInbox();
    const stale = roundAt("2026-03-01T12:00:31.000Z");
    const nextStage = statusAt("Progressing", {
      index: 1,
      name: "early-adopter",
      startedAt: "2026-03-01T12:00:32.000Z",
    });
    const fresh = roundAt("2026-03-01T12:00:40.000Z");
    inbox.add(KEY, { stage: canaryStage, round: stale });
    inbox.add(KEY, { stage: analysedStageOf(nextStage) as AnalysedStage, round: fresh });

    expect(inbox.pending(KEY, nextStage)).toEqual([fresh]);
    expect(inbox.pending(KEY, atCanary)).toEqual([stale]);
  });

  it("drops, once a status is stored, the rounds it folded and those of stages it left", () => {
    const inbox = new MeasurementInbox();
    inbox.add(KEY, { stage: canaryStage, round: roundAt("2026-03-01T12:00:31.000Z") });
    const later = roundAt("2026-03-01T12:00:45.000Z");
    inbox.add(KEY, { stage: canaryStage, round: later });

    inbox.consumed(
      KEY,
      statusAt("Progressing", {
        index: 0,
        name: "canary",
        startedAt: CANARY_ENTERED,
        lastAnalysisAt: "2026-03-01T12:00:31.000Z",
      }),
    );
    expect(inbox.pending(KEY, atCanary)).toEqual([later]);

    inbox.consumed(KEY, { ...atCanary, phase: "RollingBack" });
    expect(inbox.pending(KEY, atCanary)).toEqual([]);
  });
});
