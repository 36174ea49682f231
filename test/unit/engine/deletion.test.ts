import { describe, expect, it } from "vitest";
import { releaseStatusSchema, type Release } from "../../../src/api/index.ts";
import { decide, decideDeletion, type Action, type EngineResult } from "../../../src/engine/index.ts";
import { aRelease, iso, planFor, SECOND } from "./builders.ts";
import { aCluster, carryOut, observe, runUntil, simulate, statusOf, type Simulation } from "./cluster.ts";

// A deleted Release: traffic back to stable and confirmed, then the canary, then the
// Release. And its sibling: no weight ever goes to a canary Service that cannot take it.

const inStage = (name: string) => (sim: Simulation) =>
  sim.release.status?.stages.at(-1)?.name === name &&
  sim.release.status.stages.at(-1)?.reachedWeight !== undefined;

function deleted(release: Release, atMs: number): Release {
  return { ...release, metadata: { ...release.metadata, deletionTimestamp: iso(atMs) } };
}

/** One deletion reconcile of the simulated cluster: decide, then carry the actions out. */
function deletionTick(sim: Simulation, advanceMs = SECOND): { sim: Simulation; result: EngineResult } {
  const nowMs = sim.nowMs + advanceMs;
  const observations = observe(sim.cluster, nowMs);
  const result = decideDeletion({ release: sim.release, plan: sim.plan, observations });
  return {
    result,
    sim: {
      ...sim,
      release: { ...sim.release, status: result.status },
      cluster: carryOut(sim.cluster, result.actions, sim.plan, nowMs, () => "pass"),
      nowMs,
      history: [...sim.history, { observations, result }],
    },
  };
}

const types = (actions: readonly Action[]) => actions.map((action) => action.type);
const events = (actions: readonly Action[]) =>
  actions.flatMap((action) => (action.type === "emitEvent" ? [action.reason] : []));

function atStage(stage: string, release = aRelease()): Simulation {
  const sim = runUntil(simulate(release, planFor(release)), inStage(stage));
  return { ...sim, release: deleted(sim.release, sim.nowMs) };
}

describe("given a Release deleted at 10% (early-adopter)", () => {
  const start = atStage("early-adopter");

  it("when first seen, then it records where it was, says so, and only moves traffic back to stable", () => {
    const { result } = deletionTick(start);
    expect(start.cluster.canaryWeight).toBe(10);
    expect(result.status.deletion).toMatchObject({
      requestedAt: iso(start.nowMs),
      phase: "Progressing",
      stage: "early-adopter",
      canaryWeight: 10,
    });
    expect(result.status.deletion?.trafficRestoredAt).toBeUndefined();
    expect(types(result.actions)).toEqual(["setWeight", "emitEvent"]);
    expect(result.actions[0]).toEqual({ type: "setWeight", canaryWeight: 0 });
    expect(result.actions[1]).toMatchObject({ eventType: "Warning", reason: "Deleting" });
    expect(result.status.message).toContain("waiting for the router to send all traffic to stable");
    expect(releaseStatusSchema.safeParse(result.status).success).toBe(true);
  });

  it("when the router holds weight 0, then the canary goes and then the finalizer, announced once", () => {
    const first = deletionTick(start);
    const second = deletionTick(first.sim);
    expect(second.sim.cluster.canaryWeight).toBe(0);
    expect(types(second.result.actions)).toEqual(["emitEvent", "notify", "removeCanary", "releaseFinalizer"]);
    expect(second.result.actions[0]).toMatchObject({ reason: "TrafficRestored", eventType: "Normal" });
    const notify = second.result.actions[1];
    expect(notify).toMatchObject({ type: "notify", event: "deleted" });
    expect(notify?.type === "notify" && notify.message).toContain(
      "deleted while Progressing at stage early-adopter with 10% of traffic on the canary: all traffic restored to the stable checkout",
    );
    expect(second.result.status.deletion?.trafficRestoredAt).toBe(iso(second.sim.nowMs));

    // A crash before the finalizer went: the same actions again, nothing said twice.
    const again = deletionTick(second.sim);
    expect(events(again.result.actions)).toEqual([]);
    expect(types(again.result.actions)).toEqual(["removeCanary", "releaseFinalizer"]);
    expect(again.result.status.deletion).toEqual(second.result.status.deletion);
  });

  it("when someone puts weight back on the canary before the finalizer goes, then it is taken back first", () => {
    const restored = deletionTick(deletionTick(start).sim).sim;
    const edited = { ...restored, cluster: { ...restored.cluster, canaryWeight: 10 } };
    const { result } = deletionTick(edited);
    expect(types(result.actions)).toEqual(["setWeight"]);
  });
});

