import { performance } from "node:perf_hooks";
import { NetworkingV1Api, type V1Ingress } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { kubeConfig, waitFor } from "../../harness/context.ts";
import {
  errorRateMetric,
  expectRouteAsBefore,
  FINISHED,
  givenControllerForFile,
  imageOf,
  routedFields,
  STABLE_VERSION,
  withService,
  type ServiceScenario,
} from "./scenario.ts";

// Blue/green on the real stack (issue 17 item 1): the new version comes up at stable's size
// behind the preview Service (checkout-canary) with no user traffic, is analysed there (a
// smoke test's requests, sent by the traffic simulator straight to the preview), then takes
// 100% in one write of the route; the old version (stable) stays untouched for
// scaleDownDelay, so a rollback is one write of the route. Rollbacks are timed from the
// trigger to the route showing all traffic on stable, as bench/rollback-latency.ts does.

givenControllerForFile();

const networking = () => kubeConfig().makeApiClient(NetworkingV1Api);

/** The analysis every blue/green test runs: the error rate of the new version, 5% at most. */
const analysis = { interval: "1s", metrics: [errorRateMetric("5s", 0.05)] };

/** The smoke test's requests to the preview, so its version has metrics without user traffic. */
async function givenPreviewTraffic(scenario: ServiceScenario): Promise<void> {
  await scenario.simulator.client.configure({ previewRequestsPerSecond: 50 });
}

/** Then: stable is exactly the Deployment it was before the release: same generation, version and size. */
async function expectStableUntouched(scenario: ServiceScenario, generation: number | undefined) {
  const stable = await scenario.deployment("checkout");
  expect(stable?.metadata?.generation).toBe(generation);
  expect(stable?.spec?.replicas).toBe(2);
  expect(stable?.spec?.template.spec?.containers[0]?.image).toBe(imageOf(STABLE_VERSION));
}

async function canaryIngress(namespace: string): Promise<V1Ingress | undefined> {
  try {
    return await networking().readNamespacedIngress({ name: "checkout-canary", namespace });
  } catch {
    return undefined;
  }
}

function logRollback(router: string, at: string, ms: number): void {
  console.log(`blue/green (${router}): abort ${at} to all traffic on stable in ${Math.round(ms)} ms`);
}

