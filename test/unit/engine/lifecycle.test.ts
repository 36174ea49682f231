import { describe, expect, it } from "vitest";
import { releaseStatusSchema, withoutCoverage, type Release } from "../../../src/api/index.ts";
import { BLOCKED_RETRY_MS, decide, type Action } from "../../../src/engine/index.ts";
import {
  aRelease,
  aStable,
  iso,
  MINUTE,
  NEW_IMAGES,
  observationsAt,
  planFor,
  SECOND,
  STABLE_IMAGES,
  T0,
} from "./builders.ts";
import {
  aCluster,
  allActions,
  phaseIs,
  phasePath,
  runUntil,
  simulate,
  statusOf,
  tick,
  type Simulation,
} from "./cluster.ts";

// Scenarios for every path of the lifecycle: given a release and a cluster, when
// the cluster (or a person) does something, then the status and actions are these.

const isTerminal = (sim: Simulation) =>
  ["Succeeded", "RolledBack", "Failed"].includes(sim.release.status?.phase ?? "");
const inStage = (name: string) => (sim: Simulation) => sim.release.status?.currentStage?.name === name;

function simulation(release: Release = aRelease(), cluster = aCluster()): Simulation {
  return simulate(release, planFor(release), cluster);
}

function weights(actions: readonly Action[]): number[] {
  return actions.flatMap((action) => (action.type === "setWeight" ? [action.canaryWeight] : []));
}

function ofType<T extends Action["type"]>(
  actions: readonly Action[],
  type: T,
): Extract<Action, { type: T }>[] {
  return actions.filter((action): action is Extract<Action, { type: T }> => action.type === type);
}

function lastActions(sim: Simulation): Action[] {
  return sim.history.at(-1)?.result.actions ?? [];
}

describe("given a standard release over a healthy stable 2.3.1", () => {
  it("when every analysis round passes, then it walks each stage, promotes, bakes and succeeds", () => {
    const end = runUntil(simulation(), isTerminal, {}, 1000);
    const status = statusOf(end);

    expect(phasePath(end)).toEqual(["Pending→Progressing", "Progressing→Baking", "Baking→Succeeded"]);
    expect(status.stages.map((stage) => [stage.name, stage.outcome])).toEqual([
      ["canary", "passed"],
      ["early-adopter", "passed"],
      ["expansion", "passed"],
      ["ga", "passed"],
      ["bake", "passed"],
    ]);
    expect(weights(allActions(end))).toEqual([1, 10, 50, 100, 0]);
    expect(status.previous).toEqual({ version: "2.3.1", images: STABLE_IMAGES, replicas: 4 });
    expect(status.promotedAt).toBeDefined();
    expect(status.finishedAt).toBeDefined();
    expect(end.cluster.stable).toMatchObject({ images: NEW_IMAGES, version: "2.4.0" });
    expect(end.cluster.canary.desiredReplicas).toBe(0);
    expect(ofType(allActions(end), "notify").map((notify) => notify.event)).toEqual(["succeeded"]);
    expect(status.conditions.find((condition) => condition.type === "Ready")?.status).toBe("True");
    expect(releaseStatusSchema.safeParse(status).success).toBe(true);
  });

  it("when it starts, then it creates the canary as big as stable and sends it no traffic until it is Ready", () => {
    const release = aRelease();
    const first = decide({ release, plan: planFor(release), observations: observationsAt(T0) });

    expect(first.status.phase).toBe("Progressing");
    expect(first.status.currentStage).toBeUndefined();
    expect(first.actions.filter((action) => action.type !== "emitEvent")).toEqual([
      { type: "ensureCanary", images: NEW_IMAGES, replicas: 4 },
    ]);
    expect(first.requeueAfterMs).toBe(5 * SECOND);

    const ready = decide({
      release: { ...release, status: first.status },
      plan: planFor(release),
      observations: observationsAt(T0 + 20 * SECOND, {
        canary: { ...aStable({ images: NEW_IMAGES, version: "2.4.0" }) },
      }),
    });
    expect(ready.status.currentStage).toMatchObject({ index: 0, name: "canary", weight: 1 });
    expect(weights(ready.actions)).toEqual([1]);
  });

  it("when the stage hold is over but no measurement has passed yet, then it does not advance", () => {
    const release = aRelease();
    const atCanary = runUntil(simulation(release), inStage("canary"));
    // No analysis results ever come back: every round is lost.
    const later = runUntil(
      atCanary,
      (sim) => sim.nowMs >= atCanary.nowMs + 30 * MINUTE,
      { advanceMs: MINUTE, cluster: { measurements: [] } },
      100,
    );
    expect(statusOf(later).currentStage?.name).toBe("canary");
    expect(statusOf(later).message).toContain("not measured yet");
  });
});

