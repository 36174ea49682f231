import { describe, expect, it } from "vitest";
import { kubectl, waitFor } from "../../harness/context.ts";
import type { Release } from "../../../src/api/index.ts";
import { renderChangeRecord } from "../../../src/record/change-record.ts";
import {
  FINISHED,
  givenControllerForFile,
  imageOf,
  STABLE_VERSION,
  withService,
  type ServiceScenario,
} from "./scenario.ts";

// Someone edits the stable Deployment with kubectl while a release is at its 10% stage:
// a hotfix pauses the release (condition, Event, record) and is never overwritten
// without a person's word; an abort leaves it in place; scaling is only noted.

givenControllerForFile();

const HOTFIX = imageOf("9.9.9");
/** The 10% stage holds long enough for a person to act in it. */
const stages = [
  { name: "canary", weight: 1, hold: "2s", minMeasurements: 1 },
  { name: "early-adopter", weight: 10, hold: "15s", minMeasurements: 1 },
  { name: "ga", weight: 100, hold: "0s" },
];

const passes = (release: Release) => release.status?.stages.at(-1)?.tallies[0]?.pass ?? 0;
const condition = (release: Release, type: string) =>
  release.status?.conditions.find((candidate) => candidate.type === type);

async function atTenPercent(scenario: ServiceScenario, name: string): Promise<Release> {
  await scenario.release(name, "2.4.0", { stages, bake: "2s" });
  return scenario.waitForRelease(
    name,
    "in the 10% stage",
    (release) => release.status?.phase === "Progressing" && release.status.currentStage?.weight === 10,
  );
}

/** When: `kubectl set image` on stable, as a person putting out a fire would. */
async function setImageByHand(scenario: ServiceScenario): Promise<void> {
  await kubectl(["-n", scenario.namespace, "set", "image", "deployment/checkout", `checkout=${HOTFIX}`]);
}

async function stableImage(scenario: ServiceScenario): Promise<string | undefined> {
  return (await scenario.deployment("checkout"))?.spec?.template.spec?.containers[0]?.image;
}

/** Then: paused, with a condition and a Warning Event that say which container, which images and who. */
async function expectPausedOnTheEdit(scenario: ServiceScenario, name: string): Promise<Release> {
  const paused = await scenario.waitForPhase(name, ["Paused", ...FINISHED], { timeoutMs: 30_000 });
  expect(paused.status?.phase, paused.status?.message).toBe("Paused");
  const change = `container checkout: ${imageOf(STABLE_VERSION)} → ${HOTFIX}`;
  expect(paused.status?.message).toContain(`changed by kubectl-set: ${change}`);
  expect(condition(paused, "StableDrifted")).toMatchObject({
    status: "True",
    reason: "EditedBySomeoneElse",
    message: expect.stringContaining(change),
  });
  expect(paused.status?.stableChanges).toEqual([
    expect.objectContaining({ kind: "images", by: "kubectl-set", message: expect.stringContaining(change) }),
  ]);
  const event = await waitFor(
    async () => (await scenario.events(name)).find((candidate) => candidate.reason === "StableDrifted"),
    { description: "the StableDrifted Event", timeoutMs: 10_000 },
  );
  expect(event.type).toBe("Warning");
  expect(event.message).toContain(change);
  expect(event.message).toContain("kubectl-set");
  return paused;
}