describe.concurrent("a blue/green release on the Gateway API", () => {
  it("previews the new version at full size with no user traffic, switches 100% in one route write, keeps stable for scaleDownDelay, then promotes", () =>
    withService("bg-gw-success", {}, async (scenario) => {
      await givenPreviewTraffic(scenario);
      const name = "checkout-2-0-0";
      const before = await scenario.routeFields();
      const generationBefore = await scenario.routeGeneration();
      const stableGeneration = (await scenario.deployment("checkout"))?.metadata?.generation;
      await scenario.release(name, "2.0.0", {
        stages: undefined,
        blueGreen: { preview: "3s", scaleDownDelay: "6s", minMeasurements: 2 },
        analysis,
      });

      // The preview: at stable's size, behind checkout-canary, and no user traffic.
      const previewing = await scenario.waitForRelease(
        name,
        "the preview analysed",
        (release) =>
          release.status?.currentStage?.name === "preview" &&
          (release.status.stages[0]?.tallies[0]?.pass ?? 0) >= 1,
      );
      expect(previewing.status?.stages[0]).toMatchObject({ name: "preview", weight: 0 });
      expect((await scenario.deployment("checkout-canary"))?.spec?.replicas).toBe(2);
      expect(await scenario.routeGeneration()).toBe(generationBefore);
      expect((await scenario.routeWeights())["checkout-canary"] ?? 0).toBe(0);

      // The switch: 100% on the new version in one write; stable untouched meanwhile.
      await scenario.waitForRelease(
        name,
        "switched",
        (release) => release.status?.stages.find((stage) => stage.name === "switch")?.reachedWeight === 100,
      );
      expect(await scenario.routeGeneration()).toBe((generationBefore ?? 0) + 1);
      expect(await scenario.routeWeights()).toEqual({ checkout: 0, "checkout-canary": 100 });
      await expectStableUntouched(scenario, stableGeneration);

      const done = await scenario.waitForPhase(name, FINISHED, { timeoutMs: 240_000 });
      expect(done.status?.phase, done.status?.message).toBe("Succeeded");
      expect(done.status?.stages.map((stage) => [stage.name, stage.outcome])).toEqual([
        ["preview", "passed"],
        ["switch", "passed"],
        ["promote", "passed"],
        ["bake", "passed"],
      ]);
      // The preview and the switched version were both analysed on the new version's traffic.
      for (const stage of done.status?.stages.slice(0, 2) ?? [])
        expect(stage.tallies[0]?.pass, stage.name).toBeGreaterThanOrEqual(2);
      // The switch lasted at least scaleDownDelay before stable was written.
      const switched = done.status?.stages[1];
      expect(
        Date.parse(switched?.exitedAt ?? "") - Date.parse(switched?.enteredAt ?? ""),
      ).toBeGreaterThanOrEqual(6_000);
      const stable = await scenario.deployment("checkout");
      expect(stable?.spec?.template.spec?.containers[0]?.image).toBe(imageOf("2.0.0"));
      expect((await scenario.deployment("checkout-canary"))?.spec?.replicas).toBe(0);
      await expectRouteAsBefore(scenario, before);
    }));

  it("rolls back a preview that fails its analysis without ever writing the route or stable", () =>
    withService("bg-gw-preview-fails", {}, async (scenario) => {
      await givenPreviewTraffic(scenario);
      await scenario.simulator.client.configure({ versions: { "2.1.0": { errorRatio: 0.5 } } });
      const name = "checkout-2-1-0";
      const before = await scenario.routeFields();
      const generationBefore = await scenario.routeGeneration();
      const stableGeneration = (await scenario.deployment("checkout"))?.metadata?.generation;
      await scenario.release(name, "2.1.0", {
        stages: undefined,
        blueGreen: { preview: "600s", scaleDownDelay: "600s" },
        analysis,
      });
      const done = await scenario.waitForPhase(name, FINISHED);
      expect(done.status?.phase, done.status?.message).toBe("RolledBack");
      expect(done.status?.rollback).toMatchObject({
        trigger: "metric",
        metric: "error-rate",
        verified: true,
      });
      expect(done.status?.stages.map((stage) => [stage.name, stage.weight, stage.outcome])).toEqual([
        ["preview", 0, "failed"],
      ]);
      expect(await scenario.routeGeneration()).toBe(generationBefore);
      await expectRouteAsBefore(scenario, before);
      await expectStableUntouched(scenario, stableGeneration);
      const canary = await waitFor(
        async () => {
          const current = await scenario.deployment("checkout-canary");
          return current?.spec?.replicas === 0 ? current : undefined;
        },
        { description: "the preview scaled to 0" },
      );
      expect(canary.spec?.replicas).toBe(0);
    }));

  it("waits for an approval at 0% and rolls back from there on an abort", () =>
    withService("bg-gw-approval", {}, async (scenario) => {
      await givenPreviewTraffic(scenario);
      const name = "checkout-2-2-0";
      const before = await scenario.routeFields();
      const generationBefore = await scenario.routeGeneration();
      await scenario.release(name, "2.2.0", {
        stages: undefined,
        blueGreen: { preview: "2s", scaleDownDelay: "600s", requiresApproval: true, minMeasurements: 1 },
        analysis,
      });
      const waiting = await scenario.waitForPhase(name, ["AwaitingApproval"]);
      expect(waiting.status?.currentStage).toMatchObject({ name: "preview", weight: 0 });
      expect(waiting.status?.message).toContain("stage switch (100%) needs an approval");
      expect(await scenario.routeGeneration()).toBe(generationBefore);

      await scenario.control(name, { abort: { by: "integration-test", at: new Date().toISOString() } });
      const done = await scenario.waitForPhase(name, FINISHED);
      expect(done.status?.phase, done.status?.message).toBe("RolledBack");
      expect(done.status?.rollback?.trigger).toBe("manual");
      await expectRouteAsBefore(scenario, before);
    }));

  it("after the switch, rolls back within scaleDownDelay with one write of the route, stable never touched", () =>
    withService("bg-gw-switch-abort", {}, async (scenario) => {
      await givenPreviewTraffic(scenario);
      const name = "checkout-2-3-0";
      const before = await scenario.routeFields();
      const generationBefore = await scenario.routeGeneration();
      const stableGeneration = (await scenario.deployment("checkout"))?.metadata?.generation;
      await scenario.release(name, "2.3.0", {
        stages: undefined,
        blueGreen: { preview: "2s", scaleDownDelay: "600s", minMeasurements: 1 },
        analysis,
      });
      await scenario.waitForRelease(
        name,
        "switched",
        (release) => release.status?.stages.find((stage) => stage.name === "switch")?.reachedWeight === 100,
      );
      expect(await scenario.routeWeights()).toEqual({ checkout: 0, "checkout-canary": 100 });

      const at = new Date().toISOString();
      const abortAt = performance.now();
      await scenario.control(name, { abort: { by: "integration-test", at } });
      await waitFor(async () => ((await scenario.routeWeights())["checkout-canary"] ?? 0) === 0, {
        timeoutMs: 60_000,
        intervalMs: 20,
        description: "all traffic back on stable",
      });
      logRollback("Gateway API", "after the switch", performance.now() - abortAt);

      const done = await scenario.waitForPhase(name, FINISHED);
      expect(done.status?.phase, done.status?.message).toBe("RolledBack");
      expect(done.status?.stages.map((stage) => [stage.name, stage.outcome])).toEqual([
        ["preview", "passed"],
        ["switch", "aborted"],
      ]);
      // The switch and the rollback: one route write each (then cleanup's exact restore).
      await expectRouteAsBefore(scenario, before);
      expect(await scenario.routeGeneration()).toBeLessThanOrEqual((generationBefore ?? 0) + 3);
      await expectStableUntouched(scenario, stableGeneration);
    }));
});

