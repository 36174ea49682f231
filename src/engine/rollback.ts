import { baselineOutstanding } from "./baseline.ts";
import { formatDuration, type ReleaseStatus, type RollbackTrigger, type VersionRef } from "../api/index.ts";
import { metricEvidence, type StageVerdict } from "./analysis.ts";
import { clip, type DecisionContext } from "./context.ts";
import { exitCurrentStage, setMessage, transition } from "./record.ts";
import { isGAStage } from "./position.ts";
import type { AlertObservation, WorkloadObservation } from "./types.ts";
import {
  canaryName,
  canaryScaledDown,
  describeImages,
  describeVersion,
  readiness,
  releaseTouchedStable,
  runsImages,
  stableName,
  notReadySinceMs,
  stableOnNewImages,
  stableOnPrevious,
  workloadNotReady,
} from "./world.ts";

// Rollback: what triggers it (a person, an alert, the new pods' health, a
// deadline, a metric), how it starts, and when it is done.

type RollbackRecord = NonNullable<ReleaseStatus["rollback"]>;
export type RollbackRequest = Pick<
  RollbackRecord,
  "trigger" | "reason" | "by" | "metric" | "value" | "unit" | "threshold" | "alert"
> & { trigger: RollbackTrigger };

/** The first reason to roll back a started release, most deliberate first. */
export function findRollbackTrigger(
  ctx: DecisionContext,
  verdict: StageVerdict | undefined,
): RollbackRequest | undefined {
  const abort = ctx.release.spec.control?.abort;
  if (abort) return abortRequest(abort);
  const alert = firstAlert(ctx.observations.alerts, ctx.status.startedAt);
  if (alert) {
    return {
      trigger: "alert",
      reason: `alert ${alert.name} is firing (since ${alert.startsAt}, fingerprint ${alert.fingerprint})`,
      alert: {
        name: clip(alert.name, 256),
        fingerprint: clip(alert.fingerprint, 64),
        labels: alert.labels,
      },
    };
  }
  const health = healthProblem(ctx);
  if (health) return health;
  if (verdict?.failed)
    return { trigger: "metric", reason: verdict.failed.reason, ...metricEvidence(verdict.failed) };
  return undefined;
}

export function abortRequest(abort: { by: string; reason?: string | undefined }): RollbackRequest {
  return {
    trigger: "manual",
    by: abort.by,
    reason: `aborted by ${abort.by}${abort.reason ? `: ${abort.reason}` : ""}`,
  };
}

/**
 * The earliest alert that began once the release had started. One already firing at
 * the start is not evidence against this release, and must not stop the emergency
 * fix for the very incident it reports.
 */
function firstAlert(
  alerts: readonly AlertObservation[],
  startedAt: string | undefined,
): AlertObservation | undefined {
  const startedMs = startedAt === undefined ? Number.NEGATIVE_INFINITY : Date.parse(startedAt);
  return alerts
    .filter((alert) => !(Date.parse(alert.startsAt) < startedMs))
    .sort((a, b) => a.startsAt.localeCompare(b.startsAt) || a.fingerprint.localeCompare(b.fingerprint))[0];
}

/**
 * Crash loops and deadlines of the workloads this release changed. A workload's
 * health counts only once it runs the new images, so a leftover canary from an
 * earlier release, or stable's own trouble before promotion, never rolls back.
 */
function healthProblem(ctx: DecisionContext): RollbackRequest | undefined {
  const { status, observations, plan } = ctx;
  const deadline = formatDuration(plan.progressDeadlineMs);
  const canary = observations.canary;
  const stable = observations.stable;
  const canaryInUse = status.bakeStartedAt === undefined && runsImages(canary, ctx.release.spec.images);
  const stableInUse = (status.bakeStartedAt !== undefined || isGAStage(ctx)) && stableOnNewImages(ctx);

  if (canaryInUse && canary.unhealthy) return unhealthyRequest(`canary ${canaryName(ctx)}`, canary);
  if (stableInUse && stable.unhealthy) return unhealthyRequest(`stable ${stableName(ctx)}`, stable);
  if (canaryInUse && canary.progressDeadlineExceeded) {
    return {
      trigger: "deadline",
      reason: `the canary Deployment ${canaryName(ctx)} exceeded its progress deadline (${readiness(canary)})`,
    };
  }
  if (stableInUse && stable.progressDeadlineExceeded) {
    return {
      trigger: "deadline",
      reason: `the stable Deployment ${stableName(ctx)} exceeded its progress deadline on ${ctx.release.spec.version} (${readiness(stable)})`,
    };
  }
  // A workload the current step needs gets progressDeadline to become (or be again) Ready:
  // measured from the WorkloadsReady condition, so a pod that stops being Ready mid-stage
  // without crashing cannot hold the release forever.
  const notReady = workloadNotReady(ctx);
  if (notReady && ctx.nowMs >= notReadySinceMs(ctx) + plan.progressDeadlineMs) {
    return {
      trigger: "deadline",
      reason: `${notReady.workload} has not been Ready${notReady.on} for ${deadline} (${notReady.readiness})`,
    };
  }
  return undefined;
}

