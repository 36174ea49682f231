import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CANARY_SCALE_ROUTER_MESSAGE, validateRelease, type Release } from "../../../src/api/index.ts";
import {
  canaryAutoscalerBounds,
  type Action,
  type AutoscalerObservation,
} from "../../../src/engine/index.ts";
import { aRelease, aStable, planFor, strategy } from "./builders.ts";
import {
  aCluster,
  allActions,
  phaseIs,
  runUntil,
  simulate,
  statusOf,
  tick,
  type Simulation,
} from "./cluster.ts";

// Autoscaled targets in the engine (issue 17 item 4, docs/autoscaling.md): the canary's
// copy of stable's HorizontalPodAutoscaler, its bounds at each stage, its removal at the
// end, a fixed canaryScale, and the replica split; stable's replicas are never an action.

const STAGES = [
  { name: "canary", weight: 10, hold: "1m" },
  { name: "half", weight: 50, hold: "1m" },
  { name: "ga", weight: 100, hold: "0s" },
];

const USERS_AUTOSCALER: AutoscalerObservation = { name: "checkout", minReplicas: 2, maxReplicas: 10 };

function anAutoscaledRelease(spec: Parameters<typeof aRelease>[0] = {}): Simulation {
  const release = aRelease({ stages: STAGES, ...spec });
  const cluster = {
    ...aCluster(aStable({ desiredReplicas: 4, readyReplicas: 4 })),
    autoscaler: USERS_AUTOSCALER,
  };
  return simulate(release, planFor(release), cluster);
}

const isFinished = (sim: Simulation) =>
  ["Succeeded", "RolledBack", "Failed"].includes(sim.release.status?.phase ?? "");

function ofType<T extends Action["type"]>(actions: Action[], type: T): Extract<Action, { type: T }>[] {
  return actions.filter((action): action is Extract<Action, { type: T }> => action.type === type);
}

describe("the canary autoscaler's bounds", () => {
  const bounds = fc.record({
    min: fc.integer({ min: 1, max: 200 }),
    extra: fc.integer({ min: 0, max: 200 }),
    fullLoad: fc.integer({ min: 0, max: 400 }),
    weight: fc.integer({ min: 0, max: 100 }),
  });

  it("are at least 1, min ≤ max, and never above the stable autoscaler's maximum", () => {
    fc.assert(
      fc.property(bounds, ({ min, extra, fullLoad, weight }) => {
        const stable = { minReplicas: min, maxReplicas: min + extra };
        const canary = canaryAutoscalerBounds(stable, fullLoad, weight);
        expect(canary.minReplicas).toBeGreaterThanOrEqual(1);
        expect(canary.minReplicas).toBeLessThanOrEqual(canary.maxReplicas);
        expect(canary.maxReplicas).toBeLessThanOrEqual(stable.maxReplicas);
      }),
    );
  });

  it("are proportional: the weight's share of stable's bounds and of the full load, rounded up", () => {
    fc.assert(
      fc.property(bounds, ({ min, extra, fullLoad, weight }) => {
        const stable = { minReplicas: min, maxReplicas: min + extra };
        const canary = canaryAutoscalerBounds(stable, fullLoad, weight);
        const share = (replicas: number) => Math.ceil((replicas * weight) / 100);
        expect(canary.maxReplicas).toBe(Math.max(1, share(stable.maxReplicas)));
        // The floor carries the canary's share of the load, unless that is above its maximum.
        expect(canary.minReplicas).toBe(
          Math.min(canary.maxReplicas, Math.max(1, share(min), share(fullLoad))),
        );
      }),
    );
  });

  it("never shrink as the weight grows, and are stable's own at 100%", () => {
    fc.assert(
      fc.property(bounds, fc.integer({ min: 0, max: 100 }), ({ min, extra, fullLoad, weight }, more) => {
        const stable = { minReplicas: min, maxReplicas: min + extra };
        const lower = canaryAutoscalerBounds(stable, fullLoad, Math.min(weight, more));
        const higher = canaryAutoscalerBounds(stable, fullLoad, Math.max(weight, more));
        expect(higher.minReplicas).toBeGreaterThanOrEqual(lower.minReplicas);
        expect(higher.maxReplicas).toBeGreaterThanOrEqual(lower.maxReplicas);
        expect(canaryAutoscalerBounds(stable, fullLoad, 100).maxReplicas).toBe(stable.maxReplicas);
      }),
    );
  });
});

