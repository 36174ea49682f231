// Over 400 lines on purpose: the pure decisions of a StatefulSet target (split, promotion, restore, forced rollback) share one annotation's model of what to put back; apart, they could disagree.
import type { V1Pod, V1StatefulSet, V1StatefulSetUpdateStrategy } from "@kubernetes/client-node";
import { z } from "zod";
import type { WorkloadObservation } from "../engine/types.ts";
import { REVISION_LABEL, STATEFULSET_SPLIT_ANNOTATION, VERSION_LABEL } from "../api/workload-names.ts";
import { DEFAULT_RESTART_THRESHOLD, MISSING_WORKLOAD, findUnhealthyContainer } from "./health.ts";
import type { HealthOptions } from "./health.ts";
import { templateHash } from "./stable-template.ts";

// Pure half of a StatefulSet target (docs/statefulsets.md). There is no canary object:
// the release sets the new template on the StatefulSet itself and its update partition
// to replicas − canaryPods, so the StatefulSet controller moves the highest ordinals to
// the new revision. The engine still sees a "stable" and a "canary" workload: the pods
// off and on the update revision. What the split is (and what to put back) rides on the
// StatefulSet in one annotation, written in the same update as the template and
// partition, so the two never disagree after a restart.

/**
 * canary: the highest `pods` ordinals run the new template. promoted: partition 0, every
 * pod moves to the new template; the split ends once they all have. restoring: the
 * template is back to what it was, partition 0 until every pod is back on it; then the
 * user's updateStrategy is put back and the annotation goes.
 */
export const splitStates = ["canary", "promoted", "restoring"] as const;
export type SplitState = (typeof splitStates)[number];

export const statefulSetSplitSchema = z.object({
  release: z.string().min(1),
  state: z.enum(splitStates),
  pods: z.int().min(0),
  requestedWeight: z.int().min(0).max(100).optional(),
  /** The template's images and version label before the release. */
  stable: z.object({ images: z.record(z.string(), z.string()), version: z.string().optional() }),
  /** The user's spec.updateStrategy as it was (null: unset). */
  updateStrategy: z.record(z.string(), z.unknown()).nullable(),
});
export type StatefulSetSplit = z.infer<typeof statefulSetSplitSchema>;

/** The split recorded on the StatefulSet, if any; a malformed annotation says where it is wrong. */
export function readSplit(statefulSet: V1StatefulSet): StatefulSetSplit | undefined {
  const raw = statefulSet.metadata?.annotations?.[STATEFULSET_SPLIT_ANNOTATION];
  if (raw === undefined) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new Error(`annotation ${STATEFULSET_SPLIT_ANNOTATION} on ${nameOf(statefulSet)} is not JSON`);
  }
  const parsed = statefulSetSplitSchema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (issue) => `${issue.path.join(".") || "(root)"}: ${issue.message}`,
    );
    throw new Error(
      `annotation ${STATEFULSET_SPLIT_ANNOTATION} on ${nameOf(statefulSet)}: ${problems.join("; ")}`,
    );
  }
  return parsed.data;
}

/** The StatefulSet's pods counted against its update revision. */
export interface SplitView {
  replicas: number;
  partition: number;
  split: StatefulSetSplit | undefined;
  /** The StatefulSet controller has seen the latest spec, so updateRevision is the current template's. */
  fresh: boolean;
  onUpdate: number;
  onUpdateReady: number;
  offUpdate: number;
  offUpdateReady: number;
  /** Pods at or above the partition still off the update revision: the controller has work left. */
  pendingUpdate: number;
  /** Pods that exist (not being deleted). */
  live: number;
}

export function splitView(statefulSet: V1StatefulSet, pods: V1Pod[]): SplitView {
  const replicas = statefulSet.spec?.replicas ?? 1;
  const partition = partitionOf(statefulSet.spec?.updateStrategy);
  const updateRevision = statefulSet.status?.updateRevision;
  const fresh =
    (statefulSet.status?.observedGeneration ?? 0) >= (statefulSet.metadata?.generation ?? 0) &&
    updateRevision !== undefined;
  const view: SplitView = {
    replicas,
    partition,
    split: readSplit(statefulSet),
    fresh,
    onUpdate: 0,
    onUpdateReady: 0,
    offUpdate: 0,
    offUpdateReady: 0,
    pendingUpdate: 0,
    live: 0,
  };
  for (const pod of livePods(pods)) {
    view.live++;
    const ready = podReady(pod);
    if (pod.metadata?.labels?.[REVISION_LABEL] === updateRevision) {
      view.onUpdate++;
      if (ready) view.onUpdateReady++;
    } else {
      view.offUpdate++;
      if (ready) view.offUpdateReady++;
      if (ordinalOf(pod) >= partition) view.pendingUpdate++;
    }
  }
  return view;
}

