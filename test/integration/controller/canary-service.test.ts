import { RbacAuthorizationV1Api } from "@kubernetes/client-node";
import type { V1ClusterRole } from "@kubernetes/client-node";
import { afterEach, describe, expect, it } from "vitest";
import { kubeClients, kubeConfig, waitFor } from "../../harness/context.ts";
import type { Release } from "../../../src/api/index.ts";
import { givenControllerForFile, withService, type ServiceScenario } from "./scenario.ts";

// Every object a release sends traffic to must exist, with a Ready pod behind it, before
// any weight moves to it: a canary Service that cannot be made (the controller lost
// `create` on services, the cluster's Service IP range is full) or that someone deleted
// gets no traffic, and the Release says why. The ClusterRole is the controller's own, so
// these tests change it one at a time (files run one at a time too) and always put it back.

givenControllerForFile();

const rbac = kubeConfig().makeApiClient(RbacAuthorizationV1Api);
const CLUSTER_ROLE = "glidepath-controller";
let original: V1ClusterRole | undefined;

/** When: the controller may no longer create Services (the rest of its ClusterRole unchanged). */
async function revokeServiceCreate(): Promise<void> {
  const role = await rbac.readClusterRole({ name: CLUSTER_ROLE });
  original ??= structuredClone(role);
  const rules = (role.rules ?? []).map((rule) =>
    rule.resources?.includes("services")
      ? { ...rule, verbs: rule.verbs.filter((verb) => verb !== "create") }
      : rule,
  );
  await rbac.replaceClusterRole({ name: CLUSTER_ROLE, body: { ...role, rules } });
}

async function restoreClusterRole(): Promise<void> {
  if (!original) return;
  const current = await rbac.readClusterRole({ name: CLUSTER_ROLE });
  await rbac.replaceClusterRole({
    name: CLUSTER_ROLE,
    body: { ...current, rules: original.rules ?? [] },
  });
  original = undefined;
}

afterEach(restoreClusterRole);

function workloadsReady(release: Release) {
  return release.status?.conditions.find((condition) => condition.type === "WorkloadsReady");
}

async function canaryServiceExists(scenario: ServiceScenario): Promise<boolean> {
  try {
    await kubeClients().core.readNamespacedService({
      name: "checkout-canary",
      namespace: scenario.namespace,
    });
    return true;
  } catch (error) {
    if ((error as { code?: number }).code === 404) return false;
    throw error;
  }
}

async function eventReasons(scenario: ServiceScenario, name: string): Promise<string[]> {
  return (await scenario.events(name)).map((event) => event.reason ?? "");
}

describe("a canary Service that cannot be made", () => {
  it("at the start: no stage begins and the Release says so; it goes on once the Service can be made", () =>
    withService("svc-start", {}, async (scenario) => {
      await revokeServiceCreate();
      const name = "checkout-2-0-0";
      await scenario.release(name, "2.0.0", {
        stages: [
          { name: "canary", weight: 10, hold: "1s" },
          { name: "ga", weight: 100, hold: "0s" },
        ],
        analysis: { metrics: [] },
        bake: "1s",
      });

      const stuck = await scenario.waitForRelease(
        name,
        "WorkloadsReady=False because the canary Service is missing",
        (release) => workloadsReady(release)?.reason === "CanaryServiceMissing",
      );
      expect(workloadsReady(stuck)).toMatchObject({
        status: "False",
        message: expect.stringContaining("the canary Service checkout-canary is missing"),
      });
      expect(stuck.status?.message).toContain("the canary Service checkout-canary is missing");
      expect(stuck.status?.currentStage).toBeUndefined();
      expect((await scenario.deployment("checkout-canary"))?.status?.readyReplicas).toBeGreaterThan(0);
      expect(await canaryServiceExists(scenario)).toBe(false);
      expect((await scenario.routeWeights())["checkout-canary"] ?? 0).toBe(0);
      await waitFor(async () => (await eventReasons(scenario, name)).includes("CanaryServiceMissing"), {
        description: "a CanaryServiceMissing Event",
      });

      // Then, with the permission back, the Service is made and the release carries on.
      await restoreClusterRole();
      const done = await scenario.waitForPhase(name, ["Succeeded", "RolledBack", "Failed"]);
      expect(done.status?.phase, done.status?.message).toBe("Succeeded");
      expect(done.status?.stages.map((stage) => [stage.name, stage.reachedWeight])).toEqual([
        ["canary", 10],
        ["ga", 100],
        ["bake", undefined],
      ]);
      expect(await eventReasons(scenario, name)).toContain("CanaryServiceReady");
    }));

  it("deleted mid-stage: its share goes back to stable until it exists again, then returns", () =>
    withService("svc-mid", {}, async (scenario) => {
      const name = "checkout-2-1-0";
      await scenario.release(name, "2.1.0", {
        stages: [
          { name: "canary", weight: 10, hold: "10m" },
          { name: "ga", weight: 100, hold: "0s" },
        ],
        analysis: { metrics: [] },
      });
      await scenario.waitForRelease(
        name,
        "in stage canary at 10%",
        (release) => release.status?.stages.at(-1)?.reachedWeight === 10,
      );
      expect(await scenario.routeWeights()).toEqual({ checkout: 90, "checkout-canary": 10 });

      // When: the Service is deleted and cannot be made again.
      await revokeServiceCreate();
      await kubeClients().core.deleteNamespacedService({
        name: "checkout-canary",
        namespace: scenario.namespace,
      });
      await waitFor(async () => (await scenario.routeWeights())["checkout-canary"] === 0, {
        timeoutMs: 30_000,
        description: "the canary's share back on stable",
      });
      const held = await scenario.waitForRelease(
        name,
        "WorkloadsReady=False because the canary Service is missing",
        (release) => workloadsReady(release)?.reason === "CanaryServiceMissing",
      );
      expect(held.status?.phase).toBe("Progressing");
      expect(held.status?.currentStage?.name).toBe("canary");
      expect(held.status?.message).toContain("canary Service checkout-canary");
      expect(await canaryServiceExists(scenario)).toBe(false);
      expect((await scenario.routeWeights()).checkout).toBe(100);

      // Then: once it can be made again, it is, and the stage's weight returns.
      await restoreClusterRole();
      await waitFor(async () => (await scenario.routeWeights())["checkout-canary"] === 10, {
        timeoutMs: 60_000,
        description: "the route back at 90/10",
      });
      expect(await canaryServiceExists(scenario)).toBe(true);
      const recovered = await scenario.waitForRelease(
        name,
        "WorkloadsReady=True again",
        (release) => workloadsReady(release)?.status === "True",
      );
      expect(recovered.status?.currentStage?.name).toBe("canary");
      await waitFor(async () => (await eventReasons(scenario, name)).includes("CanaryServiceReady"), {
        description: "a CanaryServiceReady Event",
      });
    }));
});