describe("a release of an autoscaled target", () => {
  it("gives the canary a copy sized for the share it takes next, and removes it before the canary goes", () => {
    const done = runUntil(anAutoscaledRelease(), isFinished, { advanceMs: 20_000 });
    expect(statusOf(done).phase).toBe("Succeeded");
    const actions = allActions(done);
    // Sized ahead of each weight: the first stage's 10% before it, 50% during it, 100% from the half stage on.
    expect(ofType(actions, "ensureCanaryAutoscaler")).toEqual([
      { type: "ensureCanaryAutoscaler", minReplicas: 1, maxReplicas: 1 },
      { type: "ensureCanaryAutoscaler", minReplicas: 2, maxReplicas: 5 },
      { type: "ensureCanaryAutoscaler", minReplicas: 4, maxReplicas: 10 },
    ]);
    // Created at the copy's floor, raised to the next floor before the weight moves on.
    expect(ofType(actions, "ensureCanary").map((action) => action.replicas)).toEqual([1, 2, 4]);
    const types = actions.map((action) => action.type);
    const removed = types.indexOf("removeCanaryAutoscaler");
    expect(removed).toBeGreaterThan(types.lastIndexOf("ensureCanaryAutoscaler"));
    expect(removed).toBeLessThan(types.lastIndexOf("scaleCanary"));
    expect(done.cluster.canaryAutoscaler).toBeUndefined();
    expect(statusOf(done).canaryScale).toMatchObject({
      source: "autoscaler",
      autoscaler: "checkout",
      canaryAutoscaler: "checkout-canary",
    });
  });

  it("moves each weight only to a canary already Ready at the floor the copy sets for that weight", () => {
    const done = runUntil(anAutoscaledRelease(), isFinished, { advanceMs: 20_000 });
    const raises = done.history.flatMap(({ observations, result }) =>
      ofType(result.actions, "setWeight")
        .filter((action) => action.canaryWeight > observations.traffic.canaryWeight)
        .map((action) => ({
          weight: action.canaryWeight,
          readyCanary: observations.canary.readyReplicas,
          floor: canaryAutoscalerBounds(USERS_AUTOSCALER, 4, action.canaryWeight).minReplicas,
        })),
    );
    expect(raises.map((raise) => raise.weight)).toEqual([10, 50, 100]);
    for (const raise of raises)
      expect(raise.readyCanary, `at ${raise.weight}%`).toBeGreaterThanOrEqual(raise.floor);
  });

  it("follows the stable autoscaler when it asks for more: the copy's floor grows with stable", () => {
    let sim = runUntil(anAutoscaledRelease(), (s) => s.release.status?.currentStage?.name === "canary");
    // The autoscaler scales stable from 4 to 8 (load grew): Glidepath only watches.
    sim = tick(sim, {
      advanceMs: 1_000,
      cluster: {
        stable: { ...sim.cluster.stable, desiredReplicas: 8, readyReplicas: 8 },
        autoscaler: { ...USERS_AUTOSCALER, desiredReplicas: 8 },
      },
    });
    expect(ofType(sim.history.at(-1)?.result.actions ?? [], "ensureCanaryAutoscaler")).toEqual([
      { type: "ensureCanaryAutoscaler", minReplicas: 4, maxReplicas: 5 },
    ]);
  });

  it("removes the copy on rollback before it reports RolledBack", () => {
    let sim = runUntil(anAutoscaledRelease(), (s) => s.release.status?.currentStage?.name === "half");
    expect(sim.cluster.canaryAutoscaler).toBeDefined();
    sim = runUntil(sim, phaseIs("RolledBack"), { verdictFor: () => "fail" });
    expect(sim.cluster.canaryAutoscaler).toBeUndefined();
    expect(sim.cluster.canary.desiredReplicas).toBe(0);
    const types = allActions(sim).map((action) => action.type);
    expect(types.lastIndexOf("removeCanaryAutoscaler")).toBeLessThan(types.lastIndexOf("scaleCanary"));
  });

  it("keeps a fixed canaryScale: no copy, that many replicas", () => {
    const done = runUntil(anAutoscaledRelease({ canaryScale: { replicas: 3 } }), isFinished, {
      advanceMs: 20_000,
    });
    expect(statusOf(done).phase).toBe("Succeeded");
    expect(ofType(allActions(done), "ensureCanaryAutoscaler")).toEqual([]);
    expect(ofType(allActions(done), "ensureCanary").map((action) => action.replicas)).toEqual([3]);
    expect(statusOf(done).canaryScale).toMatchObject({ source: "fixed", autoscaler: "checkout" });
  });

  it("sizes the replica split's canary from stable's replicas, with no copy", () => {
    const release = aRelease({ stages: STAGES, traffic: { replicas: {} } });
    const cluster = { ...aCluster(), replicaSplit: true, autoscaler: USERS_AUTOSCALER };
    const done = runUntil(simulate(release, planFor(release), cluster), isFinished, { advanceMs: 20_000 });
    expect(statusOf(done).phase).toBe("Succeeded");
    expect(ofType(allActions(done), "ensureCanaryAutoscaler")).toEqual([]);
    expect(statusOf(done).canaryScale?.source).toBe("replicaSplit");
  });

  it("has no action that writes stable's replicas, whatever happens", () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom<"pass" | "fail">("pass", "fail"), { minLength: 1, maxLength: 30 }),
        (verdicts) => {
          let sim = anAutoscaledRelease();
          for (const verdict of verdicts) sim = tick(sim, { advanceMs: 20_000, verdictFor: () => verdict });
          const stableWrites = allActions(sim).filter(
            (action) => action.type === "promoteStable" || action.type === "revertStable",
          );
          // Promote and revert carry images and a version only: no replica count to write.
          for (const action of stableWrites) expect(Object.keys(action).sort()).not.toContain("replicas");
          expect(sim.cluster.stable.desiredReplicas).toBe(4);
        },
      ),
      { numRuns: 50 },
    );
  });
});

describe("spec.canaryScale", () => {
  it("is refused with the replica split, at its path", () => {
    const raw = {
      ...aRelease(),
      spec: { ...aRelease().spec, traffic: { replicas: {} }, canaryScale: { replicas: 2 } },
    } as unknown as Release;
    const result = validateRelease(raw, strategy);
    expect(result.ok).toBe(false);
    if (!result.ok)
      expect(result.issues).toContainEqual(
        expect.objectContaining({ path: "$.spec.canaryScale", message: CANARY_SCALE_ROUTER_MESSAGE }),
      );
  });
});
