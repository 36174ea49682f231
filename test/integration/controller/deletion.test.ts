import { NetworkingV1Api } from "@kubernetes/client-node";
import type { CoreV1Event } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { kubeClients, kubeConfig, kubectl, mergePatch, waitFor } from "../../harness/context.ts";
import type { Release } from "../../../src/api/index.ts";
import { givenControllerForFile, withService, type ServiceScenario } from "./scenario.ts";

// A Release deleted mid-release (kubectl delete, a GitOps prune) must never leave traffic
// on a canary that is about to disappear: the route-restore finalizer holds the Release
// until all traffic is back on stable and confirmed, then the canary goes, then the Release.

givenControllerForFile();

const group = "glidepath.dev";
const version = "v1alpha1";
const plural = "releases";
const FINALIZER = "glidepath.dev/route-restore";

/** A first stage passed at once, then a stage that holds long enough to be deleted in. */
function stagesHoldingAt(weight: number, name: string) {
  return [
    { name: "canary", weight: 1, hold: "0s" },
    { name, weight, hold: "10m" },
    { name: "ga", weight: 100, hold: "0s" },
  ];
}

async function inStage(scenario: ServiceScenario, name: string, stage: string): Promise<Release> {
  return scenario.waitForRelease(
    name,
    `in stage ${stage} with the router confirming its weight`,
    (release) => {
      const record = release.status?.stages.at(-1);
      return record?.name === stage && record.reachedWeight !== undefined;
    },
  );
}

/** When: a person (or a GitOps prune) deletes the Release with kubectl, not waiting for it to go. */
async function deleteRelease(scenario: ServiceScenario, name: string): Promise<void> {
  await kubectl(["-n", scenario.namespace, "delete", "release", name, "--wait=false"]);
}

async function releaseGone(scenario: ServiceScenario, name: string): Promise<void> {
  await waitFor(
    async () => {
      try {
        await scenario.read(name);
        return false;
      } catch (error) {
        return (error as { code?: number }).code === 404;
      }
    },
    { timeoutMs: 60_000, description: `Release ${name} gone` },
  );
}

async function exists(read: () => Promise<unknown>): Promise<boolean> {
  try {
    await read();
    return true;
  } catch (error) {
    if ((error as { code?: number }).code === 404) return false;
    throw error;
  }
}

function canaryService(scenario: ServiceScenario): Promise<boolean> {
  const { core } = kubeClients();
  return exists(() => core.readNamespacedService({ name: "checkout-canary", namespace: scenario.namespace }));
}

function canaryDeployment(scenario: ServiceScenario): Promise<boolean> {
  const { apps } = kubeClients();
  return exists(() =>
    apps.readNamespacedDeployment({ name: "checkout-canary", namespace: scenario.namespace }),
  );
}

/**
 * Samples, until stopped, whether traffic ever went to a canary Service that did not
 * exist: the outage this whole file is about.
 */
