import type { Condition } from "../api/index.ts";
import { clip, isTerminal, phaseOf, type DecisionContext } from "./context.ts";
import type { Promote } from "./gates.ts";

// A change freeze that begins while a release is in flight. The freeze governs starts
// (gates.ts); a release already under way carries on, but it says so: the ChangeFreeze
// condition, a Warning Event and a `freeze` notification when the freeze begins, a Normal
// Event when it ends. A freeze with `inFlight: holdBetweenStages` also holds the release
// before its next stage (not a rollback, not a person's promote, not a change whose type
// may pass a freeze) until the freeze is over.

export const CHANGE_FREEZE = "ChangeFreeze";

type FreezeObservation = NonNullable<DecisionContext["observations"]["changeWindow"]["freeze"]>;

/** The freeze in force while this release is in flight, if any. */
function freezeInFlight(ctx: DecisionContext): FreezeObservation | undefined {
  const window = ctx.observations.changeWindow;
  if (ctx.status.startedAt === undefined || !window.frozen) return undefined;
  return window.freeze ?? { name: window.note, holdsInFlight: false };
}

function until(freeze: FreezeObservation): string {
  return freeze.endsAt ? ` until ${freeze.endsAt}` : "";
}

/** Why the release may not enter its next stage now; undefined when it may. */
export function heldByFreeze(ctx: DecisionContext, promote: Promote | undefined): string | undefined {
  const freeze = freezeInFlight(ctx);
  if (!freeze?.holdsInFlight || ctx.plan.mayPassFreeze || promote) return undefined;
  return `holding for the change freeze "${freeze.name}"${until(freeze)} (inFlight: holdBetweenStages; promote to go on anyway)`;
}

/** The ChangeFreeze condition this call wants, or undefined to leave it as it is. */
export function freezeCondition(ctx: DecisionContext): Omit<Condition, "lastTransitionTime"> | undefined {
  if (ctx.status.startedAt === undefined || isTerminal(phaseOf(ctx.status))) return undefined;
  const freeze = freezeInFlight(ctx);
  const before = ctx.status.conditions.find((condition) => condition.type === CHANGE_FREEZE);
  if (!freeze) {
    return before
      ? { type: CHANGE_FREEZE, status: "False", reason: "NoFreeze", message: "no change freeze is in force" }
      : undefined;
  }
  const note = ctx.observations.changeWindow.note;
  const [reason, effect] = ctx.plan.mayPassFreeze
    ? ["MayPassFreeze", `this ${ctx.release.spec.changeRequest.type} change may pass it`]
    : freeze.holdsInFlight
      ? ["HoldingBetweenStages", "this release finishes its stage and enters the next after the freeze"]
      : ["FreezeInForce", "this release, started before it, carries on"];
  return {
    type: CHANGE_FREEZE,
    status: "True",
    reason,
    message: clip(`${note}${until(freeze)}: ${effect}`, 1024),
  };
}

/** An Event (and, as it begins, a notification) when the freeze condition flips. */
export function announceFreeze(ctx: DecisionContext): void {
  const wanted = freezeCondition(ctx);
  if (!wanted) return;
  const before = ctx.status.conditions.find((condition) => condition.type === CHANGE_FREEZE);
  if (wanted.status === "True" && before?.status !== "True") {
    const message = `change freeze in force while the release is in flight: ${wanted.message}`;
    ctx.announcements.push(
      { type: "emitEvent", eventType: "Warning", reason: CHANGE_FREEZE, message: clip(message, 1024) },
      { type: "notify", event: "freeze", message },
    );
  } else if (wanted.status === "False" && before?.status === "True") {
    ctx.announcements.push({
      type: "emitEvent",
      eventType: "Normal",
      reason: "ChangeFreezeEnded",
      message: "the change freeze is over",
    });
  }
}
