import { baselineOutstanding } from "./baseline.ts";
import { describeRouting, formatDuration, parseDuration, stageRoutingOf, type Stage } from "../api/index.ts";
import { routingHolds, stageRouting } from "./routing.ts";
import { judgeStage, minMeasurementsFor, type StageVerdict } from "./analysis.ts";
import { phaseOf, type DecisionContext } from "./context.ts";
import { approvalState } from "./approval.ts";
import { heldByFreeze } from "./freeze.ts";
import { approvers, isApproved, type Promote } from "./gates.ts";
import { gaIndex, isBaking, isGAStage, stageAt } from "./position.ts";
import {
  BAKE_STAGE_NAME,
  currentStageRecord,
  enterStage,
  exitCurrentStage,
  setMessage,
  transition,
} from "./record.ts";
import {
  canaryName,
  canaryReady,
  canaryScaledDown,
  canaryServiceProblem,
  readiness,
  stableName,
  stableOnNewVersion,
  trafficAt,
} from "./world.ts";

// The forward path of a started release: wait for the canary, walk the stages,
// promote at GA, bake, succeed. Rollbacks and pauses are decided before this runs.

/** Facts worth recording whatever the phase: the promotion reached the cluster, a weight was reached. */
export function recordProgressFacts(ctx: DecisionContext): void {
  const { status, observations } = ctx;
  if (
    isGAStage(ctx) &&
    status.promotedAt === undefined &&
    stableOnNewVersion(ctx) &&
    observations.stable.ready
  ) {
    status.promotedAt = ctx.now;
  }
  const record = currentStageRecord(status);
  if (
    record &&
    !isBaking(ctx) &&
    record.reachedWeight === undefined &&
    trafficAt(ctx, record.weight) &&
    routingHolds(ctx, stageRouting(ctx))
  ) {
    record.reachedWeight = observations.traffic.canaryWeight;
    if (observations.traffic.partition !== undefined) record.partition = observations.traffic.partition;
  }
}

/** The verdict of the running stage (or bake), against its own minimum of passing rounds. */
export function judgeCurrent(ctx: DecisionContext): StageVerdict | undefined {
  const current = ctx.status.currentStage;
  if (!current) return undefined;
  const stageMinimum = isBaking(ctx) ? undefined : stageAt(ctx, current.index).minMeasurements;
  return judgeStage(ctx, minMeasurementsFor(ctx, stageMinimum));
}

export function stepForward(
  ctx: DecisionContext,
  promote: Promote | undefined,
  verdict: StageVerdict | undefined,
): void {
  const current = ctx.status.currentStage;
  if (isBaking(ctx)) stepBake(ctx, promote, verdict);
  else if (!current) stepCanaryStart(ctx);
  else stepStage(ctx, current.index, promote, verdict);
}

function stepCanaryStart(ctx: DecisionContext): void {
  if (!canaryReady(ctx)) {
    setMessage(
      ctx,
      `starting: waiting for the canary ${canaryName(ctx)} to be Ready (${readiness(ctx.observations.canary)})`,
    );
    return;
  }
  const serviceProblem = canaryServiceProblem(ctx);
  if (serviceProblem) {
    setMessage(ctx, `starting: waiting: ${serviceProblem.message}`);
    return;
  }
  advanceTo(ctx, 0, undefined, `the canary ${canaryName(ctx)} is Ready`);
}

function stepStage(
  ctx: DecisionContext,
  index: number,
  promote: Promote | undefined,
  verdict: StageVerdict | undefined,
): void {
  const { status } = ctx;
  const stage = stageAt(ctx, index);
  const startedAtMs = Date.parse(status.currentStage?.startedAt ?? ctx.now);
  const holdEndsMs = startedAtMs + parseDuration(stage.hold);
  const held = ctx.nowMs >= holdEndsMs;
  const routing = stageRoutingOf(stage);
  const weightReached = trafficAt(ctx, stage.weight) && routingHolds(ctx, routing);
  const analysisPassed = verdict?.passing ?? true;
  const passed = held && analysisPassed && weightReached;
  const awaitingApproval = phaseOf(status) === "AwaitingApproval";

  const isGA = index === gaIndex(ctx);
  const blocker = advanceBlocker(ctx, isGA);
  if ((passed || promote || awaitingApproval) && !blocker) {
    const cause = promote
      ? `promoted by ${promote.by}${promote.full ? " (full)" : ""}`
      : awaitingApproval
        ? `approved by ${approvers(ctx)}`
        : `stage ${stage.name} passed (${verdict?.summary ?? "no metrics"})`;
    if (isGA) enterBake(ctx, promote, cause);
    else advanceTo(ctx, promote?.full ? gaIndex(ctx) : index + 1, promote, cause);
    return;
  }
  if (awaitingApproval) return;

  const waits: string[] = [];
  if (!held) waits.push(`holding until ${new Date(holdEndsMs).toISOString()}`);
  if (!weightReached) waits.push(`waiting for the router to hold ${describeStageTraffic(stage)}`);
  if (blocker) waits.push(`waiting for ${blocker}`);
  if (verdict && !verdict.passing) waits.push(verdict.summary);
  setMessage(
    ctx,
    `stage ${stage.name} (${describeStageTraffic(stage)}): ${waits.join("; ") || "ready to advance"}`,
  );
}

