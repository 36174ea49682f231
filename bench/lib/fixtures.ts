// What the scale benchmark puts in the cluster: services as a team runs them before
// Glidepath (a Deployment of one replica, a Service, an HTTPRoute sending it all traffic),
// and Releases of them. Names are numbered so many services share a namespace.
import {
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  type V1Deployment,
} from "@kubernetes/client-node";
import type { Release, ReleaseSpecInput, ReleaseStatus } from "../../src/api/index.ts";
import { forEachLimited, withRetries } from "./pool.ts";

export const BENCH_LABEL = "bench.glidepath.dev/set";
export const RELEASES = { group: "glidepath.dev", version: "v1alpha1", plural: "releases" } as const;
const ROUTES = { group: "gateway.networking.k8s.io", version: "v1", plural: "httproutes" } as const;

export interface Target {
  namespace: string;
  name: string;
}

export function targetAt(index: number, perNamespace: number, prefix = "scale"): Target {
  const namespace = `${prefix}-${String(Math.floor(index / perNamespace)).padStart(3, "0")}`;
  return { namespace, name: `svc-${String(index).padStart(5, "0")}` };
}

export function imageOf(name: string, version: string): string {
  return `registry.example.com/${name}:${version}`;
}

/** Busy API server answers worth another try: throttling, 5xx, dropped connections. */
export function retryable(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  if (typeof code === "number") return code === 429 || code >= 500;
  return true;
}

export interface KubeApis {
  core: CoreV1Api;
  apps: AppsV1Api;
  custom: CustomObjectsApi;
}

export function kubeApis(kubeConfig: KubeConfig): KubeApis {
  return {
    core: kubeConfig.makeApiClient(CoreV1Api),
    apps: kubeConfig.makeApiClient(AppsV1Api),
    custom: kubeConfig.makeApiClient(CustomObjectsApi),
  };
}

/** Creates what did not exist yet; an object that exists (409) is left as it is. */
async function createIfMissing(create: () => Promise<unknown>): Promise<void> {
  try {
    await withRetries(create, retryable);
  } catch (error) {
    if ((error as { code?: unknown }).code !== 409) throw error;
  }
}

export async function createNamespaces(apis: KubeApis, namespaces: Iterable<string>): Promise<void> {
  await forEachLimited([...new Set(namespaces)], 8, (name) =>
    createIfMissing(() =>
      apis.core.createNamespace({ body: { metadata: { name, labels: { [BENCH_LABEL]: "scale" } } } }),
    ),
  );
}

/** The stable Deployment (1 replica), Service and HTTPRoute of each target. */
export async function createTargets(
  apis: KubeApis,
  targets: readonly Target[],
  concurrency: number,
  onProgress?: (done: number) => void,
): Promise<void> {
  await createNamespaces(
    apis,
    targets.map((target) => target.namespace),
  );
  let done = 0;
  await forEachLimited(targets, concurrency, async ({ namespace, name }) => {
    const labels = { app: name };
    await createIfMissing(() =>
      apis.apps.createNamespacedDeployment({
        namespace,
        body: {
          metadata: { name, labels: { ...labels, [BENCH_LABEL]: "scale" } },
          spec: {
            replicas: 1,
            selector: { matchLabels: labels },
            template: {
              metadata: { labels: { ...labels, version: "1.0.0" } },
              spec: { containers: [{ name: "app", image: imageOf(name, "1.0.0") }] },
            },
          },
        },
      }),
    );
    await createIfMissing(() =>
      apis.core.createNamespacedService({
        namespace,
        body: { metadata: { name }, spec: { selector: labels, ports: [{ port: 80, targetPort: 8080 }] } },
      }),
    );
    await createIfMissing(() =>
      apis.custom.createNamespacedCustomObject({
        ...ROUTES,
        namespace,
        body: {
          apiVersion: `${ROUTES.group}/${ROUTES.version}`,
          kind: "HTTPRoute",
          metadata: { name },
          spec: {
            parentRefs: [{ name: "public-gateway" }],
            rules: [{ backendRefs: [{ name, port: 80 }] }],
          },
        },
      }),
    );
    onProgress?.(++done);
  });
}

