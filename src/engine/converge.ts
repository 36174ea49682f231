import {
  baselineHolds,
  comparingStage,
  convergeBaseline,
  desiredBaselineWeight,
  usesBaseline,
} from "./baseline.ts";
import { convergeCanaryAutoscaler, removeCanaryAutoscaler } from "./autoscaling.ts";
import { isTerminal, phaseOf, type DecisionContext } from "./context.ts";
import { imagesNotAllowed } from "./image-policy.ts";
import { stableNeedsRevert } from "./rollback.ts";
import { routingHolds, stageRouting } from "./routing.ts";
import type { StageRouting } from "../api/index.ts";
import { unacceptedDrift } from "./stable-watch.ts";
import { isBaking, isGAStage } from "./position.ts";
import type { Action } from "./types.ts";
import {
  canaryScaledDown,
  canaryServiceProblem,
  desiredCanaryReplicas,
  routerHolds,
  runsImages,
  splitsByReplicas,
  stableOnNewVersion,
  trafficAt,
} from "./world.ts";

// Actions are desired state: from the status just decided, what the cluster should
// look like, compared with what was observed. Whatever already holds is not asked
// for again; whatever does not is asked for on every call until it holds, so an
// action lost in a crash is simply asked for again.

export interface Convergence {
  actions: Action[];
  /** The cluster already looks as this status wants it (workloads Ready, router confirmed). */
  settled: boolean;
}

export function converge(ctx: DecisionContext): Convergence {
  const phase = phaseOf(ctx.status);
  // Before the start nothing was changed; terminal phases act no more.
  if (isTerminal(phase) || ctx.status.startedAt === undefined) return { actions: [], settled: true };
  if (phase === "RollingBack") return convergeRollback(ctx);
  if (isBaking(ctx)) return convergePromoted(ctx);
  return convergeCanary(ctx);
}

function convergeCanary(ctx: DecisionContext): Convergence {
  const { canary, stable, canaryService } = ctx.observations;
  const { spec } = ctx.release;
  const actions: Action[] = [];
  let settled = true;

  const replicas = desiredCanaryReplicas(ctx);
  const serviceProblem = canaryServiceProblem(ctx);
  const missingService = serviceProblem !== undefined && !canaryService.exists;
  const canaryAsWanted =
    runsImages(canary, spec.images) &&
    (replicas === undefined || canary.desiredReplicas === replicas) &&
    !missingService;
  // Held by the image policy: the canary is never written with images it refuses.
  if (!canaryAsWanted && !imagesNotAllowed(ctx)) {
    // Where the replica split owns the count, new images keep it (never below one pod).
    const keep = Math.max(1, canary.exists ? canary.desiredReplicas : 1);
    actions.push({ type: "ensureCanary", images: spec.images, replicas: replicas ?? keep });
    settled = false;
  } else if (!canaryAsWanted || !canary.ready || serviceProblem) settled = false;
  // An autoscaled target's canary has its own copy of the autoscaler (docs/autoscaling.md).
  if (canary.exists || actions.length > 0) settled = convergeCanaryAutoscaler(ctx, actions) && settled;

  // No stage until the canary is Ready, so the router is only ever pointed at a Ready canary.
  // (The replica split has nothing to point before the first stage: the one pod is the split.)
  // A canary Service that cannot take traffic gets none: its share goes back to stable first,
  // before the canary is ensured again (which may be what keeps failing).
  if (ctx.status.currentStage || !splitsByReplicas(ctx)) {
    const weight = serviceProblem ? 0 : (ctx.status.currentStage?.weight ?? 0);
    const routing = serviceProblem ? undefined : stageRouting(ctx);
    const weightActions: Action[] = [];
    settled = convergeWeight(ctx, weight, weightActions, routing) && settled;
    if (serviceProblem) actions.unshift(...weightActions);
    else actions.push(...weightActions);
  }

  // The baseline beside the canary while the stages compare (from before the first one, so it
  // is Ready with the canary); as many pods as the canary.
  const comparing = ctx.status.currentStage === undefined || comparingStage(ctx.status);
  const baselineReplicas = replicas ?? canary.desiredReplicas;
  settled = convergeBaseline(ctx, comparing ? { replicas: baselineReplicas } : undefined, actions) && settled;

  // At GA the canary takes all traffic while stable rolls to the new version unloaded;
  // never over someone else's edit a person has not seen.
  if (isGAStage(ctx) && !unacceptedDrift(ctx)) {
    if (!stableOnNewVersion(ctx)) {
      actions.push({ type: "promoteStable", images: spec.images, version: spec.version });
      settled = false;
    } else if (!stable.ready) settled = false;
  }
  return { actions, settled };
}

function convergePromoted(ctx: DecisionContext): Convergence {
  const { stable } = ctx.observations;
  const { spec } = ctx.release;
  const actions: Action[] = [];
  let settled = true;
  // While someone else's edit holds the release, stable is left as they made it.
  if (!unacceptedDrift(ctx)) {
    if (!stableOnNewVersion(ctx)) {
      actions.push({ type: "promoteStable", images: spec.images, version: spec.version });
      settled = false;
    } else if (!stable.ready) settled = false;
  }
  const trafficOnStable = convergeWeight(ctx, 0, actions);
  settled = trafficOnStable && settled;
  settled = convergeBaseline(ctx, undefined, actions) && settled;
  // The canary's autoscaler copy goes first, so that nothing scales the canary up again.
  if (trafficOnStable) settled = removeCanaryAutoscaler(ctx, actions) && settled;
  // Scale the canary down only once the router confirms it gets nothing, so no request is dropped.
  if (!canaryScaledDown(ctx)) {
    if (trafficOnStable) actions.push({ type: "scaleCanary", replicas: 0 });
    settled = false;
  }
  return { actions, settled };
}

/** A rollback is urgent: everything is asked for at once, stable first when it was changed. */
function convergeRollback(ctx: DecisionContext): Convergence {
  const previous = ctx.status.previous;
  const actions: Action[] = [];
  let settled = true;
  if (previous && stableNeedsRevert(ctx, previous)) {
    actions.push({
      type: "revertStable",
      images: previous.images,
      ...(previous.version ? { version: previous.version } : {}),
    });
    settled = false;
  } else if (!ctx.observations.stable.ready) settled = false;
  settled = convergeWeight(ctx, 0, actions) && settled;
  settled = removeCanaryAutoscaler(ctx, actions) && settled;
  if (!canaryScaledDown(ctx)) {
    actions.push({ type: "scaleCanary", replicas: 0 });
    settled = false;
  }
  settled = convergeBaseline(ctx, undefined, actions) && settled;
  return { actions, settled };
}

/**
 * Asks for the weight (and a routing stage's match or mirror; none otherwise) if the router
 * holds another; true once it holds it and confirmed it.
 */
function convergeWeight(
  ctx: DecisionContext,
  canaryWeight: number,
  actions: Action[],
  routing?: StageRouting,
): boolean {
  const baselineWeight = desiredBaselineWeight(ctx, canaryWeight);
  if (!routerHolds(ctx, canaryWeight) || !baselineHolds(ctx, baselineWeight) || !routingHolds(ctx, routing)) {
    actions.push({
      type: "setWeight",
      canaryWeight,
      ...(usesBaseline(ctx) ? { baselineWeight } : {}),
      ...(routing ? { routing } : {}),
    });
    return false;
  }
  return trafficAt(ctx, canaryWeight);
}
