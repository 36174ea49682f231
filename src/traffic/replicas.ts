import type { V1Deployment } from "@kubernetes/client-node";
import { TargetError } from "../kube/errors.ts";
import { deploymentConverged } from "../workload/health.ts";
import type { WorkloadManager } from "../workload/manager.ts";
import { REQUESTED_WEIGHT_ANNOTATION, releaseKey } from "../api/workload-names.ts";
import type { ReleaseRef } from "../api/workload-names.ts";
import { ROUTING_STAGE_ROUTER_MESSAGE, type StageRouting } from "../api/stage-routing.ts";
import { assertWeight } from "./router.ts";
import type { RouterObservation, TrafficRouter } from "./router.ts";

// No router: the canary pods keep the stable labels, so the stable Service spreads
// requests over stable and canary pods alike, and the canary's share of the pods is
// its share of the traffic. Only some shares are reachable (1 canary beside 3 stable
// pods is 25%, never 10%); the observation reports the share actually reached.
// The router only works out the count: the WorkloadManager reads the Deployments (from
// the controller's cache) and scales the canary, as it does for the engine's actions.

/**
 * Canary replicas k whose share k/(stable+k) is closest to canaryWeight/100, at least 1
 * while the weight is above 0 and at most maxCanaryReplicas. Ties go to fewer pods.
 */
export function canaryReplicasForWeight(
  canaryWeight: number,
  stableReplicas: number,
  maxCanaryReplicas: number = Math.max(stableReplicas, 1),
): number {
  assertWeight(canaryWeight, "replica split");
  if (!Number.isInteger(stableReplicas) || stableReplicas < 0) {
    throw new Error(`replica split: stable replicas must be a whole number ≥ 0, not ${stableReplicas}`);
  }
  if (!Number.isInteger(maxCanaryReplicas) || maxCanaryReplicas < 1) {
    throw new Error(`replica split: maxCanaryReplicas must be a whole number ≥ 1, not ${maxCanaryReplicas}`);
  }
  if (canaryWeight === 0) return 0;
  if (stableReplicas === 0 || canaryWeight === 100) return stableReplicas === 0 ? 1 : maxCanaryReplicas;
  const target = canaryWeight / 100;
  // k/(s+k) = t  ⇔  k = s·t/(1−t); the best whole k is next to it.
  const ideal = (stableReplicas * target) / (1 - target);
  const candidates = [Math.floor(ideal), Math.ceil(ideal)].map((k) =>
    Math.min(Math.max(k, 1), maxCanaryReplicas),
  );
  let best = candidates[0] ?? 1;
  for (const k of candidates) {
    const distance = Math.abs(k / (stableReplicas + k) - target);
    const bestDistance = Math.abs(best / (stableReplicas + best) - target);
    if (distance < bestDistance - 1e-12 || (Math.abs(distance - bestDistance) <= 1e-12 && k < best)) best = k;
  }
  return best;
}

/**
 * The canary's share of the pods as a whole percentage. A canary that has pods never
 * reads as 0%, and a stable that has pods never lets the canary read as 100%.
 */
export function reachedCanaryWeight(stablePods: number, canaryPods: number): number {
  if (canaryPods <= 0) return 0;
  if (stablePods <= 0) return 100;
  const percent = Math.round((100 * canaryPods) / (stablePods + canaryPods));
  return Math.min(Math.max(percent, 1), 99);
}

export interface ReplicasRouterOptions {
  /**
   * The most canary pods a weight may ask for. Default: the stable replica count, so
   * the canary never outnumbers stable (at most 50%) and at most doubles the pods.
   */
  maxCanaryReplicas?: number;
}

/** What the replica split needs of the WorkloadManager: its Deployments, and the canary scaled. */
export type ReplicaWorkloads = Pick<WorkloadManager, "deployment" | "scaleCanary"> &
  Partial<Pick<WorkloadManager, "statefulSets">>;

export class ReplicasRouter implements TrafficRouter {
  readonly #workloads: ReplicaWorkloads;
  readonly #release: ReleaseRef;
  readonly #maxCanaryReplicas: number | undefined;
  readonly #who: string;

