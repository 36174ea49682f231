import type {
  KubeConfig,
  KubernetesObject,
  V1Deployment,
  V1Endpoints,
  V1Pod,
  V1ReplicaSet,
  V1Service,
} from "@kubernetes/client-node";
import type { Logger } from "pino";
import { MANAGED_BY_LABELS } from "../workload/canary.ts";
import { trimEndpoints, trimPod, trimReplicaSet, type WorkloadCaches } from "../workload/cached-objects.ts";
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

const REPLICASETS_PATH = "/apis/apps/v1/replicasets";
const PODS_PATH = "/api/v1/pods";
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
}

export class WorkloadWatch implements WorkloadCaches {
  readonly #options: WorkloadWatchOptions;
  readonly #replicaSets: NamespacedInformers<V1ReplicaSet>;
  readonly #pods: NamespacedInformers<V1Pod>;
  readonly #endpoints: NamespacedInformers<V1Endpoints>;
  readonly #replicaSetsByOwner = new OwnerIndex();
  readonly #podsByOwner = new OwnerIndex();

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
    // The indexes first: a wake-up's reconcile must find the object indexed.
    this.#replicaSets.on(this.#replicaSetsByOwner.apply);
    this.#pods.on(this.#podsByOwner.apply);
    this.#replicaSets.on((change) => this.#wakeOwnersOf(change.object));
    this.#pods.on((change) => {
      if (change.type === "updated" && !healthChanged(change)) return;
      const owner = controllerOf(change.object);
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
  }

  async stop(): Promise<void> {
    await Promise.all([this.#replicaSets.stop(), this.#pods.stop(), this.#endpoints.stop()]);
  }

  synced(kind: "deployment" | "service" | "endpoints" | "pods"): boolean {
    switch (kind) {
      case "deployment":
        return this.#options.deployments.hasSynced();
      case "service":
        return this.#options.routeWatch.hasSynced("service");
      case "endpoints":
        return this.#endpoints.hasSynced();
      case "pods":
        return this.#replicaSets.hasSynced() && this.#pods.hasSynced();
    }
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

  /** The Releases of the Deployment that controls this ReplicaSet. */
  #wakeOwnersOf(replicaSet: KubernetesObject | undefined): void {
    const owner = controllerOf(replicaSet);
    if (owner?.kind !== "Deployment") return;
    const deployment = { metadata: { namespace: replicaSet?.metadata?.namespace, name: owner.name } };
    for (const key of this.#options.targets.releasesOf(deployment)) this.#options.wake(key);
  }
}

function controllerOf(object: KubernetesObject | undefined): { kind: string; name: string } | undefined {
  return object?.metadata?.ownerReferences?.find((owner) => owner.controller === true);
}

/** What health reads of a Pod changed (its trimmed status or its deletion), not only its resourceVersion. */
function healthChanged(change: Extract<InformerChange<V1Pod>, { type: "updated" }>): boolean {
  const { object, previous } = change;
  return (
    String(object.metadata?.deletionTimestamp) !== String(previous.metadata?.deletionTimestamp) ||
    JSON.stringify(object.status) !== JSON.stringify(previous.status)
  );
}
