import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { releaseStatusSchema, type Release, type Verdict } from "../../../src/api/index.ts";
import type { Action } from "../../../src/engine/index.ts";
import { aRelease, iso, MINUTE, NEW_IMAGES, planFor, SECOND, STABLE_IMAGES } from "./builders.ts";
import { allActions, phaseIs, runUntil, simulate, statusOf, tick, type Simulation } from "./cluster.ts";

// Blue/green in the engine (issue 17 item 1): the new version at stable's size behind the
// preview (canary) Service with weight 0, analysed; an optional approval; 100% at once; the
// old version (stable) untouched for scaleDownDelay, so a rollback is one route write; then
// promotion as for any release.

const isTerminal = (sim: { release: Release }) =>
  ["Succeeded", "RolledBack", "Failed"].includes(sim.release.status?.phase ?? "");

function aBlueGreenRelease(blueGreen: Release["spec"]["blueGreen"] = {}): Release {
  return aRelease({
    blueGreen: { preview: "2m", scaleDownDelay: "1m", minMeasurements: 1, ...blueGreen },
    analysis: { interval: "30s", metrics: [{ name: "error-rate", template: "http-error-ratio", max: 0.05 }] },
    bake: "1m",
  });
}

function ofType<T extends Action["type"]>(
  actions: readonly Action[],
  type: T,
): Extract<Action, { type: T }>[] {
  return actions.filter((action): action is Extract<Action, { type: T }> => action.type === type);
}

const weightsAsked = (sim: Simulation) => ofType(allActions(sim), "setWeight").map((a) => a.canaryWeight);
const inStage = (name: string) => (sim: Simulation) => sim.release.status?.currentStage?.name === name;

describe("the plan of a blue/green release", () => {
  it("is a preview at 0%, the switch at 100% held for scaleDownDelay, and the promotion", () => {
    const plan = planFor(aBlueGreenRelease({ requiresApproval: true }));
    expect(plan.stages).toEqual([
      { name: "preview", weight: 0, hold: "2m", minMeasurements: 1 },
      { name: "switch", weight: 100, hold: "1m", minMeasurements: 1, requiresApproval: true },
      { name: "promote", weight: 100, hold: "0s" },
    ]);
    expect(plan.blueGreen).toEqual({ previewMs: 2 * MINUTE, scaleDownDelayMs: MINUTE });
  });

  it("gates the switch, not the promotion, when the change request requires approval", () => {
    const plan = planFor(
      aRelease({ blueGreen: {}, changeRequest: { requiresApproval: true }, analysis: { metrics: [] } }),
    );
    expect(plan.stages.map((stage) => [stage.name, stage.hold, stage.requiresApproval ?? false])).toEqual([
      ["preview", "1m", false],
      ["switch", "30s", true],
      ["promote", "0s", false],
    ]);
  });
});