/** What must become Ready before the stage may be left, even on a promote. */
function advanceBlocker(ctx: DecisionContext, isGA: boolean): string | undefined {
  const { stable, canary } = ctx.observations;
  // GA is left for the bake only once stable runs the new version, Ready.
  if (isGA) {
    return ctx.status.promotedAt === undefined
      ? `the stable ${stableName(ctx)} to be Ready on ${ctx.release.spec.version} (${readiness(stable)})`
      : undefined;
  }
  // More traffic only ever goes to a Ready canary, through a Service that can take it.
  if (!canaryReady(ctx)) return `the canary ${canaryName(ctx)} to be Ready (${readiness(canary)})`;
  const serviceProblem = canaryServiceProblem(ctx);
  return serviceProblem
    ? `the canary Service ${ctx.observations.canaryService.name} to take traffic (${serviceProblem.readiness})`
    : undefined;
}

/** Leaves the running stage (if any) for stage `target`, unless that stage waits for an approval. */
function advanceTo(ctx: DecisionContext, target: number, promote: Promote | undefined, cause: string): void {
  const stage = stageAt(ctx, target);
  const frozen = heldByFreeze(ctx, promote);
  if (frozen) {
    setMessage(ctx, `${cause}; ${frozen} before stage ${stage.name} (${stage.weight}%)`);
    return;
  }
  if (stage.requiresApproval && !isApproved(ctx)) {
    // The promote stays pending: it is carried out once a person approves.
    transition(
      ctx,
      "AwaitingApproval",
      `stage ${stage.name} (${stage.weight}%) needs an approval: glidepath approve ${ctx.release.metadata.name} --by <you> (${approvalState(ctx).message})`,
      "awaitingApproval",
    );
    return;
  }
  leaveCurrentStage(ctx, promote);
  enterStage(ctx, target, stage.name, stage.weight);
  // The record keeps what the stage routed by, beside its weight.
  const record = currentStageRecord(ctx.status);
  if (record && stage.match) record.match = stage.match;
  if (record && stage.mirror) record.mirror = stage.mirror;
  transition(ctx, "Progressing", `${cause}; entering stage ${stage.name} (${describeStageTraffic(stage)})`);
}

function enterBake(ctx: DecisionContext, promote: Promote | undefined, cause: string): void {
  leaveCurrentStage(ctx, promote);
  ctx.status.bakeStartedAt = ctx.now;
  enterStage(ctx, ctx.plan.stages.length, BAKE_STAGE_NAME, 100);
  transition(
    ctx,
    "Baking",
    `${cause}; stable runs ${ctx.release.spec.version}, baking while analysing stable`,
  );
}

function leaveCurrentStage(ctx: DecisionContext, promote: Promote | undefined): void {
  exitCurrentStage(ctx, promote ? "promoted" : "passed");
  if (promote) ctx.status.handledPromoteAt = promote.at;
}

function stepBake(
  ctx: DecisionContext,
  promote: Promote | undefined,
  verdict: StageVerdict | undefined,
): void {
  const { status, observations } = ctx;
  const bakeEndsMs = Date.parse(status.bakeStartedAt ?? ctx.now) + ctx.plan.bakeMs;
  const baked = ctx.nowMs >= bakeEndsMs && (verdict?.passing ?? true);
  const settled =
    stableOnNewVersion(ctx) &&
    observations.stable.ready &&
    trafficAt(ctx, 0) &&
    canaryScaledDown(ctx) &&
    baselineOutstanding(ctx).length === 0;
  if ((baked || promote) && settled) {
    leaveCurrentStage(ctx, promote);
    const cause = promote
      ? `bake cut short by ${promote.by}`
      : `baked for ${formatDuration(ctx.plan.bakeMs)}`;
    transition(ctx, "Succeeded", `${ctx.release.spec.version} is live: ${cause}`, "succeeded");
    return;
  }
  const waits: string[] = [];
  if (ctx.nowMs < bakeEndsMs) waits.push(`baking until ${new Date(bakeEndsMs).toISOString()}`);
  if (!settled) waits.push("waiting for all traffic on a Ready stable and the canary at 0");
  if (verdict && !verdict.passing) waits.push(verdict.summary);
  setMessage(ctx, `bake: ${waits.join("; ") || "done"}`);
}

/** "10%", or "only x-internal: true" for a match stage, "mirror 20%" for a mirror stage. */
function describeStageTraffic(stage: Stage): string {
  return describeRouting(stageRoutingOf(stage)) ?? `${stage.weight}%`;
}