describe("given a release whose canary fails its error-rate metric", () => {
  it("when the first round fails at the canary stage, then it rolls back without touching stable", () => {
    const atCanary = runUntil(simulation(), inStage("canary"));
    const end = runUntil(atCanary, isTerminal, { verdictFor: () => "fail" });
    const status = statusOf(end);

    expect(phasePath(end)).toEqual([
      "Pending→Progressing",
      "Progressing→RollingBack",
      "RollingBack→RolledBack",
    ]);
    expect(status.rollback).toMatchObject({
      trigger: "metric",
      metric: "error-rate",
      value: "0.2",
      threshold: "max 5%",
      restored: { version: "2.3.1", images: STABLE_IMAGES },
      verified: true,
    });
    expect(status.rollback?.completedAt).toBeDefined();
    expect(status.stages.map((stage) => [stage.name, stage.outcome])).toEqual([["canary", "failed"]]);
    const rollbackActions =
      end.history.find((step) => step.result.status.phase === "RollingBack")?.result.actions ?? [];
    expect(rollbackActions.filter((action) => action.type !== "emitEvent")).toEqual([
      { type: "setWeight", canaryWeight: 0 },
      { type: "scaleCanary", replicas: 0 },
    ]);
    expect(ofType(allActions(end), "revertStable")).toEqual([]);
    expect(ofType(allActions(end), "promoteStable")).toEqual([]);
    expect(ofType(allActions(end), "notify").map((notify) => notify.event)).toEqual(["rolledBack"]);
    expect(end.cluster).toMatchObject({
      canaryWeight: 0,
      stable: { images: STABLE_IMAGES, version: "2.3.1" },
    });
    expect(status.conditions.find((condition) => condition.type === "RolledBack")?.status).toBe("True");
  });

  it("when rounds only lack data, then it pauses for a person, and a promote takes it on", () => {
    const atCanary = runUntil(simulation(), inStage("canary"));
    const paused = runUntil(atCanary, phaseIs("Paused"), { verdictFor: () => "inconclusive" });
    const status = statusOf(paused);

    expect(status.message).toContain("had no data 4 time(s), more than inconclusiveLimit 3");
    expect(ofType(lastActions(paused), "notify")).toEqual([
      expect.objectContaining({ event: "paused", message: expect.stringContaining("promote") }),
    ]);

    const promoted = tick(paused, {
      advanceMs: 10 * SECOND,
      control: { promote: { by: "bob", at: iso(paused.nowMs) } },
    });
    expect(statusOf(promoted).phase).toBe("Progressing");
    expect(statusOf(promoted).currentStage?.name).toBe("early-adopter");
    expect(statusOf(promoted).stages[0]?.outcome).toBe("promoted");
  });
});

describe("given no traffic router: the replica split over 4 stable pods", () => {
  const splitRelease = () => aRelease({ traffic: { replicas: {} } });
  const splitCluster = () => ({ ...aCluster(), replicaSplit: true });

  it("when every round passes, then each stage holds the nearest share of pods, the record says which, and it succeeds", () => {
    const end = runUntil(simulation(splitRelease(), splitCluster()), isTerminal, {}, 1000);
    const status = statusOf(end);

    expect(status.phase).toBe("Succeeded");
    // 1 canary pod of 5 is 20% (asked 1% and 10%); 4 of 8 is 50% (asked 50% and 100%).
    expect(status.stages.map((stage) => [stage.name, stage.weight, stage.reachedWeight])).toEqual([
      ["canary", 1, 20],
      ["early-adopter", 10, 20],
      ["expansion", 50, 50],
      ["ga", 100, 50],
      ["bake", 100, undefined],
    ]);
    // One pod to start: the split owns the count afterwards, and new images never resize it.
    expect(ofType(allActions(end), "ensureCanary")).toEqual([
      { type: "ensureCanary", images: NEW_IMAGES, replicas: 1 },
    ]);
    expect(weights(allActions(end))).toEqual([1, 10, 50, 100, 0]);
    expect(end.cluster.stable).toMatchObject({ images: NEW_IMAGES, version: "2.4.0" });
    expect(end.cluster.canary.desiredReplicas).toBe(0);
  });

  it("when the canary fails its metric, then it rolls back to no canary pods", () => {
    const atCanary = runUntil(simulation(splitRelease(), splitCluster()), inStage("canary"));
    expect(atCanary.cluster.canary.desiredReplicas).toBe(1);
    const end = runUntil(atCanary, isTerminal, { verdictFor: () => "fail" });

    expect(statusOf(end).phase).toBe("RolledBack");
    expect(statusOf(end).rollback).toMatchObject({ trigger: "metric", verified: true });
    expect(end.cluster.canary.desiredReplicas).toBe(0);
    expect(end.cluster.stable).toMatchObject({ images: STABLE_IMAGES, version: "2.3.1" });
  });
});

