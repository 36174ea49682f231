import { describe, expect, it } from "vitest";
import { CRASH_LOOP_IMAGE_SUFFIX, NEVER_READY_IMAGE_SUFFIX, waitFor } from "../../harness/context.ts";
import {
  errorRateMetric,
  expectOrderlyRecord,
  FINISHED,
  givenControllerForFile,
  IMAGE_REPOSITORY,
  imageOf,
  quickStages,
  STABLE_VERSION,
  withService,
  type ServiceScenario,
} from "./scenario.ts";

// The new version goes wrong in each way a release must catch by itself: its error rate
// after promotion, its pods crash-looping, its pods never getting Ready.

givenControllerForFile();

/** Then: all traffic on stable, the canary at zero, stable Ready on the version it had before. */
/** The canary was never Ready, so no stage began and stable was never touched. */
async function expectRolledBackBeforeAnyStage(scenario: ServiceScenario, name: string): Promise<void> {
  const release = await scenario.read(name);
  expect(release.status?.stages).toEqual([]);
  await expectOrderlyRecord(scenario, name, {
    stages: [],
    phases: ["Pending", "Progressing", "RollingBack", "RolledBack"],
  });
  await expectStableRestored(scenario);
  expect((await scenario.deployment("checkout"))?.metadata?.generation).toBe(1);
}

async function expectStableRestored(scenario: ServiceScenario): Promise<void> {
  const weights = await scenario.routeWeights();
  expect(weights["checkout-canary"] ?? 0).toBe(0);
  const canary = await scenario.deployment("checkout-canary");
  expect(canary?.spec?.replicas ?? 0).toBe(0);
  const stable = await waitFor(
    async () => {
      const current = await scenario.deployment("checkout");
      const status = current?.status;
      const converged =
        status?.observedGeneration === current?.metadata?.generation &&
        status?.updatedReplicas === 2 &&
        status?.readyReplicas === 2 &&
        status?.replicas === 2;
      return converged ? current : undefined;
    },
    { description: "the stable Deployment Ready and converged" },
  );
  expect(stable.spec?.template.spec?.containers[0]?.image).toBe(imageOf(STABLE_VERSION));
  expect(stable.spec?.template.metadata?.labels?.version).toBe(STABLE_VERSION);
}

describe.concurrent("the new version goes wrong", () => {
  it("fails during the bake: stable goes back to the previous images and version", () =>
    withService("bake-fail", {}, async (scenario) => {
      const name = "checkout-2-1-0";
      await scenario.release(name, "2.1.0", {
        stages: quickStages(),
        analysis: { interval: "1s", metrics: [errorRateMetric()] },
        bake: "60s",
      });
      const baking = await scenario.waitForPhase(name, ["Baking", ...FINISHED]);
      expect(baking.status?.phase, baking.status?.message).toBe("Baking");
      const promoted = await scenario.deployment("checkout");
      expect(promoted?.spec?.template.spec?.containers[0]?.image).toBe(imageOf("2.1.0"));

      // When: the new version starts failing while stable runs it with all the traffic.
      await scenario.simulator.client.configure({ versions: { "2.1.0": { errorRatio: 0.08 } } });

      const release = await scenario.waitForPhase(name, FINISHED);
      expect(release.status?.phase, release.status?.message).toBe("RolledBack");
      expect(release.status?.rollback).toMatchObject({
        trigger: "metric",
        metric: "error-rate",
        restored: { version: STABLE_VERSION, images: { checkout: imageOf(STABLE_VERSION) } },
        verified: true,
      });
      expect(Number(release.status?.rollback?.value)).toBeGreaterThan(0.05);
      expect(release.status?.stages.map((stage) => [stage.name, stage.outcome])).toEqual([
        ["canary", "passed"],
        ["ga", "passed"],
        ["bake", "failed"],
      ]);
      await expectOrderlyRecord(scenario, name, {
        stages: ["canary", "ga", "bake"],
        phases: ["Pending", "Progressing", "Baking", "RollingBack", "RolledBack"],
      });
      await expectStableRestored(scenario);
      // Promoted once and reverted once; the revert reused the old ReplicaSet.
      expect((await scenario.deployment("checkout"))?.metadata?.generation).toBe(3);
      expect(await scenario.replicaSets("checkout")).toHaveLength(2);
    }));

  it("crash-loops in the canary: rolls back naming the pod, the container and the reason", () =>
    withService("crash-loop", {}, async (scenario) => {
      const name = "checkout-3-0-0";
      await scenario.release(name, "3.0.0", {
        images: { checkout: `${IMAGE_REPOSITORY}:3.0.0${CRASH_LOOP_IMAGE_SUFFIX}` },
        stages: quickStages(),
      });
      const release = await scenario.waitForPhase(name, FINISHED);
      expect(release.status?.phase, release.status?.message).toBe("RolledBack");
      expect(release.status?.rollback?.trigger).toBe("health");
      expect(release.status?.rollback?.reason).toMatch(
        /canary checkout-canary: pod checkout-canary-[a-z0-9-]+ container checkout is CrashLoopBackOff/,
      );
      await expectRolledBackBeforeAnyStage(scenario, name);
    }));

  it("never becomes Ready in the canary: rolls back at the progress deadline", () =>
    withService("never-ready", {}, async (scenario) => {
      const name = "checkout-4-0-0";
      await scenario.release(name, "4.0.0", {
        images: { checkout: `${IMAGE_REPOSITORY}:4.0.0${NEVER_READY_IMAGE_SUFFIX}` },
        stages: quickStages(),
        progressDeadline: "8s",
      });
      const release = await scenario.waitForPhase(name, FINISHED);
      expect(release.status?.phase, release.status?.message).toBe("RolledBack");
      expect(release.status?.rollback?.trigger).toBe("deadline");
      expect(release.status?.rollback?.reason).toContain(
        "the canary checkout-canary has not been Ready for 8s",
      );
      const started = Date.parse(release.status?.startedAt ?? "");
      const rolledBackAt = Date.parse(release.status?.rollback?.at ?? "");
      expect(rolledBackAt - started).toBeGreaterThanOrEqual(8_000);
      await expectRolledBackBeforeAnyStage(scenario, name);
    }));
});
