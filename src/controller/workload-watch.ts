import type {
  KubeConfig,
  KubernetesObject,
  V1Deployment,
  V1Endpoints,
  V1Pod,
  V1ReplicaSet,
  V1Service,
  V1StatefulSet,
} from "@kubernetes/client-node";
import type { Logger } from "pino";
import type { AutoscalerCache, AutoscalingVersion } from "../workload/autoscalers.ts";
import { MANAGED_BY_LABELS } from "../workload/canary.ts";
import {
  trimEndpoints,
  trimPod,
  trimReplicaSet,
  trimStatefulSet,
  type WorkloadCaches,
} from "../workload/cached-objects.ts";
import { NamespacedInformers } from "../kube/index.ts";
import { OwnerIndex } from "../kube/owner-index.ts";
import type { InformerChange } from "../kube/index.ts";
import type { RouteWatch } from "./route-watch.ts";
import type { TargetIndex } from "./target-index.ts";

// The caches a reconcile's observation reads besides Releases, Deployments and routes
// (issue 18 item 2: a reconcile with nothing to do makes no request): ReplicaSets and
// Pods, trimmed to what health reads and indexed by owner, so a Deployment's own Pods are
// two map look-ups; and the Endpoints of the Services Glidepath made (the endpoints
// controller copies a Service's labels onto its Endpoints, so a label selector keeps this
// cache as small as the canaries). The canary Services themselves are RouteWatch's.
// Events wake the Releases whose Deployment or canary Service they concern, through
// the TargetIndex: a canary Pod that crash-loops or goes not-Ready wakes its Release.
// HorizontalPodAutoscalers too (docs/autoscaling.md), in the version the cluster serves:
// a change to one wakes the Releases of the Deployment it scales. StatefulSet targets
// (docs/statefulsets.md) too: the StatefulSets, and their Pods from the same Pod cache
// (a StatefulSet owns its Pods directly, so the owner index finds them by its uid); a
// change to either wakes the Releases of that StatefulSet (the TargetIndex keys it by
// spec.target.deployment, whatever the target's kind).

const REPLICASETS_PATH = "/apis/apps/v1/replicasets";
const PODS_PATH = "/api/v1/pods";
const STATEFULSETS_PATH = "/apis/apps/v1/statefulsets";
const ENDPOINTS_PATH = "/api/v1/endpoints";
const MANAGED_BY_SELECTOR = Object.entries(MANAGED_BY_LABELS)
  .map(([key, value]) => `${key}=${value}`)
  .join(",");

export interface WorkloadWatchOptions {
  kubeConfig: KubeConfig;
  /** Only these namespaces; all without any. */
  namespaces: readonly string[];
  logger: Logger;
  targets: TargetIndex;
  /** The controller's Deployment cache (a ReplicaSet's owner is looked up by name in it). */
  deployments: NamespacedInformers<V1Deployment>;
  /** Holds the canary Services. */
  routeWatch: RouteWatch;
  /** Called with each Release key to reconcile. */
  wake(releaseKey: string): void;
  /** The autoscaling version served (servedAutoscalingVersion); none: no autoscaler cache. */
  autoscalingVersion?: AutoscalingVersion | undefined;
}

/** What the autoscaler copy and the engine read of an HPA: no managedFields. */
function trimAutoscaler(object: KubernetesObject): KubernetesObject {
  if (object.metadata) delete object.metadata.managedFields;
  return object;
}

interface ScaledAutoscaler extends KubernetesObject {
  spec?: { scaleTargetRef?: { kind?: string; name?: string } };
}

export class WorkloadWatch implements WorkloadCaches, AutoscalerCache {
  readonly #options: WorkloadWatchOptions;
  readonly #replicaSets: NamespacedInformers<V1ReplicaSet>;
  readonly #pods: NamespacedInformers<V1Pod>;
  readonly #endpoints: NamespacedInformers<V1Endpoints>;
  readonly #statefulSets: NamespacedInformers<V1StatefulSet>;
  readonly #replicaSetsByOwner = new OwnerIndex();
  readonly #podsByOwner = new OwnerIndex();
  readonly #autoscalers: NamespacedInformers<ScaledAutoscaler> | undefined;
  /** namespace → name → the autoscaler: a reconcile reads its own namespace's. */
  readonly #autoscalersByNamespace = new Map<string, Map<string, ScaledAutoscaler>>();

