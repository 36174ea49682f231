import type { VersionRef } from "../api/index.ts";
import { canaryDeploymentName, routerIsolatesCanary, targetsStatefulSet } from "../api/workload-names.ts";
import { autoscaledCanaryReplicas, wantedCanaryAutoscaler } from "./autoscaling.ts";
import { isTerminal, phaseOf, qualifiedName, type DecisionContext } from "./context.ts";
import { gaIndex, isBaking, isGAStage } from "./position.ts";
import { runsVersion } from "./running-version.ts";
import type { WorkloadObservation } from "./types.ts";

// Questions about the observed cluster, asked in the terms of this release.

export function canaryName(ctx: DecisionContext): string {
  // A StatefulSet has no canary object: its canary is its pods on the new revision.
  if (targetsStatefulSet(ctx.release)) return `${ctx.release.spec.target.deployment} (new revision)`;
  return canaryDeploymentName(ctx.release.spec.target.deployment);
}

export function stableName(ctx: DecisionContext): string {
  return ctx.release.spec.target.deployment;
}

/** Every named container runs the named image (other containers may run anything). */
export function runsImages(workload: WorkloadObservation, images: Record<string, string>): boolean {
  return runsVersion(workload, { images });
}

/**
 * The containers spec.images names that the stable Deployment does not have, said as a
 * person must read it; undefined when they all exist (or there is no stable to look at).
 */
export function missingContainers(ctx: DecisionContext): string | undefined {
  const stable = ctx.observations.stable;
  if (!stable.exists) return undefined;
  const unknown = Object.keys(ctx.release.spec.images).filter(
    (container) => !Object.hasOwn(stable.images, container),
  );
  if (unknown.length === 0) return undefined;
  const names = unknown.map((container) => `"${container}"`).join(", ");
  const known = Object.keys(stable.images).join(", ") || "none";
  return (
    `spec.images names container${unknown.length > 1 ? "s" : ""} ${names}, which Deployment ` +
    `${qualifiedName(ctx.release, stableName(ctx))} does not have (its containers: ${known})`
  );
}

/** No router: the canary's share of the pods is its share of the traffic, so the split sets its replicas. */
export function splitsByReplicas(ctx: DecisionContext): boolean {
  return !routerIsolatesCanary(ctx.release.spec.traffic);
}

/**
 * The canary's replicas, or undefined where the replica split owns the count. With a
 * router the canary is as big as stable, so it can take any stage's share, GA included.
 * With the replica split it starts with one pod (its smallest share, which it takes
 * as soon as it is Ready: its pods are behind the stable Service) and the split sizes
 * it from then on.
 */
export function desiredCanaryReplicas(ctx: DecisionContext): number | undefined {
  if (splitsByReplicas(ctx)) return ctx.status.currentStage ? undefined : 1;
  // docs/autoscaling.md: a fixed size, or inside the bounds of its copy of stable's autoscaler.
  const fixed = ctx.release.spec.canaryScale?.replicas;
  if (fixed !== undefined) return fixed;
  const bounds = wantedCanaryAutoscaler(ctx);
  if (bounds) return autoscaledCanaryReplicas(ctx, bounds);
  return Math.max(1, ctx.observations.stable.desiredReplicas);
}

export function canaryReady(ctx: DecisionContext): boolean {
  const canary = ctx.observations.canary;
  return canary.ready && runsImages(canary, ctx.release.spec.images);
}

/** The router sends the canary's share to the canary Service (Gateway API, NGINX); the replica split does not. */
export function routesToCanaryService(ctx: DecisionContext): boolean {
  return !splitsByReplicas(ctx);
}

export interface CanaryServiceProblem {
  reason: "CanaryServiceMissing" | "CanaryServiceNotReady";
  /** "the canary Service checkout-canary is missing". */
  message: string;
  readiness: string;
}

/**
 * Why the canary Service cannot take traffic, if it cannot: it does not exist, or no
 * Ready pod is behind it. No weight may go to the canary then.
 */
export function canaryServiceProblem(ctx: DecisionContext): CanaryServiceProblem | undefined {
  if (!routesToCanaryService(ctx)) return undefined;
  const service = ctx.observations.canaryService;
  if (!service.exists) {
    return {
      reason: "CanaryServiceMissing",
      message: `the canary Service ${service.name} is missing`,
      readiness: "not found",
    };
  }
  if (service.readyEndpoints === 0) {
    return {
      reason: "CanaryServiceNotReady",
      message: `the canary Service ${service.name} has no ready endpoints`,
      readiness: "0 ready endpoints",
    };
  }
  return undefined;
}

export function canaryScaledDown(ctx: DecisionContext): boolean {
  const canary = ctx.observations.canary;
  return !canary.exists || canary.desiredReplicas === 0;
}

