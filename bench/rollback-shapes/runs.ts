// One alert-triggered rollback of each release shape, on rollback-latency's stack
// (prepareRollbackStack): a Release of the shape is started and waited for until its canary
// has its share, then a firing alert is POSTed to /hooks/alertmanager exactly as in
// rollback-latency's alert trigger (firingAlertWebhook, postAlert), timed from just before
// the POST until a watch sees the traffic back on stable. The StatefulSet's replica split
// has no route: its end point is every pod on the old revision and Ready.
import { AppsV1Api, CoreV1Api, type V1StatefulSet } from "@kubernetes/client-node";
import { waitUntil } from "../lib/wait.ts";
import { firingAlertWebhook, postAlert } from "../rollback-latency/alert.ts";
import { canaryReleaseBody, readRelease, waitRolledBack } from "../rollback-latency/release.ts";
import type { RollbackStack } from "../rollback-latency/stack.ts";
import { watchObjects, type ObjectsWatch } from "./object-watch.ts";
import {
  allPodsOldAndReady,
  BACK_ON_STABLE,
  canaryPodsReady,
  hasCanaryAndBaseline,
  hasCanaryMatchRule,
  hasCanaryMirror,
  routeRestored,
  SHAPES,
  type RouteView,
  type Shape,
  type StatefulSetView,
} from "./shapes.ts";

export interface ShapeRun {
  run: number;
  /** POST sent → the watch sees the traffic on stable (StatefulSet: every pod old and Ready). */
  toStableMs: number;
  /** POST sent → the hook's 200 answer. */
  hookAnswerMs: number;
  /** Autoscaled only: POST sent → a watch on the HPAs sees the canary's copy gone. */
  hpaCopyGoneMs?: number;
}

/** The StatefulSet released in the statefulset shape, beside the stack's Deployment. */
export const STATEFULSET = "ledger";
export const STATEFULSET_REPLICAS = 4;
const HPA = { group: "autoscaling", version: "v2beta2", plural: "horizontalpodautoscalers" } as const;
const ARM_TIMEOUT_MS = 120_000;
const STABLE_TIMEOUT_MS = 60_000;

/** The stage the Release is in once it is armed. */
const ARMED_STAGE: Record<Shape, string> = {
  "blue-green": "switch",
  match: "internal",
  mirror: "shadow",
  baseline: "canary",
  autoscaled: "canary",
  statefulset: "canary",
};

const HOLD = "10m";
const GA = { name: "ga", weight: 100, hold: "0s" };

/** What a shape's runs share: the stack, and the watches and objects the shape set up. */
export interface ShapeContext {
  bench: RollbackStack;
  shape: Shape;
  /** The HTTPRoute's rules before any Release (the stack's route has one). */
  initialRuleCount: number;
  hpas?: ObjectsWatch<KubernetesNamed>;
  statefulSets?: ObjectsWatch<V1StatefulSet>;
  /** The StatefulSet's revision before any Release. */
  oldRevision?: string;
  /** Undoes what the shape set up. */
  teardown(): Promise<void>;
}

type KubernetesNamed = { metadata?: { name?: string } };

/** The Release of one run of `shape`: rollback-latency's canary Release, reshaped. */
export function shapeReleaseBody(
  bench: RollbackStack,
  shape: Shape,
  name: string,
  version: string,
  run: number,
) {
  const service = bench.service;
  const alerts = { matchLabels: { service }, severities: ["critical"] };
  // As the alert trigger's: rounds run but never fail (no data is inconclusive, 100 allowed).
  const errorRate = {
    name: "error-rate",
    template: "http-error-ratio" as const,
    max: 0.5,
    inconclusiveLimit: 100,
  };
  const body = canaryReleaseBody(service, {
    name,
    version,
    run,
    analysis: { interval: "5s", metrics: [errorRate], alerts },
  });
  const spec: Record<string, unknown> = { ...body.spec };
  spec.changeRequest = { ...body.spec.changeRequest, why: `rollback-shapes benchmark, ${shape}` };
  switch (shape) {
    case "blue-green":
      delete spec.stages;
      spec.blueGreen = { preview: "1s", scaleDownDelay: HOLD, minMeasurements: 0 };
      spec.analysis = { interval: "5s", metrics: [], alerts };
      break;
    case "match":
      spec.stages = [
        {
          name: ARMED_STAGE.match,
          weight: 0,
          hold: HOLD,
          match: { headers: [{ name: "x-internal-user", value: "true" }] },
        },
        GA,
      ];
      break;
    case "mirror":
      spec.stages = [{ name: ARMED_STAGE.mirror, weight: 0, hold: HOLD, mirror: { percent: 100 } }, GA];
      break;
    case "baseline":
      spec.stages = [{ name: "canary", weight: 10, hold: HOLD }, GA];
      spec.analysis = {
        interval: "5s",
        metrics: [{ ...errorRate, compare: { baseline: { worse: "higher" } } }],
        alerts,
      };
      break;
    case "autoscaled":
      // rollback-latency's 1% canary; the HPA on the stable Deployment makes it autoscaled.
      break;
    case "statefulset":
      spec.target = { kind: "StatefulSet", deployment: STATEFULSET, service: STATEFULSET };
      spec.images = { [STATEFULSET]: `registry.example.com/${STATEFULSET}:${version}` };
      spec.traffic = { replicas: {} };
      // 25% of 4 replicas: one pod on the new revision.
      spec.stages = [{ name: "canary", weight: 25, hold: HOLD }, GA];
      spec.analysis = {
        interval: "5s",
        metrics: [{ name: "always-fine", query: "vector(0)", max: 0.05 }],
        alerts: { matchLabels: { service: STATEFULSET }, severities: ["critical"] },
      };
      break;
  }
  return { ...body, spec };
}