describe("given a release that reached its bake", () => {
  it("when stable fails the analysis during the bake, then the rollback reverts stable to 2.3.1", () => {
    const baking = runUntil(simulation(), phaseIs("Baking"), {}, 1000);
    expect(baking.cluster.stable).toMatchObject({ images: NEW_IMAGES, version: "2.4.0" });

    const end = runUntil(baking, isTerminal, { verdictFor: () => "fail" });
    const status = statusOf(end);
    expect(status.phase).toBe("RolledBack");
    expect(status.rollback).toMatchObject({ trigger: "metric", metric: "error-rate" });
    const analysisRequests = ofType(
      end.history.slice(baking.history.length).flatMap((step) => step.result.actions),
      "runAnalysis",
    );
    expect(analysisRequests[0]?.subject).toBe("stable");
    const rollbackStep = end.history.find((step) => step.result.status.phase === "RollingBack");
    expect(rollbackStep?.result.actions.filter((action) => action.type !== "emitEvent")).toEqual([
      { type: "revertStable", images: STABLE_IMAGES, version: "2.3.1" },
    ]);
    expect(end.cluster.stable).toMatchObject({ images: STABLE_IMAGES, version: "2.3.1" });
    expect(status.stages.at(-1)).toMatchObject({ name: "bake", outcome: "failed" });
  });
});

describe("given new pods that crash-loop", () => {
  it("when the canary comes up, then it rolls back for health, naming the pod, container and reason", () => {
    const cluster = { ...aCluster(), canaryCrashLoop: true };
    const end = runUntil(simulation(aRelease(), cluster), isTerminal);
    const rollback = statusOf(end).rollback;

    expect(rollback?.trigger).toBe("health");
    expect(rollback?.reason).toBe(
      "canary checkout-canary: pod checkout-canary-7d9f-x2k4q container checkout is CrashLoopBackOff (5 restarts)",
    );
    expect(statusOf(end).phase).toBe("RolledBack");
    // The canary never got Ready, so the router never sent it anything.
    expect(weights(allActions(end))).toEqual([]);
    expect(end.cluster.canary.desiredReplicas).toBe(0);
  });
});

