import { describe, expect, it } from "vitest";
import { releaseStatusSchema, STATUS_LIMITS } from "../../../src/api/index.ts";
import { decide, type Action, type EngineInput } from "../../../src/engine/index.ts";
import {
  aMeasurement,
  aReadyCanary,
  aRelease,
  iso,
  MINUTE,
  observationsAt,
  planFor,
  SECOND,
  T0,
} from "./builders.ts";
import {
  aCluster,
  observe,
  phaseIs,
  runUntil,
  simulate,
  statusOf,
  tick,
  type Simulation,
} from "./cluster.ts";

// The record a release leaves, and what makes decide() safe to call any number
// of times: idempotence, bounded history, restart from any status.

const announcements = (actions: readonly Action[]) =>
  actions.filter((action) => action.type === "notify" || action.type === "emitEvent");
const inStage = (name: string) => (sim: Simulation) => sim.release.status?.currentStage?.name === name;

function again(sim: Simulation): EngineInput {
  const last = sim.history.at(-1);
  if (!last) throw new Error("no reconcile yet");
  return { release: sim.release, plan: sim.plan, observations: last.observations };
}

describe("given decide has just run", () => {
  it("when it runs again on its own status and the same observations, then nothing changes and nothing is announced", () => {
    const release = aRelease();
    let sim = simulate(release, planFor(release));
    for (let count = 0; count < 300; count++) {
      sim = tick(sim, { advanceMs: 20 * SECOND });
      const repeat = decide(again(sim));
      expect(repeat.status).toEqual(sim.release.status);
      expect(announcements(repeat.actions)).toEqual([]);
      expect(repeat.actions.some((action) => action.type === "runAnalysis")).toBe(false);
    }
  });

  it("when the status was written but the actions were lost, then the same actions are asked for again, without events", () => {
    const atCanary = runUntil(simulate(aRelease(), planFor(aRelease())), inStage("canary"));
    const entered = runUntil(atCanary, inStage("early-adopter"), {}, 200);
    // The controller restarted after writing status: the router still holds 1%.
    const lostWorld = observe({ ...entered.cluster, canaryWeight: 1 }, entered.nowMs + SECOND);
    const result = decide({ release: entered.release, plan: entered.plan, observations: lostWorld });

    expect(result.status.currentStage?.name).toBe("early-adopter");
    expect(result.actions).toEqual([{ type: "setWeight", canaryWeight: 10 }]);
  });

  it("when the canary from before a restart is already Ready, then it is not created again and stage 0 begins", () => {
    const release = aRelease();
    const started = decide({ release, plan: planFor(release), observations: observationsAt(T0) });
    const afterRestart = decide({
      release: { ...release, status: started.status },
      plan: planFor(release),
      observations: observe(
        {
          ...aCluster(),
          canary: { ...aCluster().stable, images: release.spec.images, version: "2.4.0" },
          canaryService: true,
        },
        T0 + 30 * SECOND,
      ),
    });
    expect(afterRestart.actions.filter((action) => action.type === "ensureCanary")).toEqual([]);
    expect(afterRestart.status.currentStage?.name).toBe("canary");
  });
});

describe("given measurements in the observations", () => {
  const atCanary = runUntil(simulate(aRelease(), planFor(aRelease())), inStage("canary"));
  const stageStart = Date.parse(statusOf(atCanary).currentStage?.startedAt ?? "");

  it("when the same measurement is observed twice, then it is counted once; older ones are ignored", () => {
    const measured = aMeasurement("error-rate", "fail", stageStart + 5 * SECOND);
    const beforeStage = aMeasurement("error-rate", "fail", stageStart - 5 * SECOND);
    const observations = observe(
      { ...atCanary.cluster, measurements: [beforeStage, measured] },
      stageStart + 10 * SECOND,
    );
    // failureLimit 0 would roll back on one failure, so use an inconclusive one to count.
    const inconclusive = { ...measured, verdict: "inconclusive" as const };
    const first = decide({
      release: atCanary.release,
      plan: atCanary.plan,
      observations: { ...observations, measurements: [beforeStage, inconclusive] },
    });
    const second = decide({
      release: { ...atCanary.release, status: first.status },
      plan: atCanary.plan,
      observations: {
        ...observations,
        measurements: [beforeStage, inconclusive],
        now: iso(stageStart + 20 * SECOND),
      },
    });
    const tally = second.status.stages.at(-1)?.tallies[0];
    expect(tally).toMatchObject({ metric: "error-rate", inconclusive: 1, fail: 0 });
    expect(second.status.stages.at(-1)?.measurements).toHaveLength(1);
    expect(second.status.currentStage?.lastAnalysisAt).toBe(inconclusive.at);
  });

  it("when a stage runs long, then only the newest measurements are kept, with the counts intact", () => {
    const long = runUntil(
      atCanary,
      (sim) => (statusOf(sim).stages.at(-1)?.tallies[0]?.pass ?? 0) >= 14,
      {},
      200,
    );
    const record = statusOf(long).stages.at(-1);
    expect(record?.measurements).toHaveLength(STATUS_LIMITS.measurementsPerStage);
    expect(record?.tallies[0]?.pass).toBeGreaterThanOrEqual(14);
  });
});