describe.concurrent("someone edits the stable Deployment during a release", () => {
  it("a hotfix pauses the release, which never promotes over it; an abort rolls back at once and leaves it", () =>
    withService("drift-abort", {}, async (scenario) => {
      const name = "checkout-2-4-0";
      const atTen = await atTenPercent(scenario, name);
      const holdEndsMs = Date.parse(atTen.status?.currentStage?.startedAt ?? "") + 15_000;

      await setImageByHand(scenario);
      const paused = await expectPausedOnTheEdit(scenario, name);

      // Past the stage's hold, with analysis still passing, it stays where it is.
      const held = await scenario.waitForRelease(
        name,
        "past the hold with more passing rounds",
        (release) => Date.now() > holdEndsMs + 2_000 && passes(release) >= passes(paused) + 2,
        { timeoutMs: 60_000 },
      );
      expect(held.status?.phase).toBe("Paused");
      expect(held.status?.currentStage?.name).toBe("early-adopter");
      expect(await scenario.routeWeights()).toEqual({ checkout: 90, "checkout-canary": 10 });
      expect(await stableImage(scenario)).toBe(HOTFIX);

      const abortedAt = Date.now();
      await scenario.control(name, {
        abort: { by: "carol", at: new Date(abortedAt).toISOString(), reason: "hotfix in place" },
      });
      const end = await scenario.waitForPhase(name, FINISHED, { timeoutMs: 40_000 });
      expect(end.status?.phase, end.status?.message).toBe("RolledBack");
      expect(Date.parse(end.status?.finishedAt ?? "") - abortedAt).toBeLessThan(30_000);
      expect(end.status?.rollback).toMatchObject({
        trigger: "manual",
        verified: true,
        restored: { images: { checkout: HOTFIX } },
      });
      expect(end.status?.message).toContain("left as someone else set it");
      expect(await stableImage(scenario)).toBe(HOTFIX);
      expect((await scenario.routeWeights())["checkout-canary"] ?? 0).toBe(0);
      expect((await scenario.deployment("checkout-canary"))?.spec?.replicas ?? 0).toBe(0);
      expect(renderChangeRecord(end)).toContain(`**images** (kubectl-set)`);
    }));

  it("after a person resumes, the release goes on from stable as it is, which a rollback would restore", () =>
    withService("drift-resume", {}, async (scenario) => {
      const name = "checkout-2-4-0";
      await atTenPercent(scenario, name);
      await setImageByHand(scenario);
      await expectPausedOnTheEdit(scenario, name);

      await scenario.control(name, { resume: { by: "rita", at: new Date().toISOString() } });
      const end = await scenario.waitForPhase(name, FINISHED);
      expect(end.status?.phase, end.status?.message).toBe("Succeeded");
      expect(end.status?.previous).toMatchObject({ images: { checkout: HOTFIX }, replicas: 2 });
      expect(end.status?.stableChanges?.map((change) => [change.kind, change.by])).toEqual([
        ["images", "kubectl-set"],
        ["accepted", "rita"],
      ]);
      expect(await stableImage(scenario)).toBe(imageOf("2.4.0"));
    }));

  it("a hotfix on the promoted stable during the bake pauses it too; an abort then restores what ran before", () =>
    withService("drift-bake", {}, async (scenario) => {
      const name = "checkout-2-4-0";
      await scenario.release(name, "2.4.0", {
        stages: [
          { name: "canary", weight: 10, hold: "2s", minMeasurements: 1 },
          { name: "ga", weight: 100, hold: "0s" },
        ],
        bake: "5m",
      });
      await scenario.waitForRelease(name, "baking", (release) => release.status?.phase === "Baking");
      expect(await stableImage(scenario)).toBe(imageOf("2.4.0"));

      await setImageByHand(scenario);
      const paused = await scenario.waitForPhase(name, ["Paused", ...FINISHED], { timeoutMs: 30_000 });
      expect(paused.status?.phase, paused.status?.message).toBe("Paused");
      expect(paused.status?.message).toContain(
        `changed by kubectl-set: container checkout: ${imageOf("2.4.0")} → ${HOTFIX}`,
      );
      // Analysis of stable goes on; the promotion is not put back over the hotfix.
      const held = await scenario.waitForRelease(
        name,
        "more analysis rounds while paused",
        (release) => passes(release) >= passes(paused) + 2,
      );
      expect(held.status?.phase).toBe("Paused");
      expect(await stableImage(scenario)).toBe(HOTFIX);

      await scenario.control(name, { abort: { by: "carol", at: new Date().toISOString() } });
      const end = await scenario.waitForPhase(name, FINISHED);
      expect(end.status?.phase, end.status?.message).toBe("RolledBack");
      // The release had promoted stable: its rollback restores what stable ran before it.
      expect(end.status?.rollback?.restored).toEqual({
        version: STABLE_VERSION,
        images: { checkout: imageOf(STABLE_VERSION) },
      });
      expect(await stableImage(scenario)).toBe(imageOf(STABLE_VERSION));
    }));

  it("scaling stable from 2 to 5 is noted and the release goes on", () =>
    withService("drift-scale", {}, async (scenario) => {
      const name = "checkout-2-4-0";
      await atTenPercent(scenario, name);
      await kubectl(["-n", scenario.namespace, "scale", "deployment/checkout", "--replicas=5"]);

      const end = await scenario.waitForPhase(name, FINISHED);
      expect(end.status?.phase, end.status?.message).toBe("Succeeded");
      expect(end.status?.transitions.map((transition) => transition.to)).not.toContain("Paused");
      expect(end.status?.stableChanges).toEqual([
        expect.objectContaining({
          kind: "replicas",
          replicas: 5,
          message: expect.stringContaining("scaled from 2 to 5 replicas"),
        }),
      ]);
      // kubectl scale goes through /scale, which on this 1.20 API server leaves spec.replicas with
      // the manager that created the Deployment: that one is not blamed for the change.
      expect(end.status?.stableChanges?.[0]?.by).toBeUndefined();
      expect(condition(end, "StableDrifted")?.status).toBe("False");
      expect((await scenario.events(name)).map((event) => event.reason)).toContain("StableScaled");
    }));
});