describe("given new pods that never get Ready", () => {
  it("when the progress deadline passes, then it rolls back with trigger deadline", () => {
    const cluster = { ...aCluster(), canaryNeverReady: true };
    const waiting = runUntil(simulation(aRelease(), cluster), (sim) => sim.nowMs >= T0 + 9 * MINUTE, {
      advanceMs: MINUTE,
    });
    expect(statusOf(waiting).phase).toBe("Progressing");
    expect(statusOf(waiting).message).toContain(
      "waiting for the canary checkout-canary to be Ready (0/4 Ready)",
    );

    const end = runUntil(waiting, isTerminal, { advanceMs: MINUTE });
    expect(statusOf(end).rollback).toMatchObject({
      trigger: "deadline",
      reason: "the canary checkout-canary has not been Ready for 10m (0/4 Ready)",
    });
    const startedAt = Date.parse(statusOf(end).startedAt ?? "");
    expect(statusOf(end).rollback?.at).toBe(iso(startedAt + 10 * MINUTE));
  });

  it("when stable does not get Ready on the new version at GA, then it rolls back and reverts stable", () => {
    const atGA = runUntil(simulation(), inStage("ga"), {}, 1000);
    // The promotion reached the template, but the new stable pods never become Ready.
    const stuck = { ...atGA.cluster.stable, ready: false, readyReplicas: 1 };
    const end = runUntil(
      { ...atGA, cluster: { ...atGA.cluster, stable: stuck } },
      phaseIs("RollingBack"),
      { advanceMs: MINUTE, cluster: {} },
      20,
    );
    expect(statusOf(end).rollback?.trigger).toBe("deadline");
    expect(statusOf(end).rollback?.reason).toBe(
      "the stable checkout has not been Ready on 2.4.0 for 10m (1/4 Ready)",
    );
    expect(ofType(lastActions(end), "revertStable")).toEqual([
      { type: "revertStable", images: STABLE_IMAGES, version: "2.3.1" },
    ]);
  });

  it("when the canary stops being Ready mid-stage without crashing, then it rolls back once that lasts the deadline", () => {
    const atEarly = runUntil(simulation(), inStage("early-adopter"), {}, 1000);
    const notReady = { ...atEarly.cluster.canary, ready: false, readyReplicas: 2 };
    const stalled = tick(atEarly, { advanceMs: 10 * SECOND, cluster: { canary: notReady } });
    const since = iso(stalled.nowMs);
    expect(
      statusOf(stalled).conditions.find((condition) => condition.type === "WorkloadsReady"),
    ).toMatchObject({
      status: "False",
      reason: "CanaryNotReady",
      lastTransitionTime: since,
    });

    const end = runUntil(stalled, phaseIs("RollingBack"), { advanceMs: MINUTE }, 20);
    expect(statusOf(end).rollback).toMatchObject({
      trigger: "deadline",
      at: iso(Date.parse(since) + 10 * MINUTE),
      reason: "the canary checkout-canary has not been Ready for 10m (2/4 Ready)",
    });
    expect(statusOf(end).stages.map((stage) => stage.name)).toEqual(["canary", "early-adopter"]);
  });

  it("when the canary is briefly not Ready, then it only waits, and the deadline starts over", () => {
    const atEarly = runUntil(simulation(), inStage("early-adopter"), {}, 1000);
    const notReady = { ...atEarly.cluster.canary, ready: false, readyReplicas: 3 };
    const blip = tick(atEarly, { advanceMs: 10 * SECOND, cluster: { canary: notReady } });
    expect(blip.history.at(-1)?.result.requeueAfterMs).toBe(5 * SECOND);
    // Two spells of about 9 minutes each: more than the deadline in all, but never in a row.
    const stillOut = tick(blip, { advanceMs: 8 * MINUTE + 50 * SECOND });
    const recovered = tick(stillOut, { advanceMs: 10 * SECOND, cluster: { canary: atEarly.cluster.canary } });
    const outAgain = tick(recovered, { advanceMs: 10 * SECOND, cluster: { canary: notReady } });
    const again = tick(outAgain, { advanceMs: 9 * MINUTE });
    expect(statusOf(again).phase).toBe("Progressing");
  });

  it("when the canary Deployment reports ProgressDeadlineExceeded, then it rolls back at once", () => {
    const atCanary = runUntil(simulation(), inStage("canary"));
    const next = tick(atCanary, {
      advanceMs: 10 * SECOND,
      cluster: { canary: { ...atCanary.cluster.canary, progressDeadlineExceeded: true } },
    });
    expect(statusOf(next).rollback).toMatchObject({ trigger: "deadline" });
    expect(statusOf(next).rollback?.reason).toContain("exceeded its progress deadline");
  });
});

describe("given a critical alert for the target", () => {
  it("when it fires during a stage, then it rolls back with the alert's name, fingerprint and labels", () => {
    const atEarly = runUntil(simulation(), inStage("early-adopter"), {}, 1000);
    const alert = {
      name: "CheckoutErrorBudgetBurn",
      fingerprint: "a1b2c3d4",
      startsAt: iso(atEarly.nowMs),
      labels: { severity: "critical", service: "checkout", namespace: "shop" },
    };
    const end = runUntil(atEarly, isTerminal, { extras: { alerts: [alert] } });
    expect(statusOf(end).rollback).toMatchObject({
      trigger: "alert",
      alert: { name: "CheckoutErrorBudgetBurn", fingerprint: "a1b2c3d4", labels: alert.labels },
    });
    expect(statusOf(end).phase).toBe("RolledBack");
  });

  it("when it was already firing before the release started, then it does not roll back (an emergency fix must get through)", () => {
    const incident = {
      name: "CheckoutDown",
      fingerprint: "99aa",
      startsAt: iso(T0 - 30 * MINUTE),
      labels: { severity: "critical", service: "checkout" },
    };
    const release = aRelease({ changeRequest: { type: "emergency" } });
    const end = runUntil(simulation(release), isTerminal, { extras: { alerts: [incident] } }, 1000);
    expect(statusOf(end).phase).toBe("Succeeded");
  });
});