function watchForBlackHole(scenario: ServiceScenario, weightOf: () => Promise<number>) {
  const seen: string[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      // The Service first: a weight read after it is at most as new as the route it saw.
      const service = await canaryService(scenario);
      const weight = await weightOf().catch(() => 0);
      if (!service && weight > 0) seen.push(`${weight}% to a missing canary Service`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();
  return {
    async stop(): Promise<string[]> {
      running = false;
      await loop;
      return seen;
    },
  };
}

async function eventsOf(scenario: ServiceScenario, name: string, reason: string): Promise<CoreV1Event[]> {
  return waitFor(
    async () => {
      const events = (await scenario.events(name)).filter((event) => event.reason === reason);
      return events.length > 0 ? events : undefined;
    },
    { timeoutMs: 15_000, description: `a ${reason} Event on Release ${name}` },
  );
}

/** Then: the Event that says where it was deleted and that traffic is back on stable. */
async function expectRestoredEvent(
  scenario: ServiceScenario,
  name: string,
  expected: { stage: string; weight: number },
): Promise<void> {
  const [deleting] = await eventsOf(scenario, name, "Deleting");
  expect(deleting?.type).toBe("Warning");
  expect(deleting?.message).toContain(`at stage ${expected.stage} with ${expected.weight}% of traffic`);
  const [restored] = await eventsOf(scenario, name, "TrafficRestored");
  expect(restored?.message).toContain(`at stage ${expected.stage}`);
  expect(restored?.message).toContain("all traffic restored to the stable checkout");
}

describe.concurrent("a Release deleted mid-release", () => {
  it("at 10% (Gateway API): the HTTPRoute goes back to 100% stable before the canary goes, then the Release", () =>
    withService("del-gw", {}, async (scenario) => {
      const { custom } = kubeClients();
      const routeBefore = await scenario.routeFields();
      const name = "checkout-2-0-0";
      await scenario.release(name, "2.0.0", {
        stages: stagesHoldingAt(10, "early-adopter"),
        analysis: { metrics: [] },
      });
      const running = await inStage(scenario, name, "early-adopter");
      expect(running.metadata.finalizers).toContain(FINALIZER);
      expect(await scenario.routeWeights()).toEqual({ checkout: 90, "checkout-canary": 10 });

      // Another finalizer (as any other controller may hold) keeps the deleted Release
      // readable after ours is gone, so the record it leaves can be read.
      await custom.patchNamespacedCustomObject(
        {
          group,
          version,
          plural,
          namespace: scenario.namespace,
          name,
          body: { metadata: { finalizers: [FINALIZER, "test.glidepath.dev/hold"] } },
        },
        mergePatch,
      );
      const blackHole = watchForBlackHole(
        scenario,
        async () => (await scenario.routeWeights())["checkout-canary"] ?? 0,
      );
      await deleteRelease(scenario, name);

      const deleted = await waitFor(
        async () => {
          const release = await scenario.read(name);
          return release.metadata.finalizers?.includes(FINALIZER) ? undefined : release;
        },
        { timeoutMs: 60_000, description: "the route-restore finalizer removed" },
      );
      expect(await blackHole.stop()).toEqual([]);
      // All traffic on stable: the route field by field as before the release.
      expect(await scenario.routeFields()).toEqual(routeBefore);
      expect(await canaryDeployment(scenario)).toBe(false);
      expect(await canaryService(scenario)).toBe(false);
      // The record says when it was deleted, where it was, and how traffic came back.
      expect(deleted.status?.deletion).toMatchObject({
        requestedAt: deleted.metadata.deletionTimestamp,
        phase: "Progressing",
        stage: "early-adopter",
        canaryWeight: 10,
        verification: "the router holds weight 0 for the canary and confirmed it",
      });
      expect(deleted.status?.deletion?.trafficRestoredAt).toBeDefined();
      expect(deleted.status?.message).toContain("deleted while Progressing at stage early-adopter");
      await expectRestoredEvent(scenario, name, { stage: "early-adopter", weight: 10 });

      await custom.patchNamespacedCustomObject(
        {
          group,
          version,
          plural,
          namespace: scenario.namespace,
          name,
          body: { metadata: { finalizers: [] } },
        },
        mergePatch,
      );
      await releaseGone(scenario, name);
    }));

  it("at 50% (Gateway API): half of the traffic comes back to stable before anything is removed", () =>
    withService("del-gw50", {}, async (scenario) => {
      const routeBefore = await scenario.routeFields();
      const name = "checkout-2-1-0";
      await scenario.release(name, "2.1.0", {
        stages: stagesHoldingAt(50, "expansion"),
        analysis: { metrics: [] },
      });
      await inStage(scenario, name, "expansion");
      expect(await scenario.routeWeights()).toEqual({ checkout: 50, "checkout-canary": 50 });

      const blackHole = watchForBlackHole(
        scenario,
        async () => (await scenario.routeWeights())["checkout-canary"] ?? 0,
      );
      await deleteRelease(scenario, name);
      await releaseGone(scenario, name);
      expect(await blackHole.stop()).toEqual([]);
      expect(await scenario.routeFields()).toEqual(routeBefore);
      expect(await canaryDeployment(scenario)).toBe(false);
      expect(await canaryService(scenario)).toBe(false);
      await expectRestoredEvent(scenario, name, { stage: "expansion", weight: 50 });
    }));

  it("at 10% (NGINX): the canary Ingress goes before the canary Service, then the Release", () =>
    withService("del-nginx", { router: "nginx" }, async (scenario) => {
      const networking = kubeConfig().makeApiClient(NetworkingV1Api);
      const canaryIngressWeight = async () => {
        try {
          const ingress = await networking.readNamespacedIngress({
            name: "checkout-canary",
            namespace: scenario.namespace,
          });
          return Number(ingress.metadata?.annotations?.["nginx.ingress.kubernetes.io/canary-weight"] ?? 0);
        } catch (error) {
          if ((error as { code?: number }).code === 404) return 0;
          throw error;
        }
      };
      const name = "checkout-2-2-0";
      await scenario.release(name, "2.2.0", {
        stages: stagesHoldingAt(10, "early-adopter"),
        analysis: { metrics: [] },
      });
      await inStage(scenario, name, "early-adopter");
      expect(await canaryIngressWeight()).toBe(10);

      const blackHole = watchForBlackHole(scenario, canaryIngressWeight);
      await deleteRelease(scenario, name);
      await releaseGone(scenario, name);
      expect(await blackHole.stop()).toEqual([]);
      expect(
        await exists(() =>
          networking.readNamespacedIngress({ name: "checkout-canary", namespace: scenario.namespace }),
        ),
      ).toBe(false);
      expect(await canaryDeployment(scenario)).toBe(false);
      expect(await canaryService(scenario)).toBe(false);
      await expectRestoredEvent(scenario, name, { stage: "early-adopter", weight: 10 });
    }));

  it("at 10% (replica split): the canary pods leave the stable Service before the canary goes", () =>
    withService("del-split", {}, async (scenario) => {
      const name = "checkout-2-3-0";
      await scenario.release(name, "2.3.0", {
        stages: stagesHoldingAt(10, "early-adopter"),
        traffic: { replicas: {} },
        analysis: { metrics: [] },
      });
      await inStage(scenario, name, "early-adopter");
      const { core } = kubeClients();
      const readyCanaryPods = async () => {
        const pods = await core.listNamespacedPod({
          namespace: scenario.namespace,
          labelSelector: "glidepath.dev/role=canary",
        });
        return pods.items.filter((pod) =>
          pod.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"),
        ).length;
      };
      expect(await readyCanaryPods()).toBeGreaterThan(0);

      await deleteRelease(scenario, name);
      await releaseGone(scenario, name);
      expect(await canaryDeployment(scenario)).toBe(false);
      await waitFor(async () => (await readyCanaryPods()) === 0, {
        description: "no canary pod left behind the stable Service",
      });
      const [restored] = await eventsOf(scenario, name, "TrafficRestored");
      expect(restored?.message).toContain("at stage early-adopter");
      expect(restored?.message).toContain("all traffic restored to the stable checkout");
    }));

  it("whose HTTPRoute is gone: nothing to restore, the Release is not held forever", () =>
    withService("del-noroute", {}, async (scenario) => {
      const { custom } = kubeClients();
      const name = "checkout-2-4-0";
      await scenario.release(name, "2.4.0", {
        stages: stagesHoldingAt(10, "early-adopter"),
        analysis: { metrics: [] },
      });
      await inStage(scenario, name, "early-adopter");
      await custom.deleteNamespacedCustomObject({
        group: "gateway.networking.k8s.io",
        version: "v1",
        plural: "httproutes",
        namespace: scenario.namespace,
        name: "checkout",
      });

      await deleteRelease(scenario, name);
      await releaseGone(scenario, name);
      expect(await canaryDeployment(scenario)).toBe(false);
      const [restored] = await eventsOf(scenario, name, "TrafficRestored");
      expect(restored?.message).toContain("nothing routed to the canary to restore");
      expect(restored?.message).toContain("does not exist");
    }));

  it("that finished: no finalizer holds it and it goes at once", () =>
    withService("del-done", {}, async (scenario) => {
      const name = "checkout-2-5-0";
      await scenario.release(name, "2.5.0", {
        stages: [
          { name: "canary", weight: 10, hold: "1s" },
          { name: "ga", weight: 100, hold: "0s" },
        ],
        analysis: { metrics: [] },
        bake: "1s",
      });
      const done = await scenario.waitForPhase(name, ["Succeeded", "RolledBack", "Failed"]);
      expect(done.status?.phase, done.status?.message).toBe("Succeeded");
      const settled = await waitFor(
        async () => {
          const release = await scenario.read(name);
          return release.metadata.finalizers?.includes(FINALIZER) ? undefined : release;
        },
        { description: "no finalizer on the finished Release" },
      );
      expect(settled.metadata.finalizers ?? []).toEqual([]);
      await deleteRelease(scenario, name);
      await releaseGone(scenario, name);
      expect((await scenario.events(name)).map((event) => event.reason)).not.toContain("Deleting");
    }));
});
