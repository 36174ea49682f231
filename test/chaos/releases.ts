// The releases a chaos scenario keeps in flight: each its own service (namespace, stable
// Deployment, Service, HTTPRoute), so they run at once (one release per target at a
// time). Analysis is a PromQL query answered by the real Prometheus through the chaos
// proxy: 0 passes, 1 breaches max 0.5 at the first round (a bad version).
import { AppsV1Api, CustomObjectsApi, type KubeConfig } from "@kubernetes/client-node";
import { createSampleService } from "../harness/sample-service.ts";

export const SERVICE = "web";
export const CANARY_BACKEND = `${SERVICE}-canary`;
export const STAGE_WEIGHTS = [1, 10, 50, 100] as const;
const RELEASES = { group: "glidepath.dev", version: "v1alpha1", plural: "releases" } as const;
const TERMINAL = new Set(["Succeeded", "RolledBack", "Failed"]);

export type Expected = "Succeeded" | "RolledBack";

export interface ChaosRelease {
  namespace: string;
  name: string;
  /** A bad version rolls back on its own; an alerted one is set to RolledBack when the alert is sent. */
  expected: Expected;
  bad: boolean;
  createdAt: number;
  /** Set once it is seen finished (by polling). */
  phase?: string;
}

export async function prepareService(kubeConfig: KubeConfig, namespace: string): Promise<void> {
  const apps = kubeConfig.makeApiClient(AppsV1Api);
  await createSampleService(kubeConfig, { namespace, name: SERVICE, version: "1.0.0", replicas: 1 });
  const deadline = Date.now() + 60_000;
  for (;;) {
    const deployment = await apps
      .readNamespacedDeployment({ name: SERVICE, namespace })
      .catch(() => undefined);
    if ((deployment?.status?.readyReplicas ?? 0) >= 1) return;
    if (Date.now() > deadline) throw new Error(`${namespace}/${SERVICE} never became Ready`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/**
 * The release's analysis query: one series, 0 (passes) or 1 for a bad version (breaches
 * max 0.5), labelled with the release so the proxy can tell whose answers it delivered.
 */
export function analysisQuery(release: Pick<ChaosRelease, "namespace" | "name" | "bad">): string {
  return `label_replace(vector(${release.bad ? 1 : 0}), "chaos_release", "${release.namespace}/${release.name}", "", "")`;
}

export function releaseBody(
  release: Pick<ChaosRelease, "namespace" | "name" | "bad">,
  options: { hold: string },
) {
  const { name } = release;
  const stageNames = ["canary", "early-adopter", "expansion", "ga"];
  return {
    apiVersion: "glidepath.dev/v1alpha1",
    kind: "Release",
    metadata: { name },
    spec: {
      target: { deployment: SERVICE, service: SERVICE },
      version: release.bad ? "2.0.0-bad" : "2.0.0",
      images: { [SERVICE]: `registry.example.com/${SERVICE}:2.0.0` },
      stages: STAGE_WEIGHTS.map((weight, index) => ({
        name: stageNames[index],
        weight,
        hold: weight === 100 ? "0s" : options.hold,
        ...(weight === 100 ? {} : { minMeasurements: 1 }),
      })),
      traffic: { gatewayAPI: { httpRoute: SERVICE } },
      analysis: {
        interval: "2s",
        metrics: [
          {
            name: "error-rate",
            query: analysisQuery(release),
            max: 0.5,
            // Faults last up to 30 s: rounds without an answer wait, they do not roll back.
            consecutiveErrorLimit: 40,
            inconclusiveLimit: 40,
          },
        ],
        alerts: { matchLabels: { chaos_release: name }, severities: ["critical"] },
      },
      progressDeadline: "5m",
      bake: "2s",
      changeRequest: {
        id: `CHAOS-${name}`,
        type: "standard",
        title: `Chaos release ${name}`,
        why: "chaos suite",
        risk: "low",
        requestedBy: "chaos",
        rollbackPlan: "Revert to 1.0.0",
      },
    },
  };
}

export async function createRelease(
  kubeConfig: KubeConfig,
  release: Pick<ChaosRelease, "namespace" | "name" | "bad">,
  hold: string,
): Promise<void> {
  const custom = kubeConfig.makeApiClient(CustomObjectsApi);
  await custom.createNamespacedCustomObject({
    ...RELEASES,
    namespace: release.namespace,
    body: releaseBody(release, { hold }),
  });
}

/** The release's phase, or undefined when it cannot be read now (the API server may be down). */
export async function phaseOf(kubeConfig: KubeConfig, release: ChaosRelease): Promise<string | undefined> {
  const custom = kubeConfig.makeApiClient(CustomObjectsApi);
  const object = (await custom
    .getNamespacedCustomObject({ ...RELEASES, namespace: release.namespace, name: release.name })
    .catch(() => undefined)) as { status?: { phase?: string } } | undefined;
  return object?.status?.phase;
}

export const isFinished = (phase: string | undefined): boolean => phase !== undefined && TERMINAL.has(phase);

/** A firing Alertmanager webhook (version 4) for one release, as Alertmanager sends it. */
export function firingAlert(release: ChaosRelease, fingerprint: string): string {
  const labels = {
    alertname: "ChaosCanaryErrors",
    namespace: release.namespace,
    chaos_release: release.name,
    severity: "critical",
  };
  return JSON.stringify({
    receiver: "glidepath",
    status: "firing",
    alerts: [
      {
        status: "firing",
        labels,
        annotations: { summary: "chaos suite" },
        startsAt: new Date().toISOString(),
        endsAt: "0001-01-01T00:00:00Z",
        generatorURL: "http://prometheus.chaos/graph",
        fingerprint,
      },
    ],
    groupLabels: { alertname: labels.alertname },
    commonLabels: labels,
    commonAnnotations: {},
    externalURL: "http://alertmanager.chaos",
    version: "4",
    groupKey: `{}:{chaos_release="${release.name}"}`,
    truncatedAlerts: 0,
  });
}