describe("given a person pauses a running release", () => {
  it("when paused past the hold, then nothing advances while analysis goes on; when resumed, it goes on", () => {
    const atCanary = runUntil(simulation(), inStage("canary"));
    const paused = tick(atCanary, { advanceMs: 10 * SECOND, control: { paused: true } });
    expect(statusOf(paused).phase).toBe("Paused");
    expect(ofType(lastActions(paused), "notify")).toEqual([]);

    const held = runUntil(
      paused,
      (sim) => sim.nowMs >= paused.nowMs + 30 * MINUTE,
      { advanceMs: 30 * SECOND },
      100,
    );
    expect(statusOf(held).phase).toBe("Paused");
    expect(statusOf(held).currentStage?.name).toBe("canary");
    const heldActions = held.history.slice(paused.history.length).flatMap((step) => step.result.actions);
    expect(ofType(heldActions, "runAnalysis").length).toBeGreaterThan(10);
    expect(weights(heldActions)).toEqual([]);

    const resumed = tick(held, { advanceMs: 10 * SECOND, control: { paused: false } });
    expect(statusOf(resumed).transitions.at(-2)).toMatchObject({ from: "Progressing", to: "Paused" });
    expect(statusOf(resumed).currentStage?.name).toBe("early-adopter");
    expect(phasePath(resumed).slice(-2)).toEqual(["Progressing→Paused", "Paused→Progressing"]);
  });

  it("when a metric fails while paused, then it still rolls back", () => {
    const atCanary = runUntil(simulation(), inStage("canary"));
    const paused = tick(atCanary, { advanceMs: 10 * SECOND, control: { paused: true } });
    const end = runUntil(paused, isTerminal, { verdictFor: () => "fail" });
    expect(phasePath(end).slice(-2)).toEqual(["Paused→RollingBack", "RollingBack→RolledBack"]);
  });

  it("when paused during the bake, then it goes back to Baking on resume", () => {
    const baking = runUntil(simulation(), phaseIs("Baking"), {}, 1000);
    const paused = tick(baking, { advanceMs: 10 * SECOND, control: { paused: true } });
    const resumed = tick(paused, { advanceMs: 10 * SECOND, control: { paused: false } });
    expect(phasePath(resumed).slice(-2)).toEqual(["Baking→Paused", "Paused→Baking"]);
  });
});

describe("given a person promotes", () => {
  it("when promoted early in the canary stage, then the stage ends at once, and only once", () => {
    const atCanary = runUntil(simulation(), inStage("canary"));
    const promote = { by: "bob", at: iso(atCanary.nowMs) };
    const promoted = tick(atCanary, { advanceMs: 10 * SECOND, control: { promote } });
    const status = statusOf(promoted);

    expect(status.currentStage?.name).toBe("early-adopter");
    expect(status.handledPromoteAt).toBe(promote.at);
    expect(status.stages[0]).toMatchObject({ name: "canary", outcome: "promoted" });
    expect(weights(lastActions(promoted))).toEqual([10]);

    // The same request seen again (it stays in spec) does not skip early-adopter.
    const later = tick(promoted, { advanceMs: MINUTE });
    expect(statusOf(later).currentStage?.name).toBe("early-adopter");
  });

  it("when promoted with --full, then it goes straight to GA, recording no skipped stage", () => {
    const atCanary = runUntil(simulation(), inStage("canary"));
    const promoted = tick(atCanary, {
      advanceMs: 10 * SECOND,
      control: { promote: { by: "bob", at: iso(atCanary.nowMs), full: true } },
    });
    expect(statusOf(promoted).currentStage?.name).toBe("ga");
    expect(statusOf(promoted).stages.map((stage) => stage.name)).toEqual(["canary", "ga"]);
    expect(lastActions(promoted).filter((action) => action.type !== "emitEvent")).toEqual([
      { type: "setWeight", canaryWeight: 100 },
      { type: "promoteStable", images: NEW_IMAGES, version: "2.4.0" },
    ]);
    const end = runUntil(promoted, isTerminal, {}, 1000);
    expect(statusOf(end).phase).toBe("Succeeded");
  });
});

