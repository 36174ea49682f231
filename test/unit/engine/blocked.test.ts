import { describe, expect, it } from "vitest";
import { releaseStatusSchema } from "../../../src/api/index.ts";
import {
  blockedBy,
  decide,
  recordBlocked,
  type Action,
  type BlockedObservation,
} from "../../../src/engine/index.ts";
import { aRelease, aStable, observationsAt, planFor, SECOND, T0, withStatus } from "./builders.ts";
import { phaseIs, runUntil, simulate, statusOf } from "./cluster.ts";

// A release the controller cannot move says why: the block it observed (or a Release
// that does not fit its target) goes into the Progressing condition and the message,
// is announced once, and is cleared, announced again, once it is gone.

const events = (actions: readonly Action[]) =>
  actions.filter((action) => action.type === "emitEvent").map((action) => action.reason);

const forbidden: BlockedObservation = {
  reason: "Forbidden",
  message:
    'the controller may not patch httproutes.gateway.networking.k8s.io "checkout" in namespace shop: grant patch on httproutes.gateway.networking.k8s.io to ServiceAccount glidepath-system/glidepath-controller',
};

describe("given a Release naming a container the stable Deployment lacks", () => {
  const release = aRelease({ images: { checkout: "registry.example.com/checkout:2.4.0", nope3: "x:3" } });
  const plan = planFor(release);

  it("when it would start, then it does not, and Valid and Progressing say which container and which exist", () => {
    const result = decide({ release, plan, observations: observationsAt(T0) });
    const expected =
      'spec.images names container "nope3", which Deployment shop/checkout does not have (its containers: checkout)';
    expect(result.status.startedAt).toBeUndefined();
    expect(result.status.phase).toBe("Pending");
    expect(result.actions.filter((action) => action.type === "ensureCanary")).toEqual([]);
    const conditions = Object.fromEntries(result.status.conditions.map((c) => [c.type, c]));
    expect(conditions.Valid).toMatchObject({ status: "False", reason: "TargetInvalid", message: expected });
    expect(conditions.Progressing).toMatchObject({
      status: "False",
      reason: "TargetInvalid",
      message: expected,
    });
    expect(result.status.message).toBe(
      `blocked: ${expected}; not started: spec.images does not fit the stable Deployment`,
    );
    expect(result.actions).toContainEqual({
      type: "emitEvent",
      eventType: "Warning",
      reason: "TargetInvalid",
      message: expected,
    });
    expect(releaseStatusSchema.safeParse(result.status).success).toBe(true);

    // Asked again, nothing more is said.
    const again = decide({
      release: withStatus(release, result.status),
      plan,
      observations: observationsAt(T0 + SECOND),
    });
    expect(again.status).toEqual(result.status);
    expect(events(again.actions)).toEqual([]);
  });

  it("when the Deployment gets the container, then it starts and says it is no longer blocked", () => {
    const stuck = decide({ release, plan, observations: observationsAt(T0) });
    const fixed = decide({
      release: withStatus(release, stuck.status),
      plan,
      observations: observationsAt(T0 + SECOND, {
        stable: aStable({ images: { checkout: "registry.example.com/checkout:2.3.1", nope3: "x:2" } }),
      }),
    });
    expect(fixed.status.phase).toBe("Progressing");
    expect(fixed.status.message).not.toContain("blocked");
    expect(fixed.status.conditions.find((c) => c.type === "Valid")).toMatchObject({ status: "True" });
    expect(events(fixed.actions)).toEqual(["Progressing", "Unblocked"]);
  });
});

describe("given a started release the controller cannot act for", () => {
  const release = aRelease();
  const atCanary = runUntil(
    simulate(release, planFor(release)),
    (sim) => sim.release.status?.currentStage?.name === "canary",
  );

  it("when decide is told the block, then Progressing and the message carry it and one Warning announces it; it goes on deciding", () => {
    const last = atCanary.history.at(-1);
    if (!last) throw new Error("no reconcile");
    const observations = { ...last.observations, now: new Date(atCanary.nowMs + SECOND).toISOString() };
    const blocked = decide({
      release: atCanary.release,
      plan: atCanary.plan,
      observations: { ...observations, blocked: forbidden },
    });
    const progressing = blocked.status.conditions.find((c) => c.type === "Progressing");
    expect(progressing).toMatchObject({ status: "False", reason: "Forbidden", message: forbidden.message });
    expect(blocked.status.phase).toBe("Progressing");
    expect(blocked.status.message).toMatch(
      /^blocked: the controller may not patch .*; stage canary \(1%\): /,
    );
    expect(blocked.actions.filter((action) => action.type === "emitEvent")).toEqual([
      { type: "emitEvent", eventType: "Warning", reason: "Forbidden", message: forbidden.message },
    ]);
    expect(blockedBy(blocked.status)).toEqual(forbidden);

    const still = decide({
      release: withStatus(atCanary.release, blocked.status),
      plan: atCanary.plan,
      observations: { ...observations, blocked: forbidden },
    });
    expect(still.status).toEqual(blocked.status);
    expect(events(still.actions)).toEqual([]);

    const cleared = decide({
      release: withStatus(atCanary.release, blocked.status),
      plan: atCanary.plan,
      observations,
    });
    expect(cleared.status.conditions.find((c) => c.type === "Progressing")).toMatchObject({
      status: "True",
      reason: "Progressing",
    });
    expect(cleared.status.message).not.toContain("blocked");
    expect(cleared.status.message).toBe(statusOf(atCanary).message);
    expect(events(cleared.actions)).toEqual(["Unblocked"]);
    expect(blockedBy(cleared.status)).toBeUndefined();
  });

  it("when it could not even observe, then recordBlocked keeps the status, records the block, and says it once", () => {
    const now = new Date(atCanary.nowMs + SECOND).toISOString();
    const result = recordBlocked({ release: atCanary.release, now, blocked: forbidden });
    const before = statusOf(atCanary);
    expect(result.status.currentStage).toEqual(before.currentStage);
    expect(result.status.stages).toEqual(before.stages);
    expect(result.status.conditions.map((c) => c.type)).toEqual(before.conditions.map((c) => c.type));
    expect(blockedBy(result.status)).toEqual(forbidden);
    expect(events(result.actions)).toEqual(["Forbidden"]);
    expect(releaseStatusSchema.safeParse(result.status).success).toBe(true);
    const again = recordBlocked({
      release: withStatus(atCanary.release, result.status),
      now,
      blocked: forbidden,
    });
    expect(again.status).toEqual(result.status);
    expect(again.actions).toEqual([]);
  });

  it("when a Release that has no status yet cannot be observed, then it is Pending with the block", () => {
    const route = {
      reason: "RouteNotFound",
      message: "HTTPRoute shop/storefront (spec.traffic.gatewayAPI.httpRoute) does not exist",
    };
    const result = recordBlocked({ release, now: new Date(T0).toISOString(), blocked: route });
    expect(result.status.phase).toBe("Pending");
    expect(result.status.message).toBe(`blocked: ${route.message}`);
    expect(blockedBy(result.status)).toEqual(route);
    expect(releaseStatusSchema.safeParse(result.status).success).toBe(true);
  });

  it("when the release has finished, then recordBlocked changes nothing", () => {
    const done = runUntil(atCanary, phaseIs("Succeeded"), {}, 2000);
    const result = recordBlocked({
      release: done.release,
      now: new Date(done.nowMs).toISOString(),
      blocked: forbidden,
    });
    expect(result.status).toEqual(statusOf(done));
    expect(result.actions).toEqual([]);
  });
});
