import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { releaseStatusSchema, type ReleasePlan } from "../../../src/api/index.ts";
import { decide, type Action } from "../../../src/engine/index.ts";
import { aRelease, observationsAt, planFor, SECOND, T0, withStatus } from "./builders.ts";
import { allActions, phaseIs, runUntil, simulate, statusOf, tick, type Simulation } from "./cluster.ts";

// The controller's re-check of allowedImages (the webhook may be off or bypassed): a
// Release whose image the policy refuses never starts, says so in Valid and Progressing
// and an Event; one in flight when the policy is tightened is held, never rolled back by
// the policy itself, and never has the refused image written anywhere.

const events = (actions: readonly Action[]) =>
  actions.filter((action) => action.type === "emitEvent").map((action) => action.reason);
const writesImages = (action: Action) => action.type === "ensureCanary" || action.type === "promoteStable";
const conditionsOf = (sim: Simulation) =>
  Object.fromEntries(statusOf(sim).conditions.map((c) => [c.type, c]));

const release = aRelease();
const open = planFor(release);
const onlyPayments: ReleasePlan = {
  ...open,
  allowedImages: [{ preset: "standard", entries: ["registry.example.com/payments/"] }],
};
const refusal =
  'spec.images.checkout "registry.example.com/checkout:2.4.0" is not allowed: it matches no entry of ' +
  'preset "standard"\'s allowedImages ("registry.example.com/payments/") in rollout-strategy.json';

describe("given a Release whose image the policy does not allow", () => {
  it("when it would start, then it does not: no canary, Valid and Progressing False with ImageNotAllowed, one Event", () => {
    const result = decide({ release, plan: onlyPayments, observations: observationsAt(T0) });
    expect(result.status.phase).toBe("Pending");
    expect(result.status.startedAt).toBeUndefined();
    expect(result.actions.filter(writesImages)).toEqual([]);
    const conditions = Object.fromEntries(result.status.conditions.map((c) => [c.type, c]));
    expect(conditions.Valid).toMatchObject({ status: "False", reason: "ImageNotAllowed", message: refusal });
    expect(conditions.Progressing).toMatchObject({ status: "False", reason: "ImageNotAllowed" });
    expect(result.status.message).toBe(
      `blocked: ${refusal}; not started: the image policy (allowedImages) does not allow spec.images`,
    );
    expect(result.actions).toContainEqual({
      type: "emitEvent",
      eventType: "Warning",
      reason: "ImageNotAllowed",
      message: refusal,
    });
    expect(releaseStatusSchema.safeParse(result.status).success).toBe(true);

    const again = decide({
      release: withStatus(release, result.status),
      plan: onlyPayments,
      observations: observationsAt(T0 + SECOND),
    });
    expect(again.status).toEqual(result.status);
    expect(again.actions).toEqual([]);
  });

  it("when it also waits for another release, then the image is still what it says (and it holds no target)", () => {
    const result = decide({
      release,
      plan: onlyPayments,
      observations: observationsAt(T0, { blockingRelease: "checkout-2-3-9" }),
    });
    expect(result.status.waitingFor).toBeUndefined();
    expect(result.status.conditions.find((c) => c.type === "Valid")).toMatchObject({ status: "False" });
  });

  it("when the policy is widened, then it starts and says it is no longer blocked", () => {
    const stuck = decide({ release, plan: onlyPayments, observations: observationsAt(T0) });
    const freed = decide({
      release: withStatus(release, stuck.status),
      plan: open,
      observations: observationsAt(T0 + SECOND),
    });
    expect(freed.status.phase).toBe("Progressing");
    expect(freed.status.conditions.find((c) => c.type === "Valid")).toMatchObject({ status: "True" });
    expect(events(freed.actions)).toEqual(["Progressing", "Unblocked"]);
    expect(freed.actions.some((action) => action.type === "ensureCanary")).toBe(true);
  });
});