describe("given a blue/green release", () => {
  it("when every round passes, then the preview gets stable's size and no traffic, the switch moves 100% at once, and stable is promoted only after scaleDownDelay", () => {
    const release = aBlueGreenRelease();
    let sim = simulate(release, planFor(release));
    sim = runUntil(sim, inStage("preview"));
    // The preview: as many pods as stable, weight 0, analysed against the canary version.
    expect(sim.cluster.canary.desiredReplicas).toBe(sim.cluster.stable.desiredReplicas);
    expect(sim.cluster.canaryWeight).toBe(0);
    sim = runUntil(sim, inStage("switch"));
    const switchedAt = Date.parse(statusOf(sim).currentStage?.startedAt ?? "");
    expect(ofType(allActions(sim), "runAnalysis").length).toBeGreaterThan(0);
    expect(statusOf(sim).stages[0]).toMatchObject({ name: "preview", weight: 0, outcome: "passed" });

    // Switched: 100% in one write, stable untouched until scaleDownDelay has passed.
    sim = runUntil(sim, inStage("promote"));
    expect(weightsAsked(sim)).toEqual([100]);
    const promotes = sim.history.filter((step) =>
      step.result.actions.some((action) => action.type === "promoteStable"),
    );
    expect(promotes).toHaveLength(1);
    expect(Date.parse(promotes[0]?.observations.now ?? "")).toBeGreaterThanOrEqual(switchedAt + MINUTE);

    sim = runUntil(sim, isTerminal);
    expect(statusOf(sim).phase).toBe("Succeeded");
    expect(statusOf(sim).stages.map((stage) => stage.name)).toEqual(["preview", "switch", "promote", "bake"]);
    expect(weightsAsked(sim)).toEqual([100, 0]);
    expect(sim.cluster.stable.images).toEqual(NEW_IMAGES);
    expect(sim.cluster.canary.desiredReplicas).toBe(0);
    expect(statusOf(sim).conditions.find((c) => c.type === "Valid")?.message).toBe(
      "blue/green: preview 0%, switch 100%, promote 100%",
    );
  });

  it("when the preview fails its analysis, then it rolls back without ever routing a request to it or touching stable", () => {
    const release = aBlueGreenRelease();
    let sim = simulate(release, planFor(release));
    sim = runUntil(sim, inStage("preview"));
    sim = runUntil(sim, isTerminal, { verdictFor: () => "fail" });
    expect(statusOf(sim).phase).toBe("RolledBack");
    expect(statusOf(sim).rollback).toMatchObject({ trigger: "metric", metric: "error-rate" });
    expect(weightsAsked(sim).every((weight) => weight === 0)).toBe(true);
    expect(ofType(allActions(sim), "promoteStable")).toEqual([]);
    expect(ofType(allActions(sim), "revertStable")).toEqual([]);
    expect(sim.cluster.canary.desiredReplicas).toBe(0);
  });

  it("when the switched version fails within scaleDownDelay, then the rollback is the route back on stable: stable was never written", () => {
    const release = aBlueGreenRelease();
    let sim = simulate(release, planFor(release));
    sim = runUntil(sim, inStage("switch"));
    sim = tick(sim, { advanceMs: 10 * SECOND });
    expect(sim.cluster.canaryWeight).toBe(100);
    const before = allActions(sim).length;
    sim = tick(sim, { advanceMs: 30 * SECOND, verdictFor: () => "fail" });
    sim = tick(sim, { advanceMs: SECOND });
    expect(statusOf(sim).phase).toBe("RollingBack");
    // The rollback's first reconcile routes everything back to stable in one write.
    const rollback = allActions(sim).slice(before);
    expect(ofType(rollback, "setWeight").map((action) => action.canaryWeight)).toEqual([0]);
    expect(ofType(rollback, "revertStable")).toEqual([]);
    sim = runUntil(sim, isTerminal);
    expect(statusOf(sim).phase).toBe("RolledBack");
    expect(ofType(allActions(sim), "promoteStable")).toEqual([]);
    expect(sim.cluster.stable.images).toEqual(STABLE_IMAGES);
    expect(sim.cluster.canaryWeight).toBe(0);
  });

  it("when the switch needs an approval, then the preview waits at 0% until a person approves", () => {
    const release = aBlueGreenRelease({ requiresApproval: true });
    let sim = simulate(release, planFor(release));
    sim = runUntil(sim, phaseIs("AwaitingApproval"));
    expect(statusOf(sim).currentStage?.name).toBe("preview");
    sim = tick(sim, { advanceMs: 10 * MINUTE });
    expect(sim.cluster.canaryWeight).toBe(0);
    expect(statusOf(sim).message).toContain("stage switch (100%) needs an approval");
    const control = { approvals: [{ by: "dave", at: iso(sim.nowMs) }] };
    sim = runUntil(sim, inStage("switch"), { control });
    expect(sim.cluster.canaryWeight).toBe(100);
  });

  it("when aborted while awaiting approval, then nothing but the preview is undone", () => {
    const release = aBlueGreenRelease({ requiresApproval: true });
    let sim = simulate(release, planFor(release));
    sim = runUntil(sim, phaseIs("AwaitingApproval"));
    sim = runUntil(sim, isTerminal, { control: { abort: { by: "carol", at: iso(sim.nowMs) } } });
    expect(statusOf(sim).phase).toBe("RolledBack");
    expect(statusOf(sim).rollback?.trigger).toBe("manual");
    expect(weightsAsked(sim).every((weight) => weight === 0)).toBe(true);
    expect(ofType(allActions(sim), "revertStable")).toEqual([]);
  });
});

