// The workload half against a real control plane: a canary made from a real stable
// Deployment runs and becomes Ready, Services send to the right pods (read from the
// Endpoints the endpoints controller writes), promote and revert roll the stable
// Deployment, a crash-looping canary is reported with its reason, and the Release's
// owner reference takes the canary with it.
import type { V1Deployment, V1Service } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { WorkloadObservation } from "../../src/engine/types.ts";
import { WorkloadManager, type ReleaseRef } from "../../src/workload/index.ts";
import { exampleRelease } from "../fixtures/releases.ts";
import {
  CRASH_LOOP_ANNOTATION,
  createNamespace,
  deleteNamespace,
  kubeClients,
  mergePatch,
  waitFor,
} from "../harness/context.ts";

const { core, apps, custom } = kubeClients();
const workloads = new WorkloadManager({ apps, core });
let namespace: string;

const OLD = { checkout: "registry.example.com/checkout:2.3.1" };
const NEW = { checkout: "registry.example.com/checkout:2.4.0" };

beforeAll(async () => {
  namespace = await createNamespace("workload");
});
afterAll(async () => {
  await deleteNamespace(namespace);
});

/** A stored Release (the owner of the canary objects must exist, or the garbage collector removes them). */
async function createRelease(name: string, traffic: ReleaseRef["spec"]["traffic"]): Promise<ReleaseRef> {
  const body = exampleRelease();
  body.metadata = { name, namespace };
  body.spec = { ...body.spec, traffic };
  const created = (await custom.createNamespacedCustomObject({
    group: "glidepath.dev",
    version: "v1alpha1",
    namespace,
    plural: "releases",
    body,
  })) as ReleaseRef;
  expect(created.metadata.uid).toBeTruthy();
  return created;
}

async function createStable(name: string, replicas: number): Promise<void> {
  const labels = { app: name, version: "2.3.1" };
  const deployment: V1Deployment = {
    metadata: { name, namespace },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels },
        spec: { containers: [{ name: "checkout", image: OLD.checkout, ports: [{ containerPort: 8080 }] }] },
      },
    },
  };
  const service: V1Service = {
    metadata: { name, namespace },
    spec: { selector: { app: name }, ports: [{ name: "http", port: 80, targetPort: 8080 }] },
  };
  await apps.createNamespacedDeployment({ namespace, body: deployment });
  await core.createNamespacedService({ namespace, body: service });
}

async function observed(
  release: ReleaseRef,
  role: "stable" | "canary",
  accept: (observation: WorkloadObservation) => boolean,
  description: string,
): Promise<WorkloadObservation> {
  return waitFor(
    async () => {
      const observation = await workloads.observe(release, role);
      return accept(observation) && observation;
    },
    { description, timeoutMs: 60_000 },
  );
}

async function podIps(selector: string): Promise<string[]> {
  const pods = await core.listNamespacedPod({ namespace, labelSelector: selector });
  return pods.items
    .filter((pod) => !pod.metadata?.deletionTimestamp)
    .map((pod) => pod.status?.podIP ?? "")
    .sort();
}

async function endpointIps(service: string): Promise<string[]> {
  const endpoints = await core.readNamespacedEndpoints({ name: service, namespace });
  return (endpoints.subsets ?? [])
    .flatMap((subset) => subset.addresses ?? [])
    .map((address) => address.ip)
    .sort();
}