/** The stable template carries the new images: promotion has reached the cluster (or is under way). */
export function stableOnNewImages(ctx: DecisionContext): boolean {
  return runsImages(ctx.observations.stable, ctx.release.spec.images);
}

/** The stable template is fully promoted: new images and the new version label. */
export function stableOnNewVersion(ctx: DecisionContext): boolean {
  return stableOnNewImages(ctx) && ctx.observations.stable.version === ctx.release.spec.version;
}

/**
 * The release has asked for stable's promotion (it entered GA), so stable is its to put
 * back. Before that it never wrote stable: a rollback leaves stable as it is.
 */
export function releaseTouchedStable(ctx: DecisionContext): boolean {
  const { status } = ctx;
  return (
    status.promotedAt !== undefined ||
    status.bakeStartedAt !== undefined ||
    status.currentStage?.index === gaIndex(ctx)
  );
}

/** "checkout=registry.example.com/checkout:9.9.9", for messages about what really runs. */
export function describeImages(images: Record<string, string>): string {
  return Object.entries(images)
    .map(([container, image]) => `${container}=${image}`)
    .join(", ");
}

export function stableOnPrevious(ctx: DecisionContext, previous: VersionRef): boolean {
  return runsVersion(ctx.observations.stable, previous);
}

/** The router holds this weight and confirmed it. */
/** The router holds this weight: exactly, or as near as the replica split gets to what was asked. */
export function routerHolds(ctx: DecisionContext, canaryWeight: number): boolean {
  const traffic = ctx.observations.traffic;
  return traffic.canaryWeight === canaryWeight || traffic.requestedWeight === canaryWeight;
}

export function trafficAt(ctx: DecisionContext, canaryWeight: number): boolean {
  return routerHolds(ctx, canaryWeight) && ctx.observations.traffic.verified;
}

export function readiness(workload: WorkloadObservation): string {
  return workload.exists ? `${workload.readyReplicas}/${workload.desiredReplicas} Ready` : "not found";
}

/** "2.3.1", or the images when the version label is missing. */
export function describeVersion(ref: VersionRef): string {
  return ref.version ?? describeImages(ref.images);
}

export interface NotReady {
  reason: "CanaryNotReady" | "StableNotReady" | CanaryServiceProblem["reason"];
  /** "the canary checkout-canary", "the stable checkout". */
  workload: string;
  /** " on 2.4.0", or empty. */
  on: string;
  readiness: string;
  /** The condition's message, when "<workload> is not Ready (<readiness>)" would not say it. */
  message?: string;
}

/** The workload the current step relies on that is not Ready, if any. */
export function workloadNotReady(ctx: DecisionContext): NotReady | undefined {
  const { status, observations, release } = ctx;
  if (status.startedAt === undefined) return undefined;
  const stable = observations.stable;
  const stableNotReady = (on: string): NotReady => ({
    reason: "StableNotReady",
    workload: `the stable ${stableName(ctx)}`,
    on: ` on ${on}`,
    readiness: readiness(stable),
  });
  if (phaseOf(status) === "RollingBack") {
    const previous = status.previous;
    if (!releaseTouchedStable(ctx)) return undefined;
    if (previous && !(stableOnPrevious(ctx, previous) && stable.ready))
      return stableNotReady(describeVersion(previous));
    return undefined;
  }
  if (!isBaking(ctx) && !canaryReady(ctx)) {
    return {
      reason: "CanaryNotReady",
      workload: `the canary ${canaryName(ctx)}`,
      on: "",
      readiness: readiness(observations.canary),
    };
  }
  // Asked only on the way forward: a finished release sends the canary nothing.
  const forward = !isBaking(ctx) && !isTerminal(phaseOf(status));
  const serviceProblem = forward ? canaryServiceProblem(ctx) : undefined;
  if (serviceProblem) {
    return {
      reason: serviceProblem.reason,
      workload: `the canary Service ${observations.canaryService.name}`,
      on: "",
      readiness: serviceProblem.readiness,
      message: `${serviceProblem.message}: no traffic goes to the canary until it can take it`,
    };
  }
  // While someone else's edit of stable holds the release, stable is not this release's to wait for.
  if (status.stableDrift !== undefined && !status.stableDrift.accepted) return undefined;
  if ((isBaking(ctx) || isGAStage(ctx)) && !(stableOnNewVersion(ctx) && stable.ready)) {
    return stableNotReady(release.spec.version);
  }
  return undefined;
}

/** The condition that records since when a needed workload is not Ready (its lastTransitionTime). */
export const WORKLOADS_READY = "WorkloadsReady";

/** Since when the current step's workloads have not been Ready, as recorded (or now, if they were). */
export function notReadySinceMs(ctx: DecisionContext): number {
  const condition = ctx.status.conditions.find((candidate) => candidate.type === WORKLOADS_READY);
  return condition?.status === "False" ? Date.parse(condition.lastTransitionTime) : ctx.nowMs;
}
