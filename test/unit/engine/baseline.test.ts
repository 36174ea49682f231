import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  MAX_BASELINE_SAMPLES,
  releaseStatusSchema,
  type Measurement,
  type Release,
  type ReleaseStatus,
  type StageRecord,
} from "../../../src/api/index.ts";
import { foldComparisons } from "../../../src/engine/baseline.ts";
import type { Action } from "../../../src/engine/index.ts";
import { aRelease, iso, MINUTE, planFor, STABLE_IMAGES } from "./builders.ts";
import {
  allActions,
  hasEnded,
  phaseIs,
  runToEndPromotingPauses,
  runUntil,
  simulate,
  statusOf,
  tick,
  type MeasureFor,
} from "./cluster.ts";

// The baseline comparison in the engine (issue 17 item 5): per-interval samples of the
// canary and the baseline kept in the stage's status, judged by the Mann-Whitney test,
// joined with the thresholds.

/** A release whose latency is compared with the baseline, on three stages (the last one has no baseline). */
function aComparedRelease(minSamples = 5): Release {
  return aRelease({
    stages: [
      { name: "canary", weight: 10, hold: "2m", minMeasurements: 1 },
      { name: "half", weight: 50, hold: "2m", minMeasurements: 1 },
      { name: "ga", weight: 100, hold: "0s" },
    ],
    analysis: {
      interval: "30s",
      metrics: [
        {
          name: "latency",
          query: 'histogram_quantile(0.99, rate(latency_bucket{version="{{version}}"}[{{interval}}]))',
          max: 1,
          compare: { baseline: { minSamples } },
        },
      ],
    },
  });
}

/** Values cycling through a small spread, canary `canaryOffset` above the baseline. */
function measuring(canaryOffset: number, options: { baselineMissing?: boolean } = {}): MeasureFor {
  let round = 0;
  return (metric, atMs): Measurement => {
    const spread = [0.1, 0.12, 0.11, 0.13, 0.1, 0.14, 0.12][round++ % 7] as number;
    const value = String(spread + canaryOffset);
    return {
      metric,
      verdict: "pass",
      at: iso(atMs),
      reason: `${value} is at or below the maximum 1`,
      value,
      ...(options.baselineMissing === true ? {} : { baselineValue: String(spread) }),
    };
  };
}

/** [canary, baseline] of each setWeight, in order. */
function splits(actions: readonly Action[]): [number, number | undefined][] {
  return actions.flatMap((action) =>
    action.type === "setWeight"
      ? [[action.canaryWeight, action.baselineWeight] as [number, number | undefined]]
      : [],
  );
}

function ofType<T extends Action["type"]>(
  actions: readonly Action[],
  type: T,
): Extract<Action, { type: T }>[] {
  return actions.filter((action): action is Extract<Action, { type: T }> => action.type === type);
}