/** Deployments in these namespaces whose Pods are all Ready, and how many there are. */
export async function countReadyDeployments(
  apis: KubeApis,
  namespaces: Iterable<string>,
  accept: (deployment: V1Deployment) => boolean = () => true,
): Promise<{ ready: number; total: number }> {
  let ready = 0;
  let total = 0;
  await forEachLimited([...new Set(namespaces)], 4, async (namespace) => {
    const list = await withRetries(() => apis.apps.listNamespacedDeployment({ namespace }), retryable);
    for (const deployment of list.items) {
      if (!accept(deployment)) continue;
      total++;
      const wanted = deployment.spec?.replicas ?? 1;
      if (
        (deployment.status?.readyReplicas ?? 0) >= wanted &&
        (deployment.status?.updatedReplicas ?? 0) >= wanted
      )
        ready++;
    }
  });
  return { ready, total };
}

export interface ReleaseOptions {
  /** Release name; default "<target>-<version>". */
  name?: string;
  version: string;
  stages: NonNullable<ReleaseSpecInput["stages"]>;
  analysis: NonNullable<ReleaseSpecInput["analysis"]>;
  progressDeadline?: string;
  bake?: string;
  set: string;
}

/** A Release as written to the API server: defaults are the server's and the controller's business. */
export type ReleaseBody = Omit<Release, "spec" | "status"> & { spec: ReleaseSpecInput };

export function releaseBody(target: Target, options: ReleaseOptions): ReleaseBody {
  const name = options.name ?? `${target.name}-${options.version.replaceAll(".", "-")}`;
  return {
    apiVersion: "glidepath.dev/v1alpha1",
    kind: "Release",
    metadata: { name, namespace: target.namespace, labels: { [BENCH_LABEL]: options.set } },
    spec: {
      target: { deployment: target.name, service: target.name },
      version: options.version,
      images: { app: imageOf(target.name, options.version) },
      stages: options.stages,
      traffic: { gatewayAPI: { httpRoute: target.name } },
      analysis: options.analysis,
      ...(options.progressDeadline ? { progressDeadline: options.progressDeadline } : {}),
      ...(options.bake ? { bake: options.bake } : {}),
      changeRequest: {
        id: `SCALE-${name}`,
        type: "standard",
        title: `${target.name} ${options.version}`,
        why: "scale benchmark",
        risk: "low",
        successCriteria: ["error ratio under 5%"],
        requestedBy: "bench",
        rollbackPlan: "Traffic back to the stable version",
      },
    },
  };
}

/** Creates Releases; with `status`, writes it through the status subresource right after. */
export async function createReleases(
  apis: KubeApis,
  releases: readonly ReleaseBody[],
  concurrency: number,
  status?: ReleaseStatus,
  onProgress?: (done: number) => void,
): Promise<void> {
  let done = 0;
  await forEachLimited(releases, concurrency, async (release) => {
    const namespace = release.metadata.namespace as string;
    const name = release.metadata.name;
    let created: Release | undefined;
    try {
      created = (await withRetries(
        () => apis.custom.createNamespacedCustomObject({ ...RELEASES, namespace, body: release }),
        retryable,
      )) as Release;
    } catch (error) {
      if ((error as { code?: unknown }).code !== 409) throw error;
    }
    if (status) {
      let current = created;
      await withRetries(
        async () => {
          current ??= (await apis.custom.getNamespacedCustomObject({
            ...RELEASES,
            namespace,
            name,
          })) as Release;
          const body = { ...current, status };
          current = undefined;
          await apis.custom.replaceNamespacedCustomObjectStatus({ ...RELEASES, namespace, name, body });
        },
        (error) => retryable(error) || (error as { code?: unknown }).code === 409,
      );
    }
    onProgress?.(++done);
  });
}

/** Every Release of the benchmark, across its namespaces. */
export async function listReleases(
  apis: KubeApis,
  namespaces: Iterable<string>,
  set?: string,
): Promise<Release[]> {
  const all: Release[] = [];
  await forEachLimited([...new Set(namespaces)], 4, async (namespace) => {
    const list = (await withRetries(
      () =>
        apis.custom.listNamespacedCustomObject({
          ...RELEASES,
          namespace,
          ...(set ? { labelSelector: `${BENCH_LABEL}=${set}` } : {}),
        }),
      retryable,
    )) as { items: Release[] };
    all.push(...list.items);
  });
  return all;
}

export async function deleteReleases(
  apis: KubeApis,
  namespaces: Iterable<string>,
  set: string,
): Promise<void> {
  await forEachLimited([...new Set(namespaces)], 4, (namespace) =>
    withRetries(
      () =>
        apis.custom.deleteCollectionNamespacedCustomObject({
          ...RELEASES,
          namespace,
          labelSelector: `${BENCH_LABEL}=${set}`,
        }),
      retryable,
    ).then(() => undefined),
  );
}
