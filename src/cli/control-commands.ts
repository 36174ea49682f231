// approve, pause, resume, promote, abort: the planned spec.control change, patched.
import type { CliCommand } from "./command-line.ts";
import { planControl, type ControlDecision, type ControlRequest } from "./control.ts";
import { CliError, EXIT } from "./exit-codes.ts";
import { print, type Session } from "./session.ts";

export type ControlCommand = Extract<
  CliCommand,
  { name: "approve" | "pause" | "resume" | "promote" | "abort" }
>;

function controlRequest(command: ControlCommand, at: string): ControlRequest {
  const who = { by: command.by, at };
  switch (command.name) {
    case "approve":
      return { action: "approve", ...who, ...(command.comment ? { comment: command.comment } : {}) };
    case "pause":
      return { action: "pause", ...who, ...(command.reason ? { reason: command.reason } : {}) };
    case "resume":
      return { action: "resume", ...who };
    case "promote":
      return { action: "promote", ...who, full: command.full };
    case "abort":
      return { action: "abort", ...who, ...(command.reason ? { reason: command.reason } : {}) };
  }
}

export async function control(session: Session, command: ControlCommand): Promise<number> {
  const request = controlRequest(command, new Date(session.io.now()).toISOString());
  const decision = await applyControl(session, command.release, request);
  print(session.io, decision.summary);
  return EXIT.ok;
}

/** Plans and sends one control request; refusals become CliErrors. */
export async function applyControl(
  session: Session,
  name: string,
  request: ControlRequest,
): Promise<Exclude<ControlDecision, { kind: "refuse" }>> {
  const decision = await session.api.update<ControlDecision>(session.namespace, name, (release) => {
    const planned = planControl(release, request);
    return planned.kind === "patch" ? { patch: planned.patch, result: planned } : { result: planned };
  });
  if (decision.kind === "refuse") throw new CliError(decision.exitCode, decision.message);
  return decision;
}