describe("given a release that compares latency with the baseline", () => {
  it("when the canary is as fast as the baseline, then each baseline stage passes the test and it succeeds", () => {
    const release = aComparedRelease();
    const end = runUntil(simulate(release, planFor(release)), hasEnded, { measureFor: measuring(0) }, 2000);
    const status = statusOf(end);
    expect(status.phase).toBe("Succeeded");
    for (const stage of status.stages.slice(0, 2)) {
      const comparison = stage.comparisons?.[0];
      expect(comparison).toMatchObject({ metric: "latency", verdict: "pass" });
      expect(comparison?.canary.length).toBeGreaterThanOrEqual(5);
      expect(comparison?.p).toBeGreaterThan(0.05);
    }
    // At 100% no baseline can take an equal share: GA and the bake keep to the thresholds.
    expect(status.stages.slice(2).every((stage) => stage.comparisons === undefined)).toBe(true);
    expect(releaseStatusSchema.safeParse(status).success).toBe(true);

    // The baseline: the stable version, as many pods as the canary, started with it; the
    // canary's share beside it from stable's; none from GA on; scaled to zero at the end.
    const actions = allActions(end);
    expect(ofType(actions, "ensureBaseline")).toEqual([
      { type: "ensureBaseline", images: STABLE_IMAGES, version: "2.3.1", replicas: 4 },
    ]);
    expect(splits(actions)).toEqual([
      [10, 10],
      [50, 50],
      [100, 0],
      [0, 0],
    ]);
    expect(ofType(actions, "scaleBaseline")).toEqual([{ type: "scaleBaseline", replicas: 0 }]);
    expect(end.cluster.baseline?.desiredReplicas).toBe(0);
  });

  it("when the canary is slower than the baseline (yet within max), then it rolls back on the comparison", () => {
    const release = aComparedRelease();
    const end = runUntil(
      simulate(release, planFor(release)),
      hasEnded,
      { measureFor: measuring(0.05) },
      2000,
    );
    const status = statusOf(end);
    expect(status.phase).toBe("RolledBack");
    expect(status.rollback).toMatchObject({
      trigger: "metric",
      metric: "latency",
      threshold: "not higher than the baseline (p < 0.05, effect ≥ 0.71)",
    });
    expect(status.rollback?.reason).toContain(
      "latency compared with the baseline: the canary is higher than",
    );
    const comparison = status.stages[0]?.comparisons?.[0];
    expect(comparison).toMatchObject({ verdict: "fail", effect: 1, canary: expect.any(Array) });
    expect(comparison?.shift).toBeCloseTo(0.05, 9);
    expect(comparison?.canary).toHaveLength(5);
    // Never past the first stage; the weight only went up to 10 and back to 0, the
    // baseline's with it (its backendRef goes), and the baseline scaled to zero after.
    expect(splits(allActions(end))).toEqual([
      [10, 10],
      [0, 0],
    ]);
    const afterRollback = end.history.findIndex((step) => step.result.status.phase === "RollingBack");
    const rollbackActions = end.history.slice(afterRollback).flatMap((step) => step.result.actions);
    expect(ofType(rollbackActions, "scaleBaseline")).toEqual([{ type: "scaleBaseline", replicas: 0 }]);
    expect(end.cluster.baselineWeight).toBe(0);
  });

  it("when the baseline has no data, then the stage waits for samples and does not advance", () => {
    const release = aComparedRelease();
    const sim = runUntil(
      simulate(release, planFor(release)),
      phaseIs("Progressing"),
      { measureFor: measuring(0, { baselineMissing: true }) },
      50,
    );
    const later = runUntil(sim, (current) => current.nowMs - sim.nowMs > 20 * MINUTE, {
      measureFor: measuring(0, { baselineMissing: true }),
    });
    const status = statusOf(later);
    expect(status.currentStage?.name).toBe("canary");
    expect(status.stages[0]?.comparisons?.[0]).toMatchObject({ verdict: "inconclusive", baseline: [] });
    expect(status.message).toContain("too few samples to compare");
  });

  it("keeps the newest MAX_BASELINE_SAMPLES values per side however many rounds a stage runs", () => {
    const release = aComparedRelease(30);
    const metrics = planFor(release).metrics;
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0, max: 10, noNaN: true }), { maxLength: 100 }), (values) => {
        const status: ReleaseStatus = {
          phase: "Progressing",
          currentStage: { index: 0, name: "canary", weight: 10, startedAt: iso(0) },
          stages: [],
          approvals: [],
          transitions: [],
          conditions: [],
        };
        const record: StageRecord = {
          name: "canary",
          weight: 10,
          enteredAt: iso(0),
          tallies: [],
          measurements: [],
        };
        const fresh = values.map((value, index) => ({
          metric: "latency",
          verdict: "pass" as const,
          at: iso(index),
          reason: "",
          value: String(value),
          baselineValue: String(value),
        }));
        // In rounds of three, as the engine folds them.
        for (let start = 0; start < fresh.length; start += 3)
          foldComparisons(status, record, metrics, fresh.slice(start, start + 3));
        const kept = Math.min(values.length, MAX_BASELINE_SAMPLES);
        const comparison = record.comparisons?.[0];
        if (values.length === 0) return;
        expect(comparison?.canary).toEqual(values.slice(-kept));
        expect(comparison?.baseline).toEqual(values.slice(-kept));
        expect(comparison?.verdict).toBe(kept < 30 ? "inconclusive" : "pass");
      }),
    );
  });

  it("takes no samples outside a baseline stage (above 50% or in the bake)", () => {
    const metrics = planFor(aComparedRelease()).metrics;
    for (const status of [
      { currentStage: { index: 2, name: "ga", weight: 100, startedAt: iso(0) } },
      { currentStage: { index: 1, name: "half", weight: 50, startedAt: iso(0) }, bakeStartedAt: iso(0) },
    ]) {
      const record: StageRecord = {
        name: "x",
        weight: 100,
        enteredAt: iso(0),
        tallies: [],
        measurements: [],
      };
      foldComparisons(
        { stages: [], approvals: [], transitions: [], conditions: [], ...status },
        record,
        metrics,
        [{ metric: "latency", verdict: "pass", at: iso(1), reason: "", value: "1", baselineValue: "1" }],
      );
      expect(record.comparisons).toBeUndefined();
    }
  });
});

