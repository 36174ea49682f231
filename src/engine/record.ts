import {
  BAKE_STAGE_NAME,
  STATUS_LIMITS,
  type Condition,
  type ReleasePhase,
  type ReleaseStatus,
  type StageRecord,
  type stageOutcomes,
} from "../api/index.ts";
import { clip, isTerminal, phaseOf, type DecisionContext } from "./context.ts";
import type { Action } from "./types.ts";
import { WORKLOADS_READY, workloadNotReady } from "./world.ts";

// The release's record: phase transitions (each with its event and, where on-call
// must know, its notification), stage records and conditions, all bounded so the
// status stays small however long the release runs.

type Notification = Extract<Action, { type: "notify" }>["event"];
export type StageOutcome = (typeof stageOutcomes)[number];

// The bake after GA is recorded as a stage named BAKE_STAGE_NAME (currentStage.index =
// number of stages); the API reserves the name.
export { BAKE_STAGE_NAME };

const WARNING_PHASES: readonly ReleasePhase[] = ["RollingBack", "RolledBack", "Failed"];
const MESSAGE_MAX = 2048;
const TRANSITION_REASON_MAX = 512;
const EVENT_MESSAGE_MAX = 1024;

/** Sets the phase and message; a real change of phase is recorded, announced and, if asked, notified. */
export function transition(
  ctx: DecisionContext,
  to: ReleasePhase,
  reason: string,
  notify?: Notification,
): void {
  const status = ctx.status;
  const from = phaseOf(status);
  status.phase = to;
  status.message = clip(reason, MESSAGE_MAX);
  if (from === to) return;
  appendTransition(status, { at: ctx.now, from, to, reason: clip(reason, TRANSITION_REASON_MAX) });
  if (isTerminal(to)) status.finishedAt = ctx.now;
  ctx.announcements.push({
    type: "emitEvent",
    eventType: WARNING_PHASES.includes(to) ? "Warning" : "Normal",
    reason: to,
    message: clip(reason, EVENT_MESSAGE_MAX),
  });
  if (notify) ctx.announcements.push({ type: "notify", event: notify, message: clip(reason, MESSAGE_MAX) });
}

export function setMessage(ctx: DecisionContext, message: string): void {
  ctx.status.message = clip(message, MESSAGE_MAX);
}

function appendTransition(status: ReleaseStatus, entry: ReleaseStatus["transitions"][number]): void {
  status.transitions.push(entry);
  const dropped = dropOldestAfterFirst(status.transitions, STATUS_LIMITS.transitions);
  if (dropped > 0) status.transitionsDropped = (status.transitionsDropped ?? 0) + dropped;
}

/** Keeps the first entry (how it began) and the newest ones; returns how many were dropped. */
function dropOldestAfterFirst(list: unknown[], limit: number): number {
  const excess = list.length - limit;
  if (excess <= 0) return 0;
  list.splice(1, excess);
  return excess;
}

// ---- stages ----

export function currentStageRecord(status: ReleaseStatus): StageRecord | undefined {
  const current = status.currentStage;
  if (!current) return undefined;
  return status.stages.findLast(
    (record) => record.name === current.name && record.enteredAt === current.startedAt,
  );
}

export function enterStage(ctx: DecisionContext, index: number, name: string, weight: number): void {
  const status = ctx.status;
  status.currentStage = { index, name, weight, startedAt: ctx.now };
  status.stages.push({ name, weight, enteredAt: ctx.now, tallies: [], measurements: [] });
  dropOldestAfterFirst(status.stages, STATUS_LIMITS.stages);
  ctx.announcements.push({
    type: "emitEvent",
    eventType: "Normal",
    reason: "StageEntered",
    message:
      name === BAKE_STAGE_NAME
        ? "bake started: analysing stable"
        : `stage ${name} entered: ${weight}% to the canary`,
  });
}

export function exitCurrentStage(ctx: DecisionContext, outcome: StageOutcome): void {
  const record = currentStageRecord(ctx.status);
  if (record && record.exitedAt === undefined) {
    record.exitedAt = ctx.now;
    record.outcome = outcome;
  }
}