describe("given a person aborts", () => {
  it("when aborted in a stage, then it rolls back with trigger manual and says who and why", () => {
    const atEarly = runUntil(simulation(), inStage("early-adopter"), {}, 1000);
    const abort = { by: "carol", at: iso(atEarly.nowMs), reason: "customer reports" };
    const end = runUntil(atEarly, isTerminal, { control: { abort } });
    const status = statusOf(end);

    expect(status.rollback).toMatchObject({
      trigger: "manual",
      by: "carol",
      reason: "aborted by carol: customer reports",
    });
    expect(status.stages.at(-1)).toMatchObject({ name: "early-adopter", outcome: "aborted" });
    expect(ofType(allActions(end), "notify")).toEqual([
      expect.objectContaining({ event: "rolledBack", message: expect.stringContaining("aborted by carol") }),
    ]);
  });

  it("when aborted before it started, then it fails with nothing changed", () => {
    const release = aRelease({ control: { abort: { by: "carol", at: iso(T0) } } });
    const result = decide({
      release,
      plan: planFor(release),
      observations: observationsAt(T0, { blockingRelease: "checkout-2-3-9" }),
    });
    expect(result.status.phase).toBe("Failed");
    expect(result.status.message).toContain("the release had not started, so nothing was changed");
    expect(result.actions.map((action) => action.type)).toEqual(["emitEvent", "notify"]);
  });
});

