import { describe, expect, it } from "vitest";
import type { Action, WorkloadObservation } from "../../../src/engine/index.ts";
import { aRelease, aStable, iso, MINUTE, NEW_IMAGES, planFor, SECOND, STABLE_IMAGES } from "./builders.ts";
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

// Someone else edits the stable Deployment while a release runs: a hotfix pauses the
// release and is never overwritten unseen; a rollback before the promotion leaves stable
// alone; scaling is only noted.

const HOTFIX = { checkout: "registry.example.com/checkout:9.9.9" };
const TEMPLATE = "template-as-released";

const isTerminal = (sim: Simulation) =>
  ["Succeeded", "RolledBack", "Failed"].includes(sim.release.status?.phase ?? "");
const inStage = (name: string) => (sim: Simulation) => sim.release.status?.currentStage?.name === name;

function simulation(): Simulation {
  const release = aRelease();
  return simulate(release, planFor(release), aCluster(aStable({ templateHash: TEMPLATE })));
}

/** `kubectl set image deployment/checkout checkout=…:9.9.9`: new pods, the version label untouched. */
function setImageByHand(sim: Simulation, images = HOTFIX): WorkloadObservation {
  return {
    ...sim.cluster.stable,
    images,
    writers: { images: { checkout: "kubectl-set" }, template: "kubectl-set" },
  };
}

function ofType<T extends Action["type"]>(
  actions: readonly Action[],
  type: T,
): Extract<Action, { type: T }>[] {
  return actions.filter((action): action is Extract<Action, { type: T }> => action.type === type);
}

function actionsSince(before: Simulation, after: Simulation): Action[] {
  return after.history.slice(before.history.length).flatMap((step) => step.result.actions);
}

function atEarlyAdopterWithHotfix(): Simulation {
  const atTen = runUntil(simulation(), inStage("early-adopter"), {}, 1000);
  return tick(atTen, { advanceMs: SECOND, cluster: { stable: setImageByHand(atTen) } });
}

