import { SIGN_OFF_GROUPS, STATUS_LIMITS, type SignOff, type VerifiedAction } from "../api/index.ts";
import { whyApprovalDoesNotCount } from "./approval.ts";
import { clip, type DecisionContext } from "./context.ts";

// Who signed the release off, as the controller verified it: the creator, each approval's
// standing (whether it counts, and why not), and who paused, resumed, promoted and aborted.
// Only the controller holds the stamp key, so it writes the verdicts into status and the
// CLI renders them; nothing a client wrote is ever shown as verified.

type SignedAction = SignOff["actions"][number];

/** Puts this reconcile's verification into status.signOff and status.approvals[].doesNotCount. */
export function recordSignOff(ctx: DecisionContext): void {
  const identity = ctx.observations.identity;
  const status = ctx.status;
  const approvals = status.approvals.map((approval, index) => {
    const { doesNotCount: _before, ...rest } = approval;
    const why = identity ? whyApprovalDoesNotCount(ctx, approval, index) : approval.doesNotCount;
    return why === undefined ? rest : { ...rest, doesNotCount: clip(why, 256) };
  });
  if (JSON.stringify(approvals) !== JSON.stringify(status.approvals)) status.approvals = approvals;
  if (!identity) return;

  const creator = identity.creator;
  const next: SignOff = {
    creator: {
      ...(creator.user === undefined ? {} : { user: clip(creator.user, 256) }),
      verified: creator.verified,
      ...(creator.groups ? { groups: creator.groups.slice(0, SIGN_OFF_GROUPS) } : {}),
      ...(creator.at === undefined ? {} : { at: clip(creator.at, 64) }),
      ...(creator.problem === undefined ? {} : { problem: clip(creator.problem, 256) }),
    },
    ...mergeActions(status.signOff, (identity.actions ?? []).map(signedAction)),
  };
  if (JSON.stringify(next) !== JSON.stringify(status.signOff)) status.signOff = next;
}

function signedAction(action: VerifiedAction): SignedAction {
  return {
    action: action.action,
    by: clip(action.user, 256),
    at: clip(action.at, 64),
    verified: action.verified,
    ...(action.groups ? { groups: action.groups.slice(0, SIGN_OFF_GROUPS) } : {}),
    ...(action.detail === undefined ? {} : { detail: clip(action.detail, 256) }),
    ...(action.problem === undefined ? {} : { problem: clip(action.problem, 256) }),
  };
}

const entryKey = (entry: SignedAction) => JSON.stringify([entry.action, entry.by, entry.at]);

/** Verified before unverified, then newest first: which entries the bound keeps. */
function keepFirst(a: SignedAction, b: SignedAction): number {
  if (a.verified !== b.verified) return a.verified ? -1 : 1;
  return b.at.localeCompare(a.at) || entryKey(a).localeCompare(entryKey(b));
}

/**
 * What was recorded before stays (the stamp annotation is bounded and may lose old stamps;
 * with the webhook off it may be edited), joined with what is seen now; an entry once
 * verified stays so. Past the limit, unverified entries go first, then the oldest, so
 * nobody can push a verified entry out by writing forged ones. A function of the set of
 * entries, so deciding again with its own result changes nothing.
 */
function mergeActions(
  before: SignOff | undefined,
  seen: SignedAction[],
): Pick<SignOff, "actions" | "actionsDropped"> {
  const byKey = new Map<string, SignedAction>();
  for (const entry of [...(before?.actions ?? []), ...seen]) {
    const known = byKey.get(entryKey(entry));
    // A verdict once verified stays so: the stamp proved it then, whatever becomes of the annotation.
    if (!known || !(known.verified && !entry.verified)) byKey.set(entryKey(entry), entry);
  }
  const all = [...byKey.values()];
  const limit = STATUS_LIMITS.signOffActions;
  const kept = all.sort(keepFirst).slice(0, limit);
  const actions = kept.sort((a, b) => a.at.localeCompare(b.at) || entryKey(a).localeCompare(entryKey(b)));
  const dropped = Math.max(before?.actionsDropped ?? 0, all.length - limit);
  return { actions, ...(dropped > 0 ? { actionsDropped: dropped } : {}) };
}