describe("given a release paused and resumed many times", () => {
  it("when the transitions exceed the limit, then the first and the newest are kept and the dropped ones counted", () => {
    let sim = runUntil(simulate(aRelease(), planFor(aRelease())), inStage("canary"));
    for (let cycle = 0; cycle < 40; cycle++) {
      sim = tick(sim, { advanceMs: SECOND, control: { paused: true } });
      sim = tick(sim, { advanceMs: SECOND, control: { paused: false } });
    }
    const status = statusOf(sim);
    expect(status.transitions).toHaveLength(STATUS_LIMITS.transitions);
    expect(status.transitions[0]).toMatchObject({ from: "Pending", to: "Progressing" });
    expect(status.transitions.at(-1)).toMatchObject({ from: "Paused", to: "Progressing" });
    expect(status.transitionsDropped).toBe(1 + 80 - STATUS_LIMITS.transitions);
    expect(releaseStatusSchema.safeParse(status).success).toBe(true);
  });
});

describe("given the conditions of a release", () => {
  it("when only the message changes, then lastTransitionTime stays; when the status flips, it moves", () => {
    const release = aRelease();
    const started = decide({ release, plan: planFor(release), observations: observationsAt(T0) });
    const progressing = started.status.conditions.find((condition) => condition.type === "Progressing");
    expect(progressing).toMatchObject({
      status: "True",
      reason: "Progressing",
      lastTransitionTime: iso(T0),
      observedGeneration: 1,
    });
    expect(started.status.observedGeneration).toBe(1);

    const later = decide({
      release: { ...release, status: started.status },
      plan: planFor(release),
      observations: observationsAt(T0 + MINUTE, { canary: aReadyCanary({ ready: false, readyReplicas: 1 }) }),
    });
    expect(later.status.message).not.toBe(started.status.message);
    expect(
      later.status.conditions.find((condition) => condition.type === "Progressing")?.lastTransitionTime,
    ).toBe(iso(T0));

    const paused = decide({
      release: { ...release, spec: { ...release.spec, control: { paused: true } }, status: later.status },
      plan: planFor(release),
      observations: observationsAt(T0 + 2 * MINUTE),
    });
    expect(paused.status.conditions.find((condition) => condition.type === "Progressing")).toMatchObject({
      status: "False",
      reason: "Paused",
      lastTransitionTime: iso(T0 + 2 * MINUTE),
    });
    expect(paused.status.conditions.map((condition) => condition.type)).toEqual([
      "Valid",
      "Progressing",
      "Ready",
      "RolledBack",
      "WorkloadsReady",
      "StableDrifted",
    ]);
  });
});

describe("given a release in a terminal phase", () => {
  it("when anything at all is observed or asked, then the status stays as it is and nothing is done", () => {
    const done = runUntil(simulate(aRelease(), planFor(aRelease())), phaseIs("Succeeded"), {}, 1000);
    const result = decide({
      release: {
        ...done.release,
        spec: { ...done.release.spec, control: { abort: { by: "carol", at: iso(done.nowMs) } } },
      },
      plan: done.plan,
      observations: observe({ ...done.cluster, canaryWeight: 30 }, done.nowMs + MINUTE, {
        alerts: [{ name: "Down", fingerprint: "f", startsAt: iso(done.nowMs), labels: {} }],
      }),
    });
    expect(result.status).toEqual(done.release.status);
    expect(result.actions).toEqual([]);
    expect(result.requeueAfterMs).toBeUndefined();
  });
});

describe("given when to look again", () => {
  it("when a stage is running and settled, then it is the soonest of the next round and the end of the hold", () => {
    const release = aRelease({
      stages: [
        { name: "canary", weight: 5, hold: "10s" },
        { name: "ga", weight: 100, hold: "0s" },
      ],
    });
    const atCanary = runUntil(simulate(release, planFor(release)), inStage("canary"));
    const settled = tick(atCanary, { advanceMs: SECOND });
    expect(settled.history.at(-1)?.result.requeueAfterMs).toBe(9 * SECOND);

    const pastHold = tick(settled, { advanceMs: 10 * SECOND });
    const untilRound = pastHold.history.at(-1)?.result.requeueAfterMs;
    expect(untilRound).toBeGreaterThan(0);
    expect(untilRound).toBeLessThanOrEqual(30 * SECOND);
  });

  it("when waiting for the canary, then it retries soon, but never later than the progress deadline", () => {
    const cluster = { ...aCluster(), canaryNeverReady: true };
    const sim = runUntil(
      simulate(aRelease(), planFor(aRelease()), cluster),
      (s) => s.nowMs >= T0 + 9 * MINUTE + 58 * SECOND,
      {
        advanceMs: 58 * SECOND,
      },
    );
    expect(sim.history.at(-1)?.result.requeueAfterMs).toBeLessThanOrEqual(5 * SECOND);
  });
});
