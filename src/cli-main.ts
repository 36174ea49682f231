// The glidepath CLI (also the kubectl plugin kubectl-glidepath), its composition root:
// bin/glidepath runs this file with the project's Node. Exit codes: src/cli/exit-codes.ts, docs/cli.md.
import { userInfo } from "node:os";
import { runCli } from "./cli/run.ts";
import { dashboardCommand } from "./dashboard/command.ts";

function osUser(): string | undefined {
  try {
    return userInfo().username;
  } catch {
    // No passwd entry (e.g. an arbitrary UID in a container): fall back to $USER.
    return process.env.USER;
  }
}

// Ctrl-C ends a watch or wait cleanly (the cursor comes back, exit 130); whatever does
// not listen for it (a request to a silent API server) is ended shortly after, as is a second Ctrl-C.
const interrupt = new AbortController();
process.on("SIGINT", () => {
  if (interrupt.signal.aborted) process.exit(130);
  interrupt.abort();
  setTimeout(() => process.exit(130), 2_000).unref();
});

process.exitCode = await runCli(process.argv.slice(2), {
  env: {
    GLIDEPATH_USER: process.env.GLIDEPATH_USER,
    GLIDEPATH_PROMETHEUS: process.env.GLIDEPATH_PROMETHEUS,
    GLIDEPATH_STRATEGY_FILE: process.env.GLIDEPATH_STRATEGY_FILE,
    GLIDEPATH_PROG_NAME: process.env.GLIDEPATH_PROG_NAME,
    osUser: osUser(),
  },
  io: {
    stdout: process.stdout,
    stderr: process.stderr,
    now: () => Date.now(),
    interrupt: interrupt.signal,
  },
  // The dashboard builds on the CLI, so the CLI cannot import it: it is handed in here.
  extensions: { dashboard: dashboardCommand },
});
