import { performance } from "node:perf_hooks";
import { isDeepStrictEqual } from "node:util";
import { AutoscalingApi, NetworkingV1Api, type V1Ingress } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { kubeClients, kubeConfig, kubectl, mergePatch, waitFor } from "../../harness/context.ts";
import {
  errorRateMetric,
  expectRouteAsBefore,
  FINISHED,
  givenControllerForFile,
  imageOf,
  routedFields,
  withService,
  type RoutedFields,
  type ServiceScenario,
} from "./scenario.ts";

// Autoscaled targets on the real stack (issue 17 item 4, docs/autoscaling.md): a stable
// Deployment with a HorizontalPodAutoscaler, released with Gateway API, with NGINX and with the
// replica split. The control plane is Kubernetes 1.20: it serves autoscaling/v1, v2beta1 and
// v2beta2, not v2 (GA from 1.23), so these tests exercise the controller's v2beta2 path.
//
// The control plane runs the real HPA controller (kube-controller-manager), but there is no
// metrics API, so it cannot compute a replica count from load: it only holds a target inside
// its autoscaler's min/max. "The autoscaler wants more" is therefore played by raising the
// user's minReplicas, which the real HPA controller then carries out on stable — the one
// stand-in here, of the same kind as the fake kubelet.

givenControllerForFile();

/** Each test waits on the real HPA controller (a 15 s sync) and several stages: generous on a loaded machine. */
const LOADED_MACHINE_TIMEOUT_MS = 420_000;

const AUTOSCALING = { group: "autoscaling", version: "v2beta2", plural: "horizontalpodautoscalers" } as const;

interface Autoscaler {
  apiVersion?: string;
  metadata: {
    name: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: { kind: string; name: string }[];
  };
  spec: {
    scaleTargetRef: { kind: string; name: string };
    minReplicas?: number;
    maxReplicas: number;
    metrics?: unknown[];
    behavior?: unknown;
  };
}

/** Given: the team's autoscaler of the stable Deployment, on CPU, with a slow scale-down. */
async function givenAutoscaler(
  scenario: ServiceScenario,
  minReplicas: number,
  maxReplicas: number,
): Promise<void> {
  const { custom } = kubeClients();
  await custom.createNamespacedCustomObject({
    ...AUTOSCALING,
    namespace: scenario.namespace,
    body: {
      apiVersion: "autoscaling/v2beta2",
      kind: "HorizontalPodAutoscaler",
      metadata: { name: "checkout", labels: { team: "payments" }, annotations: { owner: "payments-oncall" } },
      spec: {
        scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "checkout" },
        minReplicas,
        maxReplicas,
        metrics: [
          {
            type: "Resource",
            resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 70 } },
          },
        ],
        behavior: { scaleDown: { stabilizationWindowSeconds: 300 } },
      },
    },
  });
}

async function readAutoscaler(scenario: ServiceScenario, name: string): Promise<Autoscaler | undefined> {
  try {
    return (await kubeClients().custom.getNamespacedCustomObject({
      ...AUTOSCALING,
      namespace: scenario.namespace,
      name,
    })) as Autoscaler;
  } catch {
    return undefined;
  }
}

/** What a person set on an autoscaler: compared field by field before and after a release. */
async function autoscalerFields(scenario: ServiceScenario): Promise<unknown> {
  const autoscaler = await readAutoscaler(scenario, "checkout");
  return JSON.parse(
    JSON.stringify({
      labels: autoscaler?.metadata.labels,
      annotations: autoscaler?.metadata.annotations,
      spec: autoscaler?.spec,
    }),
  ) as unknown;
}

/** The stable Deployment's spec as a person wrote it (the pod template's images aside, which a promotion changes). */
async function stableSpec(scenario: ServiceScenario): Promise<unknown> {
  return JSON.parse(JSON.stringify((await scenario.deployment("checkout"))?.spec ?? null)) as unknown;
}