/** Every pod at or above the partition runs the update revision and all replicas are there and Ready. */
export function splitSettled(view: SplitView): boolean {
  return (
    view.fresh &&
    view.pendingUpdate === 0 &&
    view.live === view.replicas &&
    view.onUpdateReady + view.offUpdateReady === view.replicas
  );
}

/**
 * What the engine sees as "stable" or "canary" of a StatefulSet target: outside a split
 * the whole StatefulSet is stable and there is no canary; during one, the canary is the
 * pods on the update revision and stable the others, with the images they run.
 */
export function observeStatefulSet(
  statefulSet: V1StatefulSet | undefined,
  pods: V1Pod[],
  role: "stable" | "canary",
  options: HealthOptions = {},
): WorkloadObservation {
  if (!statefulSet) return { ...MISSING_WORKLOAD, images: {} };
  const view = splitView(statefulSet, pods);
  const state = view.split?.state;
  const updateRevision = statefulSet.status?.updateRevision;
  const onUpdate = livePods(pods).filter((pod) => pod.metadata?.labels?.[REVISION_LABEL] === updateRevision);
  const offUpdate = livePods(pods).filter((pod) => pod.metadata?.labels?.[REVISION_LABEL] !== updateRevision);
  const threshold = options.restartThreshold ?? DEFAULT_RESTART_THRESHOLD;
  const template = statefulSet.spec?.template;
  const templateImages = imagesOf(statefulSet);
  const templateVersion = template?.metadata?.labels?.[VERSION_LABEL];
  const hash = templateHash(template);
  const observed = (
    images: Record<string, string>,
    version: string | undefined,
    desiredReplicas: number,
    readyReplicas: number,
    ready: boolean,
    healthOf: V1Pod[],
  ): WorkloadObservation => {
    const unhealthy = findUnhealthyContainer(healthOf, threshold);
    return {
      exists: true,
      images,
      ...(version === undefined ? {} : { version }),
      templateHash: hash,
      desiredReplicas,
      readyReplicas,
      ready,
      progressDeadlineExceeded: false,
      ...(unhealthy ? { unhealthy } : {}),
    };
  };
  if (role === "stable") {
    if (state === "canary" && view.split) {
      const stablePods = view.replicas - view.split.pods;
      return observed(
        view.split.stable.images,
        view.split.stable.version,
        // The StatefulSet's size, as outside the split: a change of it is someone scaling stable.
        view.replicas,
        view.offUpdateReady,
        view.fresh && view.offUpdateReady >= stablePods,
        offUpdate,
      );
    }
    return observed(
      templateImages,
      templateVersion,
      view.replicas,
      view.onUpdateReady + view.offUpdateReady,
      splitSettled(view) && (state === undefined || view.offUpdate === 0),
      livePods(pods),
    );
  }
  if (state === "canary" || state === "promoted") {
    const canaryPods = state === "promoted" ? view.replicas : (view.split?.pods ?? 0);
    return observed(
      templateImages,
      templateVersion,
      canaryPods,
      view.onUpdateReady,
      splitSettled(view) && view.onUpdateReady >= canaryPods,
      onUpdate,
    );
  }
  if (state === "restoring") {
    // Pods still on the release's revision: the canary is not gone until none is left.
    return observed(
      templateImages,
      templateVersion,
      Math.max(1, view.offUpdate),
      view.offUpdateReady,
      false,
      offUpdate,
    );
  }
  return { ...MISSING_WORKLOAD, images: {} };
}

/** Container name → image of the pod template (init containers too, as for a Deployment). */
export function imagesOf(statefulSet: V1StatefulSet): Record<string, string> {
  const spec = statefulSet.spec?.template.spec;
  const images: Record<string, string> = {};
  for (const container of [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])]) {
    if (container.image !== undefined) images[container.name] = container.image;
  }
  return images;
}

/** The partition in force: unset (and OnDelete, which has none) is 0. */
export function partitionOf(strategy: V1StatefulSetUpdateStrategy | undefined): number {
  return strategy?.type === "OnDelete" ? 0 : (strategy?.rollingUpdate?.partition ?? 0);
}

/** The partition that leaves the highest `canaryPods` ordinals on the new revision. */
export function partitionForCanaryPods(replicas: number, canaryPods: number): number {
  if (!Number.isInteger(replicas) || replicas < 0 || !Number.isInteger(canaryPods) || canaryPods < 0) {
    throw new Error(
      `partition: replicas (${replicas}) and canary pods (${canaryPods}) must be whole numbers ≥ 0`,
    );
  }
  return Math.max(0, replicas - canaryPods);
}