describe("given a change that needs an approval before GA", () => {
  const release = aRelease({ changeRequest: { requiresApproval: true } });

  it("when expansion passes, then it waits at AwaitingApproval, notifies once, and a promote does not pass the gate", () => {
    const waiting = runUntil(simulation(release), phaseIs("AwaitingApproval"), {}, 1000);
    expect(statusOf(waiting).currentStage?.name).toBe("expansion");
    expect(ofType(lastActions(waiting), "notify").map((notify) => notify.event)).toEqual([
      "awaitingApproval",
    ]);

    const promote = { by: "bob", at: iso(waiting.nowMs), full: true };
    const stillWaiting = runUntil(waiting, (sim) => sim.nowMs >= waiting.nowMs + 20 * MINUTE, {
      control: { promote },
    });
    expect(statusOf(stillWaiting).phase).toBe("AwaitingApproval");
    const since = stillWaiting.history.slice(waiting.history.length).flatMap((step) => step.result.actions);
    expect(ofType(since, "notify")).toEqual([]);
    expect(ofType(since, "promoteStable")).toEqual([]);
    expect(stillWaiting.cluster.canaryWeight).toBe(50);

    const approval = { by: "dave", at: iso(stillWaiting.nowMs), comment: "CAB ok" };
    const approved = tick(stillWaiting, {
      advanceMs: 10 * SECOND,
      control: { promote, approvals: [approval] },
    });
    expect(statusOf(approved).phase).toBe("Progressing");
    expect(statusOf(approved).currentStage?.name).toBe("ga");
    expect(statusOf(approved).approvals).toEqual([{ ...approval, verified: true, groups: ["approvers"] }]);
    expect(statusOf(approved).stages.find((stage) => stage.name === "expansion")?.outcome).toBe("promoted");
    expect(statusOf(approved).conditions.find((condition) => condition.type === "Approved")).toMatchObject({
      status: "True",
      reason: "Approved",
    });
  });

  // Only approvals the controller verified count: who wrote them is what the API server says.
  const atGate = () => runUntil(simulation(release), phaseIs("AwaitingApproval"), {}, 1000);
  const approvedBy = (by: string, nowMs: number) => ({ approvals: [{ by, at: iso(nowMs) }] });
  const approvedCondition = (sim: ReturnType<typeof atGate>) =>
    statusOf(sim).conditions.find((condition) => condition.type === "Approved");

  it("when the approval's stamp does not verify, then the gate stays shut and status says why", () => {
    const waiting = atGate();
    const control = approvedBy("mallory", waiting.nowMs);
    const identity = {
      webhook: true,
      creator: { verified: true, user: "alice" },
      approvals: [{ verified: false, user: "mallory", problem: "its stamp does not verify" }],
    };
    const after = runUntil(waiting, (sim) => sim.nowMs >= waiting.nowMs + 5 * MINUTE, {
      control,
      extras: { identity },
    });
    expect(statusOf(after).phase).toBe("AwaitingApproval");
    expect(statusOf(after).approvals).toEqual([
      expect.objectContaining({ by: "mallory", verified: false, problem: "its stamp does not verify" }),
    ]);
    expect(approvedCondition(after)).toMatchObject({ status: "False", reason: "Waiting" });
    expect(approvedCondition(after)?.message).toContain(
      "mallory's approval is unverified: its stamp does not verify",
    );
  });

  it("when the author approves their own change, then it does not count (separation of duties)", () => {
    const waiting = atGate();
    const after = runUntil(waiting, (sim) => sim.nowMs >= waiting.nowMs + 5 * MINUTE, {
      control: approvedBy("alice", waiting.nowMs),
    });
    expect(statusOf(after).phase).toBe("AwaitingApproval");
    expect(approvedCondition(after)?.message).toContain(
      "alice's approval does not count: separation of duties",
    );
  });

  it("when the preset turns separation of duties off, then the author's verified approval counts", () => {
    const waiting = atGate();
    const lenient = {
      ...waiting,
      plan: { ...waiting.plan, approval: { required: 1, separationOfDuties: false } },
    };
    const after = tick(lenient, { advanceMs: 10 * SECOND, control: approvedBy("alice", waiting.nowMs) });
    expect(statusOf(after).currentStage?.name).toBe("ga");
  });

  it("when the preset needs two approvers, then one is not enough and the same person twice is one", () => {
    const waiting = atGate();
    const strict = {
      ...waiting,
      plan: { ...waiting.plan, approval: { required: 2, separationOfDuties: true } },
    };
    const twiceDave = {
      approvals: [
        { by: "dave", at: iso(waiting.nowMs) },
        { by: "dave", at: iso(waiting.nowMs + SECOND) },
      ],
    };
    const one = runUntil(strict, (sim) => sim.nowMs >= waiting.nowMs + 2 * MINUTE, { control: twiceDave });
    expect(statusOf(one).phase).toBe("AwaitingApproval");
    expect(approvedCondition(one)?.message).toContain("needs 2 verified approvals");
    const two = tick(one, {
      advanceMs: 10 * SECOND,
      control: { approvals: [...twiceDave.approvals, { by: "erin", at: iso(one.nowMs) }] },
    });
    expect(statusOf(two).currentStage?.name).toBe("ga");
  });

  it("when the webhook is off, then no approval opens the gate and the condition says how to turn it on", () => {
    const waiting = atGate();
    const identity = {
      webhook: false,
      creator: { verified: false, problem: "created without the admission webhook: no creator stamp" },
      approvals: [{ verified: false, problem: "not stamped by the admission webhook" }],
    };
    const after = runUntil(waiting, (sim) => sim.nowMs >= waiting.nowMs + 5 * MINUTE, {
      control: approvedBy("dave", waiting.nowMs),
      extras: { identity },
    });
    expect(statusOf(after).phase).toBe("AwaitingApproval");
    expect(approvedCondition(after)).toMatchObject({ status: "False", reason: "WebhookDisabled" });
    expect(approvedCondition(after)?.message).toContain("the admission webhook is off");
    expect(approvedCondition(after)?.message).toContain("trust.webhook");
  });

  it("when the webhook does not cover the Release's namespace, then even verified stamps count for nothing and the condition says how to fix it", () => {
    const waiting = atGate();
    const problem =
      'the admission webhook glidepath-controller (releases.glidepath.dev) does not cover namespace shop (namespaceSelector {"matchLabels":{"team":"pay"}}); label the namespace to match it, or widen the selector';
    const verified = {
      webhook: true,
      creator: { verified: true, user: "alice" },
      approvals: [{ verified: true, user: "dave", groups: ["release-managers"] }],
    };
    const after = runUntil(waiting, (sim) => sim.nowMs >= waiting.nowMs + 5 * MINUTE, {
      control: approvedBy("dave", waiting.nowMs),
      extras: { identity: withoutCoverage(verified, problem) },
    });
    expect(statusOf(after).phase).toBe("AwaitingApproval");
    expect(statusOf(after).approvals).toEqual([
      expect.objectContaining({ by: "dave", verified: false, problem }),
    ]);
    expect(approvedCondition(after)).toMatchObject({ status: "False", reason: "WebhookNotCovering" });
    expect(approvedCondition(after)?.message).toContain("does not cover namespace shop");
    expect(approvedCondition(after)?.message).toContain(
      "until it covers this Release no identity stamp counts",
    );
    // The same stamps, covered: the gate opens.
    const covered = tick(waiting, {
      advanceMs: 10 * SECOND,
      control: approvedBy("dave", waiting.nowMs),
      extras: { identity: verified },
    });
    expect(statusOf(covered).currentStage?.name).toBe("ga");
  });
});

