import { nextAnalysisAtMs, requestAnalysisIfDue } from "./analysis.ts";
import {
  createContext,
  emptyStatus,
  isTerminal,
  parseTime,
  phaseOf,
  toTimestamp,
  type DecisionContext,
} from "./context.ts";
import { noteCanaryScale } from "./autoscaling.ts";
import { converge } from "./converge.ts";
import { announceFreeze } from "./freeze.ts";
import { step } from "./lifecycle.ts";
import { recordBlock, updateConditions, type BlockContext } from "./record.ts";
import { isBaking, stageAt } from "./position.ts";
import { parseDuration } from "../api/index.ts";
import type { BlockedObservation, EngineInput, EngineResult } from "./types.ts";
import { canaryServiceProblem, notReadySinceMs, workloadNotReady } from "./world.ts";

/** Waiting for a workload or the router to converge. */
export const CONVERGE_RETRY_MS = 5_000;
/** Waiting for another release of the same target to finish. */
export const BLOCKED_RETRY_MS = 30_000;
/** Waiting for the canary Service's endpoints: no watch event says when they are ready. */
export const SERVICE_RETRY_MS = 1_000;
/** Waiting for a change window whose next opening is unknown. */
export const WINDOW_RETRY_MS = 60_000;
/** A release waiting for approval where the webhook does not cover it looks again this often: a fixed configuration or namespace label fires no event on the Release. */
export const COVERAGE_RETRY_MS = 30_000;

/** More passes than any real path needs (every stage entered in one call, plus a rollback). */
const MAX_PASSES = 32;

/**
 * The release state machine: from the release (its spec, plan and status) and a
 * snapshot of the cluster, the next status and the actions that move the cluster
 * towards it. Pure: no I/O, no clock, no randomness, inputs untouched.
 *
 * It runs to a fixed point, so calling it again with its own status and the same
 * observations changes nothing and announces nothing.
 */
export function decide(input: EngineInput): EngineResult {
  const before = input.release.status;
  if (before && isTerminal(phaseOf(before))) return { status: structuredClone(before), actions: [] };

  const ctx = createContext(input);
  settle(ctx);
  const generation = input.release.metadata.generation;
  if (generation !== undefined) ctx.status.observedGeneration = generation;
  const analysis = requestAnalysisIfDue(ctx);
  announceFreeze(ctx);
  updateConditions(ctx);
  if (ctx.status.startedAt !== undefined && !isTerminal(phaseOf(ctx.status))) noteCanaryScale(ctx);
  const convergence = converge(ctx);
  const requeueAfterMs = requeueAfter(ctx, convergence.settled);
  return {
    status: ctx.status,
    actions: [...convergence.actions, ...(analysis ? [analysis] : []), ...ctx.announcements],
    ...(requeueAfterMs === undefined ? {} : { requeueAfterMs }),
  };
}

/**
 * For a reconcile that could not observe the cluster (a route that does not exist, a
 * read the controller may not make): nothing can be decided, but the block is recorded
 * in the Progressing condition and the message, and announced once. Pure, like decide().
 */
export function recordBlocked(input: {
  release: EngineInput["release"];
  now: string;
  blocked: BlockedObservation;
}): EngineResult {
  const before = input.release.status;
  if (before && isTerminal(phaseOf(before))) return { status: structuredClone(before), actions: [] };
  const ctx: BlockContext = {
    release: input.release,
    now: toTimestamp(parseTime(input.now, "now")),
    status: before ? structuredClone(before) : emptyStatus(),
    announcements: [],
  };
  recordBlock(ctx, input.blocked);
  return { status: ctx.status, actions: ctx.announcements };
}

/** Steps until the status stops changing: one call does everything these observations allow. */
function settle(ctx: DecisionContext): void {
  let before = JSON.stringify(ctx.status);
  for (let pass = 0; pass < MAX_PASSES; pass++) {
    step(ctx);
    const after = JSON.stringify(ctx.status);
    if (after === before) return;
    before = after;
  }
  throw new Error(
    `engine: release ${ctx.release.metadata.name} did not settle in ${MAX_PASSES} passes (phase ${phaseOf(ctx.status)}); this is a bug in the engine`,
  );
}

/** The soonest moment something can change without a watch event: a timer, a round, a deadline, a retry. */
function requeueAfter(ctx: DecisionContext, settled: boolean): number | undefined {
  const { status, plan, observations, nowMs } = ctx;
  const phase = phaseOf(status);
  if (isTerminal(phase)) return undefined;
  const delays: number[] = [];
  const at = (ms: number | undefined) => {
    if (ms !== undefined && ms > nowMs) delays.push(ms - nowMs);
  };

  if (phase === "Pending" && status.waitingFor !== undefined) delays.push(BLOCKED_RETRY_MS);
  if (phase === "AwaitingApproval" && observations.identity?.uncovered !== undefined)
    delays.push(COVERAGE_RETRY_MS);
  if (phase === "WaitingForWindow") {
    const opens = observations.changeWindow.nextOpenAt;
    const opensMs = opens === undefined ? undefined : parseTime(opens, "changeWindow.nextOpenAt");
    if (opensMs !== undefined && opensMs > nowMs) at(opensMs);
    else delays.push(WINDOW_RETRY_MS);
  }
  // The next edge of a window or freeze: a release waiting starts, one in flight hears of a freeze, on time.
  const edge = observations.changeWindow.changesAt;
  if (edge !== undefined) at(parseTime(edge, "changeWindow.changesAt"));
  const waitingForService = phase !== "RollingBack" && !isBaking(ctx) && canaryServiceProblem(ctx);
  if (!settled) delays.push(waitingForService ? SERVICE_RETRY_MS : CONVERGE_RETRY_MS);
  at(nextAnalysisAtMs(ctx));

  const current = status.currentStage;
  if (phase === "Progressing" && current && !isBaking(ctx)) {
    at(Date.parse(current.startedAt) + parseDuration(stageAt(ctx, current.index).hold));
  }
  if (status.bakeStartedAt !== undefined) at(Date.parse(status.bakeStartedAt) + plan.bakeMs);
  if (phase === "RollingBack" && status.rollback)
    at(Date.parse(status.rollback.at) + plan.progressDeadlineMs);
  else if (workloadNotReady(ctx)) at(notReadySinceMs(ctx) + plan.progressDeadlineMs);
  return delays.length === 0 ? undefined : Math.min(...delays);
}