describe("given a release at its 10% stage over stable 2.3.1", () => {
  it("when it starts, then it remembers what stable ran: version, images, replicas and template", () => {
    const started = tick(simulation());
    expect(statusOf(started).previous).toEqual({
      version: "2.3.1",
      images: STABLE_IMAGES,
      replicas: 4,
      template: TEMPLATE,
    });
  });

  it("when a person sets another image on stable, then it pauses, saying which container, which images and who", () => {
    const edited = atEarlyAdopterWithHotfix();
    const status = statusOf(edited);

    expect(status.phase).toBe("Paused");
    expect(status.message).toContain(
      "the stable Deployment shop/checkout was changed by kubectl-set: container checkout: " +
        "registry.example.com/checkout:2.3.1 → registry.example.com/checkout:9.9.9",
    );
    expect(status.conditions.find((condition) => condition.type === "StableDrifted")).toMatchObject({
      status: "True",
      reason: "EditedBySomeoneElse",
      message: expect.stringContaining("kubectl-set"),
    });
    expect(status.stableChanges).toEqual([
      expect.objectContaining({
        kind: "images",
        by: "kubectl-set",
        message: expect.stringContaining("9.9.9"),
      }),
    ]);
    const actions = edited.history.at(-1)?.result.actions ?? [];
    expect(ofType(actions, "emitEvent")).toContainEqual(
      expect.objectContaining({
        eventType: "Warning",
        reason: "StableDrifted",
        message: expect.stringMatching(/container checkout: .*2\.3\.1 → .*9\.9\.9.*glidepath resume/),
      }),
    );
    expect(ofType(actions, "notify")).toEqual([expect.objectContaining({ event: "paused" })]);
    // What stable ran before the release touched it is still known.
    expect(status.previous).toMatchObject({ version: "2.3.1", images: STABLE_IMAGES });
  });

  it("when nobody resumes, then it never promotes and says it only once", () => {
    const edited = atEarlyAdopterWithHotfix();
    const held = runUntil(
      edited,
      (sim) => sim.nowMs >= edited.nowMs + 30 * MINUTE,
      { advanceMs: 30 * SECOND },
      100,
    );
    const since = actionsSince(edited, held);
    expect(statusOf(held).phase).toBe("Paused");
    expect(statusOf(held).currentStage?.name).toBe("early-adopter");
    expect(ofType(since, "promoteStable")).toEqual([]);
    expect(ofType(since, "setWeight")).toEqual([]);
    expect(ofType(since, "emitEvent")).toEqual([]);
    expect(statusOf(held).stableChanges).toHaveLength(1);
    expect(held.cluster.stable.images).toEqual(HOTFIX);
  });

  it("when it is aborted after the edit, then it rolls back at once without touching stable, which keeps the hotfix", () => {
    const edited = atEarlyAdopterWithHotfix();
    const end = runUntil(edited, isTerminal, {
      control: { abort: { by: "carol", at: iso(edited.nowMs), reason: "hotfix in place" } },
    });
    const status = statusOf(end);

    expect(status.phase).toBe("RolledBack");
    expect(end.nowMs - edited.nowMs).toBeLessThan(MINUTE);
    expect(ofType(actionsSince(edited, end), "revertStable")).toEqual([]);
    expect(end.cluster.stable.images).toEqual(HOTFIX);
    expect(end.cluster.canary.desiredReplicas).toBe(0);
    expect(end.cluster.canaryWeight).toBe(0);
    expect(status.message).toContain(
      "left as someone else set it (checkout=registry.example.com/checkout:9.9.9)",
    );
    expect(status.rollback).toMatchObject({ verified: true, restored: { images: HOTFIX } });
  });

  it("when a person resumes, then stable as it is becomes what a rollback restores, and the release goes on to succeed", () => {
    const edited = atEarlyAdopterWithHotfix();
    const resume = { by: "rita", at: iso(edited.nowMs + SECOND) };
    const resumed = tick(edited, { advanceMs: SECOND, control: { resume } });
    const status = statusOf(resumed);

    expect(phasePath(resumed).slice(-2)).toEqual(["Progressing→Paused", "Paused→Progressing"]);
    expect(status.previous).toEqual({ version: "2.3.1", images: HOTFIX, replicas: 4, template: TEMPLATE });
    expect(status.stableDrift).toBeUndefined();
    expect(status.stableChanges?.at(-1)).toMatchObject({ kind: "accepted", by: "rita" });
    expect(status.conditions.find((condition) => condition.type === "StableDrifted")).toMatchObject({
      status: "False",
    });

    const end = runUntil(resumed, isTerminal, { control: { resume } }, 1000);
    expect(statusOf(end).phase).toBe("Succeeded");
    expect(end.cluster.stable.images).toEqual(NEW_IMAGES);
  });

  it("when a person promotes, then that accepts the edit too and the stage ends", () => {
    const edited = atEarlyAdopterWithHotfix();
    const promoted = tick(edited, {
      advanceMs: SECOND,
      control: { promote: { by: "bob", at: iso(edited.nowMs + SECOND) } },
    });
    expect(statusOf(promoted).phase).toBe("Progressing");
    expect(statusOf(promoted).currentStage?.name).toBe("expansion");
    expect(statusOf(promoted).previous?.images).toEqual(HOTFIX);
  });

  it("when the person puts stable back themselves, then the release goes on by itself", () => {
    const edited = atEarlyAdopterWithHotfix();
    const undone = tick(edited, {
      advanceMs: SECOND,
      cluster: { stable: { ...edited.cluster.stable, images: STABLE_IMAGES } },
    });
    expect(statusOf(undone).phase).toBe("Progressing");
    expect(statusOf(undone).stableChanges?.at(-1)).toMatchObject({ kind: "restored" });
    expect(statusOf(undone).previous?.images).toEqual(STABLE_IMAGES);
  });

  it("when someone changes the rest of the pod template, then it pauses too", () => {
    const atTen = runUntil(simulation(), inStage("early-adopter"), {}, 1000);
    const edited = tick(atTen, {
      advanceMs: SECOND,
      cluster: {
        stable: {
          ...atTen.cluster.stable,
          templateHash: "with-new-env",
          writers: { images: {}, template: "kubectl-set" },
        },
      },
    });
    expect(statusOf(edited).phase).toBe("Paused");
    expect(statusOf(edited).stableChanges).toEqual([
      expect.objectContaining({ kind: "template", by: "kubectl-set" }),
    ]);
  });

  it("when stable is scaled from 4 to 8, then the record notes it and the release goes on, the canary following", () => {
    const atTen = runUntil(simulation(), inStage("early-adopter"), {}, 1000);
    const scaled = tick(atTen, {
      advanceMs: SECOND,
      cluster: {
        stable: {
          ...atTen.cluster.stable,
          desiredReplicas: 8,
          writers: { images: {}, replicas: "kubectl-scale", replicasAt: iso(atTen.nowMs) },
        },
      },
    });
    expect(statusOf(scaled).phase).toBe("Progressing");
    expect(statusOf(scaled).stableChanges).toEqual([
      expect.objectContaining({
        kind: "replicas",
        replicas: 8,
        by: "kubectl-scale",
        message: expect.stringContaining("scaled from 4 to 8 replicas by kubectl-scale"),
      }),
    ]);
    expect(ofType(scaled.history.at(-1)?.result.actions ?? [], "ensureCanary")).toEqual([
      { type: "ensureCanary", images: NEW_IMAGES, replicas: 8 },
    ]);
    const end = runUntil(scaled, isTerminal, {}, 1000);
    expect(statusOf(end).phase).toBe("Succeeded");
    expect(statusOf(end).stableChanges).toHaveLength(1);
  });

  it("when the scale left no field manager (the /scale subresource before Kubernetes 1.22), then it names nobody", () => {
    const atTen = runUntil(simulation(), inStage("early-adopter"), {}, 1000);
    const scaled = tick(atTen, {
      advanceMs: SECOND,
      cluster: {
        stable: {
          ...atTen.cluster.stable,
          desiredReplicas: 8,
          // The manager that created the Deployment, long before the release.
          writers: { images: {}, replicas: "helm", replicasAt: iso(atTen.nowMs - 60 * MINUTE) },
        },
      },
    });
    const note = statusOf(scaled).stableChanges?.[0];
    expect(note).toMatchObject({ kind: "replicas", replicas: 8 });
    expect(note?.by).toBeUndefined();
    expect(note?.message).toContain("scaled from 4 to 8 replicas: not a change of what runs");
  });

  it("when the unexpected image was written by Glidepath itself, then it is not someone else's edit", () => {
    const atTen = runUntil(simulation(), inStage("early-adopter"), {}, 1000);
    const ours = tick(atTen, {
      advanceMs: SECOND,
      cluster: {
        stable: { ...atTen.cluster.stable, images: HOTFIX, writers: { images: { checkout: "glidepath" } } },
      },
    });
    expect(statusOf(ours).phase).toBe("Progressing");
    expect(statusOf(ours).stableDrift).toBeUndefined();
  });
});

