// What every command shares: the connection (made as kubectl would), output, the
// strategy file, and following a Release until it finishes.
import { fileURLToPath } from "node:url";
import { type Release, type StrategyFile } from "../api/index.ts";
import { loadStrategyFile } from "../config/index.ts";
import { contextNamespace, loadKubeConfig, makeKubeClients } from "../kube/index.ts";
import type { GlobalOptions } from "./command-line.ts";
import { CliError, EXIT } from "./exit-codes.ts";
import { ReleaseApi } from "./releases.ts";
import { isFinished } from "./status-view.ts";
import { humanDuration } from "./table.ts";
import { timerDelay } from "../kube/timer-delay.ts";

export interface CliIo {
  stdout: { write(text: string): unknown; isTTY?: boolean };
  stderr: { write(text: string): unknown };
  now(): number;
  /** Fires on Ctrl-C: watches and waits stop and the cursor comes back. */
  interrupt?: AbortSignal;
}

/** The rollout strategy file shipped with Glidepath, for preset stages and default metrics. */
export const SHIPPED_STRATEGY_FILE = fileURLToPath(
  new URL("../../rollout/rollout-strategy.json", import.meta.url),
);

/** Exit code when Ctrl-C stops a watch, as shells report a SIGINT. */
export const INTERRUPTED = 130;

export interface Session {
  api: ReleaseApi;
  namespace: string;
  globals: GlobalOptions;
  io: CliIo;
}

export function connect(globals: GlobalOptions, io: CliIo): Session {
  let kubeConfig;
  try {
    kubeConfig = loadKubeConfig({
      ...(globals.kubeconfig ? { kubeconfigPath: globals.kubeconfig } : {}),
      ...(globals.context ? { context: globals.context } : {}),
    });
  } catch (error) {
    // A --kubeconfig or --context that names nothing is a bad argument; no configuration at all is not.
    const given = globals.kubeconfig !== undefined || globals.context !== undefined;
    throw new CliError(given ? EXIT.usage : EXIT.failed, (error as Error).message);
  }
  const namespace = globals.namespace ?? contextNamespace(kubeConfig) ?? "default";
  return { api: new ReleaseApi(makeKubeClients(kubeConfig)), namespace, globals, io };
}

export function print(io: CliIo, text: string): void {
  io.stdout.write(text.endsWith("\n") ? text : `${text}\n`);
}

export function warn(io: CliIo, text: string): void {
  io.stderr.write(`warning: ${text}\n`);
}

export async function loadStrategy(path: string | undefined): Promise<StrategyFile | undefined> {
  if (path === undefined) {
    // The shipped file names the default presets; without it the bar shows recorded stages only.
    return loadStrategyFile(SHIPPED_STRATEGY_FILE).catch(() => undefined);
  }
  try {
    return await loadStrategyFile(path);
  } catch (error) {
    throw new CliError(EXIT.usage, `--strategy-file: ${(error as Error).message}`);
  }
}

export type FollowEnd =
  | { outcome: "finished"; release: Release }
  | { outcome: "deleted" }
  | { outcome: "timeout" }
  | { outcome: "interrupted" };

/** Follows a Release until it finishes, is deleted, the time is up or Ctrl-C. */
export async function followUntilFinished(
  session: Session,
  name: string,
  options: { timeoutMs?: number; onRelease?: (release: Release) => void; onTick?: () => void },
): Promise<FollowEnd> {
  let settle: (end: FollowEnd) => void = () => {};
  const ended = new Promise<FollowEnd>((resolve) => {
    settle = resolve;
  });
  const follower = await session.api.follow(session.namespace, name, (release) => {
    if (!release) return settle({ outcome: "deleted" });
    options.onRelease?.(release);
    if (release.status?.phase && isFinished(release.status.phase)) settle({ outcome: "finished", release });
  });
  const timers: NodeJS.Timeout[] = [];
  if (options.timeoutMs !== undefined)
    timers.push(setTimeout(() => settle({ outcome: "timeout" }), timerDelay(options.timeoutMs)));
  if (options.onTick) timers.push(setInterval(options.onTick, 1_000));
  const onInterrupt = () => settle({ outcome: "interrupted" });
  session.io.interrupt?.addEventListener("abort", onInterrupt, { once: true });
  if (session.io.interrupt?.aborted) onInterrupt();
  try {
    return await ended;
  } finally {
    for (const timer of timers) clearTimeout(timer);
    session.io.interrupt?.removeEventListener("abort", onInterrupt);
    await follower.stop();
  }
}

/** "90s", "15m": as the duration was given, near enough. */
export function humanMs(ms: number | undefined): string {
  return ms === undefined ? "the time given" : humanDuration(ms);
}