async function routeNow(bench: RollbackStack): Promise<RouteView> {
  return (await bench.custom.getNamespacedCustomObject({
    group: "gateway.networking.k8s.io",
    version: "v1",
    namespace: bench.namespace,
    plural: "httproutes",
    name: bench.service,
  })) as RouteView;
}

/** Sets up what `shape` needs beside the stack: an HPA on stable, or a StatefulSet. */
export async function prepareShape(bench: RollbackStack, shape: Shape): Promise<ShapeContext> {
  const initialRuleCount = (await routeNow(bench)).spec?.rules?.length ?? 0;
  const context: ShapeContext = { bench, shape, initialRuleCount, teardown: async () => undefined };
  if (shape === "autoscaled") {
    // The team's HPA of the stable Deployment (2 pods): the controller finds it and gives the
    // canary a copy (docs/autoscaling.md).
    await bench.custom.createNamespacedCustomObject({
      ...HPA,
      namespace: bench.namespace,
      body: {
        apiVersion: "autoscaling/v2beta2",
        kind: "HorizontalPodAutoscaler",
        metadata: { name: bench.service },
        spec: {
          scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: bench.service },
          minReplicas: 2,
          maxReplicas: 6,
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
    const hpas = await watchObjects<KubernetesNamed>({
      kubeConfig: bench.kubeConfig,
      path: `/apis/autoscaling/v2beta2/namespaces/${bench.namespace}/horizontalpodautoscalers`,
      what: "the HorizontalPodAutoscalers",
      list: async () => {
        const listed = (await bench.custom.listNamespacedCustomObject({
          ...HPA,
          namespace: bench.namespace,
        })) as {
          items: KubernetesNamed[];
          metadata: { resourceVersion: string };
        };
        return { items: listed.items, resourceVersion: listed.metadata.resourceVersion };
      },
    });
    context.hpas = hpas;
    context.teardown = async () => {
      hpas.stop();
      await bench.custom.deleteNamespacedCustomObject({
        ...HPA,
        namespace: bench.namespace,
        name: bench.service,
      });
    };
  }
  if (shape === "statefulset") {
    const apps = bench.kubeConfig.makeApiClient(AppsV1Api);
    const core = bench.kubeConfig.makeApiClient(CoreV1Api);
    const labels = { app: STATEFULSET };
    await core.createNamespacedService({
      namespace: bench.namespace,
      body: {
        metadata: { name: STATEFULSET },
        spec: { selector: labels, ports: [{ port: 80, targetPort: 8080 }] },
      },
    });
    await apps.createNamespacedStatefulSet({
      namespace: bench.namespace,
      body: {
        metadata: { name: STATEFULSET, labels },
        spec: {
          replicas: STATEFULSET_REPLICAS,
          serviceName: STATEFULSET,
          selector: { matchLabels: labels },
          updateStrategy: { type: "RollingUpdate", rollingUpdate: { partition: 0 } },
          template: {
            metadata: { labels: { ...labels, version: "1.0.0" } },
            spec: { containers: [{ name: STATEFULSET, image: `registry.example.com/${STATEFULSET}:1.0.0` }] },
          },
        },
      },
    });
    const ready = await waitUntil(
      `StatefulSet ${STATEFULSET} Ready with ${STATEFULSET_REPLICAS} pods`,
      async () => {
        const set = await apps.readNamespacedStatefulSet({ name: STATEFULSET, namespace: bench.namespace });
        return set.status?.readyReplicas === STATEFULSET_REPLICAS && set.status.currentRevision
          ? set
          : undefined;
      },
      120_000,
    );
    context.oldRevision = ready.status?.currentRevision;
    const statefulSets = await watchObjects<V1StatefulSet>({
      kubeConfig: bench.kubeConfig,
      path: `/apis/apps/v1/namespaces/${bench.namespace}/statefulsets`,
      what: "the StatefulSets",
      list: async () => {
        const listed = await apps.listNamespacedStatefulSet({ namespace: bench.namespace });
        return { items: listed.items, resourceVersion: listed.metadata?.resourceVersion ?? "" };
      },
    });
    context.statefulSets = statefulSets;
    context.teardown = async () => {
      statefulSets.stop();
      await apps.deleteNamespacedStatefulSet({ name: STATEFULSET, namespace: bench.namespace });
      await core.deleteNamespacedService({ name: STATEFULSET, namespace: bench.namespace });
    };
  }
  return context;
}

const copyOf = (bench: RollbackStack) => `${bench.service}-canary`;

/** Resolves once the shape's canary has its share (watched) and the Release is in its stage. */
async function armed(context: ShapeContext, name: string, createdAt: number): Promise<void> {
  const { bench, shape } = context;
  const service = bench.service;
  const canary = `${service}-canary`;
  const weight = (route: RouteView, backend: string) =>
    route.spec?.rules?.[0]?.backendRefs?.find((ref) => ref.name === backend)?.weight;
  switch (shape) {
    case "blue-green":
      await bench.route.changed((route) => weight(route, canary) === 100, createdAt, ARM_TIMEOUT_MS);
      break;
    case "match":
      await bench.route.changed(hasCanaryMatchRule(service), createdAt, ARM_TIMEOUT_MS);
      break;
    case "mirror":
      await bench.route.changed(hasCanaryMirror(service), createdAt, ARM_TIMEOUT_MS);
      break;
    case "baseline":
      await bench.route.changed(hasCanaryAndBaseline(service), createdAt, ARM_TIMEOUT_MS);
      break;
    case "autoscaled":
      await bench.route.changed((route) => weight(route, canary) === 1, createdAt, ARM_TIMEOUT_MS);
      await context.hpas?.changed((objects) => objects.has(copyOf(bench)), 0, ARM_TIMEOUT_MS);
      break;
    case "statefulset": {
      const accept = canaryPodsReady(context.oldRevision ?? "");
      await context.statefulSets?.changed(
        (objects) => accept((objects.get(STATEFULSET) ?? {}) as StatefulSetView),
        createdAt,
        ARM_TIMEOUT_MS,
      );
      break;
    }
  }
  await waitUntil(`${name} in its ${ARMED_STAGE[shape]} stage`, async () => {
    const status = (await readRelease(bench, name)).status;
    return status?.phase === "Progressing" && status.currentStage?.name === ARMED_STAGE[shape]
      ? true
      : undefined;
  });
}

/** The promise of the shape's end point: the watch's arrival time of "back on stable". */
function backOnStable(context: ShapeContext, sent: number): Promise<number> {
  const { bench, shape } = context;
  if (shape === "statefulset") {
    const accept = allPodsOldAndReady(context.oldRevision ?? "");
    if (!context.statefulSets) throw new Error("the statefulset shape was not prepared");
    return context.statefulSets.changed(
      (objects) => accept((objects.get(STATEFULSET) ?? {}) as StatefulSetView),
      sent,
      STABLE_TIMEOUT_MS,
    );
  }
  return bench.route.changed(BACK_ON_STABLE[shape](bench.service), sent, STABLE_TIMEOUT_MS);
}

/** One run: the Release armed, the alert POSTed and timed, the Release ended by it, the route restored. */
export async function shapeRun(context: ShapeContext, run: number): Promise<ShapeRun> {
  const { bench, shape } = context;
  const name = `${bench.service}-${shape}-${run}`;
  const createdAt = performance.now();
  await bench.custom.createNamespacedCustomObject({
    group: "glidepath.dev",
    version: "v1alpha1",
    plural: "releases",
    namespace: bench.namespace,
    // Each shape its own version series, so no two runs share a version.
    body: shapeReleaseBody(bench, shape, name, `5.${SHAPES.indexOf(shape)}.${run}`, run),
  });
  await armed(context, name, createdAt);

  const body = firingAlertWebhook({
    namespace: bench.namespace,
    service: shape === "statefulset" ? STATEFULSET : bench.service,
    externalURL: bench.stack.info.alertmanager.url,
  });
  const sent = performance.now();
  const stable = backOnStable(context, sent);
  const copyGone =
    shape === "autoscaled"
      ? context.hpas?.changed((objects) => !objects.has(copyOf(bench)), sent, STABLE_TIMEOUT_MS)
      : undefined;
  // A failed run must not leave an unhandled rejection behind.
  stable.catch(() => undefined);
  copyGone?.catch(() => undefined);
  await postAlert(bench, body);
  const hookAnswerMs = performance.now() - sent;
  const stableAt = await stable;
  const copyGoneAt = await copyGone;

  const finished = await waitRolledBack(bench, name);
  if (finished.rollback?.trigger !== "alert")
    throw new Error(`${name} ended ${finished.phase}, rolled back by ${finished.rollback?.trigger}`);
  // The next run starts from the route as it was (the canary's and baseline's refs removed).
  await bench.route.changed(routeRestored(bench.service, context.initialRuleCount), 0, STABLE_TIMEOUT_MS);
  return {
    run,
    toStableMs: stableAt - sent,
    hookAnswerMs,
    ...(copyGoneAt !== undefined ? { hpaCopyGoneMs: copyGoneAt - sent } : {}),
  };
}
