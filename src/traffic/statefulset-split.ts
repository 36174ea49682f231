import { TargetError } from "../kube/errors.ts";
import { releaseKey } from "../api/workload-names.ts";
import type { ReleaseRef } from "../api/workload-names.ts";
import type { StatefulSetWorkloads } from "../workload/statefulset-manager.ts";
import { splitSettled } from "../workload/statefulset.ts";
import { reachedCanaryWeight } from "./replicas.ts";
import { assertWeight } from "./router.ts";
import type { RouterObservation, TrafficRouter } from "./router.ts";

// The replica split of a StatefulSet target (docs/statefulsets.md): the canary is the
// highest ordinals, moved to the new revision by the update partition; every pod keeps
// the labels the stable Service selects, so the canary's share of the Ready pods is its
// share of the traffic. Unlike a Deployment's split no pod is added: the StatefulSet
// keeps its replicas and the partition decides how many of them run the new version.

/**
 * Pods on the new revision for a weight: the share of `replicas` closest to it, at least
 * one while the weight is above 0, and below all of them until 100% (so stable keeps a
 * pod while there are two or more), all of them at 100%.
 */
export function canaryPodsForWeight(canaryWeight: number, replicas: number): number {
  assertWeight(canaryWeight, "StatefulSet split");
  if (!Number.isInteger(replicas) || replicas < 0) {
    throw new Error(`StatefulSet split: replicas must be a whole number ≥ 0, not ${replicas}`);
  }
  if (canaryWeight === 0 || replicas === 0) return 0;
  if (canaryWeight === 100) return replicas;
  const nearest = Math.round((replicas * canaryWeight) / 100);
  return Math.min(Math.max(nearest, 1), Math.max(replicas - 1, 1));
}

export class StatefulSetSplitRouter implements TrafficRouter {
  readonly #statefulSets: Pick<StatefulSetWorkloads, "view" | "scaleCanary">;
  readonly #release: ReleaseRef;
  readonly #who: string;

  constructor(statefulSets: Pick<StatefulSetWorkloads, "view" | "scaleCanary">, release: ReleaseRef) {
    this.#statefulSets = statefulSets;
    this.#release = release;
    this.#who = `Release ${releaseKey(release)}: StatefulSet split`;
  }

  async setWeight(canaryWeight: number): Promise<void> {
    assertWeight(canaryWeight, this.#who);
    if (canaryWeight === 0) return this.#statefulSets.scaleCanary(this.#release, 0, 0);
    // A write: the size of the StatefulSet as the API server has it, not as a cache had it.
    const view = await this.#statefulSets.view(this.#release, { fresh: true });
    if (!view) {
      throw new TargetError(
        "TargetNotFound",
        `${this.#who}: setting the canary weight to ${canaryWeight}%: the StatefulSet ${this.#release.spec.target.deployment} does not exist`,
      );
    }
    await this.#statefulSets.scaleCanary(
      this.#release,
      canaryPodsForWeight(canaryWeight, view.replicas),
      canaryWeight,
    );
  }

  async observe(): Promise<RouterObservation> {
    const view = await this.#statefulSets.view(this.#release);
    const name = this.#release.spec.target.deployment;
    if (!view) {
      return {
        canaryWeight: 0,
        requestedWeight: 0,
        verified: true,
        detail: `StatefulSet ${name} does not exist`,
      };
    }
    const state = view.split?.state;
    // In a canary split (or a promotion) the new version is on the update revision; outside
    // one, what is left off it is the release's. While a rollback restores the template,
    // every pod still on the release's revision counts, Ready or not, so the restore is
    // asked for (and a stuck pod deleted) until none is left.
    const forward = state === "canary" || state === "promoted";
    const restoring = state === "restoring";
    const canaryReady = forward ? view.onUpdateReady : restoring ? view.offUpdate : view.offUpdateReady;
    const stableReady = forward ? view.offUpdateReady : view.onUpdateReady;
    const canaryWeight = reachedCanaryWeight(stableReady, canaryReady);
    const requestedWeight = forward
      ? (view.split?.requestedWeight ?? canaryWeight)
      : restoring
        ? canaryWeight
        : 0;
    const verified = splitSettled(view) && (!restoring || view.offUpdate === 0);
    return {
      canaryWeight,
      requestedWeight,
      verified,
      partition: view.partition,
      detail:
        `${canaryReady} of ${stableReady + canaryReady} ready pods of StatefulSet ${name} behind Service ` +
        `${this.#release.spec.target.service} run the new revision (${canaryWeight}%, asked ${requestedWeight}%, ` +
        `partition ${view.partition} of ${view.replicas})` +
        (verified
          ? ""
          : state === "restoring"
            ? "; putting the pods back on the old revision"
            : "; still rolling"),
    };
  }

  /** No pod on the release's revision: the template and updateStrategy as they were (or as promoted). */
  cleanup(): Promise<void> {
    return this.setWeight(0);
  }
}