// ---- desired states: each takes the StatefulSet as read and returns it as it should be ----

export interface SplitRequest {
  release: string;
  images: Record<string, string>;
  version: string;
  pods: number;
  requestedWeight?: number;
}

/**
 * The canary split: the new images and version label on the template, the partition
 * leaving `pods` ordinals on them. The first time, what the template and updateStrategy
 * were is recorded so the end of the release can put exactly that back.
 */
export function withCanarySplit(statefulSet: V1StatefulSet, request: SplitRequest): V1StatefulSet {
  const existing = readSplit(statefulSet);
  if (existing && existing.state !== "canary") return statefulSet;
  const split: StatefulSetSplit = existing
    ? { ...existing, pods: request.pods, ...weightOf(request.requestedWeight, existing.requestedWeight) }
    : {
        release: request.release,
        state: "canary",
        pods: request.pods,
        ...weightOf(request.requestedWeight, undefined),
        stable: {
          images: imagesOf(statefulSet),
          ...versionOf(statefulSet),
        },
        updateStrategy: plainStrategy(statefulSet.spec?.updateStrategy),
      };
  const replicas = statefulSet.spec?.replicas ?? 1;
  return withSplit(
    withTemplate(statefulSet, request.images, request.version),
    split,
    partitionForCanaryPods(replicas, request.pods),
  );
}

/** A new pod count for the split in force (the replica split's weights); nothing outside a canary split. */
export function withCanaryPods(
  statefulSet: V1StatefulSet,
  pods: number,
  requestedWeight: number | undefined,
): V1StatefulSet {
  const split = readSplit(statefulSet);
  if (split?.state !== "canary") return statefulSet;
  const replicas = statefulSet.spec?.replicas ?? 1;
  return withSplit(
    statefulSet,
    { ...split, pods, ...weightOf(requestedWeight, split.requestedWeight) },
    partitionForCanaryPods(replicas, pods),
  );
}

/** GA: every pod moves to the new template (partition 0); the split ends once they have. */
export function withPromotion(
  statefulSet: V1StatefulSet,
  images: Record<string, string>,
  version: string,
): V1StatefulSet {
  const split = readSplit(statefulSet);
  const templated = withTemplate(statefulSet, images, version);
  if (!split || split.state === "restoring") return templated;
  return withSplit(templated, { ...split, state: "promoted", pods: statefulSet.spec?.replicas ?? 1 }, 0);
}

/**
 * No canary any more. After the promotion: once every pod runs the new template, the
 * user's updateStrategy comes back and the annotation goes. Before it (a rollback): the
 * template goes back to what it was, partition 0 until every pod is back on it, then the
 * same. Nothing to do outside a split.
 */
export function withoutCanary(statefulSet: V1StatefulSet, pods: V1Pod[]): V1StatefulSet {
  const split = readSplit(statefulSet);
  if (!split) return statefulSet;
  if (split.state === "canary")
    return startRestore(statefulSet, split, split.stable.images, split.stable.version);
  const view = splitView(statefulSet, pods);
  const done = splitSettled(view) && view.offUpdate === 0;
  return done ? withStrategyRestored(statefulSet, split) : statefulSet;
}

/** Rollback after the promotion: the template back to these images and version label, every pod back on it. */
export function withReverted(
  statefulSet: V1StatefulSet,
  images: Record<string, string>,
  version: string | undefined,
  release: string,
): V1StatefulSet {
  const split = readSplit(statefulSet) ?? {
    release,
    state: "restoring" as const,
    pods: 0,
    stable: { images, ...(version === undefined ? {} : { version }) },
    updateStrategy: plainStrategy(statefulSet.spec?.updateStrategy),
  };
  return startRestore(statefulSet, split, images, version);
}

/**
 * A StatefulSet does not replace a pod that is not Running and Ready (the "forced
 * rollback" of the Kubernetes docs): while restoring, the pods still on the release's
 * revision that are not Ready are deleted, and come back on the restored one.
 */
export function podsToForceBack(statefulSet: V1StatefulSet, pods: V1Pod[]): string[] {
  const split = readSplit(statefulSet);
  const view = splitView(statefulSet, pods);
  if (split?.state !== "restoring" || !view.fresh) return [];
  const updateRevision = statefulSet.status?.updateRevision;
  return livePods(pods)
    .filter((pod) => pod.metadata?.labels?.[REVISION_LABEL] !== updateRevision && !podReady(pod))
    .map((pod) => pod.metadata?.name ?? "")
    .filter((name) => name !== "");
}