describe("a canary behind a traffic router", () => {
  let release: ReleaseRef;

  beforeAll(async () => {
    await createStable("checkout", 2);
    release = await createRelease("checkout-2-4-0", { gatewayAPI: { httpRoute: "checkout" } });
    await observed(release, "stable", (o) => o.ready, "stable checkout ready");
  });

  it("is created from the stable Deployment with the new image and becomes ready", async () => {
    const { deployment, service } = await workloads.ensureCanary(release, NEW, 2);
    expect(deployment.metadata?.name).toBe("checkout-canary");
    expect(deployment.metadata?.ownerReferences?.[0]).toMatchObject({
      kind: "Release",
      name: "checkout-2-4-0",
      uid: release.metadata.uid,
      controller: true,
    });
    expect(service.metadata?.name).toBe("checkout-canary");

    const canary = await observed(release, "canary", (o) => o.ready, "canary ready");
    expect(canary).toEqual({
      exists: true,
      images: NEW,
      version: "2.4.0",
      desiredReplicas: 2,
      readyReplicas: 2,
      ready: true,
      progressDeadlineExceeded: false,
      templateHash: expect.any(String),
    });
    const stable = await workloads.observe(release, "stable");
    expect(stable).toMatchObject({ images: OLD, version: "2.3.1", readyReplicas: 2, ready: true });
  });

  it("keeps canary pods out of the stable Service's endpoints and puts them in the canary Service's", async () => {
    const stablePods = await podIps("app=checkout");
    const canaryPods = await podIps("app=checkout-canary");
    expect(stablePods).toHaveLength(2);
    expect(canaryPods).toHaveLength(2);
    await waitFor(async () => JSON.stringify(await endpointIps("checkout")) === JSON.stringify(stablePods), {
      description: "stable Endpoints = the stable pods",
    });
    await waitFor(
      async () => JSON.stringify(await endpointIps("checkout-canary")) === JSON.stringify(canaryPods),
      {
        description: "canary Endpoints = the canary pods",
      },
    );
    for (const ip of canaryPods) expect(await endpointIps("checkout")).not.toContain(ip);
  });

  it("changes nothing when ensured again with the same images and replicas", async () => {
    const before = await apps.readNamespacedDeployment({ name: "checkout-canary", namespace });
    const beforeService = await core.readNamespacedService({ name: "checkout-canary", namespace });
    await workloads.ensureCanary(release, NEW, 2);
    const after = await apps.readNamespacedDeployment({ name: "checkout-canary", namespace });
    const afterService = await core.readNamespacedService({ name: "checkout-canary", namespace });
    expect(after.metadata?.resourceVersion).toBe(before.metadata?.resourceVersion);
    expect(afterService.metadata?.resourceVersion).toBe(beforeService.metadata?.resourceVersion);
  });

  it("scales the canary", async () => {
    await workloads.scaleCanary(release, 1);
    await observed(release, "canary", (o) => o.ready && o.readyReplicas === 1, "canary at 1 replica");
    await workloads.ensureCanary(release, NEW, 2);
    await observed(release, "canary", (o) => o.ready && o.readyReplicas === 2, "canary back at 2 replicas");
  });

  it("promotes: the stable Deployment gets the new image and version, rolls out and becomes ready", async () => {
    const before = await apps.readNamespacedDeployment({ name: "checkout", namespace });
    const observedBefore = await workloads.observe(release, "stable");
    await workloads.promoteStable(release, NEW, "2.4.0");
    const stable = await observed(
      release,
      "stable",
      (o) => o.ready && o.images.checkout === NEW.checkout,
      "stable promoted and ready",
    );
    expect(stable).toMatchObject({ images: NEW, version: "2.4.0", readyReplicas: 2 });
    // Written as Glidepath, and the rest of the template is as it was: no one else's edit.
    expect(stable.writers).toMatchObject({ images: { checkout: "glidepath" }, version: "glidepath" });
    expect(stable.templateHash).toBe(observedBefore.templateHash);

    // Only the image and the version label changed in the template.
    const after = await apps.readNamespacedDeployment({ name: "checkout", namespace });
    const { containers: beforeContainers, ...beforeSpec } = before.spec?.template.spec ?? { containers: [] };
    const { containers: afterContainers, ...afterSpec } = after.spec?.template.spec ?? { containers: [] };
    expect(afterSpec).toEqual(beforeSpec);
    expect(afterContainers).toEqual(beforeContainers.map((c) => ({ ...c, image: NEW.checkout })));
    expect(after.spec?.template.metadata?.labels).toEqual({ app: "checkout", version: "2.4.0" });
    expect(after.spec?.replicas).toBe(before.spec?.replicas);

    const generation = after.metadata?.generation;
    await workloads.promoteStable(release, NEW, "2.4.0");
    const again = await apps.readNamespacedDeployment({ name: "checkout", namespace });
    expect(again.metadata?.generation).toBe(generation);
  });

  it("reverts: the stable Deployment is back on the previous image and version", async () => {
    await workloads.revertStable(release, OLD, "2.3.1");
    const stable = await observed(
      release,
      "stable",
      (o) => o.ready && o.images.checkout === OLD.checkout,
      "stable reverted and ready",
    );
    expect(stable).toMatchObject({ images: OLD, version: "2.3.1", readyReplicas: 2, ready: true });
  });

  it("reports a crash-looping canary as unhealthy, naming pod, container and reason", async () => {
    // Stands in for a new version that crashes: the fake kubelet crash-loops pods with this annotation.
    await apps.patchNamespacedDeployment(
      {
        name: "checkout-canary",
        namespace,
        body: { spec: { template: { metadata: { annotations: { [CRASH_LOOP_ANNOTATION]: "true" } } } } },
      },
      mergePatch,
    );
    const canary = await observed(release, "canary", (o) => o.unhealthy !== undefined, "canary unhealthy");
    expect(canary.ready).toBe(false);
    expect(canary.unhealthy).toMatchObject({ container: "checkout", reason: "CrashLoopBackOff" });
    expect(canary.unhealthy?.pod).toMatch(/^checkout-canary-/);
    // The stable Deployment's pods are not the canary's.
    expect((await workloads.observe(release, "stable")).unhealthy).toBeUndefined();

    // Ensuring the canary again puts its template back to the stable one with the new image.
    await workloads.ensureCanary(release, NEW, 2);
    await observed(release, "canary", (o) => o.ready && !o.unhealthy, "canary healthy again");
  });

  it("refuses an image for a container the Deployment does not have, naming it", async () => {
    await expect(workloads.ensureCanary(release, { web: "x:1" }, 1)).rejects.toThrow(
      `Release ${namespace}/checkout-2-4-0: spec.images names container "web", which Deployment ${namespace}/checkout does not have (its containers: checkout)`,
    );
    await expect(workloads.promoteStable(release, { web: "x:1" }, "2.4.0")).rejects.toThrow(
      /has no container "web" \(its containers: checkout\)/,
    );
  });

  it("is deleted with its Release (owner reference)", async () => {
    await custom.deleteNamespacedCustomObject({
      group: "glidepath.dev",
      version: "v1alpha1",
      namespace,
      plural: "releases",
      name: "checkout-2-4-0",
    });
    await waitFor(
      async () => {
        const deployments = await apps.listNamespacedDeployment({ namespace });
        const services = await core.listNamespacedService({ namespace });
        const names = [...deployments.items, ...services.items].map((o) => o.metadata?.name);
        return !names.includes("checkout-canary") && names.includes("checkout");
      },
      { description: "canary Deployment and Service garbage-collected", timeoutMs: 60_000 },
    );
    expect(await workloads.observe(release, "canary")).toMatchObject({ exists: false, ready: false });
  });
});