describe("property: a blue/green release, whatever its rounds measure and whenever it is aborted", () => {
  it("never sends the preview a share but 0 or 100, never lets the weight rise on rollback, skips no stage, never writes stable before scaleDownDelay, and ends with the route on stable", () => {
    const verdictArb = fc.constantFrom<Verdict>("pass", "pass", "pass", "fail", "inconclusive", "error");
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            advanceMs: fc.integer({ min: SECOND, max: 90 * SECOND }),
            verdict: verdictArb,
            abort: fc.oneof(
              { arbitrary: fc.constant(false), weight: 30 },
              { arbitrary: fc.constant(true), weight: 1 },
            ),
          }),
          { minLength: 1, maxLength: 80 },
        ),
        fc.boolean(),
        (ticks, requiresApproval) => {
          const release = aBlueGreenRelease({ requiresApproval });
          const plan = planFor(release);
          let sim = simulate(release, plan);
          let control: Release["spec"]["control"] = {};
          for (const step of ticks) {
            if (step.abort && control.abort === undefined)
              control = { ...control, abort: { by: "carol", at: iso(sim.nowMs + step.advanceMs) } };
            sim = tick(sim, { advanceMs: step.advanceMs, verdictFor: () => step.verdict, control });
          }
          // Afterwards people cooperate: approve, promote past a pause; every release ends.
          control = {
            ...control,
            approvals: [{ by: "erin", at: iso(sim.nowMs) }],
            promote: { by: "bob", at: iso(sim.nowMs) },
          };
          sim = runUntil(sim, isTerminal, { control }, 2000);

          let rollingBack = false;
          let highest = 0;
          let switchedAtMs: number | undefined;
          for (const step of sim.history) {
            const nowMs = Date.parse(step.observations.now);
            for (const action of step.result.actions) {
              if (action.type === "setWeight") {
                expect([0, 100]).toContain(action.canaryWeight);
                if (rollingBack) expect(action.canaryWeight).toBeLessThanOrEqual(highest);
                highest = Math.max(highest, action.canaryWeight);
              }
              // The old version stays as it was for scaleDownDelay after the switch
              // (unless a person promoted past it).
              if (action.type === "promoteStable" && step.result.status.handledPromoteAt === undefined) {
                expect(switchedAtMs).toBeDefined();
                expect(nowMs).toBeGreaterThanOrEqual(
                  (switchedAtMs ?? Infinity) + plan.blueGreen!.scaleDownDelayMs,
                );
              }
            }
            const switched = step.result.status.stages.find((stage) => stage.name === "switch");
            if (switched && switchedAtMs === undefined) switchedAtMs = Date.parse(switched.enteredAt);
            if (step.result.status.phase === "RollingBack") rollingBack = true;
          }
          const status = statusOf(sim);
          const entered = status.stages.map((stage) => stage.name);
          const order = ["preview", "switch", "promote", "bake"];
          // A person's promote may skip ahead (and is the only thing that may).
          const indices = entered.map((name) => order.indexOf(name));
          indices.forEach((index, at) => expect(index).toBeGreaterThan(indices[at - 1] ?? -1));
          if (status.handledPromoteAt === undefined) expect(entered).toEqual(order.slice(0, entered.length));
          expect(sim.cluster.canaryWeight).toBe(0);
          expect(sim.cluster.canary.desiredReplicas).toBe(0);
          if (status.phase === "RolledBack") expect(sim.cluster.stable.images).toEqual(STABLE_IMAGES);
          if (status.phase === "Succeeded") expect(sim.cluster.stable.images).toEqual(NEW_IMAGES);
          expect(releaseStatusSchema.safeParse(status).success).toBe(true);
        },
      ),
      { numRuns: 100 },
    );
  });
});
