import type {
  KubernetesObject,
  V1Deployment,
  V1Endpoints,
  V1Pod,
  V1Service,
  V1StatefulSet,
} from "@kubernetes/client-node";
import { REVISION_LABEL } from "../api/workload-names.ts";

// What the WorkloadManager reads from the controller's caches (src/controller/workload-watch.ts)
// instead of the API server, and how the cached objects are trimmed to what it reads: the
// Pod and ReplicaSet caches hold every one of the watched namespaces (stable's pods carry
// only the user's labels, so no label selector finds them), so each object keeps a few
// hundred bytes, not the several kilobytes of a full Pod (docs/performance.md).

/**
 * The caches observe() reads. Before a cache has synced (its first list), `synced` says
 * false and the WorkloadManager reads the API server as it would without caches, so a
 * cache still listing never looks like a world where nothing exists. Another cache
 * (e.g. of HorizontalPodAutoscalers) plugs in here as one more member.
 */
export interface WorkloadCaches {
  /** True once this kind's cache holds its first list: a miss then means the object does not exist. */
  synced(kind: "deployment" | "service" | "endpoints" | "pods" | "statefulset"): boolean;
  /** A canary or baseline Service (the cache holds only the Services Glidepath made). */
  service(namespace: string, name: string): V1Service | undefined;
  /** The Endpoints of a canary or baseline Service, trimmed by trimEndpoints. */
  endpoints(namespace: string, name: string): V1Endpoints | undefined;
  /** The Pods of the ReplicaSets this Deployment controls, trimmed by trimPod. */
  podsOf(deployment: V1Deployment): V1Pod[];
  /** A StatefulSet target (docs/statefulsets.md), without its managedFields. */
  statefulSet(namespace: string, name: string): V1StatefulSet | undefined;
  /** The Pods this StatefulSet controls (it owns them directly), trimmed by trimPod. */
  statefulSetPods(statefulSet: V1StatefulSet): V1Pod[];
}

/** Metadata every cached object keeps: its key, its version (the relist diff), its owner. */
function trimMetadata(object: KubernetesObject, keep: { owners: boolean }): void {
  const metadata = object.metadata;
  if (!metadata) return;
  const controller = metadata.ownerReferences?.find((owner) => owner.controller === true);
  object.metadata = {
    name: metadata.name,
    namespace: metadata.namespace,
    uid: metadata.uid,
    resourceVersion: metadata.resourceVersion,
    ...(metadata.deletionTimestamp ? { deletionTimestamp: metadata.deletionTimestamp } : {}),
    // Only the controller owner: what ownedPods() and the wake-up chain follow.
    ...(keep.owners && controller
      ? {
          ownerReferences: [
            {
              apiVersion: controller.apiVersion,
              kind: controller.kind,
              name: controller.name,
              uid: controller.uid,
              controller: true,
            },
          ],
        }
      : {}),
  };
}

/**
 * A Pod as health reads it (findUnhealthyContainer, ownedPods): its controller owner,
 * deletionTimestamp and each container's name, restarts and waiting/terminated reasons.
 * A StatefulSet's split (statefulset.ts splitView) reads two things more, so they stay:
 * the one label `controller-revision-hash`, which tells its pods on the update revision
 * from the others, and the Ready condition. A Pod no controller owns (nothing of a
 * Deployment's or a StatefulSet's) keeps its key alone.
 */
export function trimPod(object: KubernetesObject): void {
  const pod = object as V1Pod;
  const owned = pod.metadata?.ownerReferences?.some((owner) => owner.controller === true) === true;
  const revision = pod.metadata?.labels?.[REVISION_LABEL];
  trimMetadata(pod, { owners: true });
  if (owned && revision !== undefined && pod.metadata) pod.metadata.labels = { [REVISION_LABEL]: revision };
  const status = pod.status;
  delete pod.spec;
  delete pod.status;
  delete (pod as { kind?: string }).kind;
  delete (pod as { apiVersion?: string }).apiVersion;
  if (!owned || !status) return;
  const containers = (statuses: typeof status.containerStatuses) =>
    statuses?.map((container) => ({
      name: container.name,
      restartCount: container.restartCount,
      image: "",
      imageID: "",
      ready: container.ready,
      ...(container.state?.waiting?.reason
        ? { state: { waiting: { reason: container.state.waiting.reason } } }
        : {}),
      ...(container.lastState?.terminated
        ? {
            lastState: {
              terminated: {
                reason: container.lastState.terminated.reason,
                exitCode: container.lastState.terminated.exitCode,
              },
            },
          }
        : {}),
    }));
  const initContainerStatuses = containers(status.initContainerStatuses);
  const containerStatuses = containers(status.containerStatuses);
  const ready = status.conditions?.find((condition) => condition.type === "Ready");
  pod.status = {
    ...(ready ? { conditions: [{ type: "Ready", status: ready.status }] } : {}),
    ...(initContainerStatuses ? { initContainerStatuses } : {}),
    ...(containerStatuses ? { containerStatuses } : {}),
  };
}

/** A StatefulSet as observeStatefulSet reads it: all but managedFields (its template is hashed whole). */
export function trimStatefulSet(object: KubernetesObject): void {
  if (object.metadata) delete object.metadata.managedFields;
}

/** A ReplicaSet as ownedPods() reads it: its uid and its controller owner. */
export function trimReplicaSet(object: KubernetesObject): void {
  trimMetadata(object, { owners: true });
  const trimmed = object as { spec?: unknown; status?: unknown; kind?: string; apiVersion?: string };
  delete trimmed.spec;
  delete trimmed.status;
  delete trimmed.kind;
  delete trimmed.apiVersion;
}

/** Endpoints as observeCanaryService reads them: the ready addresses' IPs, per subset. */
export function trimEndpoints(object: KubernetesObject): void {
  const endpoints = object as V1Endpoints;
  trimMetadata(endpoints, { owners: false });
  endpoints.subsets = endpoints.subsets?.map((subset) => ({
    addresses: (subset.addresses ?? []).map((address) => ({ ip: address.ip })),
  }));
}
