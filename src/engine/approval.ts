import type { DecisionContext } from "./context.ts";

// When an approval gate may open. Only approvals whose identity stamp the controller
// verified count (src/api/identity.ts), each approver once, and under separation of
// duties never the Release's creator or its requester.

export interface ApprovalState {
  approved: boolean;
  /** The distinct verified approvers that count. */
  approvers: string[];
  /** For the Approved condition. */
  reason: "Approved" | "WebhookDisabled" | "WebhookNotCovering" | "CreatorUnverified" | "Waiting";
  message: string;
}

export const WEBHOOK_HINT =
  "turn the admission webhook on (controller configuration trust.webhook; Helm: --set admission.enabled=true; see docs/security.md)";

/**
 * Whether an approval gate may open: enough distinct approvers whose stamps verified,
 * none of them (under separation of duties) the Release's creator or its requester.
 */
export function approvalState(ctx: DecisionContext): ApprovalState {
  const { required, separationOfDuties } = ctx.plan.approval;
  const identity = ctx.observations.identity;
  const creator = identity?.creator;
  const authors = authorsOf(ctx);
  const verified = ctx.status.approvals.filter((approval) => approval.verified);
  const counted = [...new Set(verified.map((approval) => approval.by))].filter((by) => !authors.has(by));
  const needs = `${required} verified approval${required === 1 ? "" : "s"}${separationOfDuties ? ` by someone other than its author (${[...authors].join(", ")})` : ""}`;
  const notes: string[] = [];
  for (const approval of ctx.status.approvals) {
    if (!approval.verified)
      notes.push(`${approval.by}'s approval is unverified: ${approval.problem ?? "no stamp"}`);
    else if (authors.has(approval.by))
      notes.push(
        `${approval.by}'s approval does not count: separation of duties (the author may not approve)`,
      );
  }
  const detail = notes.length > 0 ? `; ${notes.join("; ")}` : "";
  if (identity?.webhook && identity.uncovered)
    return {
      approved: false,
      approvers: [],
      reason: "WebhookNotCovering",
      message: `${identity.uncovered}; until it covers this Release no identity stamp counts (a stamp could have been written past the webhook), so approval gates stay closed; fix the webhook configuration, then approve again if needed (see docs/security.md)${detail}`,
    };
  if (separationOfDuties && !creator?.verified)
    return {
      approved: false,
      approvers: [],
      reason: identity?.webhook ? "CreatorUnverified" : "WebhookDisabled",
      message: identity?.webhook
        ? `its creator is not verified (${creator?.problem ?? "no creator stamp"}), so separation of duties cannot be checked and no approval counts; re-create the Release with the webhook on${detail}`
        : `the admission webhook is off: no approval can be verified, so approval gates stay closed; ${WEBHOOK_HINT}${detail}`,
    };
  if (counted.length >= required)
    return {
      approved: true,
      approvers: counted,
      reason: "Approved",
      message: `approved by ${counted.join(", ")} (${needs})${detail}`,
    };
  return {
    approved: false,
    approvers: counted,
    reason: identity?.webhook ? "Waiting" : "WebhookDisabled",
    message:
      `needs ${needs}; ${counted.length} so far${detail}` +
      (identity?.webhook
        ? ""
        : `; the admission webhook is off, so no new approval can be verified: ${WEBHOOK_HINT}`),
  };
}

/** Who may not approve under separation of duties: the requester and the verified creator. */
function authorsOf(ctx: DecisionContext): Set<string> {
  const authors = new Set<string>();
  if (!ctx.plan.approval.separationOfDuties) return authors;
  authors.add(ctx.release.spec.changeRequest.requestedBy);
  const creator = ctx.observations.identity?.creator;
  if (creator?.verified && creator.user) authors.add(creator.user);
  return authors;
}

/**
 * Why an approval in status opens no gate, for the record (status.approvals[].doesNotCount),
 * by the same rules as approvalState; undefined when it counts.
 */
export function whyApprovalDoesNotCount(
  ctx: DecisionContext,
  approval: { by: string; verified?: boolean | undefined; problem?: string | undefined },
  index: number,
): string | undefined {
  if (!approval.verified) return `unverified: ${approval.problem ?? "no identity stamp was verified"}`;
  if (!ctx.plan.approval.separationOfDuties) return undefined;
  const creator = ctx.observations.identity?.creator;
  if (!creator?.verified)
    return "the creator is unverified, so separation of duties cannot be checked: no approval counts";
  if (creator.user === approval.by)
    return `self-approval: ${approval.by} created the Release (separation of duties)`;
  if (ctx.release.spec.changeRequest.requestedBy === approval.by)
    return `${approval.by} requested the change (separation of duties)`;
  const earlier = ctx.status.approvals
    .slice(0, index)
    .some((other) => other.by === approval.by && other.verified);
  return earlier ? `${approval.by} approved already: each person counts once` : undefined;
}
