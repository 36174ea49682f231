import { isDeepStrictEqual } from "node:util";
import type { AppsV1Api, CoreV1Api, V1Pod, V1StatefulSet } from "@kubernetes/client-node";
import { GLIDEPATH_FIELD_MANAGER, type WorkloadObservation } from "../engine/types.ts";
import { TargetError, apiError, isConflict, isNotFound } from "../kube/errors.ts";
import { releaseKey, releaseNamespace } from "../api/workload-names.ts";
import type { ReleaseRef } from "../api/workload-names.ts";
import { labelSelectorString } from "./health.ts";
import type { HealthOptions } from "./health.ts";
import {
  observeStatefulSet,
  podsToForceBack,
  splitView,
  withCanaryPods,
  withCanarySplit,
  withPromotion,
  withReverted,
  withoutCanary,
} from "./statefulset.ts";
import type { SplitView } from "./statefulset.ts";
import type { WorkloadCaches } from "./cached-objects.ts";

// The I/O half of a StatefulSet target (docs/statefulsets.md): reads the StatefulSet and
// its Pods, and writes the one StatefulSet through statefulset.ts's desired states. Each
// write is an update with the resourceVersion read (a concurrent writer gets a 409 and
// the step is read and worked out again), and is safe to repeat.
//
// Observations (observe, view) read the controller's caches once they have synced (the
// StatefulSet informer and the Pod cache, src/controller/workload-watch.ts), so an idle
// reconcile reads nothing; before that, and for every write, the API server (pods from
// its watch cache, resourceVersion "0"), so a write starts from the latest resourceVersion.

export interface StatefulSetWorkloadsOptions extends HealthOptions {
  /** Attempts of a write that meets a 409. */
  attempts: number;
  /** The controller's caches; without them (or before they synced) every read goes to the API server. */
  caches?: WorkloadCaches | undefined;
}

type StatefulSetRead = { statefulSet: V1StatefulSet; pods: V1Pod[] } | undefined;

export class StatefulSetWorkloads {
  readonly #apps: AppsV1Api;
  readonly #core: CoreV1Api;
  readonly #options: StatefulSetWorkloadsOptions;

  constructor(clients: { apps: AppsV1Api; core: CoreV1Api }, options: StatefulSetWorkloadsOptions) {
    this.#apps = clients.apps;
    this.#core = clients.core;
    this.#options = options;
  }

  /** The StatefulSet's pods off ("stable") or on ("canary") the release's revision, as the engine sees them. */
  async observe(release: ReleaseRef, role: "stable" | "canary"): Promise<WorkloadObservation> {
    const read = await this.#observed(release, "observing");
    if (!read) return observeStatefulSet(undefined, [], role);
    return observeStatefulSet(read.statefulSet, read.pods, role, this.#options);
  }

  /**
   * The split as the replica split router reads it; undefined when the StatefulSet does not
   * exist. From the caches, unless `fresh` (a write about to be worked out from it).
   */
  async view(release: ReleaseRef, options: { fresh?: boolean } = {}): Promise<SplitView | undefined> {
    const verb = "reading the split of";
    const read = options.fresh ? await this.#read(release, verb) : await this.#observed(release, verb);
    return read ? splitView(read.statefulSet, read.pods) : undefined;
  }

  ensureCanary(release: ReleaseRef, images: Record<string, string>, pods: number): Promise<void> {
    return this.#update(release, "starting the canary on", (statefulSet) =>
      withCanarySplit(statefulSet, {
        release: release.metadata.name,
        images,
        version: release.spec.version,
        pods,
      }),
    );
  }