describe("a canary without a router (replicas), then with one", () => {
  it("keeps the stable labels, so the stable Service's endpoints include canary pods", async () => {
    await createStable("cart", 3);
    const base = await createRelease("cart-2-4-0", { replicas: {} });
    const release: ReleaseRef = {
      ...base,
      spec: { ...base.spec, target: { deployment: "cart", service: "cart" } },
    };
    await workloads.ensureCanary(release, NEW, 1);
    await observed(release, "canary", (o) => o.ready, "cart canary ready");
    const stable = await observed(release, "stable", (o) => o.ready, "cart stable ready");
    // The stable observation counts only the stable Deployment's own pods.
    expect(stable.readyReplicas).toBe(3);

    const all = await podIps("app=cart");
    const canaryPods = await podIps("app=cart,glidepath.dev/role=canary");
    expect(all).toHaveLength(4);
    expect(canaryPods).toHaveLength(1);
    await waitFor(async () => JSON.stringify(await endpointIps("cart")) === JSON.stringify(all), {
      description: "stable Endpoints = stable and canary pods",
    });
    await waitFor(
      async () => JSON.stringify(await endpointIps("cart-canary")) === JSON.stringify(canaryPods),
      {
        description: "canary Endpoints = the canary pod",
      },
    );
  });

  it("is taken over by the next Release, and remade when a router changes its selector", async () => {
    const base = await createRelease("cart-2-5-0", { gatewayAPI: { httpRoute: "cart" } });
    const release: ReleaseRef = {
      ...base,
      spec: { ...base.spec, target: { deployment: "cart", service: "cart" } },
    };
    const { deployment } = await workloads.ensureCanary(
      release,
      { checkout: "registry.example.com/checkout:2.5.0" },
      1,
    );
    expect(deployment.metadata?.ownerReferences).toEqual([
      expect.objectContaining({ name: "cart-2-5-0", uid: release.metadata.uid, controller: true }),
    ]);
    expect(deployment.spec?.selector?.matchLabels).toEqual({
      app: "cart-canary",
      "glidepath.dev/role": "canary",
    });
    await observed(
      release,
      "canary",
      (o) => o.ready && o.images.checkout?.endsWith(":2.5.0") === true,
      "new cart canary ready",
    );

    const stablePods = await podIps("app=cart");
    expect(stablePods).toHaveLength(3);
    await waitFor(async () => JSON.stringify(await endpointIps("cart")) === JSON.stringify(stablePods), {
      description: "stable Endpoints = the stable pods only, once the old canary's pods are gone",
      timeoutMs: 60_000,
    });
  });

  it("refuses to overwrite a Deployment of the canary's name that Glidepath did not make", async () => {
    await createStable("search", 1);
    await apps.createNamespacedDeployment({
      namespace,
      body: {
        metadata: { name: "search-canary", namespace },
        spec: {
          replicas: 0,
          selector: { matchLabels: { app: "search-canary" } },
          template: {
            metadata: { labels: { app: "search-canary" } },
            spec: { containers: [{ name: "checkout", image: "someone:else" }] },
          },
        },
      },
    });
    const base = await createRelease("search-1", { gatewayAPI: { httpRoute: "search" } });
    const release: ReleaseRef = {
      ...base,
      spec: { ...base.spec, target: { deployment: "search", service: "search" } },
    };
    await expect(workloads.ensureCanary(release, NEW, 1)).rejects.toThrow(
      `Release ${namespace}/search-1: writing the canary Deployment ${namespace}/search-canary: a Deployment of that name exists and Glidepath did not make it`,
    );
  });
});