// ---- conditions ----

/** Phases in which the controller is actively moving the release (or its rollback) forward. */
const MOVING_PHASES: readonly ReleasePhase[] = ["Progressing", "Baking", "RollingBack"];

export function updateConditions(ctx: DecisionContext): void {
  const status = ctx.status;
  const phase = phaseOf(status);
  const message = status.message ?? "";
  const { plan } = ctx;
  const stagesText = plan.stages.map((stage) => `${stage.name} ${stage.weight}%`).join(", ");
  const wanted: Omit<Condition, "lastTransitionTime">[] = [
    {
      type: "Valid",
      status: "True",
      reason: "Resolved",
      message: `${plan.preset ? `preset ${plan.preset}` : "inline stages"}: ${stagesText}`,
    },
    { type: "Progressing", status: MOVING_PHASES.includes(phase) ? "True" : "False", reason: phase, message },
    { type: "Ready", status: phase === "Succeeded" ? "True" : "False", reason: phase, message },
    {
      type: "RolledBack",
      status: phase === "RolledBack" ? "True" : "False",
      reason: phase,
      message: status.rollback?.reason ?? "",
    },
  ];
  if (status.startedAt !== undefined) {
    const notReady = workloadNotReady(ctx);
    wanted.push(
      notReady
        ? {
            type: WORKLOADS_READY,
            status: "False",
            reason: notReady.reason,
            message:
              notReady.message ?? `${notReady.workload} is not Ready${notReady.on} (${notReady.readiness})`,
          }
        : {
            type: WORKLOADS_READY,
            status: "True",
            reason: "Ready",
            message: "the workloads this step needs are Ready",
          },
    );
  }
  announceCanaryService(
    ctx,
    wanted.find((condition) => condition.type === WORKLOADS_READY),
  );
  const generation = ctx.release.metadata.generation;
  const managed = wanted.map((condition): Condition => {
    const before = status.conditions.find((existing) => existing.type === condition.type);
    return {
      ...condition,
      message: clip(condition.message, 32768),
      ...(generation === undefined ? {} : { observedGeneration: generation }),
      // Kubernetes convention: the time moves only when the status flips.
      lastTransitionTime: before && before.status === condition.status ? before.lastTransitionTime : ctx.now,
    };
  });
  const others = status.conditions.filter(
    (existing) => !wanted.some((condition) => condition.type === existing.type),
  );
  status.conditions = [...managed, ...others].slice(0, STATUS_LIMITS.conditions);
}

const CANARY_SERVICE_REASONS: readonly string[] = ["CanaryServiceMissing", "CanaryServiceNotReady"];

/**
 * A canary Service that cannot take traffic is said once when it is noticed and once when
 * it is back; the WorkloadsReady condition in status remembers which was said last.
 */
function announceCanaryService(
  ctx: DecisionContext,
  workloads: Omit<Condition, "lastTransitionTime"> | undefined,
): void {
  const before = ctx.status.conditions.find((condition) => condition.type === WORKLOADS_READY);
  const wasProblem = before !== undefined && CANARY_SERVICE_REASONS.includes(before.reason);
  const isProblem = workloads !== undefined && CANARY_SERVICE_REASONS.includes(workloads.reason);
  if (isProblem && before?.reason !== workloads.reason) {
    ctx.announcements.push({
      type: "emitEvent",
      eventType: "Warning",
      reason: workloads.reason,
      message: clip(workloads.message, EVENT_MESSAGE_MAX),
    });
  } else if (wasProblem && !isProblem) {
    const service = ctx.observations.canaryService;
    // Not when a rollback or the bake merely stopped asking about it.
    if (!service.exists || service.readyEndpoints === 0) return;
    ctx.announcements.push({
      type: "emitEvent",
      eventType: "Normal",
      reason: "CanaryServiceReady",
      message: `the canary Service ${service.name} is back (${service.readyEndpoints} ready endpoints): the canary may take traffic again`,
    });
  }
}
