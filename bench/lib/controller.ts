// The controller as its own process (main.js or main.ts under its ServiceAccount), as the
// harness's startControllerProcess runs it, but with the product's default settings
// (leader election timings, workers), extra Node flags for profiling, a long readiness
// timeout (a cache of 10,000 Releases takes a while to list) and the instants a start
// passes through: spawned, listening, ready (every informer synced), leading.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { stringify } from "yaml";
import { CONTROLLER_NAMESPACE, controllerArgs } from "../../test/harness/controller.ts";
import { freePort, type ManagedProcess, type ProcessSupervisor } from "../../test/harness/processes.ts";
import { parsePrometheusText, type Sample } from "./prometheus-text.ts";

const repoRoot = fileURLToPath(new URL("../../", import.meta.url));

export interface BenchController {
  identity: string;
  url: string;
  process: ManagedProcess;
  /** Date.now() just before the process was spawned. */
  spawnedAt: number;
  /** When /readyz first answered 200: the Release, Deployment informers have listed. */
  readyAt: number;
  scrape(): Promise<Sample[]>;
  /** When the log says it leads (undefined until it does). */
  leadingAt(): number | undefined;
  /** SIGTERM: finish in-flight reconciles, release the Lease, exit (writes --cpu-prof files). */
  stop(): Promise<void>;
}

export interface StartBenchControllerOptions {
  supervisor: ProcessSupervisor;
  kubeconfigPath: string;
  prometheusUrl: string;
  identity: string;
  runDir: string;
  /** The controller's entry point: dist/main.js as the image runs it, or src/main.ts. */
  entry: string;
  /** Extra Node options, e.g. ["--cpu-prof", "--cpu-prof-dir=…"]. */
  nodeOptions?: string[];
  readyTimeoutMs?: number;
  config?: Record<string, unknown>;
}

export async function startBenchController(options: StartBenchControllerOptions): Promise<BenchController> {
  const port = await freePort();
  const configPath = join(options.runDir, `${options.identity}.yaml`);
  writeFileSync(
    configPath,
    stringify({
      strategyFile: join(repoRoot, "rollout", "rollout-strategy.json"),
      prometheus: { url: options.prometheusUrl },
      port,
      leaderElection: { leaseNamespace: CONTROLLER_NAMESPACE },
      ...options.config,
    }),
  );
  const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? "info" };
  const spawnedAt = Date.now();
  const proc = options.supervisor.start({
    name: options.identity,
    command: join(repoRoot, "node_modules", ".bin", "node"),
    // On the command line rather than NODE_OPTIONS, which refuses most V8 flags.
    args: controllerArgs({
      configPath,
      kubeconfigPath: options.kubeconfigPath,
      identity: options.identity,
      entry: options.entry,
      nodeArgs: options.nodeOptions ?? [],
    }),
    env,
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = spawnedAt + (options.readyTimeoutMs ?? 180_000);
  let exited = false;
  void proc.exited.then(() => (exited = true));
  for (;;) {
    if (exited)
      throw new Error(`controller ${options.identity} exited before it was ready:\n${proc.logTail()}`);
    const ready = await fetch(`${url}/readyz`).then(
      (response) => response.ok,
      () => false,
    );
    if (ready) break;
    if (Date.now() > deadline)
      throw new Error(
        `controller ${options.identity} not ready after ${deadline - spawnedAt} ms:\n${proc.logTail()}`,
      );
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const readyAt = Date.now();
  let leading: number | undefined;
  return {
    identity: options.identity,
    url,
    process: proc,
    spawnedAt,
    readyAt,
    scrape: async () => parsePrometheusText(await (await fetch(`${url}/metrics`)).text()),
    leadingAt() {
      leading ??= findLogTime(proc.logFile, "leading: reconciling releases");
      return leading;
    },
    stop: () => proc.stop(30_000),
  };
}

function findLogTime(logFile: string, message: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(logFile, "utf8");
  } catch {
    return undefined;
  }
  for (const line of text.split("\n")) {
    if (!line.includes(message)) continue;
    try {
      const time = (JSON.parse(line) as { time?: string | number }).time;
      return typeof time === "number" ? time : Date.parse(time ?? "");
    } catch {
      continue;
    }
  }
  return undefined;
}