describe("given a closed change window", () => {
  const closed = {
    open: false,
    frozen: false,
    nextOpenAt: iso(T0 + 2 * 60 * MINUTE),
    note: "outside Mon-Thu 09-16",
  };
  const frozen = { open: true, frozen: true, note: "year-end freeze" };

  it("when a standard release arrives, then it waits for the window and starts when it opens", () => {
    const release = aRelease();
    const waiting = decide({
      release,
      plan: planFor(release),
      observations: observationsAt(T0, { changeWindow: closed }),
    });
    expect(waiting.status.phase).toBe("WaitingForWindow");
    expect(waiting.requeueAfterMs).toBe(2 * 60 * MINUTE);
    expect(waiting.actions.map((action) => action.type)).toEqual(["emitEvent"]);

    const opened = decide({
      release: { ...release, status: waiting.status },
      plan: planFor(release),
      observations: observationsAt(T0 + 2 * 60 * MINUTE),
    });
    expect(opened.status.phase).toBe("Progressing");
    expect(opened.status.changeWindow).toBeUndefined();
  });

  it("when a standard release meets a freeze, then it waits", () => {
    const release = aRelease();
    const result = decide({
      release,
      plan: planFor(release),
      observations: observationsAt(T0, { changeWindow: frozen }),
    });
    expect(result.status.phase).toBe("WaitingForWindow");
    expect(result.status.message).toContain("year-end freeze");
  });

  it("when an emergency meets a freeze, then it starts anyway, the record says so and a post-mortem is due", () => {
    const release = aRelease({ changeRequest: { type: "emergency" } });
    const result = decide({
      release,
      plan: planFor(release),
      observations: observationsAt(T0, { changeWindow: frozen }),
    });
    expect(result.status.phase).toBe("Progressing");
    expect(result.status.changeWindow).toEqual({
      bypassed: true,
      note: "started during a change freeze as a emergency change: year-end freeze",
    });
    expect(result.status.postMortemDue).toBe(true);
  });
});

describe("given another active release of the same target", () => {
  it("when it is still running, then this one stays Pending and names it; when it is done, this one starts", () => {
    const release = aRelease();
    const blocked = decide({
      release,
      plan: planFor(release),
      observations: observationsAt(T0, { blockingRelease: "checkout-2-3-9" }),
    });
    expect(blocked.status).toMatchObject({ phase: "Pending", waitingFor: "checkout-2-3-9" });
    expect(blocked.status.transitions).toEqual([]);
    expect(blocked.actions).toEqual([]);
    expect(blocked.requeueAfterMs).toBe(BLOCKED_RETRY_MS);

    const free = decide({
      release: { ...release, status: blocked.status },
      plan: planFor(release),
      observations: observationsAt(T0 + MINUTE),
    });
    expect(free.status.phase).toBe("Progressing");
    expect(free.status.waitingFor).toBeUndefined();
  });
});

describe("given a stable that cannot be rolled back to", () => {
  it("when an emergency finds no version label on stable, then it fails before changing anything", () => {
    const release = aRelease({ changeRequest: { type: "emergency" } });
    const { version: _none, ...unlabelled } = aStable();
    const result = decide({
      release,
      plan: planFor(release),
      observations: observationsAt(T0, { stable: unlabelled }),
    });

    expect(result.status.phase).toBe("Failed");
    expect(result.status.message).toContain("shop/checkout has no version label");
    expect(result.status.previous).toBeUndefined();
    expect(result.actions.map((action) => action.type)).toEqual(["emitEvent", "notify"]);
    expect(ofType(result.actions, "notify")[0]?.event).toBe("failed");
  });

  it("when the stable Deployment does not exist, then it fails and says which", () => {
    const release = aRelease();
    const result = decide({
      release,
      plan: planFor(release),
      observations: observationsAt(T0, { stable: { ...aStable(), exists: false } }),
    });
    expect(result.status.phase).toBe("Failed");
    expect(result.status.message).toBe(
      "the stable Deployment shop/checkout does not exist: nothing to release onto",
    );
  });

  it("when a rollback is needed but no previous version was recorded, then it fails", () => {
    const atCanary = runUntil(simulation(), inStage("canary"));
    const { previous: _lost, ...withoutPrevious } = statusOf(atCanary);
    const release = { ...atCanary.release, status: withoutPrevious };
    const result = decide({
      release: {
        ...release,
        spec: { ...release.spec, control: { abort: { by: "carol", at: iso(atCanary.nowMs) } } },
      },
      plan: atCanary.plan,
      observations: observationsAt(atCanary.nowMs, { canary: atCanary.cluster.canary }),
    });
    expect(result.status.phase).toBe("Failed");
    expect(result.status.message).toContain("the previous version was never captured");
  });
});