describe.concurrent("a blue/green release on NGINX", () => {
  it("previews without a canary Ingress, switches with the canary Ingress at 100, then promotes and removes it", () =>
    withService("bg-nginx-success", { router: "nginx" }, async (scenario) => {
      await givenPreviewTraffic(scenario);
      const stableBefore = await networking().readNamespacedIngress({
        name: "checkout",
        namespace: scenario.namespace,
      });
      const stableGeneration = (await scenario.deployment("checkout"))?.metadata?.generation;
      const name = "checkout-3-0-0";
      await scenario.release(name, "3.0.0", {
        stages: undefined,
        blueGreen: { preview: "3s", scaleDownDelay: "6s", minMeasurements: 2 },
        analysis,
      });
      await scenario.waitForRelease(
        name,
        "the preview analysed",
        (release) =>
          release.status?.currentStage?.name === "preview" &&
          (release.status.stages[0]?.tallies[0]?.pass ?? 0) >= 1,
      );
      expect(await canaryIngress(scenario.namespace)).toBeUndefined();

      await scenario.waitForRelease(
        name,
        "switched",
        (release) => release.status?.stages.find((stage) => stage.name === "switch")?.reachedWeight === 100,
      );
      const switched = await canaryIngress(scenario.namespace);
      expect(switched?.metadata?.annotations?.["nginx.ingress.kubernetes.io/canary-weight"]).toBe("100");
      await expectStableUntouched(scenario, stableGeneration);

      const done = await scenario.waitForPhase(name, FINISHED, { timeoutMs: 240_000 });
      expect(done.status?.phase, done.status?.message).toBe("Succeeded");
      await scenario.waitForRelease(
        name,
        "its finalizer removed",
        (release) => (release.metadata.finalizers ?? []).length === 0,
      );
      expect(await canaryIngress(scenario.namespace)).toBeUndefined();
      const stableAfter = await networking().readNamespacedIngress({
        name: "checkout",
        namespace: scenario.namespace,
      });
      expect(routedFields(stableAfter)).toEqual(routedFields(stableBefore));
      expect(stableAfter.metadata?.resourceVersion).toBe(stableBefore.metadata?.resourceVersion);
      expect((await scenario.deployment("checkout"))?.spec?.template.spec?.containers[0]?.image).toBe(
        imageOf("3.0.0"),
      );
    }));

  it("after the switch, rolls back with one write of the canary Ingress, stable never touched", () =>
    withService("bg-nginx-switch-abort", { router: "nginx" }, async (scenario) => {
      await givenPreviewTraffic(scenario);
      const stableBefore = await networking().readNamespacedIngress({
        name: "checkout",
        namespace: scenario.namespace,
      });
      const stableGeneration = (await scenario.deployment("checkout"))?.metadata?.generation;
      const name = "checkout-3-1-0";
      await scenario.release(name, "3.1.0", {
        stages: undefined,
        blueGreen: { preview: "2s", scaleDownDelay: "600s", minMeasurements: 1 },
        analysis,
      });
      await scenario.waitForRelease(
        name,
        "switched",
        (release) => release.status?.stages.find((stage) => stage.name === "switch")?.reachedWeight === 100,
      );

      const abortAt = performance.now();
      await scenario.control(name, { abort: { by: "integration-test", at: new Date().toISOString() } });
      await waitFor(
        async () => {
          const canary = await canaryIngress(scenario.namespace);
          return (
            (canary?.metadata?.annotations?.["nginx.ingress.kubernetes.io/canary-weight"] ?? "0") === "0"
          );
        },
        { timeoutMs: 60_000, intervalMs: 20, description: "the canary Ingress at 0" },
      );
      logRollback("NGINX", "after the switch", performance.now() - abortAt);

      const done = await scenario.waitForPhase(name, FINISHED);
      expect(done.status?.phase, done.status?.message).toBe("RolledBack");
      await scenario.waitForRelease(
        name,
        "its finalizer removed",
        (release) => (release.metadata.finalizers ?? []).length === 0,
      );
      expect(await canaryIngress(scenario.namespace)).toBeUndefined();
      const stableAfter = await networking().readNamespacedIngress({
        name: "checkout",
        namespace: scenario.namespace,
      });
      expect(routedFields(stableAfter)).toEqual(routedFields(stableBefore));
      expect(stableAfter.metadata?.resourceVersion).toBe(stableBefore.metadata?.resourceVersion);
      await expectStableUntouched(scenario, stableGeneration);
    }));
});
