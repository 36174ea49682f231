// `glidepath dashboard`: starts the server, prints its URL, opens the browser (xdg-open,
// when there is one and --no-open was not given) and runs until Ctrl-C. The page's
// buttons become the CLI's own commands (approve, pause, …, rollback) run with the
// person's kubeconfig, so RBAC and the admission webhook judge them as they judge the CLI.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { delimiter, join } from "node:path";
import type { StrategyFile } from "../api/index.ts";
import { DEFAULT_VERIFY_TIMEOUT, DEFAULT_WAIT_TIMEOUT, type CliCommand } from "../cli/command-line.ts";
import { runCommand } from "../cli/commands.ts";
import { loadStrategy, type CliIo, type Session } from "../cli/session.ts";
import { CliError, EXIT } from "../cli/exit-codes.ts";
import type { ReleaseApi } from "../cli/releases.ts";
import { parseDuration } from "../api/index.ts";
import { DASHBOARD_ASSETS_DIR } from "./bundle.ts";
import type { ActionResult } from "./protocol.ts";
import { classifyOutcome, type ActionBody, type ReleaseRef } from "./requests.ts";
import { startDashboard } from "./server.ts";

export interface DashboardRun {
  api: ReleaseApi;
  namespace?: string;
  strategy: StrategyFile | undefined;
  port: number;
  open: boolean;
  by: string;
  io: CliIo;
  /** Runs one CLI command in a namespace with the person's settings; its output captured. */
  run: (command: CliCommand, namespace: string) => Promise<{ exitCode: number; output: string }>;
  /** Where the bundle is; default dist/dashboard. */
  assetsDir?: string;
}

/** The CLI command a button stands for, on the release it was pressed for. */
export function commandFor(
  body: ActionBody,
  release: { name: string; target?: string },
  by: string,
): CliCommand {
  switch (body.action) {
    case "approve":
      return {
        name: "approve",
        release: release.name,
        by,
        ...(body.comment ? { comment: body.comment } : {}),
      };
    case "pause":
      return { name: "pause", release: release.name, by, ...(body.reason ? { reason: body.reason } : {}) };
    case "resume":
      return { name: "resume", release: release.name, by };
    case "promote":
      return { name: "promote", release: release.name, by, full: body.full };
    case "abort":
      return { name: "abort", release: release.name, by, ...(body.reason ? { reason: body.reason } : {}) };
    case "rollback":
      if (!release.target) throw new Error("a rollback needs the release's target");
      // `glidepath rollback TARGET --version previous`, without --wait: the page follows it live.
      return {
        name: "rollback",
        target: release.target,
        version: "previous",
        by,
        ...(body.reason ? { reason: body.reason } : {}),
        wait: false,
        timeoutMs: parseDuration(DEFAULT_WAIT_TIMEOUT),
        verifyTimeoutMs: parseDuration(DEFAULT_VERIFY_TIMEOUT),
      };
  }
}

export async function runDashboard(options: DashboardRun): Promise<number> {
  const { io } = options;
  const act = async (ref: ReleaseRef, body: ActionBody): Promise<ActionResult> => {
    try {
      const target =
        body.action === "rollback"
          ? (await options.api.get(ref.namespace, ref.name)).spec.target.deployment
          : undefined;
      const command = commandFor(body, { name: ref.name, ...(target ? { target } : {}) }, options.by);
      const { exitCode, output } = await options.run(command, ref.namespace);
      return {
        ok: exitCode === EXIT.ok,
        exitCode,
        outcome: classifyOutcome(exitCode, output),
        message: output,
      };
    } catch (error) {
      const exitCode = error instanceof CliError ? error.exitCode : EXIT.failed;
      const message = (error as Error).message;
      return { ok: false, exitCode, outcome: classifyOutcome(exitCode, message), message };
    }
  };

  const dashboard = await startDashboard({
    port: options.port,
    api: options.api,
    ...(options.namespace === undefined ? {} : { namespace: options.namespace }),
    strategy: options.strategy,
    assetsDir: options.assetsDir ?? DASHBOARD_ASSETS_DIR,
    act,
    now: io.now,
  }).catch((error: unknown) => {
    if (error instanceof CliError) throw error;
    const code = (error as { code?: string }).code;
    if (code === "EADDRINUSE")
      throw new CliError(
        EXIT.failed,
        `port ${options.port} on 127.0.0.1 is in use: pass --port 0 for any free one`,
      );
    throw new CliError(EXIT.failed, `cannot start the dashboard: ${(error as Error).message}`);
  });
  if (!existsSync(join(options.assetsDir ?? DASHBOARD_ASSETS_DIR, "app.js")))
    io.stderr.write(`warning: the page's bundle is not built: run 'npm run build:dashboard'\n`);

  const scope = options.namespace === undefined ? "all namespaces" : `namespace ${options.namespace}`;
  io.stdout.write(
    `Glidepath dashboard: ${dashboard.url} (${scope}; actions as ${options.by}, with your kubeconfig). Ctrl-C to stop.\n`,
  );
  if (options.open) openBrowser(dashboard.url, io);

  await new Promise<void>((resolve) => {
    if (!io.interrupt) return; // no way to be stopped but the process ending
    if (io.interrupt.aborted) return resolve();
    io.interrupt.addEventListener("abort", () => resolve(), { once: true });
  });
  await dashboard.close();
  return 130;
}

/** xdg-open, when on PATH: the person's own browser. Without it, the printed URL does. */
function openBrowser(url: string, io: CliIo): void {
  const opener = (process.env.PATH ?? "")
    .split(delimiter)
    .map((dir) => join(dir, "xdg-open"))
    .find((candidate) => candidate !== "xdg-open" && existsSync(candidate));
  if (!opener) {
    io.stderr.write("no xdg-open on PATH: open the URL above in a browser\n");
    return;
  }
  const child = spawn(opener, [url], { stdio: "ignore", detached: true });
  child.on("error", (error) => io.stderr.write(`could not open a browser: ${error.message}\n`));
  child.unref();
}

/**
 * `glidepath dashboard`: the web page's buttons run the CLI's commands, as this person
 * would type them (the same --kubeconfig, --context and --by), in the release's namespace.
 */
export async function dashboardCommand(
  session: Session,
  command: Extract<CliCommand, { name: "dashboard" }>,
  io: CliIo,
): Promise<number> {
  const strategy = await loadStrategy(command.strategyFile);
  return runDashboard({
    api: session.api,
    ...(session.globals.allNamespaces ? {} : { namespace: session.namespace }),
    strategy,
    port: command.port,
    open: command.open,
    by: command.by,
    io,
    run: (action, namespace) => {
      const captured: string[] = [];
      const quiet: CliIo = {
        stdout: { write: (text: string) => captured.push(text) },
        stderr: { write: (text: string) => captured.push(text) },
        now: io.now,
      };
      return runCommand(action, { ...session.globals, allNamespaces: false, namespace }, quiet).then(
        (exitCode) => ({ exitCode, output: captured.join("").trim() }),
      );
    },
  });
}
