import { parseCommandLine, type CliEnvironment } from "./command-line.ts";
import { runCommand, type CommandExtensions } from "./commands.ts";
import type { CliIo } from "./session.ts";
import { CliError, EXIT } from "./exit-codes.ts";

/**
 * One invocation from arguments to exit code: parse and validate, run, and turn every
 * failure into a message on stderr. Nothing here calls process.exit.
 */
export async function runCli(
  argv: readonly string[],
  options: { env: CliEnvironment; io: CliIo; extensions?: CommandExtensions },
): Promise<number> {
  const { io } = options;
  const invocation = parseCommandLine(argv, options.env);
  if (invocation.kind === "exit") {
    io.stdout.write(invocation.stdout);
    io.stderr.write(invocation.stderr);
    return invocation.exitCode;
  }
  const programName = options.env.GLIDEPATH_PROG_NAME || "glidepath";
  try {
    return await runCommand(invocation.command, invocation.globals, io, options.extensions);
  } catch (error) {
    if (error instanceof CliError) {
      io.stderr.write(`${programName} ${invocation.command.name}: ${error.message}\n`);
      return error.exitCode;
    }
    io.stderr.write(
      `${programName} ${invocation.command.name}: unexpected error: ${(error as Error).stack ?? String(error)}\n`,
    );
    return EXIT.failed;
  }
}
