// Given/When/Then helpers for controller tests: a service with a stable Deployment,
// Service and HTTPRoute, gateway-style traffic from the simulator scraped by the
// shared Prometheus, and Releases applied as a team would.
import type { V1Deployment } from "@kubernetes/client-node";
import { ProcessSupervisor } from "../../harness/processes.ts";
import { spawnTrafficSimulator, type SpawnedSimulator } from "../../harness/traffic-simulator-client.ts";
import {
  createNamespace,
  deleteNamespace,
  kubeClients,
  prometheus,
  stackInfo,
  waitFor,
  type WaitForOptions,
} from "../../harness/context.ts";
import type { Release, ReleasePhase } from "../../../src/api/index.ts";

const group = "glidepath.dev";
const version = "v1alpha1";
const plural = "releases";
export const STABLE_VERSION = "1.0.0";

export interface ServiceScenario {
  namespace: string;
  service: string;
  simulator: SpawnedSimulator;
  /** Given: a Release of `newVersion`, with short stages (from the spec, as a team could write it). */
  release(name: string, newVersion: string, spec?: Record<string, unknown>): Promise<void>;
  read(name: string): Promise<Release>;
  waitForPhase(name: string, phases: ReleasePhase[], options?: WaitForOptions): Promise<Release>;
  /** The HTTPRoute's backend weights by backend name. */
  routeWeights(): Promise<Record<string, number>>;
  deployment(name: string): Promise<V1Deployment | undefined>;
  tearDown(): Promise<void>;
}

export function shortStages(holdSeconds = 4) {
  return [
    { name: "canary", weight: 1, hold: `${holdSeconds}s`, minMeasurements: 2 },
    { name: "early-adopter", weight: 10, hold: `${holdSeconds}s`, minMeasurements: 2 },
    { name: "expansion", weight: 50, hold: `${holdSeconds}s`, minMeasurements: 2 },
    { name: "ga", weight: 100, hold: "0s" },
  ];
}

export async function givenService(
  prefix: string,
  options: { replicas?: number } = {},
): Promise<ServiceScenario> {
  const { apps, core, custom } = kubeClients();
  const namespace = await createNamespace(prefix);
  const service = "checkout";
  const labels = { app: service };
  await apps.createNamespacedDeployment({
    namespace,
    body: {
      metadata: { name: service, labels },
      spec: {
        replicas: options.replicas ?? 2,
        selector: { matchLabels: labels },
        progressDeadlineSeconds: 60,
        template: {
          metadata: { labels: { ...labels, version: STABLE_VERSION } },
          spec: { containers: [{ name: service, image: `registry.example.com/checkout:${STABLE_VERSION}` }] },
        },
      },
    },
  });
  await core.createNamespacedService({
    namespace,
    body: {
      metadata: { name: service },
      spec: { selector: labels, ports: [{ port: 80, targetPort: 8080 }] },
    },
  });
  await custom.createNamespacedCustomObject({
    group: "gateway.networking.k8s.io",
    version: "v1",
    namespace,
    plural: "httproutes",
    body: {
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "HTTPRoute",
      metadata: { name: service },
      spec: {
        parentRefs: [{ name: "public-gateway" }],
        rules: [{ backendRefs: [{ name: service, port: 80 }] }],
      },
    },
  });
  await waitFor(
    async () => (await apps.readNamespacedDeployment({ name: service, namespace })).status?.readyReplicas,
    {
      description: "the stable Deployment ready",
    },
  );

  const info = stackInfo();
  const supervisor = new ProcessSupervisor(info.runDir);
  const simulator = await spawnTrafficSimulator(supervisor, {
    name: `traffic-${namespace}`,
    namespace,
    service,
    requestsPerSecond: 400,
    stable: { version: STABLE_VERSION },
    canary: { version: "none" },
    route: { name: service, kubeconfigPath: info.kubeconfigPath, deployment: service, pollMs: 200 },
  });
  const job = `traffic-${namespace}`;
  const instance = new URL(simulator.client.url).host;
  await prometheus().setScrapeTargets(job, [instance]);
  await prometheus().waitForTarget(job, instance);

  const read = async (name: string) =>
    (await custom.getNamespacedCustomObject({ group, version, namespace, plural, name })) as Release;

  return {
    namespace,
    service,
    simulator,
    async release(name, newVersion, spec = {}) {
      await custom.createNamespacedCustomObject({
        group,
        version,
        namespace,
        plural,
        body: {
          apiVersion: `${group}/${version}`,
          kind: "Release",
          metadata: { name },
          spec: {
            target: { deployment: service, service },
            version: newVersion,
            images: { [service]: `registry.example.com/checkout:${newVersion}` },
            stages: shortStages(),
            traffic: { gatewayAPI: { httpRoute: service } },
            analysis: {
              interval: "1s",
              metrics: [
                { name: "error-rate", template: "http-error-ratio", max: 0.05, inconclusiveLimit: 30 },
              ],
            },
            progressDeadline: "60s",
            bake: "4s",
            changeRequest: {
              id: `CHG-${name}`,
              type: "standard",
              title: `Release ${newVersion}`,
              why: "integration test",
              risk: "low",
              requestedBy: "integration-test",
              rollbackPlan: `Revert to ${STABLE_VERSION}`,
            },
            ...spec,
          },
        },
      });
    },
    read,
    waitForPhase: (name, phases, options = {}) =>
      waitFor(
        async () => {
          const release = await read(name);
          return phases.includes(release.status?.phase as ReleasePhase) ? release : undefined;
        },
        {
          timeoutMs: 120_000,
          intervalMs: 200,
          description: `Release ${name} in ${phases.join(" or ")}`,
          ...options,
        },
      ),
    async routeWeights() {
      const route = (await custom.getNamespacedCustomObject({
        group: "gateway.networking.k8s.io",
        version: "v1",
        namespace,
        plural: "httproutes",
        name: service,
      })) as { spec: { rules: { backendRefs?: { name: string; weight?: number }[] }[] } };
      const weights: Record<string, number> = {};
      for (const ref of route.spec.rules[0]?.backendRefs ?? []) weights[ref.name] = ref.weight ?? 1;
      return weights;
    },
    async deployment(name) {
      try {
        return await apps.readNamespacedDeployment({ name, namespace });
      } catch {
        return undefined;
      }
    },
    async tearDown() {
      await prometheus().removeScrapeTargets(job);
      await simulator.process.stop();
      await deleteNamespace(namespace);
    },
  };
}