describe("given a release in its bake, stable promoted to 2.4.0", () => {
  it("when a person puts a hotfix on stable, then it pauses and does not promote again until resumed", () => {
    const baking = runUntil(simulation(), phaseIs("Baking"), {}, 1000);
    const edited = tick(baking, { advanceMs: SECOND, cluster: { stable: setImageByHand(baking) } });
    expect(statusOf(edited).phase).toBe("Paused");
    expect(statusOf(edited).message).toContain(
      "container checkout: registry.example.com/checkout:2.4.0 → registry.example.com/checkout:9.9.9",
    );
    const held = runUntil(edited, (sim) => sim.nowMs >= edited.nowMs + 10 * MINUTE, {
      advanceMs: 30 * SECOND,
    });
    expect(ofType(actionsSince(edited, held), "promoteStable")).toEqual([]);
    expect(statusOf(held).phase).toBe("Paused");

    const resume = { by: "rita", at: iso(held.nowMs) };
    const end = runUntil(held, isTerminal, { control: { resume } }, 1000);
    expect(statusOf(end).phase).toBe("Succeeded");
    expect(ofType(actionsSince(held, end), "promoteStable")).toHaveLength(1);
    // The release had touched stable already: a rollback would still restore 2.3.1.
    expect(statusOf(end).previous).toMatchObject({ version: "2.3.1", images: STABLE_IMAGES });
  });
});

describe("given a rollback before the promotion", () => {
  it("when stable runs what it ran at the start, then the rollback asks nothing of stable", () => {
    const atTen = runUntil(simulation(), inStage("early-adopter"), {}, 1000);
    const end = runUntil(atTen, isTerminal, { verdictFor: () => "fail" });
    expect(statusOf(end).phase).toBe("RolledBack");
    expect(ofType(allActions(end), "revertStable")).toEqual([]);
    expect(statusOf(end).rollback?.restored).toEqual({ version: "2.3.1", images: STABLE_IMAGES });
  });
});
