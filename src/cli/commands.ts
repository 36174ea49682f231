// Runs one command: connects as kubectl would and hands it to the file of its family
// (read-commands, status-command, control-commands, rollback-command). Decisions live in
// the pure modules (control, rollback-plan, views, status-view); the command files do the
// I/O around them and map every outcome to an exit code.
import type { CliCommand, GlobalOptions } from "./command-line.ts";
import { CliError, EXIT } from "./exit-codes.ts";
import { control } from "./control-commands.ts";
import { dora, history, list, record } from "./read-commands.ts";
import { rollback } from "./rollback-command.ts";
import { connect, type CliIo, type Session } from "./session.ts";
import { status } from "./status-command.ts";

/**
 * Commands served from a layer above the CLI (the dashboard is the CLI's web face and
 * builds on it): the composition root (src/cli-main.ts) hands them in.
 */
export interface CommandExtensions {
  dashboard?: (
    session: Session,
    command: Extract<CliCommand, { name: "dashboard" }>,
    io: CliIo,
  ) => Promise<number>;
}

export async function runCommand(
  command: CliCommand,
  globals: GlobalOptions,
  io: CliIo,
  extensions: CommandExtensions = {},
): Promise<number> {
  const session = connect(globals, io);
  switch (command.name) {
    case "list":
      return list(session, command);
    case "status":
      return status(session, command);
    case "history":
      return history(session, command);
    case "record":
      return record(session, command);
    case "dora":
      return dora(session, command);
    case "rollback":
      return rollback(session, command);
    case "dashboard":
      if (!extensions.dashboard) throw new CliError(EXIT.failed, "the dashboard is not available here");
      return extensions.dashboard(session, command, io);
    default:
      return control(session, command);
  }
}
