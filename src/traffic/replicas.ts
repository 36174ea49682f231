import { PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import type { AppsV1Api, V1Deployment } from "@kubernetes/client-node";
import { TargetError, apiError, isNotFound } from "../kube/errors.ts";
import { deploymentConverged } from "../workload/health.ts";
import {
  REQUESTED_WEIGHT_ANNOTATION,
  canaryDeploymentName,
  releaseKey,
  releaseNamespace,
} from "../api/workload-names.ts";
import type { ReleaseRef } from "../api/workload-names.ts";
import { assertWeight } from "./router.ts";
import type { RouterObservation, TrafficRouter } from "./router.ts";

// No router: the canary pods keep the stable labels, so the stable Service spreads
// requests over stable and canary pods alike, and the canary's share of the pods is
// its share of the traffic. Only some shares are reachable (1 canary beside 3 stable
// pods is 25%, never 10%); the observation reports the share actually reached.

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

export class ReplicasRouter implements TrafficRouter {
  readonly #apps: AppsV1Api;
  readonly #release: ReleaseRef;
  readonly #namespace: string;
  readonly #maxCanaryReplicas: number | undefined;
  readonly #who: string;

  constructor(apps: AppsV1Api, release: ReleaseRef, options: ReplicasRouterOptions = {}) {
    this.#apps = apps;
    this.#release = release;
    this.#namespace = releaseNamespace(release);
    this.#maxCanaryReplicas = options.maxCanaryReplicas;
    this.#who = `Release ${releaseKey(release)}: replica split`;
  }

  async setWeight(canaryWeight: number): Promise<void> {
    assertWeight(canaryWeight, this.#who);
    const context = `${this.#who}: setting the canary weight to ${canaryWeight}%`;
    const stable = await this.#read(this.#release.spec.target.deployment, context);
    if (!stable) throw new TargetError("TargetNotFound", `${context}: the stable Deployment does not exist`);
    const stableReplicas = stable.spec?.replicas ?? 1;
    const replicas = canaryReplicasForWeight(
      canaryWeight,
      stableReplicas,
      this.#maxCanaryReplicas ?? Math.max(stableReplicas, 1),
    );
    const name = canaryDeploymentName(this.#release.spec.target.deployment);
    try {
      // The weight asked for travels with the replicas, so observe can tell "asked 10%, reached 25%".
      await this.#apps.patchNamespacedDeployment(
        {
          name,
          namespace: this.#namespace,
          body: {
            metadata: { annotations: { [REQUESTED_WEIGHT_ANNOTATION]: String(canaryWeight) } },
            spec: { replicas },
          },
        },
        setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
      );
    } catch (error) {
      if (isNotFound(error) && replicas === 0) return;
      throw apiError(
        `${context}: scaling the canary Deployment ${this.#namespace}/${name} to ${replicas}`,
        error,
      );
    }
  }

  async observe(): Promise<RouterObservation> {
    const context = `${this.#who}: observing`;
    const target = this.#release.spec.target.deployment;
    const [stable, canary] = await Promise.all([
      this.#read(target, context),
      this.#read(canaryDeploymentName(target), context),
    ]);
    const stableReady = stable?.status?.readyReplicas ?? 0;
    const canaryReady = canary?.status?.readyReplicas ?? 0;
    const canaryWeight = reachedCanaryWeight(stableReady, canaryReady);
    const requested = Number(canary?.metadata?.annotations?.[REQUESTED_WEIGHT_ANNOTATION]);
    const requestedWeight = Number.isInteger(requested) ? requested : canaryWeight;
    const settled =
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

  /** The canary keeps no pods, so the stable pods get all the traffic. */
  cleanup(): Promise<void> {
    return this.setWeight(0);
  }

  async #read(name: string, context: string): Promise<V1Deployment | undefined> {
    try {
      return await this.#apps.readNamespacedDeployment({ name, namespace: this.#namespace });
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw apiError(`${context}: reading Deployment ${this.#namespace}/${name}`, error);
    }
  }
}
