// What every phase of the scale benchmark works with: the stack, its API clients, the
// audit log, samplers of kube-apiserver and etcd, and controllers started as the image
// runs them (with the profiling flags BENCH_PROFILE asks for) and watched by a sampler.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Stack } from "../../test/harness/stack.ts";
import type { AuditLog } from "../lib/audit-log.ts";
import { startBenchController, type BenchController } from "../lib/controller.ts";
import type { KubeApis } from "../lib/fixtures.ts";
import { takeHeapSnapshot } from "../lib/heap.ts";
import { ProcessSampler } from "../lib/process-stats.ts";
import { parsePrometheusText, type Sample } from "../lib/prometheus-text.ts";
import { say } from "../lib/run.ts";
import { settings } from "./settings.ts";

export interface Context {
  stack: Stack;
  apis: KubeApis;
  audit: AuditLog;
  kubeconfigPath: string;
  /** The controller's entry point. */
  entry: string;
  apiServer: ProcessSampler;
  etcd: ProcessSampler;
}

/** A controller process and the sampler of its CPU and memory. */
export interface Watched {
  controller: BenchController;
  sampler: ProcessSampler;
}

export async function startController(context: Context, identity: string): Promise<Watched> {
  const { runDir } = context.stack.info;
  if (settings.profile) mkdirSync(join(runDir, "profiles"), { recursive: true });
  const nodeOptions =
    settings.profile === "cpu"
      ? ["--cpu-prof", `--cpu-prof-dir=${join(runDir, "profiles")}`]
      : settings.profile === "heap"
        ? ["--heapsnapshot-signal=SIGUSR2", `--diagnostic-dir=${join(runDir, "profiles")}`]
        : [];
  const controller = await startBenchController({
    supervisor: context.stack.supervisor,
    kubeconfigPath: context.kubeconfigPath,
    prometheusUrl: context.stack.info.prometheus.url,
    identity,
    runDir,
    entry: context.entry,
    nodeOptions: [...nodeOptions, ...settings.nodeOptions],
    config: {
      ...(settings.workers ? { workers: settings.workers } : {}),
      ...(settings.replicas > 1 ? { sharding: { replicas: settings.replicas } } : {}),
    },
  });
  const sampler = new ProcessSampler(controller.process.pid, 1_000);
  return { controller, sampler };
}

/** settings.replicas controllers at once (sharded when more than one); one keeps the name `identity`. */
export async function startControllers(context: Context, identity: string): Promise<Watched[]> {
  if (settings.replicas === 1) return [await startController(context, identity)];
  return Promise.all(
    Array.from({ length: settings.replicas }, (_, index) =>
      startController(context, `${identity}-${index + 1}`),
    ),
  );
}

export async function stopController(watched: Watched): Promise<void> {
  watched.sampler.stop();
  await watched.controller.stop();
}

/** With BENCH_PROFILE=heap: a heap snapshot now, in the run directory's profiles/. */
export async function heapSnapshot(watched: Watched, label: string): Promise<void> {
  if (settings.profile !== "heap") return;
  say(`heap snapshot of ${watched.controller.identity} (${label})`);
  await takeHeapSnapshot(watched.controller.process.pid);
}

/** Prometheus's own /metrics (its query counter). */
export async function scrapePrometheus(context: Context): Promise<Sample[]> {
  return parsePrometheusText(await (await fetch(`${context.stack.info.prometheus.url}/metrics`)).text());
}