describe("given a Release deleted in other places", () => {
  it("at 50%: the same path, with the weight it held", () => {
    const { result } = deletionTick(atStage("expansion"));
    expect(result.status.deletion).toMatchObject({ stage: "expansion", canaryWeight: 50 });
    expect(result.actions[0]).toEqual({ type: "setWeight", canaryWeight: 0 });
  });

  it("while baking (all traffic already on stable): the canary and the Release go at once", () => {
    const release = aRelease();
    const baking = runUntil(
      simulate(release, planFor(release)),
      (sim) => sim.release.status?.phase === "Baking" && sim.cluster.canary.desiredReplicas === 0,
    );
    const { result } = deletionTick({ ...baking, release: deleted(baking.release, baking.nowMs) });
    expect(types(result.actions)).toEqual([
      "emitEvent",
      "emitEvent",
      "notify",
      "removeCanary",
      "releaseFinalizer",
    ]);
    expect(result.status.deletion).toMatchObject({ phase: "Baking", stage: "bake", canaryWeight: 0 });
  });

  it("mid-rollback after the promotion: stable is still put back, and traffic goes to it", () => {
    const release = aRelease();
    const atGA = runUntil(simulate(release, planFor(release)), inStage("ga"));
    const aborted = decide({
      release: {
        ...atGA.release,
        spec: { ...atGA.release.spec, control: { abort: { by: "alice", at: iso(atGA.nowMs) } } },
      },
      plan: atGA.plan,
      observations: observe(atGA.cluster, atGA.nowMs + SECOND),
    });
    expect(aborted.status.phase).toBe("RollingBack");
    // The rollback's actions never reached the cluster: deleted right after the decision.
    const sim = {
      ...atGA,
      nowMs: atGA.nowMs + SECOND,
      release: deleted({ ...atGA.release, status: aborted.status }, atGA.nowMs),
    };
    const { result } = deletionTick(sim);
    expect(types(result.actions).slice(0, 2)).toEqual(["revertStable", "setWeight"]);
    expect(result.status.deletion?.phase).toBe("RollingBack");
  });

  it("before it started: nothing to restore, the Release goes at once and says so", () => {
    const release = deleted(aRelease(), Date.parse(iso(0)));
    const { result } = deletionTick(simulate(release, planFor(release), aCluster()));
    expect(types(result.actions)).toEqual(["emitEvent", "releaseFinalizer"]);
    expect(result.actions[0]).toMatchObject({ reason: "Deleted" });
    expect(result.status.deletion?.verification).toBe("the release had not started: nothing was changed");
  });

  it("whose HTTPRoute is gone: nothing to restore, the canary and the Release go, saying why", () => {
    const sim = atStage("early-adopter");
    const observations = {
      ...observe(sim.cluster, sim.nowMs + SECOND),
      traffic: {
        canaryWeight: 0,
        verified: true,
        missing: "HTTPRoute shop/checkout (spec.traffic.gatewayAPI.httpRoute) does not exist",
      },
    };
    const result = decideDeletion({ release: sim.release, plan: sim.plan, observations });
    expect(types(result.actions)).toEqual([
      "emitEvent",
      "emitEvent",
      "notify",
      "removeCanary",
      "releaseFinalizer",
    ]);
    expect(result.status.deletion?.verification).toContain("nothing to restore: HTTPRoute shop/checkout");
  });

  it("already finished (a crash left its finalizer): it just goes", () => {
    const release = aRelease();
    const done = runUntil(
      simulate(release, planFor(release)),
      (s) => s.release.status?.phase === "Succeeded",
    );
    const { result } = deletionTick({ ...done, release: deleted(done.release, done.nowMs) });
    expect(result.actions).toEqual([{ type: "releaseFinalizer" }]);
    expect(result.status).toEqual(statusOf(done));
  });
});

describe("given a canary Service that cannot take traffic", () => {
  it("when it cannot be made at the start, then no stage begins, the canary is ensured again, and the Release says why", () => {
    const release = aRelease();
    const sim = runUntil(
      simulate(release, planFor(release), { ...aCluster(), canaryServiceFails: true }),
      (s) => s.history.length >= 5,
    );
    const status = statusOf(sim);
    expect(status.currentStage).toBeUndefined();
    expect(status.message).toContain("the canary Service checkout-canary is missing");
    expect(status.conditions.find((c) => c.type === "WorkloadsReady")).toMatchObject({
      status: "False",
      reason: "CanaryServiceMissing",
    });
    const last = sim.history.at(-1)?.result;
    expect(last?.actions.map((action) => action.type)).toContain("ensureCanary");
    expect(last?.requeueAfterMs).toBe(SECOND);
    const said = sim.history.flatMap((step) => events(step.result.actions));
    expect(said.filter((reason) => reason === "CanaryServiceMissing")).toHaveLength(1);
  });

  it("when it disappears mid-stage, then its share goes back to stable before it is made again, and returns after", () => {
    const sim = runUntil(simulate(aRelease(), planFor(aRelease())), inStage("early-adopter"));
    const gone = { ...sim, cluster: { ...sim.cluster, canaryService: false } };
    const observations = observe(gone.cluster, gone.nowMs + SECOND);
    const result = decide({ release: gone.release, plan: gone.plan, observations });
    expect(result.actions.slice(0, 2)).toEqual([
      { type: "setWeight", canaryWeight: 0 },
      expect.objectContaining({ type: "ensureCanary" }),
    ]);
    expect(events(result.actions)).toEqual(["CanaryServiceMissing"]);

    const back = carryOut(gone.cluster, result.actions, gone.plan, gone.nowMs, () => "pass");
    expect(back.canaryService).toBe(true);
    const next = decide({
      release: { ...gone.release, status: result.status },
      plan: gone.plan,
      observations: observe(back, gone.nowMs + 2 * SECOND),
    });
    expect(next.actions).toContainEqual({ type: "setWeight", canaryWeight: 10 });
    expect(events(next.actions)).toEqual(["CanaryServiceReady"]);
    expect(next.status.currentStage?.name).toBe("early-adopter");
  });

  it("with the replica split, which does not send to it: nothing waits for it", () => {
    const release = aRelease({ traffic: { replicas: {} } });
    const end = runUntil(
      simulate(release, planFor(release), { ...aCluster(), replicaSplit: true, canaryServiceFails: true }),
      (s) => ["Succeeded", "RolledBack", "Failed"].includes(s.release.status?.phase ?? ""),
      {},
      1000,
    );
    expect(statusOf(end).phase).toBe("Succeeded");
  });
});
