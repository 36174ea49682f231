import type {
  V1ContainerStatus,
  V1Deployment,
  V1LabelSelector,
  V1Pod,
  V1ReplicaSet,
} from "@kubernetes/client-node";
import type { WorkloadObservation } from "../engine/types.ts";
import { VERSION_LABEL } from "../api/workload-names.ts";
import { templateHash } from "./stable-template.ts";

// Pure health reading: what the engine sees of a Deployment and its Pods.

/** Waiting reasons that mean a container will not start without a change. */
export const FAILING_WAITING_REASONS: ReadonlySet<string> = new Set([
  "CrashLoopBackOff",
  "ImagePullBackOff",
  "ErrImagePull",
  "CreateContainerError",
  "CreateContainerConfigError",
  "InvalidImageName",
]);

export interface HealthOptions {
  /** A container restarted more often than this is unhealthy even while it runs. Default 3. */
  restartThreshold?: number;
}

export const DEFAULT_RESTART_THRESHOLD = 3;

export const MISSING_WORKLOAD: WorkloadObservation = Object.freeze({
  exists: false,
  images: {},
  desiredReplicas: 0,
  readyReplicas: 0,
  ready: false,
  progressDeadlineExceeded: false,
});

/**
 * What the engine sees of a Deployment. `pods` should be the Deployment's own Pods
 * (see ownedPods): a selector alone also matches a canary that shares the stable labels.
 */
export function observeWorkload(
  deployment: V1Deployment | undefined,
  pods: V1Pod[],
  options: HealthOptions = {},
): WorkloadObservation {
  if (!deployment) return { ...MISSING_WORKLOAD, images: {} };
  const template = deployment.spec?.template;
  const images: Record<string, string> = {};
  for (const container of [
    ...(template?.spec?.initContainers ?? []),
    ...(template?.spec?.containers ?? []),
  ]) {
    if (container.image !== undefined) images[container.name] = container.image;
  }
  const version = template?.metadata?.labels?.[VERSION_LABEL];
  const unhealthy = findUnhealthyContainer(pods, options.restartThreshold ?? DEFAULT_RESTART_THRESHOLD);
  return {
    exists: true,
    images,
    ...(version !== undefined ? { version } : {}),
    templateHash: templateHash(template),
    desiredReplicas: deployment.spec?.replicas ?? 1,
    readyReplicas: deployment.status?.readyReplicas ?? 0,
    ready: deploymentConverged(deployment),
    progressDeadlineExceeded: progressDeadlineExceeded(deployment),
    ...(unhealthy ? { unhealthy } : {}),
  };
}

/**
 * The controller has seen the latest spec, every replica runs the current template
 * and is available, and no replica of an older template is left (as `kubectl rollout
 * status` decides).
 */
export function deploymentConverged(deployment: V1Deployment): boolean {
  const desired = deployment.spec?.replicas ?? 1;
  const status = deployment.status;
  if (!status) return false;
  const generation = deployment.metadata?.generation ?? 0;
  if ((status.observedGeneration ?? 0) < generation) return false;
  const updated = status.updatedReplicas ?? 0;
  const total = status.replicas ?? 0;
  const available = status.availableReplicas ?? 0;
  return updated === desired && total === desired && available >= desired;
}

export function progressDeadlineExceeded(deployment: V1Deployment): boolean {
  const progressing = deployment.status?.conditions?.find((condition) => condition.type === "Progressing");
  return progressing?.status === "False" && progressing.reason === "ProgressDeadlineExceeded";
}

/**
 * The first container (pods by name, then containers in pod order) that is failing
 * to start, or else the one restarted most often above the threshold.
 */
export function findUnhealthyContainer(
  pods: V1Pod[],
  restartThreshold: number = DEFAULT_RESTART_THRESHOLD,
): WorkloadObservation["unhealthy"] {
  const live = pods
    .filter((pod) => !pod.metadata?.deletionTimestamp)
    .sort((a, b) => (a.metadata?.name ?? "").localeCompare(b.metadata?.name ?? ""));
  const statuses = live.flatMap((pod) =>
    [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])].map(
      (status) => ({
        pod: pod.metadata?.name ?? "",
        status,
      }),
    ),
  );
  for (const { pod, status } of statuses) {
    const reason = status.state?.waiting?.reason;
    if (reason && FAILING_WAITING_REASONS.has(reason)) {
      return { pod, container: status.name, reason, restarts: status.restartCount };
    }
  }
  let worst: { pod: string; status: V1ContainerStatus } | undefined;
  for (const candidate of statuses) {
    if (candidate.status.restartCount > restartThreshold) {
      if (!worst || candidate.status.restartCount > worst.status.restartCount) worst = candidate;
    }
  }
  if (!worst) return undefined;
  return {
    pod: worst.pod,
    container: worst.status.name,
    // Why it last ended (OOMKilled, Error) says more than "it restarts".
    reason: worst.status.lastState?.terminated?.reason ?? "Restarting",
    restarts: worst.status.restartCount,
  };
}

/**
 * The Pods that belong to this Deployment: controlled by one of its ReplicaSets, which
 * it controls. (With the replicas router, canary pods carry the stable labels too.)
 */
export function ownedPods(deployment: V1Deployment, replicaSets: V1ReplicaSet[], pods: V1Pod[]): V1Pod[] {
  const deploymentUid = deployment.metadata?.uid;
  if (!deploymentUid) return [];
  const ownedSets = new Set(
    replicaSets
      .filter((replicaSet) => controllerUid(replicaSet.metadata?.ownerReferences) === deploymentUid)
      .map((replicaSet) => replicaSet.metadata?.uid)
      .filter((uid): uid is string => uid !== undefined),
  );
  return pods.filter((pod) => {
    const owner = controllerUid(pod.metadata?.ownerReferences);
    return owner !== undefined && ownedSets.has(owner);
  });
}

function controllerUid(owners: { controller?: boolean; uid: string }[] | undefined): string | undefined {
  return owners?.find((owner) => owner.controller === true)?.uid;
}

/** A LabelSelector in the string form list calls take (`app=web,tier in (a,b),!legacy`). */
export function labelSelectorString(selector: V1LabelSelector): string {
  const parts = Object.entries(selector.matchLabels ?? {}).map(([key, value]) => `${key}=${value}`);
  for (const expression of selector.matchExpressions ?? []) {
    const values = [...(expression.values ?? [])].sort().join(",");
    switch (expression.operator) {
      case "In":
        parts.push(`${expression.key} in (${values})`);
        break;
      case "NotIn":
        parts.push(`${expression.key} notin (${values})`);
        break;
      case "Exists":
        parts.push(expression.key);
        break;
      case "DoesNotExist":
        parts.push(`!${expression.key}`);
        break;
      default:
        throw new Error(`unknown label selector operator "${expression.operator}" for key ${expression.key}`);
    }
  }
  if (parts.length === 0) throw new Error("an empty label selector would select every pod in the namespace");
  return parts.join(",");
}
