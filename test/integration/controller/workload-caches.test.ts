// The workload caches against a real control plane (issue 18 item 2): once they have
// listed, observing stable, the canary and the canary Service makes no request at all; a
// canary the WorkloadManager has just created is seen at once even before its watch event
// arrives; and a canary Pod that starts crash-looping wakes its Release, whose next
// observation names the Pod from the cache.
import type { V1Deployment, V1Service } from "@kubernetes/client-node";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Release } from "../../../src/api/index.ts";
import { RouteWatch } from "../../../src/controller/route-watch.ts";
import { TargetIndex } from "../../../src/controller/target-index.ts";
import { WorkloadWatch } from "../../../src/controller/workload-watch.ts";
import { makeKubeClients, NamespacedInformers, type KubeRequestLabels } from "../../../src/kube/index.ts";
import { WorkloadManager, type ReleaseRef } from "../../../src/workload/index.ts";
import { exampleRelease } from "../../fixtures/releases.ts";
import {
  CRASH_LOOP_ANNOTATION,
  createNamespace,
  deleteNamespace,
  kubeClients,
  kubeConfig,
  mergePatch,
  waitFor,
} from "../../harness/context.ts";

const { core, apps, custom } = kubeClients();
const logger = pino({ level: "warn" });
const OLD = { checkout: "registry.example.com/checkout:2.3.1" };
const NEW = { checkout: "registry.example.com/checkout:2.4.0" };

let namespace: string;
let release: ReleaseRef;
let releaseKey: string;
const requests: KubeRequestLabels[] = [];
const woken: string[] = [];
let deployments: NamespacedInformers<V1Deployment>;
let routeWatch: RouteWatch;
let workloadWatch: WorkloadWatch;
let workloads: WorkloadManager;

beforeAll(async () => {
  namespace = await createNamespace("caches");
  await apps.createNamespacedDeployment({
    namespace,
    body: {
      metadata: { name: "checkout", namespace },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: "checkout" } },
        template: {
          metadata: { labels: { app: "checkout", version: "2.3.1" } },
          spec: { containers: [{ name: "checkout", image: OLD.checkout, ports: [{ containerPort: 8080 }] }] },
        },
      },
    } satisfies V1Deployment,
  });
  await core.createNamespacedService({
    namespace,
    body: {
      metadata: { name: "checkout", namespace },
      spec: { selector: { app: "checkout" }, ports: [{ name: "http", port: 80, targetPort: 8080 }] },
    } satisfies V1Service,
  });
  const body = exampleRelease();
  body.metadata = { name: "checkout-2-4-0", namespace };
  body.spec = { ...body.spec, traffic: { gatewayAPI: { httpRoute: "checkout" } } };
  release = (await custom.createNamespacedCustomObject({
    group: "glidepath.dev",
    version: "v1alpha1",
    namespace,
    plural: "releases",
    body,
  })) as ReleaseRef;
  releaseKey = `${namespace}/${release.metadata.name}`;

  // As src/wiring.ts builds them, for this namespace only; every request counted.
  const config = kubeConfig();
  const clients = makeKubeClients(config, { onRequest: (request) => requests.push(request) });
  const cache = { kubeConfig: config, logger, namespaces: [namespace] };
  const targets = new TargetIndex();
  targets.update(releaseKey, release as unknown as Release);
  const wake = (key: string) => woken.push(key);
  deployments = new NamespacedInformers<V1Deployment>({ ...cache, path: "/apis/apps/v1/deployments" });
  routeWatch = new RouteWatch({ ...cache, targets, wake });
  workloadWatch = new WorkloadWatch({ ...cache, targets, deployments, routeWatch, wake });
  workloads = new WorkloadManager(
    { apps: clients.apps, core: clients.core },
    { cachedDeployment: (ns, name) => deployments.get(`${ns}/${name}`), caches: workloadWatch },
  );
  deployments.start();
  routeWatch.start();
  workloadWatch.start();
  await waitFor(
    () =>
      (["deployment", "service", "endpoints", "pods"] as const).every((kind) => workloadWatch.synced(kind)),
    { timeoutMs: 60_000, description: "the workload caches to list" },
  );
});

afterAll(async () => {
  await Promise.all([workloadWatch?.stop(), routeWatch?.stop(), deployments?.stop()]);
  if (namespace) await deleteNamespace(namespace);
});

/** The requests `action` makes, by "verb resource". */
async function requestsOf(action: () => Promise<unknown>): Promise<string[]> {
  const before = requests.length;
  await action();
  return requests.slice(before).map((request) => `${request.verb} ${request.resource}`);
}

describe("the workload caches", () => {
  it("show a canary just created at once, then answer every observation without a request", async () => {
    await workloads.ensureCanary(release, NEW, 1);
    // Read back before its watch event may have arrived: created here, so never "missing".
    expect((await workloads.observeCanaryService(release)).exists).toBe(true);
    expect((await workloads.observe(release, "canary")).exists).toBe(true);

    await waitFor(
      async () => {
        const [stable, canary, service] = await Promise.all([
          workloads.observe(release, "stable"),
          workloads.observe(release, "canary"),
          workloads.observeCanaryService(release),
        ]);
        return stable.ready && canary.ready && service.readyEndpoints === 1;
      },
      {
        timeoutMs: 90_000,
        description: "stable and the canary ready, the canary Service with 1 ready endpoint",
      },
    );
    const made = await requestsOf(async () => {
      const stable = await workloads.observe(release, "stable");
      const canary = await workloads.observe(release, "canary");
      const service = await workloads.observeCanaryService(release);
      expect(stable).toMatchObject({ exists: true, readyReplicas: 2, images: OLD });
      expect(canary).toMatchObject({ exists: true, readyReplicas: 1, images: NEW });
      expect(canary.unhealthy).toBeUndefined();
      expect(service).toEqual({ name: "checkout-canary", exists: true, readyEndpoints: 1 });
    });
    // The stable Deployment's field writers are read once per generation (the cache drops managedFields).
    expect(made.filter((request) => request !== "get deployments")).toEqual([]);
    expect(await requestsOf(() => workloads.observe(release, "stable"))).toEqual([]);
  });

  it("wake the Release when a canary Pod crash-loops, and name the Pod from the cache", async () => {
    woken.length = 0;
    // Stands in for a new version that crashes: the fake kubelet crash-loops pods with this annotation.
    await apps.patchNamespacedDeployment(
      {
        name: "checkout-canary",
        namespace,
        body: { spec: { template: { metadata: { annotations: { [CRASH_LOOP_ANNOTATION]: "true" } } } } },
      },
      mergePatch,
    );
    const canary = await waitFor(
      async () => {
        const observed = await workloads.observe(release, "canary");
        return observed.unhealthy !== undefined && observed;
      },
      { timeoutMs: 90_000, description: "the canary reported unhealthy" },
    );
    expect(canary.unhealthy).toMatchObject({ container: "checkout", reason: "CrashLoopBackOff" });
    expect(canary.unhealthy?.pod).toMatch(/^checkout-canary-/);
    expect(woken).toContain(releaseKey);
    // Each restart of the crash-looping Pod (its restartCount grows) wakes the Release again.
    woken.length = 0;
    await waitFor(() => woken.includes(releaseKey), {
      timeoutMs: 90_000,
      description: "a restart of the canary Pod to wake the Release",
    });
    expect(await requestsOf(() => workloads.observe(release, "canary"))).toEqual([]);
    // The stable Deployment's Pods are not the canary's.
    expect((await workloads.observe(release, "stable")).unhealthy).toBeUndefined();
  });
});