function unhealthyRequest(what: string, workload: WorkloadObservation): RollbackRequest {
  const problem = workload.unhealthy;
  if (!problem) throw new Error("engine: unhealthyRequest needs an unhealthy workload");
  return {
    trigger: "health",
    reason: `${what}: pod ${problem.pod} container ${problem.container} is ${problem.reason} (${problem.restarts} restarts)`,
  };
}

/** Records why, and heads for RollingBack — or Failed when there is nothing to restore. */
export function startRollback(ctx: DecisionContext, request: RollbackRequest): void {
  const status = ctx.status;
  status.rollback = {
    ...request,
    reason: clip(request.reason, 2048),
    at: ctx.now,
  };
  exitCurrentStage(ctx, request.trigger === "manual" ? "aborted" : "failed");
  if (!status.previous) {
    const why =
      status.startedAt === undefined
        ? `${request.reason}; the release had not started, so nothing was changed`
        : `cannot roll back, the previous version was never captured: ${request.reason}`;
    transition(ctx, "Failed", why, "failed");
    return;
  }
  transition(ctx, "RollingBack", `rolling back (${request.trigger}): ${request.reason}`);
}

/** RollingBack → RolledBack once the cluster shows the rollback done, or Failed past the deadline. */
export function stepRollingBack(ctx: DecisionContext): void {
  const { status } = ctx;
  const previous = status.previous;
  const rollback = status.rollback;
  if (!previous || !rollback) {
    transition(ctx, "Failed", "rolling back without a previous version or a rollback record", "failed");
    return;
  }
  const waitingFor = rollbackOutstanding(ctx, previous);
  if (waitingFor.length === 0) {
    const stable = ctx.observations.stable;
    // Before the promotion this release never wrote stable: whatever stable runs now (a
    // person's hotfix included) is what the traffic went back to, and it is left as it is.
    const leftAsItIs = !releaseTouchedStable(ctx) && !stableOnPrevious(ctx, previous);
    const restored = leftAsItIs
      ? { ...(stable.version === undefined ? {} : { version: stable.version }), images: { ...stable.images } }
      : { ...(previous.version === undefined ? {} : { version: previous.version }), images: previous.images };
    status.rollback = {
      ...rollback,
      restored,
      completedAt: ctx.now,
      verified: true,
      verification: leftAsItIs
        ? `all traffic on stable ${stableName(ctx)}, which this release never changed (it runs ${describeImages(stable.images)}, left as someone else set it), canary scaled to 0`
        : `stable ${stableName(ctx)} Ready on ${describeVersion(previous)}, all traffic on stable, canary scaled to 0`,
    };
    transition(
      ctx,
      "RolledBack",
      leftAsItIs
        ? `rolled back: all traffic on stable ${stableName(ctx)}, left as someone else set it (${describeImages(stable.images)}): ${rollback.reason}`
        : `rolled back to ${describeVersion(previous)}: ${rollback.reason}`,
      "rolledBack",
    );
    return;
  }
  const outstanding = waitingFor.join("; ");
  if (ctx.nowMs >= Date.parse(rollback.at) + ctx.plan.progressDeadlineMs) {
    status.rollback = {
      ...rollback,
      verified: false,
      verification: clip(
        `not restored within ${formatDuration(ctx.plan.progressDeadlineMs)}: ${outstanding}`,
        1024,
      ),
    };
    transition(ctx, "Failed", `the rollback did not complete: still waiting for ${outstanding}`, "failed");
    return;
  }
  setMessage(ctx, `rolling back (${rollback.trigger}): waiting for ${outstanding}`);
}

function rollbackOutstanding(ctx: DecisionContext, previous: VersionRef): string[] {
  const { traffic, canary, stable } = ctx.observations;
  const outstanding: string[] = [];
  if (traffic.canaryWeight !== 0)
    outstanding.push(`the router to send all traffic to stable (canary has ${traffic.canaryWeight}%)`);
  else if (!traffic.verified) outstanding.push("the router to confirm weight 0");
  if (!canaryScaledDown(ctx))
    outstanding.push(`${canaryName(ctx)} to scale to 0 (${canary.desiredReplicas} replicas)`);
  outstanding.push(...baselineOutstanding(ctx));
  // Stable is this rollback's business only if this release changed it.
  if (!releaseTouchedStable(ctx)) return outstanding;
  if (!stableOnPrevious(ctx, previous))
    outstanding.push(`${stableName(ctx)} to run ${describeVersion(previous)}`);
  else if (!stable.ready) outstanding.push(`${stableName(ctx)} to be Ready (${readiness(stable)})`);
  return outstanding;
}

/** Stable was changed by this release, so a rollback must put it back. */
export function stableNeedsRevert(ctx: DecisionContext, previous: VersionRef): boolean {
  return releaseTouchedStable(ctx) && !stableOnPrevious(ctx, previous);
}
