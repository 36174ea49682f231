// Long-running child processes for the test harness: each one logs to a file in the
// run directory, is tracked by PID, and is stopped by PID (SIGTERM, then SIGKILL).
//
// Nothing may outlive the run. Three layers make sure of it:
//  1. stop()/stopAll() in the normal path (stack teardown);
//  2. SIGINT/SIGTERM/exit handlers in this Node process (a failed or interrupted run);
//  3. a pidfile per owning process in the run directory plus a tiny shell watchdog that
//     kills the listed PIDs when the owner dies without running its handlers (SIGKILL,
//     OOM). A later run also sweeps pidfiles of dead owners (see killLeftovers).
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
} from "node:fs";
import { statSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export interface StartOptions {
  /** Short unique name within the run, used for the log file and in messages. */
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  readonly command: string;
  readonly args: readonly string[];
  /** stdout and stderr of the process, appended. */
  readonly logFile: string;
  /** Resolves when the process has exited (for whatever reason). */
  readonly exited: Promise<ExitInfo>;
  isRunning(): boolean;
  /** SIGTERM, then SIGKILL once graceMs have passed. Resolves when the process is gone. */
  stop(graceMs?: number): Promise<void>;
  /** The last lines of the log file, for error messages. */
  logTail(lines?: number): string;
}

const DEFAULT_GRACE_MS = 5_000;
const PIDFILE_PREFIX = "processes-";
/** Older run directories (logs, configs) are pruned beyond this many. */
const KEPT_RUN_DIRS = 8;

const repoRoot = fileURLToPath(new URL("../../", import.meta.url));

/** Where run directories live: $GLIDEPATH_RUN_ROOT or <repo>/.test-runs (git-ignored). */
export function runRoot(): string {
  return process.env.GLIDEPATH_RUN_ROOT ?? join(repoRoot, ".test-runs");
}

/** A fresh run directory under runRoot(); leftovers of crashed runs are killed first. */
export function createRunDir(label = "run"): string {
  const root = runRoot();
  mkdirSync(root, { recursive: true });
  killLeftovers(root);
  pruneRunDirs(root, KEPT_RUN_DIRS);
  const stamp = new Date().toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15);
  const dir = join(root, `${stamp}-${label}-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/**
 * Kills processes listed in pidfiles whose owner process is dead (a crashed or
 * SIGKILLed run). A PID is only signalled when its start time still matches the one
 * recorded, so a recycled PID is never hit.
 */
export function killLeftovers(root = runRoot()): void {
  if (!existsSync(root)) return;
  for (const run of readdirSync(root)) {
    const runDir = join(root, run);
    let entries: string[];
    try {
      entries = readdirSync(runDir).filter((file) => file.startsWith(PIDFILE_PREFIX));
    } catch {
      continue;
    }
    for (const file of entries) {
      const pidfile = join(runDir, file);
      const parsed = parsePidfile(pidfile);
      if (!parsed || isSameProcess(parsed.owner)) continue;
      for (const entry of parsed.children) {
        if (isSameProcess(entry)) {
          console.error(
            `[harness] killing leftover ${entry.name} (pid ${entry.pid}) of a crashed run in ${runDir}`,
          );
          trySignal(entry.pid, "SIGKILL");
        }
      }
      rmSync(pidfile, { force: true });
    }
  }
}

/** Removes all but the newest `keep` run directories that no live process owns. */
function pruneRunDirs(root: string, keep: number): void {
  const runs = readdirSync(root)
    .map((name) => join(root, name))
    .filter((dir) => {
      try {
        return statSync(dir).isDirectory();
      } catch {
        return false;
      }
    })
    .sort()
    .reverse();
  for (const dir of runs.slice(keep)) {
    const owned = readdirSync(dir).some((file) => file.startsWith(PIDFILE_PREFIX));
    if (!owned) rmSync(dir, { recursive: true, force: true });
  }
}

/** Free TCP ports on 127.0.0.1: all are held open together so no two are the same. */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
          const server = createServer();
          server.once("error", reject);
          server.listen(0, "127.0.0.1", () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((server) => (server.address() as AddressInfo).port);
  await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  return ports;
}

export async function freePort(): Promise<number> {
  const [port] = await freePorts(1);
  return port as number;
}

/**
 * Starts and tracks the processes of one owner (a stack, or a test that starts a
 * private Prometheus). Every supervisor in this Node process is stopped by the
 * signal/exit handlers; stopAll() stops in reverse start order.
 */
export class ProcessSupervisor {
  readonly runDir: string;
  readonly logDir: string;
  readonly #pidfile: string;
  readonly #processes: TrackedProcess[] = [];

  constructor(runDir: string) {
    this.runDir = runDir;
    this.logDir = join(runDir, "logs");
    mkdirSync(this.logDir, { recursive: true });
    // One pidfile per run directory and owning process, shared by its supervisors.
    this.#pidfile = join(runDir, `${PIDFILE_PREFIX}${process.pid}`);
    installHandlers();
    ensureWatchdog(this.#pidfile);
  }

  start(options: StartOptions): ManagedProcess {
    const logFile = join(this.logDir, `${options.name}.log`);
    const fd = openSync(logFile, "a");
    let child: ChildProcess;
    try {
      // detached: own process group, so a Ctrl-C in the terminal reaches only us and we
      // stop the children in order (kube-apiserver before etcd).
      child = spawn(options.command, options.args, {
        cwd: options.cwd ?? this.runDir,
        env: options.env ?? process.env,
        stdio: ["ignore", fd, fd],
        detached: true,
      });
    } finally {
      closeSync(fd);
    }
    if (child.pid === undefined) {
      child.once("error", () => {}); // reported by the throw below instead
      throw new Error(`could not start ${options.name} (${options.command}): is the binary installed?`);
    }
    const pidfile = this.#pidfile;
    const tracked = new TrackedProcess(options, child, child.pid, logFile, () => {
      pidfileEntries.get(pidfile)?.delete(tracked);
      writePidfile(pidfile);
    });
    this.#processes.push(tracked);
    liveSupervisors.add(this);
    let entries = pidfileEntries.get(pidfile);
    if (!entries) pidfileEntries.set(pidfile, (entries = new Set()));
    entries.add(tracked);
    writePidfile(pidfile);
    return tracked;
  }

  get processes(): readonly ManagedProcess[] {
    return this.#processes;
  }

  /** Stops every process, newest first. */
  async stopAll(graceMs = DEFAULT_GRACE_MS): Promise<void> {
    for (const tracked of [...this.#processes].reverse()) await tracked.stop(graceMs);
    liveSupervisors.delete(this);
  }

  /** Synchronous last resort for the exit handler: SIGKILL everything still running. */
  killAllNow(): void {
    for (const tracked of this.#processes) if (tracked.isRunning()) trySignal(tracked.pid, "SIGKILL");
  }
}

const pidfileEntries = new Map<string, Set<TrackedProcess>>();

function writePidfile(pidfile: string): void {
  const running = [...(pidfileEntries.get(pidfile) ?? [])].filter((tracked) => tracked.isRunning());
  if (running.length === 0) {
    rmSync(pidfile, { force: true });
    return;
  }
  const lines = [`owner ${process.pid} ${startTimeOf(process.pid) ?? 0} node`];
  for (const tracked of running) lines.push(`${tracked.pid} ${tracked.startTime} ${tracked.name}`);
  const tmp = `${pidfile}.tmp`;
  writeFileSync(tmp, lines.join("\n") + "\n");
  renameSync(tmp, pidfile);
}

class TrackedProcess implements ManagedProcess {
  readonly name: string;
  readonly pid: number;
  readonly command: string;
  readonly args: readonly string[];
  readonly logFile: string;
  readonly exited: Promise<ExitInfo>;
  readonly startTime: number;
  #running = true;
  #stopping: Promise<void> | undefined;

  constructor(options: StartOptions, child: ChildProcess, pid: number, logFile: string, onExit: () => void) {
    this.name = options.name;
    this.pid = pid;
    this.command = options.command;
    this.args = options.args;
    this.logFile = logFile;
    this.startTime = startTimeOf(pid) ?? 0;
    this.exited = new Promise<ExitInfo>((resolve) => {
      child.once("error", () => {
        this.#running = false;
        resolve({ code: null, signal: null });
      });
      child.once("exit", (code, signal) => {
        this.#running = false;
        onExit();
        resolve({ code, signal });
      });
    });
  }

  isRunning(): boolean {
    return this.#running;
  }

  stop(graceMs = DEFAULT_GRACE_MS): Promise<void> {
    this.#stopping ??= (async () => {
      if (!this.#running) return;
      trySignal(this.pid, "SIGTERM");
      let timer: NodeJS.Timeout | undefined;
      const killed = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          if (this.#running) {
            console.error(
              `[harness] ${this.name} (pid ${this.pid}) ignored SIGTERM for ${graceMs} ms: SIGKILL`,
            );
            trySignal(this.pid, "SIGKILL");
          }
          resolve();
        }, graceMs);
      });
      await Promise.race([this.exited, killed]);
      await this.exited;
      clearTimeout(timer);
    })();
    return this.#stopping;
  }

  logTail(lines = 30): string {
    try {
      return readFileSync(this.logFile, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
    } catch {
      return "(no log)";
    }
  }
}

/**
 * Polls until check() resolves to true, failing fast with the log tail when the
 * process exits first. Used by every component to wait for its readiness endpoint.
 */
export async function waitUntilReady(
  proc: ManagedProcess,
  check: () => Promise<boolean>,
  timeoutMs: number,
  intervalMs = 100,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited: ExitInfo | undefined;
  void proc.exited.then((info) => (exited = info));
  let lastError: unknown;
  for (;;) {
    if (exited) {
      throw new Error(
        `${proc.name} exited (code ${exited.code}, signal ${exited.signal}) before it was ready; ` +
          `log ${proc.logFile}:\n${proc.logTail()}`,
      );
    }
    try {
      if (await check()) return;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `${proc.name} not ready after ${timeoutMs} ms (last error: ${String(lastError)}); ` +
          `log ${proc.logFile}:\n${proc.logTail()}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

// ---------------------------------------------------------------------------------
// Process-wide safety net.

const liveSupervisors = new Set<ProcessSupervisor>();
let handlersInstalled = false;
const watchdogs = new Set<string>();

function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  // 'exit' allows only synchronous work: SIGKILL whatever is still running. The state
  // is throw-away, so nothing is lost. (vitest's own SIGINT handler calls process.exit.)
  process.on("exit", () => {
    for (const supervisor of liveSupervisors) supervisor.killAllNow();
  });
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.once(signal, () => {
      if (liveSupervisors.size > 0) console.error(`[harness] ${signal}: stopping the harness processes`);
      const stopping = (async () => {
        // Owners first (the stack stops its fake kubelet, then kube-apiserver before etcd) …
        await Promise.allSettled([...shutdownHooks].map((hook) => hook()));
        // … then whatever is left.
        await Promise.all([...liveSupervisors].map((supervisor) => supervisor.stopAll(2_000)));
      })();
      const bounded = Promise.race([stopping, new Promise((resolve) => setTimeout(resolve, 10_000))]);
      // Our listener replaced the default action; re-raise so the process ends as it
      // would have (or other listeners, such as vitest's, decide).
      void bounded.finally(() => process.kill(process.pid, signal));
    });
  }
}

