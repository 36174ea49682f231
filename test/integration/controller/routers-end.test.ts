import { NetworkingV1Api } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { kubeClients, kubeConfig } from "../../harness/context.ts";
import { givenControllerForFile, quickStages, routedFields, withService } from "./scenario.ts";

// Issue 14 item 2: every router gives back what it changed when a release ends. Given a
// service routed through an HTTPRoute, an NGINX Ingress or the stable Service alone, when
// a release of it ends (succeeded or rolled back), then the route, the Ingress or the
// Service is field by field what it was before the release: labels, annotations, spec.

givenControllerForFile();

const networking = () => kubeConfig().makeApiClient(NetworkingV1Api);

describe.concurrent("when a release ends, its router puts back what it changed", () => {
  it("Gateway API: the HTTPRoute, after a release that succeeded, is as it was before the release", () =>
    withService("end-gw", {}, async (scenario) => {
      const before = await scenario.routeFields();
      const name = "checkout-2-0-0";
      await scenario.release(name, "2.0.0", { stages: quickStages(), analysis: { metrics: [] } });
      // During the release the route carried the split (and its memory of the weights before).
      const split = await scenario.waitForRelease(
        name,
        "at the canary stage's 10%",
        (release) => release.status?.stages.some((stage) => stage.reachedWeight === 10) ?? false,
      );
      expect(split.status?.phase).not.toBe("Succeeded");
      const done = await scenario.waitForPhase(name, ["Succeeded", "RolledBack", "Failed"]);
      expect(done.status?.phase, done.status?.message).toBe("Succeeded");
      // The finalizer goes once the route is back: by then the route must be as before.
      await scenario.waitForRelease(
        name,
        "its finalizer removed",
        (release) => (release.metadata.finalizers ?? []).length === 0,
      );
      expect(await scenario.routeFields()).toEqual(before);
    }));

  it("NGINX: after a rollback, the canary Ingress is gone and the stable Ingress was never written", () =>
    withService("end-nginx", { router: "nginx" }, async (scenario) => {
      const stableBefore = await networking().readNamespacedIngress({
        name: "checkout",
        namespace: scenario.namespace,
      });
      const name = "checkout-2-1-0";
      await scenario.release(name, "2.1.0", { stages: quickStages(600), analysis: { metrics: [] } });
      await scenario.waitForRelease(
        name,
        "at the canary stage's 10%",
        (release) => release.status?.stages.some((stage) => stage.reachedWeight === 10) ?? false,
      );
      const canary = await networking().readNamespacedIngress({
        name: "checkout-canary",
        namespace: scenario.namespace,
      });
      expect(canary.metadata?.annotations?.["nginx.ingress.kubernetes.io/canary-weight"]).toBe("10");

      await scenario.control(name, { abort: { by: "integration-test", at: new Date().toISOString() } });
      const done = await scenario.waitForPhase(name, ["RolledBack", "Failed", "Succeeded"]);
      expect(done.status?.phase, done.status?.message).toBe("RolledBack");
      await scenario.waitForRelease(
        name,
        "its finalizer removed",
        (release) => (release.metadata.finalizers ?? []).length === 0,
      );
      await expect(
        networking().readNamespacedIngress({ name: "checkout-canary", namespace: scenario.namespace }),
      ).rejects.toMatchObject({ code: 404 });
      const stableAfter = await networking().readNamespacedIngress({
        name: "checkout",
        namespace: scenario.namespace,
      });
      expect(routedFields(stableAfter)).toEqual(routedFields(stableBefore));
      expect(stableAfter.metadata?.resourceVersion).toBe(stableBefore.metadata?.resourceVersion);
    }));

  it("replica split: the canary keeps no pods, the stable Service and the HTTPRoute are as before", () =>
    withService("end-split", {}, async (scenario) => {
      const { core } = kubeClients();
      const serviceBefore = await core.readNamespacedService({
        name: "checkout",
        namespace: scenario.namespace,
      });
      const routeBefore = await scenario.routeFields();
      const name = "checkout-3-0-0";
      await scenario.release(name, "3.0.0", {
        stages: quickStages(600),
        traffic: { replicas: {} },
        analysis: { metrics: [] },
      });
      await scenario.waitForRelease(
        name,
        "a canary pod beside stable",
        (release) => release.status?.stages.some((stage) => (stage.reachedWeight ?? 0) > 0) ?? false,
      );
      await scenario.control(name, { abort: { by: "integration-test", at: new Date().toISOString() } });
      const done = await scenario.waitForPhase(name, ["RolledBack", "Failed", "Succeeded"]);
      expect(done.status?.phase, done.status?.message).toBe("RolledBack");
      await scenario.waitForRelease(
        name,
        "its finalizer removed",
        (release) => (release.metadata.finalizers ?? []).length === 0,
      );
      expect((await scenario.deployment("checkout-canary"))?.spec?.replicas ?? 0).toBe(0);
      const serviceAfter = await core.readNamespacedService({
        name: "checkout",
        namespace: scenario.namespace,
      });
      expect(routedFields(serviceAfter)).toEqual(routedFields(serviceBefore));
      expect(serviceAfter.metadata?.resourceVersion).toBe(serviceBefore.metadata?.resourceVersion);
      expect(await scenario.routeFields()).toEqual(routeBefore);
    }));
});