function startRestore(
  statefulSet: V1StatefulSet,
  split: StatefulSetSplit,
  images: Record<string, string>,
  version: string | undefined,
): V1StatefulSet {
  return withSplit(withTemplate(statefulSet, images, version), { ...split, state: "restoring", pods: 0 }, 0);
}

function withStrategyRestored(statefulSet: V1StatefulSet, split: StatefulSetSplit): V1StatefulSet {
  const annotations = { ...statefulSet.metadata?.annotations };
  delete annotations[STATEFULSET_SPLIT_ANNOTATION];
  const spec = { ...statefulSet.spec } as NonNullable<V1StatefulSet["spec"]>;
  if (split.updateStrategy === null) delete spec.updateStrategy;
  else spec.updateStrategy = split.updateStrategy as V1StatefulSetUpdateStrategy;
  return { ...statefulSet, metadata: { ...statefulSet.metadata, annotations }, spec };
}

function withSplit(statefulSet: V1StatefulSet, split: StatefulSetSplit, partition: number): V1StatefulSet {
  const spec = statefulSet.spec;
  if (!spec) throw new Error(`${nameOf(statefulSet)} has no spec`);
  return {
    ...statefulSet,
    metadata: {
      ...statefulSet.metadata,
      annotations: {
        ...statefulSet.metadata?.annotations,
        [STATEFULSET_SPLIT_ANNOTATION]: JSON.stringify(split),
      },
    },
    spec: { ...spec, updateStrategy: { type: "RollingUpdate", rollingUpdate: { partition } } },
  };
}

/** The template with these images (containers it does not have are an error) and version label (undefined: none). */
function withTemplate(
  statefulSet: V1StatefulSet,
  images: Record<string, string>,
  version: string | undefined,
): V1StatefulSet {
  const spec = statefulSet.spec;
  const podSpec = spec?.template.spec;
  if (!spec || !podSpec) throw new Error(`${nameOf(statefulSet)} has no pod template`);
  const known = [...(podSpec.initContainers ?? []), ...podSpec.containers].map((container) => container.name);
  const missing = Object.keys(images).filter((name) => !known.includes(name));
  if (missing.length > 0) {
    throw new Error(
      `${nameOf(statefulSet)} has no container ${missing.map((name) => `"${name}"`).join(", ")} (its containers: ${known.join(", ")})`,
    );
  }
  const swap = <C extends { name: string; image?: string }>(containers: C[]): C[] =>
    containers.map((container) => {
      const image = images[container.name];
      return image === undefined ? container : { ...container, image };
    });
  const labels = { ...spec.template.metadata?.labels };
  if (version === undefined) delete labels[VERSION_LABEL];
  else labels[VERSION_LABEL] = version;
  return {
    ...statefulSet,
    spec: {
      ...spec,
      template: {
        ...spec.template,
        metadata: { ...spec.template.metadata, labels },
        spec: {
          ...podSpec,
          containers: swap(podSpec.containers),
          ...(podSpec.initContainers ? { initContainers: swap(podSpec.initContainers) } : {}),
        },
      },
    },
  };
}

function weightOf(asked: number | undefined, before: number | undefined): { requestedWeight?: number } {
  const weight = asked ?? before;
  return weight === undefined ? {} : { requestedWeight: weight };
}

function versionOf(statefulSet: V1StatefulSet): { version?: string } {
  const version = statefulSet.spec?.template.metadata?.labels?.[VERSION_LABEL];
  return version === undefined ? {} : { version };
}

function plainStrategy(strategy: V1StatefulSetUpdateStrategy | undefined): Record<string, unknown> | null {
  return strategy === undefined ? null : (JSON.parse(JSON.stringify(strategy)) as Record<string, unknown>);
}

function livePods(pods: V1Pod[]): V1Pod[] {
  return pods.filter((pod) => !pod.metadata?.deletionTimestamp);
}

function podReady(pod: V1Pod): boolean {
  return (pod.status?.conditions ?? []).some(
    (condition) => condition.type === "Ready" && condition.status === "True",
  );
}

/** A StatefulSet pod's ordinal: the number after its last dash. */
function ordinalOf(pod: V1Pod): number {
  const match = /-(\d+)$/.exec(pod.metadata?.name ?? "");
  return match ? Number(match[1]) : Number.MAX_SAFE_INTEGER;
}

function nameOf(statefulSet: V1StatefulSet): string {
  return `StatefulSet ${statefulSet.metadata?.namespace ?? "?"}/${statefulSet.metadata?.name ?? "?"}`;
}