const shutdownHooks = new Set<() => Promise<void>>();

/**
 * Runs `hook` (an orderly stop) when this process gets SIGINT/SIGTERM/SIGHUP, before
 * the remaining processes are stopped. Returns a function that unregisters it.
 */
export function onShutdownSignal(hook: () => Promise<void>): () => void {
  installHandlers();
  shutdownHooks.add(hook);
  return () => shutdownHooks.delete(hook);
}

/**
 * A detached shell loop that outlives us only to clean up: once the owner PID is gone
 * it SIGKILLs every PID still listed in the pidfile (checking each one's start time).
 */
function ensureWatchdog(pidfile: string): void {
  if (watchdogs.has(pidfile)) return;
  watchdogs.add(pidfile);
  const script = `
owner=$1; pidfile=$2
while kill -0 "$owner" 2>/dev/null; do sleep 1; done
[ -f "$pidfile" ] || exit 0
while read -r pid start name; do
  [ "$pid" = owner ] && continue
  [ -r "/proc/$pid/stat" ] || continue
  now=$(sed 's/^.*) //' "/proc/$pid/stat" | cut -d' ' -f20)
  [ "$now" = "$start" ] && kill -KILL "$pid" 2>/dev/null
done < "$pidfile"
rm -f "$pidfile"
`;
  const watchdog = spawn("bash", ["-c", script, "glidepath-watchdog", String(process.pid), pidfile], {
    detached: true,
    stdio: "ignore",
  });
  watchdog.unref();
}

