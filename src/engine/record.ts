import {
  BAKE_STAGE_NAME,
  STATUS_LIMITS,
  releasePhases,
  type Condition,
  type ReleasePhase,
  type ReleaseStatus,
  type StageRecord,
  type stageOutcomes,
} from "../api/index.ts";
import { approvalState } from "./approval.ts";
import { clip, isTerminal, phaseOf, type DecisionContext } from "./context.ts";
import type { Action, BlockedObservation } from "./types.ts";
import { WORKLOADS_READY, missingContainers, workloadNotReady } from "./world.ts";
import { freezeCondition } from "./freeze.ts";
import { IMAGE_NOT_ALLOWED, imagesNotAllowed } from "./image-policy.ts";

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
export function dropOldestAfterFirst(list: unknown[], limit: number): number {
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

// ---- blocks: what stops the release that a person must fix ----

/** The Event reason once a block recorded in the Progressing condition is gone. */
export const BLOCK_CLEARED_REASON = "Unblocked";
const BLOCK_MESSAGE_MAX = 1024;
const BLOCK_NOTE = "blocked: ";

/** What recording a block needs of a decision: no observations (there may be none). */
export type BlockContext = Pick<DecisionContext, "release" | "now" | "status" | "announcements">;

/** The block the stored Progressing condition records (its reason is not a phase), if any. */
export function blockedBy(
  status: Pick<ReleaseStatus, "conditions"> | undefined,
): BlockedObservation | undefined {
  const condition = status?.conditions?.find((candidate) => candidate.type === "Progressing");
  if (!condition || condition.status !== "False") return undefined;
  if ((releasePhases as readonly string[]).includes(condition.reason)) return undefined;
  return { reason: condition.reason, message: condition.message };
}

/**
 * What blocks the release now: images the policy does not allow, what the controller
 * observed, or, before the start, a target it does not fit.
 */
function currentBlock(ctx: DecisionContext): BlockedObservation | undefined {
  const refused = imagesNotAllowed(ctx);
  if (refused) return { reason: IMAGE_NOT_ALLOWED, message: clip(refused, BLOCK_MESSAGE_MAX) };
  const observed = ctx.observations.blocked;
  if (observed) return { reason: observed.reason, message: clip(observed.message, BLOCK_MESSAGE_MAX) };
  if (ctx.status.startedAt !== undefined) return undefined;
  const mismatch = missingContainers(ctx);
  return mismatch ? { reason: "TargetInvalid", message: clip(mismatch, BLOCK_MESSAGE_MAX) } : undefined;
}

/**
 * Puts `block` (or its absence) into the message and the Progressing condition's place,
 * and announces a new block (Warning, its reason) or the end of one (Normal, Unblocked).
 * The message while blocked is "blocked: <why>; <what the release waits for>", so the
 * note can be taken off again even where a step left the message as it was.
 */
function applyBlock(ctx: BlockContext, block: BlockedObservation | undefined): void {
  const status = ctx.status;
  const before = blockedBy(status);
  let message = status.message;
  const note = before ? `${BLOCK_NOTE}${before.message}` : undefined;
  if (message !== undefined && note !== undefined && message.startsWith(note)) {
    message = message.slice(note.length).replace(/^; /, "");
  }
  if (block) message = `${BLOCK_NOTE}${block.message}${message ? `; ${message}` : ""}`;
  if (message !== undefined) status.message = clip(message, MESSAGE_MAX);
  if (block && (before?.reason !== block.reason || before.message !== block.message)) {
    ctx.announcements.push({
      type: "emitEvent",
      eventType: "Warning",
      reason: block.reason,
      message: block.message,
    });
  } else if (!block && before) {
    ctx.announcements.push({
      type: "emitEvent",
      eventType: "Normal",
      reason: BLOCK_CLEARED_REASON,
      message: clip(
        `the controller can act again (was ${before.reason}: ${before.message})`,
        EVENT_MESSAGE_MAX,
      ),
    });
  }
}

/**
 * The status with only the block recorded: for a reconcile that could not observe the
 * cluster, so nothing else can be decided. Conditions other than Progressing stay.
 */
export function recordBlock(ctx: BlockContext, block: BlockedObservation): void {
  const fitted = { reason: block.reason, message: clip(block.message, BLOCK_MESSAGE_MAX) };
  applyBlock(ctx, fitted);
  const status = ctx.status;
  status.phase ??= "Pending";
  const before = status.conditions.find((existing) => existing.type === "Progressing");
  const generation = ctx.release.metadata.generation;
  const progressing: Condition = {
    type: "Progressing",
    status: "False",
    reason: fitted.reason,
    message: fitted.message,
    ...(generation === undefined ? {} : { observedGeneration: generation }),
    lastTransitionTime: before?.status === "False" ? before.lastTransitionTime : ctx.now,
  };
  // In its place, so the next decide() finds the conditions in the order it writes them.
  status.conditions = before
    ? status.conditions.map((existing) => (existing === before ? progressing : existing))
    : [...status.conditions, progressing];
}

// ---- conditions ----

/** True while someone else's edit of the stable Deployment holds the release. */
export const STABLE_DRIFTED = "StableDrifted";

/** Phases in which the controller is actively moving the release (or its rollback) forward. */
const MOVING_PHASES: readonly ReleasePhase[] = ["Progressing", "Baking", "RollingBack"];

export function updateConditions(ctx: DecisionContext): void {
  const status = ctx.status;
  const phase = phaseOf(status);
  const block = currentBlock(ctx);
  applyBlock(ctx, block);
  const message = status.message ?? "";
  const { plan } = ctx;
  const stagesText = plan.stages.map((stage) => `${stage.name} ${stage.weight}%`).join(", ");
  // A Release that does not fit its target (a container the Deployment lacks, a route
  // without the stable Service) or the image policy is invalid, however valid its spec alone.
  const misfit = block && ["TargetInvalid", "RouteInvalid", IMAGE_NOT_ALLOWED].includes(block.reason);
  const wanted: Omit<Condition, "lastTransitionTime">[] = [
    misfit
      ? { type: "Valid", status: "False", reason: block.reason, message: block.message }
      : {
          type: "Valid",
          status: "True",
          reason: "Resolved",
          message: `${plan.blueGreen ? "blue/green" : plan.preset ? `preset ${plan.preset}` : "inline stages"}: ${stagesText}`,
        },
    block
      ? { type: "Progressing", status: "False", reason: block.reason, message: block.message }
      : {
          type: "Progressing",
          status: MOVING_PHASES.includes(phase) ? "True" : "False",
          reason: phase,
          message,
        },
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
  if (plan.stages.some((stage) => stage.requiresApproval)) {
    const approval = approvalState(ctx);
    wanted.push({
      type: "Approved",
      status: approval.approved ? "True" : "False",
      reason: approval.reason,
      message: approval.message,
    });
  }
  announceCanaryService(
    ctx,
    wanted.find((condition) => condition.type === WORKLOADS_READY),
  );
  if (status.startedAt !== undefined) {
    const drift = status.stableDrift;
    wanted.push(
      drift && !drift.accepted
        ? { type: STABLE_DRIFTED, status: "True", reason: "EditedBySomeoneElse", message: drift.message }
        : {
            type: STABLE_DRIFTED,
            status: "False",
            reason: drift ? "Accepted" : "AsExpected",
            message: drift?.accepted
              ? `${drift.accepted.by} let the release go on over: ${drift.message}`
              : "stable runs what this release expects",
          },
    );
  }
  const freeze = freezeCondition(ctx);
  if (freeze) wanted.push(freeze);
  setConditions(ctx, wanted);
}

/** Replaces the conditions of these types (they go first, in this order); the others stay. */
function setConditions(ctx: DecisionContext, wanted: Omit<Condition, "lastTransitionTime">[]): void {
  const status = ctx.status;
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