describe("given a release in flight when the policy is tightened", () => {
  /** Started under no policy, the canary at its first stage. */
  const inFirstStage = () =>
    runUntil(simulate(release, open), (sim) => sim.release.status?.currentStage?.index === 0, {
      advanceMs: SECOND,
    });
  /** The controller restarted with the new strategy file: same release, new plan. */
  const tightened = (sim: Simulation): Simulation => ({ ...sim, plan: onlyPayments });

  it("then it is held where it is: Paused, Valid False, the weight kept, no further stage, nothing written", () => {
    const before = inFirstStage();
    const weight = before.cluster.canaryWeight;
    const since = allActions(before).length;
    let sim = tick(tightened(before), { advanceMs: SECOND });
    expect(statusOf(sim).phase).toBe("Paused");
    expect(statusOf(sim).message).toContain(
      "held: the image policy (allowedImages) does not allow spec.images",
    );
    expect(conditionsOf(sim).Valid).toMatchObject({
      status: "False",
      reason: "ImageNotAllowed",
      message: refusal,
    });
    expect(events(sim.history.at(-1)!.result.actions)).toEqual(["Paused", "ImageNotAllowed"]);
    expect(sim.history.at(-1)!.result.actions).toContainEqual(
      expect.objectContaining({ type: "notify", event: "paused" }),
    );

    // An hour of passing rounds, a person's promote, and the canary deleted by someone: still held.
    for (let round = 0; round < 60; round++) sim = tick(sim, { advanceMs: 60 * SECOND });
    expect(sim.cluster.canaryWeight).toBe(weight);
    sim = tick(sim, {
      advanceMs: SECOND,
      control: { promote: { by: "carol", at: new Date(sim.nowMs).toISOString(), full: true } },
    });
    sim = tick(sim, {
      advanceMs: SECOND,
      cluster: { canary: { ...sim.cluster.canary, images: {}, exists: false } },
    });
    sim = tick(sim, { advanceMs: SECOND });
    expect(statusOf(sim).phase).toBe("Paused");
    expect(statusOf(sim).currentStage?.index).toBe(0);
    expect(allActions(sim).slice(since).filter(writesImages)).toEqual([]);
  });

  it("then a failing metric still rolls it back, and so does an abort", () => {
    const held = tick(tightened(inFirstStage()), { advanceMs: SECOND });
    const failed = runUntil(held, phaseIs("RolledBack"), {
      advanceMs: 30 * SECOND,
      verdictFor: () => "fail",
    });
    expect(statusOf(failed).rollback?.trigger).toBe("metric");
    const aborted = runUntil(held, phaseIs("RolledBack"), {
      advanceMs: SECOND,
      control: { abort: { by: "alice", at: new Date(T0).toISOString() } },
    });
    expect(statusOf(aborted).rollback?.trigger).toBe("manual");
    // Neither rollback wrote the refused image anywhere.
    const since = allActions(held).length;
    expect(allActions(failed).slice(since).filter(writesImages)).toEqual([]);
    expect(allActions(aborted).slice(since).filter(writesImages)).toEqual([]);
  });

  it("then, once the policy allows the image again, it resumes and finishes", () => {
    const held = tick(tightened(inFirstStage()), { advanceMs: SECOND });
    const resumed = tick({ ...held, plan: open }, { advanceMs: SECOND });
    expect(statusOf(resumed).phase).toBe("Progressing");
    expect(events(resumed.history.at(-1)!.result.actions)).toContain("Unblocked");
    const done = runUntil(resumed, phaseIs("Succeeded"), { advanceMs: 60 * SECOND });
    expect(statusOf(done).phase).toBe("Succeeded");
  });

  it("then one whose stable promotion has begun is neither held nor rolled back: it finishes", () => {
    const promoting = runUntil(
      simulate(release, open),
      (sim) => sim.release.status?.bakeStartedAt !== undefined,
      {
        advanceMs: 60 * SECOND,
      },
    );
    const done = runUntil(tightened(promoting), phaseIs("Succeeded"), { advanceMs: 60 * SECOND });
    expect(statusOf(done).transitions.map((t) => t.to)).not.toContain("Paused");
    expect(conditionsOf(done).Valid).toMatchObject({ status: "True" });
  });
});

describe("whatever happens to a release the policy refuses from the start", () => {
  const command = fc.constantFrom("none", "pause", "resume", "promote", "abort");
  const step = fc.record({
    advanceMs: fc.integer({ min: 0, max: 10 * 60 * SECOND }),
    command,
    verdict: fc.constantFrom("pass", "fail", "inconclusive", "error" as const),
  });

  it("no action ever writes its image, and it never starts", () => {
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 30 }), (steps) => {
        let sim = simulate(release, onlyPayments);
        for (const { advanceMs, command: what, verdict } of steps) {
          const at = new Date(sim.nowMs + advanceMs).toISOString();
          const control =
            what === "pause"
              ? { paused: true }
              : what === "promote"
                ? { promote: { by: "carol", at, full: true } }
                : what === "abort"
                  ? { abort: { by: "alice", at } }
                  : what === "resume"
                    ? {}
                    : undefined;
          sim = tick(sim, {
            advanceMs,
            verdictFor: () => verdict,
            ...(control === undefined ? {} : { control }),
          });
        }
        expect(allActions(sim).filter(writesImages)).toEqual([]);
        expect(statusOf(sim).startedAt).toBeUndefined();
      }),
      { numRuns: 100 },
    );
  });
});