  constructor(workloads: ReplicaWorkloads, release: ReleaseRef, options: ReplicasRouterOptions = {}) {
    this.#workloads = workloads;
    this.#release = release;
    this.#maxCanaryReplicas = options.maxCanaryReplicas;
    this.#who = `Release ${releaseKey(release)}: replica split`;
  }

  async setWeight(canaryWeight: number, _baselineWeight?: number, routing?: StageRouting): Promise<void> {
    assertWeight(canaryWeight, this.#who);
    // The Release validation refuses such stages; a Release that got past it is told why here.
    if (routing) throw new TargetError("RouteInvalid", `${this.#who}: ${ROUTING_STAGE_ROUTER_MESSAGE}`);
    // No weight, no canary pods, whatever stable holds (even when it is gone).
    if (canaryWeight === 0) return this.#workloads.scaleCanary(this.#release, 0, 0);
    const context = `${this.#who}: setting the canary weight to ${canaryWeight}%`;
    const stable = await this.#workloads.deployment(this.#release, "stable");
    if (!stable) throw new TargetError("TargetNotFound", `${context}: the stable Deployment does not exist`);
    const stableReplicas = stable.spec?.replicas ?? 1;
    const replicas = canaryReplicasForWeight(
      canaryWeight,
      stableReplicas,
      this.#maxCanaryReplicas ?? Math.max(stableReplicas, 1),
    );
    await this.#workloads.scaleCanary(this.#release, replicas, canaryWeight);
  }

  async observe(): Promise<RouterObservation> {
    const [stable, canary] = await Promise.all([
      this.#workloads.deployment(this.#release, "stable"),
      this.#workloads.deployment(this.#release, "canary"),
    ]);
    const stableReady = stable?.status?.readyReplicas ?? 0;
    const canaryReady = canary?.status?.readyReplicas ?? 0;
    const canaryWeight = reachedCanaryWeight(stableReady, canaryReady);
    const requested = Number(canary?.metadata?.annotations?.[REQUESTED_WEIGHT_ANNOTATION]);
    // Stable scaled since (its autoscaler, a person): the canary's count no longer fits the
    // weight asked, so the split is not held until it is set again from stable's new count.
    const stale = Number.isInteger(requested) && this.#stale(requested, stable, canary);
    const requestedWeight = Number.isInteger(requested) && !stale ? requested : canaryWeight;
    const settled =
      !stale &&
      (canary === undefined || deploymentConverged(canary)) &&
      (stable === undefined || deploymentConverged(stable));
    return {
      canaryWeight,
      requestedWeight,
      verified: settled,
      detail:
        `${canaryReady} of ${stableReady + canaryReady} ready pods behind Service ${this.#release.spec.target.service} ` +
        `are canary pods (${canaryWeight}%, asked ${requestedWeight}%)` +
        (settled
          ? ""
          : `; still scaling (canary wants ${canary?.spec?.replicas ?? 0}, stable ${stable?.spec?.replicas ?? 0})`),
    };
  }

  /** The canary's replicas are not what the weight asks of stable's replicas now (docs/autoscaling.md). */
  #stale(requested: number, stable: V1Deployment | undefined, canary: V1Deployment | undefined): boolean {
    // A canary at 0 holds no share whatever was asked (a rollback scales it so directly).
    if (!stable || !canary || requested <= 0 || requested > 100 || canary.spec?.replicas === 0) return false;
    const stableReplicas = stable.spec?.replicas ?? 1;
    const wanted = canaryReplicasForWeight(
      requested,
      stableReplicas,
      this.#maxCanaryReplicas ?? Math.max(stableReplicas, 1),
    );
    return (canary.spec?.replicas ?? 1) !== wanted;
  }

  /**
   * The canary keeps no pods, so the stable pods get all the traffic. The stable
   * Deployment and Service were never written, so they are as they were.
   */
  cleanup(): Promise<void> {
    return this.setWeight(0);
  }
}