interface PidEntry {
  pid: number;
  startTime: number;
  name: string;
}

function parsePidfile(path: string): { owner: PidEntry; children: PidEntry[] } | undefined {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
  let owner: PidEntry | undefined;
  const children: PidEntry[] = [];
  for (const line of text.split("\n")) {
    const [first, second, third, fourth] = line.trim().split(" ");
    if (first === "owner") owner = { pid: Number(second), startTime: Number(third), name: fourth ?? "owner" };
    else if (first) children.push({ pid: Number(first), startTime: Number(second), name: third ?? "?" });
  }
  return owner ? { owner, children } : undefined;
}

/** Start time of a PID in clock ticks since boot (field 22 of /proc/PID/stat). */
function startTimeOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return Number(fields[19]);
  } catch {
    return undefined;
  }
}

function isSameProcess(entry: PidEntry): boolean {
  return Number.isInteger(entry.pid) && entry.pid > 0 && startTimeOf(entry.pid) === entry.startTime;
}

function trySignal(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // Already gone.
  }
}

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs a short command to completion (openssl, kubectl, helm). Throws with stderr on a
 * non-zero exit unless allowFailure is set.
 */
export function runCommand(
  command: string,
  args: readonly string[],
  options: {
    cwd?: string;
    input?: string;
    env?: NodeJS.ProcessEnv;
    allowFailure?: boolean;
    timeoutMs?: number;
  } = {},
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      // No stdin pipe unless there is input: a command that exits before we end the pipe
      // would raise EPIPE on it (an uncaught error that ends the whole run).
      stdio: [options.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
      timeout: options.timeoutMs ?? 120_000,
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout?.on("data", (chunk: Buffer) => stdout.push(chunk));
    child.stderr?.on("data", (chunk: Buffer) => stderr.push(chunk));
    child.once("error", (error) => reject(new Error(`${command}: ${error.message}`)));
    child.once("close", (code, signal) => {
      const result = {
        code: code ?? 128,
        stdout: Buffer.concat(stdout).toString("utf8"),
        stderr: Buffer.concat(stderr).toString("utf8"),
      };
      if (result.code !== 0 && !options.allowFailure) {
        const why = signal ? `signal ${signal}` : `exit code ${result.code}`;
        reject(
          new Error(
            `${command} ${args.join(" ")} failed (${why}): ${result.stderr.trim() || result.stdout.trim()}`,
          ),
        );
      } else {
        resolve(result);
      }
    });
    if (child.stdin) {
      child.stdin.on("error", () => {}); // EPIPE when the command does not read its input
      child.stdin.end(options.input);
    }
  });
}