/** The stable spec a promotion leaves: the one before, with the new images and version label only. */
function promotedSpec(before: unknown, newVersion: string): unknown {
  const spec = structuredClone(before) as {
    template: { metadata: { labels: Record<string, string> }; spec: { containers: { image: string }[] } };
  };
  spec.template.metadata.labels.version = newVersion;
  for (const container of spec.template.spec.containers) container.image = imageOf(newVersion);
  return spec;
}

const networking = () => kubeConfig().makeApiClient(NetworkingV1Api);

async function readIngress(scenario: ServiceScenario, name: string): Promise<V1Ingress | undefined> {
  try {
    return await networking().readNamespacedIngress({ name, namespace: scenario.namespace });
  } catch {
    return undefined;
  }
}

/**
 * A router the autoscaled release runs through, so one test body covers each. The traffic
 * simulator follows the HTTPRoute only: with NGINX the canary gets no simulated requests, so
 * its release has no metrics and its rollback is a person's abort.
 */
interface RouterCase {
  router: "gatewayAPI" | "nginx";
  label: string;
  prefix: string;
  /** What the router writes to: snapshotted before the release, compared after it. */
  routing(scenario: ServiceScenario): Promise<RoutedFields | undefined>;
  canaryWeight(scenario: ServiceScenario): Promise<number>;
  /** Then: the router's objects are as before the release (the canary's own gone). */
  expectRoutingAsBefore(scenario: ServiceScenario, before: RoutedFields | undefined): Promise<void>;
  analysis: { interval: string; metrics: ReturnType<typeof errorRateMetric>[] };
  /** When: the release must roll back (the simulated canary fails, or a person aborts). */
  failCanary(scenario: ServiceScenario, name: string, newVersion: string): Promise<void>;
  rollback: Record<string, unknown>;
  /** What the rollback latency is timed from, for the log. */
  rollbackTiming: string;
}

const GATEWAY_API: RouterCase = {
  router: "gatewayAPI",
  label: "Gateway API",
  prefix: "gw",
  routing: (scenario) => scenario.routeFields(),
  canaryWeight: async (scenario) => (await scenario.routeWeights())["checkout-canary"] ?? 0,
  expectRoutingAsBefore: (scenario, before) => expectRouteAsBefore(scenario, before as RoutedFields),
  analysis: { interval: "1s", metrics: [errorRateMetric("5s", 0.05)] },
  // The new version fails half its requests.
  async failCanary(scenario, _name, newVersion) {
    await scenario.simulator.client.configure({ versions: { [newVersion]: { errorRatio: 0.5 } } });
  },
  rollback: { trigger: "metric", metric: "error-rate" },
  rollbackTiming: "error-rate breach (analysis every 1 s, 5 s rate window)",
};

const NGINX: RouterCase = {
  router: "nginx",
  label: "NGINX",
  prefix: "nginx",
  routing: async (scenario) => {
    const stable = await readIngress(scenario, "checkout");
    return stable && routedFields(stable);
  },
  canaryWeight: async (scenario) =>
    Number(
      (await readIngress(scenario, "checkout-canary"))?.metadata?.annotations?.[
        "nginx.ingress.kubernetes.io/canary-weight"
      ] ?? 0,
    ),
  async expectRoutingAsBefore(scenario, before) {
    const asBefore = async () => {
      const [canary, stable] = await Promise.all([
        readIngress(scenario, "checkout-canary"),
        readIngress(scenario, "checkout"),
      ]);
      return canary === undefined && stable !== undefined && isDeepStrictEqual(routedFields(stable), before);
    };
    await waitFor(asBefore, {
      timeoutMs: 30_000,
      description: "the canary Ingress gone and the stable Ingress as before",
    }).catch(() => undefined);
    expect(await readIngress(scenario, "checkout-canary")).toBeUndefined();
    const stable = await readIngress(scenario, "checkout");
    expect(stable && routedFields(stable)).toEqual(before);
  },
  analysis: { interval: "1s", metrics: [] },
  failCanary: (scenario, name) =>
    scenario.control(name, { abort: { by: "integration-test", at: new Date().toISOString() } }),
  rollback: { trigger: "manual" },
  rollbackTiming: "abort",
};