describe("property: whatever the canary and baseline measure", () => {
  const STAGE_NAMES = ["canary", "half", "ga", "bake"];

  it("the baseline's share never passes the canary's, weights never go up on rollback, no stage is skipped, and the route and the baseline end restored", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            advanceMs: fc.integer({ min: 1_000, max: 60_000 }),
            canary: fc.option(fc.double({ min: 0, max: 2, noNaN: true }), { nil: undefined }),
            baseline: fc.option(fc.double({ min: 0, max: 2, noNaN: true }), { nil: undefined }),
          }),
          { minLength: 1, maxLength: 120 },
        ),
        (ticks) => {
          const release = aComparedRelease(3);
          let sim = simulate(release, planFor(release));
          const draw =
            (index: number): MeasureFor =>
            (metric, atMs) => {
              const step = ticks[index % ticks.length] as (typeof ticks)[number];
              const value = step.canary === undefined ? "NaN" : String(step.canary);
              return {
                metric,
                verdict: step.canary === undefined ? "inconclusive" : step.canary <= 1 ? "pass" : "fail",
                at: iso(atMs),
                reason: "random",
                value,
                ...(step.baseline === undefined ? {} : { baselineValue: String(step.baseline) }),
              };
            };
          ticks.forEach((step, index) => {
            sim = tick(sim, { advanceMs: step.advanceMs, measureFor: draw(index) });
          });
          // A person promotes past a metric pause (docs/analysis.md), as decide.property's drain
          // does; afterwards, with the canary as good as the baseline, every release ends.
          sim = runToEndPromotingPauses(sim, { measureFor: measuring(0) });

          let rollingBack = false;
          let highest = 0;
          for (const step of sim.history) {
            for (const action of step.result.actions) {
              if (action.type !== "setWeight") continue;
              const baseline = action.baselineWeight ?? 0;
              expect(baseline).toBeLessThanOrEqual(action.canaryWeight);
              expect(baseline + action.canaryWeight).toBeLessThanOrEqual(100);
              if (rollingBack) {
                expect(action.canaryWeight).toBeLessThanOrEqual(highest);
                expect(baseline).toBe(0);
              }
              highest = Math.max(highest, action.canaryWeight);
            }
            if (step.result.status.phase === "RollingBack") rollingBack = true;
          }
          const status = statusOf(sim);
          const entered = status.stages.map((stage) => stage.name);
          expect(entered).toEqual(STAGE_NAMES.slice(0, entered.length));
          expect(sim.cluster.canaryWeight).toBe(0);
          expect(sim.cluster.baselineWeight ?? 0).toBe(0);
          expect(sim.cluster.baseline?.desiredReplicas ?? 0).toBe(0);
          expect(releaseStatusSchema.safeParse(status).success).toBe(true);
        },
      ),
      {
        numRuns: 60,
        // No canary data at all: more inconclusive rounds than inconclusiveLimit pause the release.
        examples: [
          [Array.from({ length: 8 }, () => ({ advanceMs: 60_000, canary: undefined, baseline: undefined }))],
        ],
      },
    );
  });
});
