// approve, pause, resume, promote, abort: each is a merge patch of spec.control that
// says who and when, decided here from the Release as read. Pure, so the rules — what
// a finished release refuses, what is already done — are tested with plain values.
import { terminalPhases, type Release } from "../api/index.ts";
import { ACTIONS_ANNOTATION, withAction, type CliActionName } from "./audit.ts";
import { EXIT, type ExitCode } from "./exit-codes.ts";

export type ControlRequest =
  | { action: "approve"; by: string; at: string; comment?: string }
  | { action: "pause"; by: string; at: string; reason?: string }
  | { action: "resume"; by: string; at: string }
  | { action: "promote"; by: string; at: string; full: boolean }
  | { action: "abort"; by: string; at: string; reason?: string };

export type ControlDecision =
  /** Send `patch` (a JSON merge patch, with the resourceVersion it was decided on). */
  | { kind: "patch"; patch: ControlPatch; summary: string }
  /** Already so: nothing to write. */
  | { kind: "noop"; summary: string }
  | { kind: "refuse"; exitCode: ExitCode; message: string };

export interface ControlPatch {
  metadata: { resourceVersion?: string; annotations: Record<string, string> };
  spec: { control: Record<string, unknown> };
}

const MAX_APPROVALS = 20;

export function planControl(release: Release, request: ControlRequest): ControlDecision {
  const name = release.metadata.name;
  const phase = release.status?.phase;
  const control = release.spec.control ?? {};

  if (phase !== undefined && terminalPhases.includes(phase)) {
    const hint =
      phase === "Succeeded"
        ? `; to go back to the version it replaced: glidepath rollback ${release.spec.target.deployment} --version=previous`
        : "";
    return refuse(
      EXIT.conflict,
      `release ${name} has finished (${phase}): there is nothing to ${request.action}${hint}`,
    );
  }
  if (phase === "RollingBack" && request.action !== "abort") {
    return refuse(
      EXIT.conflict,
      `release ${name} is rolling back (${release.status?.rollback?.reason ?? "no reason recorded"}): there is nothing to ${request.action}`,
    );
  }

  switch (request.action) {
    case "approve": {
      const approvals = control.approvals ?? [];
      const mine = approvals.find((approval) => approval.by === request.by);
      if (mine)
        return { kind: "noop", summary: `release ${name} was already approved by ${mine.by} at ${mine.at}` };
      if (approvals.length >= MAX_APPROVALS)
        return refuse(
          EXIT.conflict,
          `release ${name} already holds ${MAX_APPROVALS} approvals, the most it keeps`,
        );
      const approval = {
        by: request.by,
        at: request.at,
        ...(request.comment ? { comment: request.comment } : {}),
      };
      const gate =
        phase === "AwaitingApproval"
          ? "; the controller lets it past the gate"
          : "; it applies at the next approval gate";
      return patch(
        release,
        request,
        { approvals: [...approvals, approval] },
        `approved release ${name} as ${request.by}${gate}`,
        request.comment,
      );
    }
    case "pause":
      if (control.paused) return { kind: "noop", summary: `release ${name} is already paused` };
      return patch(
        release,
        request,
        { paused: true },
        `paused release ${name}; analysis goes on and a failure still rolls back`,
        request.reason,
      );
    case "resume": {
      // A release the controller paused because someone else edited stable goes on only
      // with a person's word, which spec.control.resume carries (who and when).
      const drift = release.status?.stableDrift;
      const acceptDrift =
        drift && !drift.accepted ? { resume: { by: request.by, at: request.at } } : undefined;
      if (acceptDrift && !control.paused)
        return patch(
          release,
          request,
          acceptDrift,
          `resumed release ${name} over an edit of its stable Deployment: ${drift?.message ?? ""}`,
        );
      if (!control.paused) {
        if (phase === "Paused")
          return refuse(
            EXIT.conflict,
            `release ${name} was paused by its analysis, not by a person (${release.status?.message ?? "no message"}): ` +
              `promote it to accept the stage as it is, or abort it to roll back`,
          );
        return { kind: "noop", summary: `release ${name} is not paused` };
      }
      return patch(release, request, { paused: null, ...acceptDrift }, `resumed release ${name}`);
    }
    case "promote": {
      const pending = control.promote && control.promote.at !== release.status?.handledPromoteAt;
      if (pending && Boolean(control.promote?.full) === request.full)
        return {
          kind: "noop",
          summary: `release ${name} already has a promote by ${control.promote?.by} at ${control.promote?.at} waiting to be carried out`,
        };
      const what = request.full ? "straight to GA" : "past its current stage";
      const gate = phase === "AwaitingApproval" ? " once someone approves it" : "";
      return patch(
        release,
        request,
        { promote: { by: request.by, at: request.at, full: request.full } },
        `promoted release ${name} ${what}${gate}`,
        request.full ? "full" : undefined,
      );
    }
    case "abort":
      if (control.abort)
        return {
          kind: "noop",
          summary: `release ${name} was already aborted by ${control.abort.by} at ${control.abort.at}`,
        };
      return patch(
        release,
        request,
        { abort: { by: request.by, at: request.at, reason: request.reason ?? null } },
        `aborted release ${name}: the controller rolls it back`,
        request.reason,
      );
  }
}

function patch(
  release: Release,
  request: ControlRequest,
  control: Record<string, unknown>,
  summary: string,
  detail?: string,
): ControlDecision {
  const action: CliActionName = request.action;
  return {
    kind: "patch",
    summary,
    patch: {
      metadata: {
        ...(release.metadata.resourceVersion ? { resourceVersion: release.metadata.resourceVersion } : {}),
        annotations: {
          [ACTIONS_ANNOTATION]: withAction(release, {
            action,
            by: request.by,
            at: request.at,
            ...(detail ? { detail } : {}),
          }),
        },
      },
      spec: { control },
    },
  };
}

function refuse(exitCode: ExitCode, message: string): ControlDecision {
  return { kind: "refuse", exitCode, message };
}