  constructor(options: WorkloadWatchOptions) {
    this.#options = options;
    const cache = { kubeConfig: options.kubeConfig, logger: options.logger, namespaces: options.namespaces };
    this.#replicaSets = new NamespacedInformers({
      ...cache,
      path: REPLICASETS_PATH,
      transform: trimReplicaSet,
    });
    this.#pods = new NamespacedInformers({ ...cache, path: PODS_PATH, transform: trimPod });
    this.#endpoints = new NamespacedInformers({
      ...cache,
      path: ENDPOINTS_PATH,
      labelSelector: MANAGED_BY_SELECTOR,
      transform: trimEndpoints,
    });
    this.#statefulSets = new NamespacedInformers({
      ...cache,
      path: STATEFULSETS_PATH,
      transform: trimStatefulSet,
    });
    this.#statefulSets.on((change) =>
      this.#wakeReleasesOf(change.object.metadata?.namespace, change.object.metadata?.name),
    );
    if (options.autoscalingVersion) {
      this.#autoscalers = new NamespacedInformers<ScaledAutoscaler>({
        ...cache,
        path: `/apis/autoscaling/${options.autoscalingVersion}/horizontalpodautoscalers`,
        transform: trimAutoscaler,
      });
      this.#autoscalers.on((change) => {
        const { namespace = "", name = "" } = change.object.metadata ?? {};
        const inNamespace =
          this.#autoscalersByNamespace.get(namespace) ?? new Map<string, ScaledAutoscaler>();
        if (change.type === "deleted") inNamespace.delete(name);
        else inNamespace.set(name, change.object);
        if (inNamespace.size > 0) this.#autoscalersByNamespace.set(namespace, inNamespace);
        else this.#autoscalersByNamespace.delete(namespace);
        const target = change.object.spec?.scaleTargetRef;
        if (target?.kind !== "Deployment" || !target.name) return;
        for (const key of options.targets.releasesOf({ metadata: { namespace, name: target.name } }))
          options.wake(key);
      });
    }
    // The indexes first: a wake-up's reconcile must find the object indexed.
    this.#replicaSets.on(this.#replicaSetsByOwner.apply);
    this.#pods.on(this.#podsByOwner.apply);
    this.#replicaSets.on((change) => this.#wakeOwnersOf(change.object));
    this.#pods.on((change) => {
      if (change.type === "updated" && !healthChanged(change)) return;
      const owner = controllerOf(change.object);
      if (owner?.kind === "StatefulSet")
        return this.#wakeReleasesOf(change.object.metadata?.namespace, owner.name);
      if (owner?.kind !== "ReplicaSet") return;
      this.#wakeOwnersOf(this.#replicaSets.get(`${change.object.metadata?.namespace}/${owner.name}`));
    });
    // Endpoints share their Service's name: the Releases of that canary Service.
    this.#endpoints.on((change) => {
      for (const key of options.targets.releasesWatching("service", change.object)) options.wake(key);
    });
  }

  start(): void {
    this.#replicaSets.start();
    this.#pods.start();
    this.#endpoints.start();
    this.#statefulSets.start();
    this.#autoscalers?.start();
  }

  async stop(): Promise<void> {
    await Promise.all([
      this.#replicaSets.stop(),
      this.#pods.stop(),
      this.#endpoints.stop(),
      this.#statefulSets.stop(),
      this.#autoscalers?.stop(),
    ]);
  }

  synced(kind: "deployment" | "service" | "endpoints" | "pods" | "statefulset"): boolean {
    switch (kind) {
      case "deployment":
        return this.#options.deployments.hasSynced();
      case "service":
        return this.#options.routeWatch.hasSynced("service");
      case "endpoints":
        return this.#endpoints.hasSynced();
      case "pods":
        return this.#replicaSets.hasSynced() && this.#pods.hasSynced();
      case "statefulset":
        return this.#statefulSets.hasSynced();
    }
  }

  /** False without an autoscaler cache (no version served), so the manager lists from the API. */
  autoscalersSynced(): boolean {
    return this.#autoscalers?.hasSynced() ?? false;
  }

  autoscalersIn(namespace: string): unknown[] {
    return [...(this.#autoscalersByNamespace.get(namespace)?.values() ?? [])];
  }

  service(namespace: string, name: string): V1Service | undefined {
    return this.#options.routeWatch.cached("service", namespace, name) as V1Service | undefined;
  }

  endpoints(namespace: string, name: string): V1Endpoints | undefined {
    return this.#endpoints.get(`${namespace}/${name}`);
  }

  podsOf(deployment: V1Deployment): V1Pod[] {
    const uid = deployment.metadata?.uid;
    if (!uid) return [];
    return this.#replicaSetsByOwner.ownedBy(uid).flatMap((replicaSetKey) => {
      const replicaSetUid = this.#replicaSets.get(replicaSetKey)?.metadata?.uid;
      if (!replicaSetUid) return [];
      return this.#podsByOwner.ownedBy(replicaSetUid).flatMap((podKey) => this.#pods.get(podKey) ?? []);
    });
  }

  statefulSet(namespace: string, name: string): V1StatefulSet | undefined {
    return this.#statefulSets.get(`${namespace}/${name}`);
  }

  statefulSetPods(statefulSet: V1StatefulSet): V1Pod[] {
    const uid = statefulSet.metadata?.uid;
    if (!uid) return [];
    return this.#podsByOwner.ownedBy(uid).flatMap((podKey) => this.#pods.get(podKey) ?? []);
  }

  /** The Releases of the Deployment that controls this ReplicaSet. */
  #wakeOwnersOf(replicaSet: KubernetesObject | undefined): void {
    const owner = controllerOf(replicaSet);
    if (owner?.kind !== "Deployment") return;
    this.#wakeReleasesOf(replicaSet?.metadata?.namespace, owner.name);
  }

  /** The Releases whose target (or canary) Deployment, or target StatefulSet, has this name. */
  #wakeReleasesOf(namespace: string | undefined, name: string | undefined): void {
    for (const key of this.#options.targets.releasesOf({ metadata: { namespace, name } }))
      this.#options.wake(key);
  }
}

function controllerOf(object: KubernetesObject | undefined): { kind: string; name: string } | undefined {
  return object?.metadata?.ownerReferences?.find((owner) => owner.controller === true);
}

/** What health reads of a Pod changed (its trimmed status, revision label or deletion), not only its resourceVersion. */
function healthChanged(change: Extract<InformerChange<V1Pod>, { type: "updated" }>): boolean {
  const { object, previous } = change;
  return (
    String(object.metadata?.deletionTimestamp) !== String(previous.metadata?.deletionTimestamp) ||
    JSON.stringify(object.metadata?.labels) !== JSON.stringify(previous.metadata?.labels) ||
    JSON.stringify(object.status) !== JSON.stringify(previous.status)
  );
}
