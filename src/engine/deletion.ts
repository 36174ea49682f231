import { clip, createContext, isTerminal, parseTime, phaseOf } from "./context.ts";
import type { DecisionContext } from "./context.ts";
import { setMessage } from "./record.ts";
import { stableNeedsRevert } from "./rollback.ts";
import type { Action, EngineInput, EngineResult } from "./types.ts";
import { canaryName, routerHolds, stableName, trafficAt } from "./world.ts";
import { routingHolds } from "./routing.ts";

// A deleted Release (metadata.deletionTimestamp set, held by the route-restore finalizer):
// all traffic back on stable and confirmed by the router, then the canary goes, then the
// Release. Deletion is no phase: the Release is going away, and status.deletion records
// what was done for as long as it is still there to read. Pure, like decide().

/** Looking again while the router moves traffic back (its watch usually wakes us sooner). */
export const DELETION_RETRY_MS = 1_000;

const MESSAGE_MAX = 1024;

export function decideDeletion(input: EngineInput): EngineResult {
  const requestedAt = input.release.metadata.deletionTimestamp;
  if (requestedAt === undefined) {
    throw new Error(
      `engine: decideDeletion needs a deleted Release; ${input.release.metadata.name} has no metadata.deletionTimestamp`,
    );
  }
  const ctx = createContext(input);
  const { status } = ctx;
  const phase = phaseOf(status);
  if (isTerminal(phase)) {
    // A finished release put everything back itself (its finalizer was left by a crash).
    return { status, actions: [{ type: "releaseFinalizer" }] };
  }
  if (status.startedAt === undefined) return notStarted(ctx, requestedAt);

  parseTime(requestedAt, "metadata.deletionTimestamp");
  const noticedNow = status.deletion === undefined;
  status.deletion ??= {
    requestedAt,
    noticedAt: ctx.now,
    phase,
    ...(status.currentStage ? { stage: status.currentStage.name } : {}),
    canaryWeight: ctx.observations.traffic.canaryWeight,
  };
  const deletion = status.deletion;
  const where = `deleted while ${deletion.phase}${deletion.stage ? ` at stage ${deletion.stage}` : ""} with ${deletion.canaryWeight}% of traffic on the canary`;
  if (noticedNow) {
    announce(
      ctx,
      "Warning",
      "Deleting",
      `Release ${where}: sending all traffic back to the stable ${stableName(ctx)} before the canary ${canaryName(ctx)} is removed`,
    );
  }

  const actions: Action[] = [];
  // A rollback under way still puts stable back: deleting must not keep the version it was undoing.
  const previous = status.previous;
  if (deletion.phase === "RollingBack" && previous && stableNeedsRevert(ctx, previous)) {
    actions.push({
      type: "revertStable",
      images: previous.images,
      ...(previous.version ? { version: previous.version } : {}),
    });
  }
  const missing = ctx.observations.traffic.missing;
  // A routing stage's match or mirror goes with the weight.
  if (missing === undefined && (!trafficAt(ctx, 0) || !routingHolds(ctx, undefined))) {
    if (!routerHolds(ctx, 0) || !routingHolds(ctx, undefined))
      actions.push({ type: "setWeight", canaryWeight: 0 });
    const traffic = ctx.observations.traffic;
    setMessage(
      ctx,
      `${where}: waiting for the router to ${
        routerHolds(ctx, 0)
          ? "confirm weight 0"
          : `send all traffic to stable (the canary has ${traffic.canaryWeight}%)`
      }`,
    );
    return { status, actions: [...actions, ...ctx.announcements], requeueAfterMs: DELETION_RETRY_MS };
  }

  if (deletion.trafficRestoredAt === undefined) {
    deletion.trafficRestoredAt = ctx.now;
    deletion.verification = clip(
      missing === undefined
        ? "the router holds weight 0 for the canary and confirmed it"
        : `nothing to restore: ${missing}`,
      MESSAGE_MAX,
    );
    const restored =
      missing === undefined
        ? `all traffic restored to the stable ${stableName(ctx)} (the router confirmed weight 0)`
        : `nothing routed to the canary to restore (${missing})`;
    const text = `Release ${where}: ${restored}; removing the canary ${canaryName(ctx)}`;
    announce(ctx, "Normal", "TrafficRestored", text);
    ctx.announcements.push({ type: "notify", event: "deleted", message: clip(text, 2048) });
  }
  setMessage(ctx, `${where}: all traffic on stable; removing the canary, then the Release`);
  return {
    status,
    actions: [...actions, ...ctx.announcements, { type: "removeCanary" }, { type: "releaseFinalizer" }],
  };
}

/** Nothing was changed before the start: the Release may go at once, saying so. */
function notStarted(ctx: DecisionContext, requestedAt: string): EngineResult {
  const { status } = ctx;
  if (status.deletion === undefined) {
    parseTime(requestedAt, "metadata.deletionTimestamp");
    status.deletion = {
      requestedAt,
      noticedAt: ctx.now,
      phase: phaseOf(status),
      canaryWeight: 0,
      trafficRestoredAt: ctx.now,
      verification: "the release had not started: nothing was changed",
    };
    announce(
      ctx,
      "Normal",
      "Deleted",
      `Release deleted while ${phaseOf(status)}, before it started: nothing was changed`,
    );
  }
  return { status, actions: [...ctx.announcements, { type: "releaseFinalizer" }] };
}

function announce(
  ctx: DecisionContext,
  eventType: "Normal" | "Warning",
  reason: string,
  message: string,
): void {
  ctx.announcements.push({ type: "emitEvent", eventType, reason, message: clip(message, MESSAGE_MAX) });
}
