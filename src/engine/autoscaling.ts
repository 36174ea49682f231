import type { CanaryScaleSource, CanaryScaleStatus } from "../api/index.ts";
import { routerIsolatesCanary, withCanarySuffix } from "../api/workload-names.ts";
import type { DecisionContext } from "./context.ts";
import type { Action, AutoscalerObservation } from "./types.ts";

// Autoscaled targets (docs/autoscaling.md). The stable Deployment's HorizontalPodAutoscaler
// is the user's: Glidepath never writes it nor stable's replicas, so stable is never below
// what its autoscaler wants. With a router the canary gets its own copy (its pods only, so
// an overloaded canary is not averaged away by idle stable pods), bounded in proportion to
// the share of traffic the canary is about to take. Pure.

export interface AutoscalerBounds {
  minReplicas: number;
  maxReplicas: number;
}

/**
 * The canary copy's bounds for a share of `weight`%: the stable autoscaler's bounds scaled
 * by the weight, the floor also covering that share of `fullLoadReplicas` (what stable needed
 * for all the traffic). Never below 1, never above the stable autoscaler's maximum, min ≤ max.
 */
export function canaryAutoscalerBounds(
  stable: AutoscalerBounds,
  fullLoadReplicas: number,
  weight: number,
): AutoscalerBounds {
  if (!Number.isInteger(weight) || weight < 0 || weight > 100) {
    throw new Error(`canary autoscaler: weight must be a whole percentage 0..100, not ${weight}`);
  }
  const share = (replicas: number) => Math.ceil((Math.max(0, replicas) * weight) / 100);
  const maxReplicas = Math.max(1, share(stable.maxReplicas));
  const floor = Math.max(1, share(stable.minReplicas), share(fullLoadReplicas));
  return { minReplicas: Math.min(floor, maxReplicas), maxReplicas };
}

/** The name of the canary's copy of the stable autoscaler. */
export function canaryAutoscalerName(autoscaler: string): string {
  return withCanarySuffix(autoscaler);
}

export function canaryScaleSource(ctx: DecisionContext): CanaryScaleSource {
  if (!routerIsolatesCanary(ctx.release.spec.traffic)) return "replicaSplit";
  if (ctx.release.spec.canaryScale !== undefined) return "fixed";
  return ctx.observations.autoscaler ? "autoscaler" : "stable";
}

/**
 * The weight the canary is sized for: the one it is about to take (the first stage's before
 * the first, the next stage's during a stage, 100 at GA). A stage is left only with a Ready
 * canary, so no share moves to a canary still too small for it.
 */
export function sizingWeight(ctx: DecisionContext): number {
  const stages = ctx.plan.stages;
  const current = ctx.status.currentStage;
  const next = current === undefined ? 0 : Math.min(current.index + 1, stages.length - 1);
  return stages[next]?.weight ?? 100;
}

/** The copy's bounds now, when the canary follows a copy of stable's autoscaler. */
export function wantedCanaryAutoscaler(ctx: DecisionContext): AutoscalerBounds | undefined {
  const autoscaler = ctx.observations.autoscaler;
  if (!autoscaler || canaryScaleSource(ctx) !== "autoscaler") return undefined;
  return canaryAutoscalerBounds(autoscaler, fullLoadReplicas(ctx, autoscaler), sizingWeight(ctx));
}

/**
 * What stable needed for all the traffic: its replicas when the release started, or more
 * if its autoscaler has since asked for more (load grew), never less than its minimum.
 */
function fullLoadReplicas(ctx: DecisionContext, autoscaler: AutoscalerObservation): number {
  return Math.max(
    ctx.status.previous?.replicas ?? 0,
    ctx.observations.stable.desiredReplicas,
    autoscaler.minReplicas,
  );
}

/**
 * The canary's replicas under its autoscaler copy: what the copy chose, held inside its
 * bounds (as the autoscaler itself would hold them), the floor from the start.
 */
export function autoscaledCanaryReplicas(ctx: DecisionContext, bounds: AutoscalerBounds): number {
  const canary = ctx.observations.canary;
  if (!canary.exists || canary.desiredReplicas === 0) return bounds.minReplicas;
  return Math.min(Math.max(canary.desiredReplicas, bounds.minReplicas), bounds.maxReplicas);
}

/** Records what sizes the canary (status.canaryScale), for the CLI and the record. */
export function noteCanaryScale(ctx: DecisionContext): void {
  const source = canaryScaleSource(ctx);
  const autoscaler = ctx.observations.autoscaler;
  const bounds = wantedCanaryAutoscaler(ctx);
  const named = autoscaler ? { autoscaler: autoscaler.name } : {};
  let scale: CanaryScaleStatus;
  switch (source) {
    case "autoscaler":
      scale = {
        source,
        ...named,
        canaryAutoscaler: canaryAutoscalerName(autoscaler?.name ?? ""),
        ...(bounds ?? {}),
        message:
          `a copy of stable's autoscaler ${autoscaler?.name ?? ""}, ${bounds?.minReplicas ?? "?"}..${bounds?.maxReplicas ?? "?"} ` +
          `replicas for ${sizingWeight(ctx)}% of the traffic`,
      };
      break;
    case "fixed":
      scale = {
        source,
        ...named,
        message: `fixed at ${ctx.release.spec.canaryScale?.replicas ?? "?"} replicas (spec.canaryScale)`,
      };
      break;
    case "replicaSplit":
      scale = {
        source,
        ...named,
        message: autoscaler
          ? `the replica split, from stable's replicas, which its autoscaler ${autoscaler.name} sets`
          : "the replica split, from stable's replicas",
      };
      break;
    case "stable":
      scale = { source, message: "as many replicas as stable (no autoscaler targets it)" };
      break;
  }
  const before = ctx.status.canaryScale;
  if (before && JSON.stringify(before) === JSON.stringify(scale)) return;
  ctx.status.canaryScale = scale;
}

/**
 * While the canary runs: its autoscaler copy exists with the bounds wanted now (or is gone
 * when the canary is fixed or the autoscaler went). True when it already holds.
 */
export function convergeCanaryAutoscaler(ctx: DecisionContext, actions: Action[]): boolean {
  const wanted = wantedCanaryAutoscaler(ctx);
  const copy = ctx.observations.canaryAutoscaler;
  if (!wanted) return removeCanaryAutoscaler(ctx, actions);
  if (copy && copy.minReplicas === wanted.minReplicas && copy.maxReplicas === wanted.maxReplicas) return true;
  actions.push({ type: "ensureCanaryAutoscaler", ...wanted });
  return false;
}

/** Promoted, rolled back or deleted: the copy goes, so nothing scales the canary up again. */
export function removeCanaryAutoscaler(ctx: DecisionContext, actions: Action[]): boolean {
  if (!ctx.observations.canaryAutoscaler) return true;
  actions.push({ type: "removeCanaryAutoscaler" });
  return false;
}