  /** Pods on the new revision; 0 ends the split (a rollback's restore, or the end after the promotion). */
  scaleCanary(release: ReleaseRef, pods: number, requestedWeight?: number): Promise<void> {
    return this.#update(release, `setting ${pods} canary pods on`, (statefulSet, current) =>
      pods === 0 ? withoutCanary(statefulSet, current) : withCanaryPods(statefulSet, pods, requestedWeight),
    );
  }

  promote(release: ReleaseRef, images: Record<string, string>, version: string): Promise<void> {
    return this.#update(release, "promoting", (statefulSet) => withPromotion(statefulSet, images, version));
  }

  revert(release: ReleaseRef, images: Record<string, string>, version: string | undefined): Promise<void> {
    return this.#update(release, "reverting", (statefulSet) =>
      withReverted(statefulSet, images, version, release.metadata.name),
    );
  }

  async #update(
    release: ReleaseRef,
    verb: string,
    desired: (statefulSet: V1StatefulSet, pods: V1Pod[]) => V1StatefulSet,
  ): Promise<void> {
    const namespace = releaseNamespace(release);
    const name = release.spec.target.deployment;
    const context = `Release ${releaseKey(release)}: ${verb} the StatefulSet ${namespace}/${name}`;
    for (let attempt = 1; ; attempt++) {
      const read = await this.#read(release, verb);
      if (!read)
        throw new TargetError("TargetNotFound", `${context} (spec.target.deployment): it does not exist`);
      let wanted: V1StatefulSet;
      try {
        wanted = desired(read.statefulSet, read.pods);
      } catch (error) {
        throw new TargetError("TargetInvalid", `${context}: ${(error as Error).message}`);
      }
      await this.#forceBack(read.statefulSet, read.pods, context);
      if (isDeepStrictEqual(plain(wanted), plain(read.statefulSet))) return;
      try {
        await this.#apps.replaceNamespacedStatefulSet({
          name,
          namespace,
          body: wanted,
          fieldManager: GLIDEPATH_FIELD_MANAGER,
        });
        return;
      } catch (error) {
        if (isConflict(error) && attempt < this.#options.attempts) continue;
        throw apiError(context, error);
      }
    }
  }

  /** Deletes the not-Ready pods a restore cannot move back by itself (statefulset.ts podsToForceBack). */
  async #forceBack(statefulSet: V1StatefulSet, pods: V1Pod[], context: string): Promise<void> {
    const namespace = statefulSet.metadata?.namespace ?? "";
    for (const pod of podsToForceBack(statefulSet, pods)) {
      try {
        await this.#core.deleteNamespacedPod({ name: pod, namespace });
      } catch (error) {
        if (!isNotFound(error))
          throw apiError(`${context}: deleting pod ${pod} stuck on the new revision`, error);
      }
    }
  }

  /**
   * The StatefulSet and its own Pods from the caches once both have synced (a miss: it does
   * not exist; Glidepath never creates one, so no creation can be on its way to the cache);
   * from the API server before that.
   */
  async #observed(release: ReleaseRef, verb: string): Promise<StatefulSetRead> {
    const caches = this.#options.caches;
    if (!caches?.synced("statefulset") || !caches.synced("pods")) return this.#read(release, verb);
    const statefulSet = caches.statefulSet(releaseNamespace(release), release.spec.target.deployment);
    return statefulSet ? { statefulSet, pods: caches.statefulSetPods(statefulSet) } : undefined;
  }

  async #read(release: ReleaseRef, verb: string): Promise<StatefulSetRead> {
    const namespace = releaseNamespace(release);
    const name = release.spec.target.deployment;
    const context = `Release ${releaseKey(release)}: ${verb} the StatefulSet ${namespace}/${name}`;
    let statefulSet: V1StatefulSet;
    try {
      statefulSet = await this.#apps.readNamespacedStatefulSet({ name, namespace });
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw apiError(context, error);
    }
    const selector = statefulSet.spec?.selector;
    if (!selector) throw new TargetError("TargetInvalid", `${context}: it has no spec.selector`);
    const labelSelector = labelSelectorString(selector);
    try {
      const pods = await this.#core.listNamespacedPod({ namespace, labelSelector, resourceVersion: "0" });
      const uid = statefulSet.metadata?.uid;
      // Its own pods only: a selector may match others.
      const own = pods.items.filter((pod) =>
        (pod.metadata?.ownerReferences ?? []).some((owner) => owner.controller === true && owner.uid === uid),
      );
      return { statefulSet, pods: own };
    } catch (error) {
      throw apiError(`${context}: listing its Pods (${labelSelector})`, error);
    }
  }
}

/** client-node returns class instances; compare as the JSON that goes over the wire. */
function plain(value: unknown): unknown {
  return value === undefined ? undefined : JSON.parse(JSON.stringify(value));
}