async function copyGone(scenario: ServiceScenario): Promise<void> {
  await waitFor(async () => (await readAutoscaler(scenario, "checkout-canary")) === undefined, {
    timeoutMs: 60_000,
    description: "the canary's autoscaler copy deleted",
  });
}

describe.concurrent("a release of an autoscaled target", () => {
  it("runs on a control plane without autoscaling/v2, so the copy is written as v2beta2", async () => {
    const group = await kubeConfig().makeApiClient(AutoscalingApi).getAPIGroup();
    const versions = (group.versions ?? []).map((version) => version.version);
    expect(versions).toContain("v2beta2");
    expect(versions).not.toContain("v2");
  });

  for (const via of [GATEWAY_API, NGINX]) {
    it(
      `with ${via.label}: the canary gets a proportional copy of the autoscaler; promotion hands the user's back untouched`,
      () =>
        withService(`hpa-${via.prefix}`, { replicas: 2, router: via.router }, async (scenario) => {
          await givenAutoscaler(scenario, 2, 6);
          const autoscalerBefore = await autoscalerFields(scenario);
          const stableBefore = await stableSpec(scenario);
          const routingBefore = await via.routing(scenario);
          const name = "checkout-2-1-0";
          await scenario.release(name, "2.1.0", {
            stages: [
              { name: "canary", weight: 10, hold: "6s" },
              { name: "half", weight: 50, hold: "6s" },
              { name: "ga", weight: 100, hold: "0s" },
            ],
            analysis: via.analysis,
          });

          // In the 10% stage the copy is sized for the next share, 50%: min ⌈2·0.5⌉ = 1, max ⌈6·0.5⌉ = 3,
          // aimed at the canary Deployment and owned by the Release.
          const copy = await waitFor(
            async () => {
              const release = await scenario.read(name);
              const current = await readAutoscaler(scenario, "checkout-canary");
              return release.status?.currentStage?.name === "canary" &&
                (await via.canaryWeight(scenario)) === 10 &&
                current?.spec.maxReplicas === 3
                ? current
                : undefined;
            },
            { timeoutMs: 180_000, description: "10% on the canary, its copy sized for 50%" },
          );
          expect(copy.spec).toMatchObject({
            scaleTargetRef: { kind: "Deployment", name: "checkout-canary" },
            minReplicas: 1,
            maxReplicas: 3,
            metrics: [
              {
                type: "Resource",
                resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 70 } },
              },
            ],
            behavior: { scaleDown: { stabilizationWindowSeconds: 300 } },
          });
          expect(copy.metadata.labels).toMatchObject({
            "glidepath.dev/release": name,
            "glidepath.dev/role": "canary",
          });
          expect(copy.metadata.ownerReferences).toMatchObject([{ kind: "Release", name }]);
          const during = await scenario.read(name);
          expect(during.status?.canaryScale).toMatchObject({
            source: "autoscaler",
            autoscaler: "checkout",
            canaryAutoscaler: "checkout-canary",
          });

          // From the 50% stage on, sized for all the traffic: the stable autoscaler's own bounds,
          // and the canary raised to its floor (2) before it takes 100%.
          await waitFor(
            async () => {
              const [current, canary] = await Promise.all([
                readAutoscaler(scenario, "checkout-canary"),
                scenario.deployment("checkout-canary"),
              ]);
              return (
                (await via.canaryWeight(scenario)) === 50 &&
                current?.spec.minReplicas === 2 &&
                current.spec.maxReplicas === 6 &&
                canary?.spec?.replicas === 2
              );
            },
            {
              timeoutMs: 180_000,
              description: "50% on the canary, the copy at 2..6 and the canary at 2 replicas",
            },
          );

          const release = await scenario.waitForPhase(name, FINISHED, { timeoutMs: 240_000 });
          expect(release.status?.phase, release.status?.message).toBe("Succeeded");
          expect(release.status?.canaryScale?.source).toBe("autoscaler");
          await copyGone(scenario);
          // Never scaled by Glidepath: stable keeps what its autoscaler holds it at, and only the
          // images and version label of its pod template changed.
          expect(await stableSpec(scenario)).toEqual(promotedSpec(stableBefore, "2.1.0"));
          expect(await autoscalerFields(scenario)).toEqual(autoscalerBefore);
          await via.expectRoutingAsBefore(scenario, routingBefore);
        }),
      LOADED_MACHINE_TIMEOUT_MS,
    );

    it(
      `with ${via.label}: rolls back with the user's autoscaler and Deployment as they were, and the copy gone`,
      () =>
        withService(`hpa-${via.prefix}-rollback`, { replicas: 2, router: via.router }, async (scenario) => {
          await givenAutoscaler(scenario, 2, 6);
          const autoscalerBefore = await autoscalerFields(scenario);
          const stableBefore = await stableSpec(scenario);
          const routingBefore = await via.routing(scenario);
          const name = "checkout-2-2-0";
          await scenario.release(name, "2.2.0", {
            stages: [
              { name: "canary", weight: 10, hold: "600s", minMeasurements: 1 },
              { name: "ga", weight: 100, hold: "0s" },
            ],
            analysis: via.analysis,
          });
          await waitFor(
            async () =>
              (await via.canaryWeight(scenario)) === 10 &&
              (await readAutoscaler(scenario, "checkout-canary")) !== undefined,
            { timeoutMs: 180_000, description: "10% on the canary, with its autoscaler copy" },
          );

          await via.failCanary(scenario, name, "2.2.0");
          const breachAt = performance.now();
          // Timed as bench/rollback-latency.ts does: until the router shows all traffic on stable.
          await waitFor(async () => (await via.canaryWeight(scenario)) === 0, {
            timeoutMs: 120_000,
            intervalMs: 20,
            description: "all traffic back on stable",
          });
          const rollbackMs = performance.now() - breachAt;
          console.log(
            `autoscaled target, ${via.label}: ${via.rollbackTiming} to all traffic on stable in ${Math.round(rollbackMs)} ms`,
          );

          const release = await scenario.waitForPhase(name, FINISHED);
          expect(release.status?.phase, release.status?.message).toBe("RolledBack");
          expect(release.status?.rollback).toMatchObject(via.rollback);
          await copyGone(scenario);
          expect((await scenario.deployment("checkout-canary"))?.spec?.replicas ?? 0).toBe(0);
          // Field by field: the user's autoscaler, the stable Deployment's spec and the routing as before.
          expect(await autoscalerFields(scenario)).toEqual(autoscalerBefore);
          expect(await stableSpec(scenario)).toEqual(stableBefore);
          await via.expectRoutingAsBefore(scenario, routingBefore);
        }),
      LOADED_MACHINE_TIMEOUT_MS,
    );
  }

  it(
    "with spec.canaryScale: the canary runs the fixed size at every stage, with no copy of the autoscaler",
    () =>
      withService("hpa-fixed", { replicas: 2 }, async (scenario) => {
        await givenAutoscaler(scenario, 2, 6);
        const autoscalerBefore = await autoscalerFields(scenario);
        const stableBefore = await stableSpec(scenario);
        const routeBefore = await scenario.routeFields();
        const name = "checkout-2-6-0";
        await scenario.release(name, "2.6.0", {
          stages: [
            { name: "canary", weight: 10, hold: "15s" },
            { name: "half", weight: 50, hold: "15s" },
            { name: "ga", weight: 100, hold: "0s" },
          ],
          canaryScale: { replicas: 3 },
          analysis: { metrics: [] },
        });

        // At 10% and at 50% alike: 3 canary pods (not 1 or 2 as a copy would size it), and no copy.
        for (const weight of [10, 50]) {
          await waitFor(
            async () => {
              const canary = await scenario.deployment("checkout-canary");
              return (
                (await scenario.routeWeights())["checkout-canary"] === weight &&
                canary?.spec?.replicas === 3 &&
                canary.status?.readyReplicas === 3
              );
            },
            { timeoutMs: 180_000, description: `${weight}% on a canary of 3 ready pods` },
          );
          expect(await readAutoscaler(scenario, "checkout-canary")).toBeUndefined();
          const during = await scenario.read(name);
          expect(during.status?.canaryScale).toMatchObject({ source: "fixed", autoscaler: "checkout" });
          expect(during.status?.canaryScale?.canaryAutoscaler).toBeUndefined();
        }

        const release = await scenario.waitForPhase(name, FINISHED, { timeoutMs: 240_000 });
        expect(release.status?.phase, release.status?.message).toBe("Succeeded");
        expect(release.status?.canaryScale?.source).toBe("fixed");
        expect(await readAutoscaler(scenario, "checkout-canary")).toBeUndefined();
        expect((await scenario.deployment("checkout-canary"))?.spec?.replicas ?? 0).toBe(0);
        expect(await stableSpec(scenario)).toEqual(promotedSpec(stableBefore, "2.6.0"));
        expect(await autoscalerFields(scenario)).toEqual(autoscalerBefore);
        await expectRouteAsBefore(scenario, routeBefore);
      }),
    LOADED_MACHINE_TIMEOUT_MS,
  );

  it(
    "a Release deleted mid-release takes its autoscaler copy with the canary, and leaves the user's as it was",
    () =>
      withService("hpa-delete", { replicas: 2 }, async (scenario) => {
        await givenAutoscaler(scenario, 2, 6);
        const autoscalerBefore = await autoscalerFields(scenario);
        const name = "checkout-2-5-0";
        await scenario.release(name, "2.5.0", {
          stages: [
            { name: "canary", weight: 10, hold: "600s" },
            { name: "ga", weight: 100, hold: "0s" },
          ],
          analysis: { metrics: [] },
        });
        await waitFor(async () => (await readAutoscaler(scenario, "checkout-canary")) !== undefined, {
          timeoutMs: 180_000,
          description: "the canary's autoscaler copy",
        });

        await kubectl(["-n", scenario.namespace, "delete", "release", name, "--wait=false"]);
        await waitFor(
          async () => {
            try {
              await scenario.read(name);
              return false;
            } catch (error) {
              return (error as { code?: number }).code === 404;
            }
          },
          { timeoutMs: 120_000, description: `Release ${name} gone` },
        );
        // Gone with the Release: the canary Deployment and the copy (the controller deletes both before
        // it lets the Release go; the copy's owner reference would have the garbage collector do it too).
        expect(await readAutoscaler(scenario, "checkout-canary")).toBeUndefined();
        expect(await scenario.deployment("checkout-canary")).toBeUndefined();
        expect(await autoscalerFields(scenario)).toEqual(autoscalerBefore);
      }),
    LOADED_MACHINE_TIMEOUT_MS,
  );

  it(
    "with Gateway API: stable follows its autoscaler up mid-release and the canary's copy follows proportionally",
    () =>
      withService("hpa-gw-scale", { replicas: 2 }, async (scenario) => {
        await givenAutoscaler(scenario, 2, 6);
        const name = "checkout-2-4-0";
        await scenario.release(name, "2.4.0", {
          stages: [
            { name: "canary", weight: 10, hold: "40s" },
            { name: "half", weight: 50, hold: "2s" },
            { name: "ga", weight: 100, hold: "0s" },
          ],
          analysis: { metrics: [] },
        });
        // Sized for the next stage's 50%: 1..3, the canary at 1.
        await waitFor(
          async () => {
            const release = await scenario.read(name);
            const copy = await readAutoscaler(scenario, "checkout-canary");
            return release.status?.currentStage?.name === "canary" && copy?.spec.maxReplicas === 3;
          },
          { timeoutMs: 180_000, description: "the 10% stage with the copy at 1..3" },
        );

        // When: the autoscaler wants 4 (played by raising its floor; the real HPA controller scales stable).
        await kubeClients().custom.patchNamespacedCustomObject(
          {
            ...AUTOSCALING,
            namespace: scenario.namespace,
            name: "checkout",
            body: { spec: { minReplicas: 4 } },
          },
          mergePatch,
        );
        // Then: stable at 4 by its autoscaler; the copy's floor is 50% of 4, and the canary is raised to it.
        await waitFor(
          async () => {
            const [stable, canary, copy] = await Promise.all([
              scenario.deployment("checkout"),
              scenario.deployment("checkout-canary"),
              readAutoscaler(scenario, "checkout-canary"),
            ]);
            return (
              stable?.spec?.replicas === 4 &&
              copy?.spec.minReplicas === 2 &&
              copy.spec.maxReplicas === 3 &&
              canary?.spec?.replicas === 2
            );
          },
          { timeoutMs: 180_000, description: "stable at 4, the copy at 2..3, the canary at 2" },
        );

        const release = await scenario.waitForPhase(name, FINISHED, { timeoutMs: 240_000 });
        expect(release.status?.phase, release.status?.message).toBe("Succeeded");
        await copyGone(scenario);
        // Glidepath never scaled stable: it is where its autoscaler put it, and the autoscaler as the person left it.
        expect((await scenario.deployment("checkout"))?.spec?.replicas).toBe(4);
        expect((await readAutoscaler(scenario, "checkout"))?.spec).toMatchObject({
          minReplicas: 4,
          maxReplicas: 6,
        });
        expect(release.status?.stableDrift).toBeUndefined();
        expect(release.status?.stableChanges?.map((change) => change.kind)).toContain("replicas");
      }),
    LOADED_MACHINE_TIMEOUT_MS,
  );

  it(
    "with the replica split: stable follows its autoscaler up mid-release and the canary follows stable",
    () =>
      withService("hpa-split", { replicas: 2 }, async (scenario) => {
        await givenAutoscaler(scenario, 2, 8);
        const name = "checkout-2-3-0";
        await scenario.release(name, "2.3.0", {
          stages: [
            { name: "canary", weight: 25, hold: "45s" },
            { name: "ga", weight: 100, hold: "0s" },
          ],
          traffic: { replicas: {} },
          analysis: { metrics: [] },
        });
        // 25% beside 2 stable pods: 1 canary pod (33%).
        await scenario.waitForRelease(
          name,
          "1 canary pod beside 2 stable in the 25% stage",
          (release) =>
            release.status?.currentStage?.name === "canary" && release.status.stages[0]?.reachedWeight === 33,
          { timeoutMs: 180_000 },
        );
        const during = await scenario.read(name);
        expect(during.status?.canaryScale).toMatchObject({ source: "replicaSplit", autoscaler: "checkout" });
        expect(await readAutoscaler(scenario, "checkout-canary")).toBeUndefined();

        // When: the autoscaler wants 6 (played by raising its floor; the real HPA controller scales stable).
        await kubeClients().custom.patchNamespacedCustomObject(
          {
            ...AUTOSCALING,
            namespace: scenario.namespace,
            name: "checkout",
            body: { spec: { minReplicas: 6 } },
          },
          mergePatch,
        );
        // Then: stable follows its autoscaler (Glidepath never scales it back down), and the canary
        // follows stable: 25% beside 6 is 2 canary pods.
        await waitFor(
          async () => {
            const [stable, canary] = await Promise.all([
              scenario.deployment("checkout"),
              scenario.deployment("checkout-canary"),
            ]);
            return (
              stable?.spec?.replicas === 6 &&
              canary?.spec?.replicas === 2 &&
              canary.status?.readyReplicas === 2
            );
          },
          {
            timeoutMs: 180_000,
            description: "stable at 6 (its autoscaler), the canary at 2 (25% of 8 pods)",
          },
        );

        const release = await scenario.waitForPhase(name, FINISHED, { timeoutMs: 240_000 });
        expect(release.status?.phase, release.status?.message).toBe("Succeeded");
        expect((await scenario.deployment("checkout"))?.spec?.replicas).toBe(6);
        expect((await scenario.deployment("checkout-canary"))?.spec?.replicas ?? 0).toBe(0);
        // Scaling is noted, never taken for someone's edit of what runs.
        expect(release.status?.stableDrift).toBeUndefined();
        expect(release.status?.stableChanges?.map((change) => change.kind)).toContain("replicas");
        const autoscaler = await readAutoscaler(scenario, "checkout");
        expect(autoscaler?.spec).toMatchObject({ minReplicas: 6, maxReplicas: 8 });
      }),
    LOADED_MACHINE_TIMEOUT_MS,
  );
});
