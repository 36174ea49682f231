import type { ReleasePhase, ReleaseSpec } from "../api/index.ts";
import { clip, qualifiedName, type DecisionContext } from "./context.ts";
import { transition } from "./record.ts";
import { approvalState } from "./approval.ts";
import { imagesNotAllowed } from "./image-policy.ts";
import { canaryName, describeVersion, missingContainers, stableName } from "./world.ts";

// What must be true before the release may move: no other release of the target
// in the way, an open change window (or an emergency that may pass it), a stable
// Deployment to come back to, and, at a gated stage, a person's approval.

export type Promote = NonNullable<NonNullable<ReleaseSpec["control"]>["promote"]>;

/** Pending / WaitingForWindow: wait, fail, or start. */
export function stepBeforeStart(ctx: DecisionContext): void {
  const { observations, status, plan } = ctx;
  // Never started, whatever else it waits for: the conditions Valid and Progressing say
  // which image and which list (record.ts); editing spec.images or the policy lets it go.
  if (imagesNotAllowed(ctx)) {
    delete status.waitingFor;
    transition(ctx, "Pending", "not started: the image policy (allowedImages) does not allow spec.images");
    return;
  }
  if (observations.blockingRelease) {
    status.waitingFor = clip(observations.blockingRelease, 253);
    transition(
      ctx,
      "Pending",
      `waiting for release ${observations.blockingRelease} of the same target to finish`,
    );
    return;
  }
  delete status.waitingFor;

  const window = observations.changeWindow;
  const closed = !window.open || window.frozen;
  if (closed && !plan.mayPassFreeze) {
    const opens = window.nextOpenAt ? `; next window opens at ${window.nextOpenAt}` : "";
    transition(ctx, "WaitingForWindow", `waiting for a change window (${window.note})${opens}`);
    return;
  }
  start(ctx, closed);
}

function start(ctx: DecisionContext, passingClosedWindow: boolean): void {
  const { observations, status, plan, release } = ctx;
  const stable = observations.stable;
  const stableRef = qualifiedName(release, stableName(ctx));
  if (!stable.exists) {
    transition(
      ctx,
      "Failed",
      `the stable Deployment ${stableRef} does not exist: nothing to release onto`,
      "failed",
    );
    return;
  }
  // Checked before anything is changed: a canary of a container that does not exist
  // would never become Ready (the condition Valid=False says which, see record.ts).
  if (missingContainers(ctx)) {
    transition(ctx, "Pending", "not started: spec.images does not fit the stable Deployment");
    return;
  }
  if (plan.requiresKnownPrevious && !stable.version) {
    transition(
      ctx,
      "Failed",
      `the ${plan.preset ?? "chosen"} strategy needs a known previous version, but the stable Deployment ${stableRef} has no version label on its pod template, so a rollback could not say what it restores`,
      "failed",
    );
    return;
  }
  // Exactly what stable ran before this release could touch it: what a rollback restores,
  // and what someone else's edit is told apart from.
  status.previous ??= {
    ...(stable.version === undefined ? {} : { version: stable.version }),
    images: { ...stable.images },
    replicas: stable.desiredReplicas,
    ...(stable.templateHash === undefined ? {} : { template: stable.templateHash }),
  };
  status.startedAt = ctx.now;
  if (passingClosedWindow) {
    const window = observations.changeWindow;
    const where = window.frozen ? "during a change freeze" : "outside a change window";
    status.changeWindow = {
      bypassed: true,
      note: clip(`started ${where} as a ${plan.preset ?? "permitted"} change: ${window.note}`, 512),
    };
  }
  if (plan.postMortemDue) status.postMortemDue = true;
  transition(
    ctx,
    "Progressing",
    `started ${release.spec.version} (previous ${describeVersion(status.previous)}): creating the canary ${canaryName(ctx)}`,
  );
}

/** A promote request not carried out yet. */
export function pendingPromote(ctx: DecisionContext): Promote | undefined {
  const promote = ctx.release.spec.control?.promote;
  return promote && promote.at !== ctx.status.handledPromoteAt ? promote : undefined;
}

/**
 * Approvals are kept in status too, so the record keeps them even if spec is edited later;
 * each carries whether its identity stamp verified (this reconcile's verification of the
 * entries still in spec; earlier ones keep what was found while they were there).
 */
export function recordApprovals(ctx: DecisionContext): void {
  const requested = ctx.release.spec.control?.approvals ?? [];
  const verification = ctx.observations.identity?.approvals ?? [];
  const seen = requested.map((approval, index) => {
    const identity = verification[index];
    const verified = identity?.verified ?? false;
    return {
      ...approval,
      verified,
      ...(identity?.groups ? { groups: identity.groups.slice(0, 64) } : {}),
      ...(verified ? {} : { problem: clip(identity?.problem ?? "no identity stamp was verified", 256) }),
    };
  });
  const known = ctx.status.approvals;
  const same = (a: { by: string; at: string }, b: { by: string; at: string }) =>
    a.by === b.by && a.at === b.at;
  const updated = known.map((old) => seen.find((approval) => same(approval, old)) ?? old);
  const fresh = seen.filter((approval) => !known.some((old) => same(approval, old)));
  const next = [...updated, ...fresh].slice(0, 20);
  if (JSON.stringify(next) !== JSON.stringify(known)) ctx.status.approvals = next;
}

export function isApproved(ctx: DecisionContext): boolean {
  return approvalState(ctx).approved;
}

export function approvers(ctx: DecisionContext): string {
  return approvalState(ctx).approvers.join(", ");
}

/** Where a paused release goes back to: derived from status, so it survives restarts and bounded records. */
export function phaseAfterPause(ctx: DecisionContext): ReleasePhase {
  if (ctx.status.startedAt === undefined) return "Pending";
  return ctx.status.bakeStartedAt === undefined ? "Progressing" : "Baking";
}
