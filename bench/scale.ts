// Scale of one controller on the real local stack (`npm run bench:scale`): etcd,
// kube-apiserver 1.20, controller-manager, scheduler, fake kubelets, Prometheus, and the
// controller as its own process under its ServiceAccount (dist/main.js compiled as the
// image does, default settings).
//
//   1. setup: N services (Deployment of 1 replica, Service, HTTPRoute), 50 a namespace;
//      meanwhile one real release runs to Succeeded, to give the completed ones a real status
//   2. completed: 10,000 finished Releases (created as admin, status written through the
//      status subresource); a fresh controller: time to sync, RSS after sync and after a
//      few minutes of steady state
//   3. active: 100, then 1,000 Releases held at their canary stage (hold 4h, analysis every
//      30 s): over a window, reconcile latency p50/p99, reconciles/s, controller RSS and CPU,
//      the controller's API requests/s and Prometheus queries/s
//   4. restart: the controller is stopped (SIGTERM) and a new one started: time until it
//      has observed every one of the 1,000 active Releases again
//
// Method (docs/performance.md): reconcile quantiles come from the controller's
// glidepath_reconcile_duration_seconds histogram (bucket deltas over the window,
// interpolated as histogram_quantile() does, with the bucket given too); API requests from
// kube-apiserver's audit log, which logs the controller ServiceAccount's requests only;
// Prometheus queries from Prometheus's own prometheus_http_requests_total; CPU and RSS from
// /proc/<pid>. It prints a table and writes JSON to bench/results/. It reports; it never
// fails on the numbers. Settings (BENCH_ACTIVE, BENCH_COMPLETED, BENCH_WINDOW_S, …,
// BENCH_PROFILE=cpu|heap): bench/README.md.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { arch, cpus, loadavg, platform, release as osRelease, totalmem } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Release, ReleaseSpecInput, ReleaseStatus } from "../src/api/index.ts";
import { installControllerRbac } from "../test/harness/controller.ts";
import { startFakeKubelet, type FakeKubelet } from "../test/harness/fake-kubelet.ts";
import { createRunDir, runCommand } from "../test/harness/processes.ts";
import { startStack, type Stack } from "../test/harness/stack.ts";
import { AuditLog, auditLogFlags, summariseRequests, type RequestKindSummary } from "./lib/audit-log.ts";
import { startBenchController, type BenchController } from "./lib/controller.ts";
import {
  countReadyDeployments,
  createReleases,
  createTargets,
  deleteReleases,
  kubeApis,
  listReleases,
  releaseBody,
  targetAt,
  type KubeApis,
  type ReleaseBody,
  type Target,
} from "./lib/fixtures.ts";
import {
  bucketsBetween,
  histogramBuckets,
  histogramQuantile,
  parsePrometheusText,
  sumOf,
  type Quantile,
  type Sample,
} from "./lib/prometheus-text.ts";
import { ProcessSampler, type ProcessUsage } from "./lib/process-stats.ts";

const settings = {
  active: (process.env.BENCH_ACTIVE ?? "100,1000")
    .split(",")
    .map(Number)
    .filter((count) => count > 0)
    .sort((a, b) => a - b),
  completed: Number(process.env.BENCH_COMPLETED ?? 10_000),
  windowSeconds: Number(process.env.BENCH_WINDOW_S ?? 120),
  steadySeconds: Number(process.env.BENCH_STEADY_S ?? 180),
  /** After the last Release reached its canary, before a window starts. */
  settleSeconds: Number(process.env.BENCH_SETTLE_S ?? 15),
  perNamespace: 50,
  profile: process.env.BENCH_PROFILE as "cpu" | "heap" | undefined,
  /** Controller configuration (workers) and Node flags, for experiments; unset = the product's defaults. */
  workers: process.env.BENCH_WORKERS ? Number(process.env.BENCH_WORKERS) : undefined,
  nodeOptions:
    process.env.BENCH_NODE_OPTIONS === undefined
      ? imageNodeFlags()
      : process.env.BENCH_NODE_OPTIONS.split(" ").filter(Boolean),
};
/** The Node flags of the image's ENTRYPOINT (between `node` and the script), so the controller runs as in a Pod. */
function imageNodeFlags(): string[] {
  const entrypoint = readFileSync(new URL("../Dockerfile", import.meta.url), "utf8")
    .split("\n")
    .find((line) => line.startsWith("ENTRYPOINT "));
  if (!entrypoint) throw new Error("the Dockerfile has no ENTRYPOINT");
  return (JSON.parse(entrypoint.slice("ENTRYPOINT ".length)) as string[]).slice(1, -1);
}
const TARGETS = {
  activeReconcileP99Seconds: 1,
  activeRssMiB: 256,
  completedRssMiB: 384,
  resyncSeconds: 30,
};
const CONTROLLER_USER = "system:serviceaccount:glidepath-system:glidepath-controller";
const MiB = 1024 * 1024;
const resultsDir = fileURLToPath(new URL("./results/", import.meta.url));
const repoRoot = fileURLToPath(new URL("../", import.meta.url));

const benchStarted = Date.now();
function say(message: string): void {
  const seconds = Math.round((Date.now() - benchStarted) / 1000);
  const clock = `${String(Math.floor(seconds / 60)).padStart(2, "0")}:${String(seconds % 60).padStart(2, "0")}`;
  console.log(`[${clock}] ${message}`);
}
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const round = (value: number, digits = 1) => Number(value.toFixed(digits));
const mib = (bytes: number | undefined) => (bytes === undefined ? undefined : round(bytes / MiB));

interface Context {
  stack: Stack;
  apis: KubeApis;
  audit: AuditLog;
  kubeconfigPath: string;
  /** The controller's entry point. */
  entry: string;
  apiServer: ProcessSampler;
  etcd: ProcessSampler;
}

// ---- the controller, watched -----------------------------------------------------------

interface Watched {
  controller: BenchController;
  sampler: ProcessSampler;
}

async function startController(context: Context, identity: string): Promise<Watched> {
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
    ...(settings.workers ? { config: { workers: settings.workers } } : {}),
  });
  const sampler = new ProcessSampler(controller.process.pid, 1_000);
  return { controller, sampler };
}

async function stopController(watched: Watched): Promise<void> {
  watched.sampler.stop();
  await watched.controller.stop();
}

/** With BENCH_PROFILE=heap: a heap snapshot now, in the run directory's profiles/. */
async function heapSnapshot(watched: Watched, label: string): Promise<void> {
  if (settings.profile !== "heap") return;
  say(`heap snapshot of ${watched.controller.identity} (${label})`);
  process.kill(watched.controller.process.pid, "SIGUSR2");
  await sleep(15_000);
}

async function scrapePrometheus(context: Context): Promise<Sample[]> {
  return parsePrometheusText(await (await fetch(`${context.stack.info.prometheus.url}/metrics`)).text());
}

// ---- measurement over a window ---------------------------------------------------------

interface LatencySummary {
  count: number;
  perSecond: number;
  errors: number;
  p50?: Quantile;
  p90?: Quantile;
  p99?: Quantile;
}

interface WindowResult {
  seconds: number;
  releasesActive: number;
  reconcile: LatencySummary;
  controller: ProcessUsage | undefined;
  apiServer: ProcessUsage | undefined;
  etcd: ProcessUsage | undefined;
  apiRequests: {
    total: number;
    perSecond: number;
    /** By "verb resource": count and the apiserver's own latency. */
    byRequest: Record<string, RequestKindSummary>;
    errors: number;
  };
  prometheus: {
    queriesPerSecond: number;
    analysisRoundsPerSecond: number;
    /** One round per active Release per analysis interval is what the Releases ask for. */
    analysisRoundsDuePerSecond: number;
  };
  queueDepthMax: number;
  queueDepthMean: number;
  /** The controller's V8 heap at the end (its own /metrics), to tell live objects from the rest of RSS. */
  controllerHeap: HeapUsage;
  loadAverage: number[];
}

interface HeapUsage {
  usedMiB?: number;
  totalMiB?: number;
  externalMiB?: number;
  /** Committed size of each V8 heap space. */
  spacesMiB: Record<string, number | undefined>;
}

function heapUsage(samples: Sample[]): HeapUsage {
  const spaces: Record<string, number | undefined> = {};
  for (const sample of samples) {
    if (sample.name === "glidepath_nodejs_heap_space_size_total_bytes" && sample.value > 0)
      spaces[sample.labels.space ?? "?"] = mib(sample.value);
  }
  return {
    usedMiB: mib(sumOf(samples, "glidepath_nodejs_heap_size_used_bytes")),
    totalMiB: mib(sumOf(samples, "glidepath_nodejs_heap_size_total_bytes")),
    externalMiB: mib(sumOf(samples, "glidepath_nodejs_external_memory_bytes")),
    spacesMiB: spaces,
  };
}

function reconcileSummary(before: Sample[], after: Sample[], seconds: number): LatencySummary {
  const name = "glidepath_reconcile_duration_seconds";
  const buckets = bucketsBetween(histogramBuckets(before, name), histogramBuckets(after, name));
  const count = sumOf(after, `${name}_count`) - sumOf(before, `${name}_count`);
  const summary: LatencySummary = {
    count,
    perSecond: round(count / seconds, 2),
    errors:
      sumOf(after, `${name}_count`, { outcome: "error" }) -
      sumOf(before, `${name}_count`, { outcome: "error" }),
  };
  const p50 = histogramQuantile(0.5, buckets);
  const p90 = histogramQuantile(0.9, buckets);
  const p99 = histogramQuantile(0.99, buckets);
  if (p50) summary.p50 = p50;
  if (p90) summary.p90 = p90;
  if (p99) summary.p99 = p99;
  return summary;
}

async function measureWindow(
  context: Context,
  watched: Watched,
  seconds: number,
  countActive: () => Promise<number>,
): Promise<WindowResult> {
  const { controller, sampler } = watched;
  const [metricsBefore, prometheusBefore] = await Promise.all([
    controller.scrape(),
    scrapePrometheus(context),
  ]);
  const auditOffset = context.audit.offset();
  const start = Date.now();
  const depths: number[] = [];
  const end = start + seconds * 1000;
  while (Date.now() < end) {
    await sleep(Math.min(5_000, end - Date.now()));
    const samples = await controller.scrape().catch(() => undefined);
    if (samples) depths.push(sumOf(samples, "glidepath_queue_depth"));
  }
  const stop = Date.now();
  const [metricsAfter, prometheusAfter] = await Promise.all([controller.scrape(), scrapePrometheus(context)]);
  const loadAverage = loadavg().map((value) => round(value, 2));
  const wall = (stop - start) / 1000;
  // Requests finish into the audit log a moment after they end.
  await sleep(2_000);
  const events = await context.audit.events(auditOffset, start, stop);
  const query = { handler: "/api/v1/query" };
  const rounds = "glidepath_prometheus_query_duration_seconds_count";
  const releasesActive = await countActive();
  return {
    seconds: round(wall),
    releasesActive,
    reconcile: reconcileSummary(metricsBefore, metricsAfter, wall),
    controller: sampler.usage(start, stop),
    apiServer: context.apiServer.usage(start, stop),
    etcd: context.etcd.usage(start, stop),
    apiRequests: {
      total: events.length,
      perSecond: round(events.length / wall, 1),
      byRequest: summariseRequests(events),
      errors: events.filter((event) => event.code >= 400).length,
    },
    prometheus: {
      queriesPerSecond: round(
        (sumOf(prometheusAfter, "prometheus_http_requests_total", query) -
          sumOf(prometheusBefore, "prometheus_http_requests_total", query)) /
          wall,
        2,
      ),
      analysisRoundsPerSecond: round((sumOf(metricsAfter, rounds) - sumOf(metricsBefore, rounds)) / wall, 2),
      analysisRoundsDuePerSecond: round(releasesActive / ANALYSIS_INTERVAL_SECONDS, 2),
    },
    queueDepthMax: Math.max(0, ...depths),
    queueDepthMean: round(depths.reduce((sum, depth) => sum + depth, 0) / (depths.length || 1)),
    controllerHeap: heapUsage(metricsAfter),
    loadAverage,
  };
}

// ---- the phases ------------------------------------------------------------------------

const GOLDEN_STAGES = [
  { name: "canary", weight: 1, hold: "4s", minMeasurements: 2 },
  { name: "early-adopter", weight: 10, hold: "4s", minMeasurements: 2 },
  { name: "expansion", weight: 50, hold: "4s", minMeasurements: 2 },
  { name: "ga", weight: 100, hold: "0s" },
];
const GOLDEN_ANALYSIS: NonNullable<ReleaseSpecInput["analysis"]> = {
  interval: "2s",
  metrics: [{ name: "error-rate", query: "vector(0)", max: 0.05 }],
};
const ACTIVE_STAGES = [
  { name: "canary", weight: 1, hold: "4h", minMeasurements: 3 },
  { name: "ga", weight: 100, hold: "0s" },
];
// No traffic reaches these services, so every round is inconclusive (no data): a limit of
// 100 keeps them analysing at their canary stage instead of pausing after 3 rounds.
const ANALYSIS_INTERVAL_SECONDS = 30;
const ACTIVE_ANALYSIS: NonNullable<ReleaseSpecInput["analysis"]> = {
  interval: `${ANALYSIS_INTERVAL_SECONDS}s`,
  metrics: [{ name: "error-rate", template: "http-error-ratio", max: 0.05, inconclusiveLimit: 100 }],
};

function isInCanary(release: Release): boolean {
  return release.status?.phase === "Progressing" && release.status.currentStage?.name === "canary";
}

function phases(releases: readonly Release[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const release of releases) {
    const phase = isInCanary(release) ? "in canary" : (release.status?.phase ?? "new");
    counts[phase] = (counts[phase] ?? 0) + 1;
  }
  return counts;
}

/** One real release, short stages, run to the end: its status is what the completed ones carry. */
async function runGoldenRelease(
  context: Context,
): Promise<{ status: ReleaseStatus; ms: number } | undefined> {
  const started = Date.now();
  const target: Target = { namespace: "scale-golden", name: "golden" };
  await createTargets(context.apis, [target], 1);
  for (;;) {
    const { ready } = await countReadyDeployments(context.apis, [target.namespace]);
    if (ready === 1) break;
    await sleep(500);
  }
  const watched = await startController(context, "scale-golden");
  try {
    const body = releaseBody(target, {
      version: "1.1.0",
      set: "golden",
      stages: GOLDEN_STAGES,
      analysis: GOLDEN_ANALYSIS,
      bake: "6s",
      progressDeadline: "3m",
    });
    await createReleases(context.apis, [body], 1);
    const deadline = Date.now() + 240_000;
    while (Date.now() < deadline) {
      const [release] = await listReleases(context.apis, [target.namespace], "golden");
      const phase = release?.status?.phase;
      if (release?.status && (phase === "Succeeded" || phase === "RolledBack" || phase === "Failed")) {
        if (phase !== "Succeeded") say(`the golden release ended ${phase}: ${release.status.message ?? ""}`);
        return { status: release.status, ms: Date.now() - started };
      }
      await sleep(1_000);
    }
    say("the golden release did not finish within 4 minutes");
    return undefined;
  } finally {
    await stopController(watched);
  }
}

interface SetupResult {
  targets: number;
  targetsMs: number;
  extraNodes: number;
}

async function createAllTargets(context: Context, targets: readonly Target[]): Promise<SetupResult> {
  const started = Date.now();
  let lastSaid = 0;
  await createTargets(context.apis, targets, 16, (done) => {
    if (Date.now() - lastSaid > 10_000 || done === targets.length) {
      lastSaid = Date.now();
      say(`  services created: ${done}/${targets.length}`);
    }
  });
  const namespaces = targets.map((target) => target.namespace);
  for (;;) {
    const { ready, total } = await countReadyDeployments(context.apis, namespaces);
    if (ready >= targets.length) break;
    say(`  stable Deployments Ready: ${ready}/${total}`);
    await sleep(5_000);
  }
  return { targets: targets.length, targetsMs: Date.now() - started, extraNodes: 0 };
}

interface CompletedResult {
  releases: number;
  statusBytes: number;
  createMs: number;
  /** Process spawned → /readyz (all informers listed). */
  syncMs: number;
  /** CPU time the controller used from spawn to /readyz. */
  syncCpuSeconds?: number;
  /** Process spawned → the queue empty after every Release was looked at once. */
  drainedMs?: number;
  rssAfterSyncMiB?: number;
  rssAfterDrainMiB?: number;
  steadySeconds: number;
  steady?: ProcessUsage;
  rssEndMiB?: number;
  rssMaxMiB?: number;
  heapAtEnd: HeapUsage;
  apiRequestsPerSecondSteady: number;
  deleteMs: number;
}

async function completedPhase(
  context: Context,
  targets: readonly Target[],
  status: ReleaseStatus,
): Promise<CompletedResult> {
  const perTarget = Math.ceil(settings.completed / targets.length);
  const bodies: ReleaseBody[] = [];
  for (let index = 0; index < settings.completed; index++) {
    const target = targets[index % targets.length] as Target;
    const generation = Math.floor(index / targets.length);
    bodies.push(
      releaseBody(target, {
        version: `0.${generation}.0`,
        set: "completed",
        stages: GOLDEN_STAGES,
        analysis: GOLDEN_ANALYSIS,
      }),
    );
  }
  say(`completed: creating ${bodies.length} finished Releases (${perTarget} per service), status as admin`);
  const createStarted = Date.now();
  let lastSaid = 0;
  await createReleases(context.apis, bodies, 24, status, (done) => {
    if (Date.now() - lastSaid > 10_000 || done === bodies.length) {
      lastSaid = Date.now();
      say(`  completed Releases written: ${done}/${bodies.length}`);
    }
  });
  const createMs = Date.now() - createStarted;

  say("completed: starting a fresh controller");
  const watched = await startController(context, "scale-completed");
  const { controller, sampler } = watched;
  const syncMs = controller.readyAt - controller.spawnedAt;
  const afterSync = sampler.sample();
  const rssAfterSync = afterSync?.rssBytes;
  const syncCpuSeconds = afterSync ? round(afterSync.cpuSeconds, 1) : undefined;
  say(`  ready (informers synced) ${(syncMs / 1000).toFixed(1)} s after spawn, RSS ${mib(rssAfterSync)} MiB`);
  const drainedAt = await waitForDrain(controller, bodies.length, 300_000);
  const rssAfterDrain = sampler.sample()?.rssBytes;
  if (drainedAt)
    say(`  every Release looked at ${((drainedAt - controller.spawnedAt) / 1000).toFixed(1)} s after spawn`);
  await heapSnapshot(watched, "after sync");
  say(`completed: steady state for ${settings.steadySeconds} s`);
  const steadyStart = Date.now();
  const auditOffset = context.audit.offset();
  const steadyEnd = steadyStart + settings.steadySeconds * 1000;
  while (Date.now() < steadyEnd) {
    await sleep(Math.min(30_000, steadyEnd - Date.now()));
    say(`  RSS ${mib(sampler.sample()?.rssBytes)} MiB`);
  }
  const steadyStop = Date.now();
  const heapAtEnd = heapUsage(await controller.scrape());
  await sleep(2_000);
  const events = await context.audit.events(auditOffset, steadyStart, steadyStop);
  await heapSnapshot(watched, "after steady state");
  const steady = sampler.usage(steadyStart, steadyStop);
  const all = sampler.usage(controller.spawnedAt, steadyStop);
  await stopController(watched);

  say("completed: deleting the finished Releases");
  const deleteStarted = Date.now();
  await deleteReleases(
    context.apis,
    targets.map((target) => target.namespace),
    "completed",
  );
  const deleteMs = Date.now() - deleteStarted;
  return {
    releases: bodies.length,
    statusBytes: JSON.stringify(status).length,
    createMs,
    syncMs,
    ...(syncCpuSeconds === undefined ? {} : { syncCpuSeconds }),
    ...(drainedAt ? { drainedMs: drainedAt - controller.spawnedAt } : {}),
    ...(rssAfterSync ? { rssAfterSyncMiB: mib(rssAfterSync) } : {}),
    ...(rssAfterDrain ? { rssAfterDrainMiB: mib(rssAfterDrain) } : {}),
    steadySeconds: settings.steadySeconds,
    ...(steady ? { steady, rssEndMiB: mib(steady.rssEndBytes) } : {}),
    ...(all ? { rssMaxMiB: mib(all.rssMaxBytes) } : {}),
    heapAtEnd,
    apiRequestsPerSecondSteady: round(events.length / ((steadyStop - steadyStart) / 1000), 2),
    deleteMs,
  };
}

/**
 * When, after start-up, the queue was empty having handled `expected` keys: the first
 * /metrics scrape (every 250 ms) with glidepath_queue_depth 0 and at least `expected`
 * reconciles finished. Every key queued at start-up has then been taken by a worker.
 */
async function waitForDrain(
  controller: BenchController,
  expected: number,
  timeoutMs: number,
): Promise<number | undefined> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const samples = await controller.scrape().catch(() => undefined);
    if (samples) {
      const depth = sumOf(samples, "glidepath_queue_depth");
      const reconciles = sumOf(samples, "glidepath_reconcile_duration_seconds_count");
      if (depth === 0 && reconciles >= expected) return Date.now();
    }
    await sleep(250);
  }
  return undefined;
}

interface ActiveResult extends WindowResult {
  releases: number;
  /** Releases created → every one at its canary stage (or the wait gave up). */
  rampMs: number;
  inCanaryAtStart: number;
}

async function activePhase(
  context: Context,
  watched: Watched,
  targets: readonly Target[],
  from: number,
  to: number,
): Promise<ActiveResult> {
  const namespaces = [...new Set(targets.slice(0, to).map((target) => target.namespace))];
  const bodies = targets.slice(from, to).map((target) =>
    releaseBody(target, {
      version: "2.0.0",
      set: "active",
      stages: ACTIVE_STAGES,
      analysis: ACTIVE_ANALYSIS,
      progressDeadline: "30m",
    }),
  );
  say(`active ${to}: creating ${bodies.length} Releases`);
  const started = Date.now();
  await createReleases(context.apis, bodies, 16);
  // Up to a minute per 100 new Releases, at least 3 minutes.
  const deadline = started + Math.max(180_000, bodies.length * 600);
  let inCanary: number;
  for (;;) {
    const releases = await listReleases(context.apis, namespaces, "active");
    inCanary = releases.filter(isInCanary).length;
    if (inCanary >= to) break;
    say(`  ${JSON.stringify(phases(releases))}`);
    if (Date.now() > deadline) {
      say(`  giving up waiting: ${inCanary}/${to} at their canary stage`);
      break;
    }
    await sleep(5_000);
  }
  const rampMs = Date.now() - started;
  say(
    `active ${to}: ${inCanary} at their canary stage after ${(rampMs / 1000).toFixed(0)} s; settling ${settings.settleSeconds} s`,
  );
  await sleep(settings.settleSeconds * 1000);
  say(`active ${to}: measuring for ${settings.windowSeconds} s`);
  const window = await measureWindow(context, watched, settings.windowSeconds, async () => {
    const releases = await listReleases(context.apis, namespaces, "active");
    return releases.filter(
      (release) => !["Succeeded", "RolledBack", "Failed"].includes(release.status?.phase ?? ""),
    ).length;
  });
  say(
    `  ${window.reconcile.perSecond} reconciles/s, p50 ${formatQuantile(window.reconcile.p50)}, p99 ${formatQuantile(window.reconcile.p99)}, ` +
      `RSS ${mib(window.controller?.rssEndBytes)} MiB, CPU ${window.controller?.cpuCores.toFixed(2)}, ` +
      `API ${window.apiRequests.perSecond}/s, Prometheus ${window.prometheus.queriesPerSecond}/s`,
  );
  return { releases: to, rampMs, inCanaryAtStart: inCanary, ...window };
}

interface RestartResult {
  releases: number;
  /** Process spawned → /readyz answers 200 (Release and Deployment caches listed). */
  readyMs: number;
  /** Process spawned → it holds the Lease (its log line). */
  leadingMs?: number;
  /** Process spawned → its first status write (audit log). */
  firstStatusWriteMs?: number;
  /**
   * Process spawned → every active Release observed once: each reconcile of an active
   * Release reads its HTTPRoute, so this is when the audit log holds a GET of every one.
   */
  resyncedMs?: number;
  /** Process spawned → the first scrape (every 250 ms) with an empty queue, if any. */
  queueEmptyMs?: number;
  rssAtResyncMiB?: number;
  apiRequestsDuringResync?: number;
  previousStopMs: number;
}

async function restartPhase(
  context: Context,
  previous: Watched,
  routes: readonly Target[],
): Promise<{ result: RestartResult; watched: Watched }> {
  say(`restart: stopping ${previous.controller.identity} (SIGTERM, releases its Lease)`);
  const stopStarted = Date.now();
  await stopController(previous);
  const previousStopMs = Date.now() - stopStarted;
  let offset = context.audit.offset();
  say("restart: starting a new controller");
  const watched = await startController(context, "scale-restarted");
  const { controller, sampler } = watched;
  const spawnedAt = controller.spawnedAt;
  const unseen = new Set(routes.map((route) => `${route.namespace}/${route.name}`));
  let firstWriteAt: number | undefined;
  let resyncedAt: number | undefined;
  let queueEmptyAt: number | undefined;
  let rssAtResync: number | undefined;
  let requests = 0;
  const deadline = Date.now() + 300_000;
  let lastSaid = Date.now();
  // Until every Release was observed; then a while longer for the first status write, which
  // waits for the soonest analysis round due.
  const firstWriteDeadline = () => (resyncedAt ?? Number.POSITIVE_INFINITY) + 40_000;
  while (
    (resyncedAt === undefined || (firstWriteAt === undefined && Date.now() < firstWriteDeadline())) &&
    Date.now() < deadline
  ) {
    await sleep(250);
    if (queueEmptyAt === undefined) {
      const samples = await controller.scrape().catch(() => undefined);
      if (
        samples &&
        sumOf(samples, "glidepath_queue_depth") === 0 &&
        sumOf(samples, "glidepath_reconcile_duration_seconds_count") > 0
      )
        queueEmptyAt = Date.now();
    }
    const read = await context.audit.read(offset);
    offset = read.nextOffset;
    for (const event of read.events) {
      if (event.at < spawnedAt) continue;
      requests++;
      if (firstWriteAt === undefined && event.resource === "releases/status" && event.verb === "update")
        firstWriteAt = event.at;
      if (event.resource === "httproutes" && event.verb === "get") {
        unseen.delete(`${event.namespace}/${event.name}`);
        if (unseen.size === 0 && resyncedAt === undefined) {
          resyncedAt = event.at;
          rssAtResync = sampler.sample()?.rssBytes;
        }
      }
    }
    if (Date.now() - lastSaid >= 10_000) {
      lastSaid = Date.now();
      say(`  ${routes.length - unseen.size}/${routes.length} Releases observed since the start`);
    }
  }
  const leadingAt = controller.leadingAt();
  const result: RestartResult = {
    releases: routes.length,
    readyMs: controller.readyAt - spawnedAt,
    ...(leadingAt ? { leadingMs: leadingAt - spawnedAt } : {}),
    ...(firstWriteAt ? { firstStatusWriteMs: firstWriteAt - spawnedAt } : {}),
    ...(resyncedAt ? { resyncedMs: resyncedAt - spawnedAt, apiRequestsDuringResync: requests } : {}),
    ...(queueEmptyAt ? { queueEmptyMs: queueEmptyAt - spawnedAt } : {}),
    ...(rssAtResync ? { rssAtResyncMiB: mib(rssAtResync) } : {}),
    previousStopMs,
  };
  say(
    `  ready ${seconds(result.readyMs)}, leading ${seconds(result.leadingMs)}, first status write ${seconds(result.firstStatusWriteMs)}, ` +
      `every Release observed ${seconds(result.resyncedMs)}, queue first empty ${seconds(result.queueEmptyMs)}`,
  );
  return { result, watched };
}

// ---- output ----------------------------------------------------------------------------

function seconds(ms: number | undefined): string {
  return ms === undefined ? "—" : `${(ms / 1000).toFixed(1)} s`;
}

function formatQuantile(quantile: Quantile | undefined): string {
  if (!quantile) return "—";
  const ms = (value: number) => (value === Number.POSITIVE_INFINITY ? "+Inf" : `${Math.round(value * 1000)}`);
  return `${ms(quantile.estimate)} ms (${ms(quantile.lower)}–${ms(quantile.upper)}]`;
}

function verdict(value: number | undefined, limit: number): string {
  if (value === undefined || Number.isNaN(value)) return "not measured";
  return value < limit ? "met" : "MISSED";
}

interface Results {
  setup: SetupResult & { stackMs: number; goldenMs?: number };
  completed?: CompletedResult | { skipped: string };
  active: ActiveResult[];
  restart?: RestartResult;
}

function printTable(results: Results): string[] {
  const lines: string[] = [];
  const row = (cells: string[]) => lines.push(`| ${cells.join(" | ")} |`);
  const header = [
    "scenario",
    "Releases",
    "reconciles/s",
    "reconcile p50",
    "reconcile p99",
    "RSS end (max)",
    "CPU cores",
    "API req/s",
    "Prom queries/s",
  ];
  row(header);
  lines.push(`|${header.map(() => "---").join("|")}|`);
  for (const active of results.active) {
    row([
      `${active.releases} active`,
      String(active.releasesActive),
      String(active.reconcile.perSecond),
      formatQuantile(active.reconcile.p50),
      formatQuantile(active.reconcile.p99),
      `${mib(active.controller?.rssEndBytes)} (${mib(active.controller?.rssMaxBytes)}) MiB`,
      active.controller?.cpuCores.toFixed(2) ?? "—",
      String(active.apiRequests.perSecond),
      String(active.prometheus.queriesPerSecond),
    ]);
  }
  const completed = results.completed;
  if (completed && "releases" in completed) {
    row([
      `${completed.releases} completed, ${completed.steadySeconds} s steady`,
      String(completed.releases),
      "—",
      "—",
      "—",
      `${completed.rssEndMiB} (${completed.rssMaxMiB}) MiB`,
      completed.steady?.cpuCores.toFixed(2) ?? "—",
      String(completed.apiRequestsPerSecondSteady),
      "0",
    ]);
  }
  lines.push("");
  for (const active of results.active) {
    lines.push(
      `${active.releases} active: queue depth mean ${active.queueDepthMean} (max ${active.queueDepthMax}); ` +
        `analysis rounds ${active.prometheus.analysisRoundsPerSecond}/s of ${active.prometheus.analysisRoundsDuePerSecond}/s due; ` +
        `kube-apiserver ${active.apiServer?.cpuCores.toFixed(2)} cores, etcd ${active.etcd?.cpuCores.toFixed(2)}; ` +
        `controller heap ${active.controllerHeap.usedMiB} of ${active.controllerHeap.totalMiB} MiB; load ${active.loadAverage.join(" ")}`,
    );
  }
  if (completed && "releases" in completed) {
    lines.push(
      `${completed.releases} completed: informers synced ${seconds(completed.syncMs)} after spawn (RSS ${completed.rssAfterSyncMiB} MiB), ` +
        `all looked at ${seconds(completed.drainedMs)} (RSS ${completed.rssAfterDrainMiB} MiB); status ${completed.statusBytes} bytes each`,
    );
  } else if (completed) {
    lines.push(`completed: skipped (${completed.skipped})`);
  }
  const restart = results.restart;
  if (restart) {
    lines.push(
      `restart with ${restart.releases} active: ready ${seconds(restart.readyMs)}, leading ${seconds(restart.leadingMs)}, ` +
        `first status write ${seconds(restart.firstStatusWriteMs)}, every Release observed ${seconds(restart.resyncedMs)}, ` +
        `queue first empty ${seconds(restart.queueEmptyMs)} (from process spawn)`,
    );
  }
  const largest = results.active.at(-1);
  lines.push("");
  lines.push("targets (the benchmark reports; it never fails):");
  if (largest) {
    const p99 = largest.reconcile.p99;
    lines.push(
      `  ${largest.releases} active, reconcile p99 < ${TARGETS.activeReconcileP99Seconds} s: ${formatQuantile(p99)} → ` +
        (p99
          ? p99.upper <= TARGETS.activeReconcileP99Seconds
            ? "met"
            : p99.lower >= TARGETS.activeReconcileP99Seconds
              ? "MISSED"
              : verdict(p99.estimate, TARGETS.activeReconcileP99Seconds)
          : "not measured"),
    );
    const rss = mib(largest.controller?.rssMaxBytes);
    lines.push(
      `  ${largest.releases} active, controller RSS < ${TARGETS.activeRssMiB} MiB: max ${rss} MiB → ${verdict(rss, TARGETS.activeRssMiB)}`,
    );
  }
  if (completed && "releases" in completed) {
    lines.push(
      `  ${completed.releases} completed, RSS < ${TARGETS.completedRssMiB} MiB: max ${completed.rssMaxMiB} MiB → ${verdict(completed.rssMaxMiB, TARGETS.completedRssMiB)}`,
    );
  }
  if (restart) {
    lines.push(
      `  resync of ${restart.releases} < ${TARGETS.resyncSeconds} s (every Release observed): ${seconds(restart.resyncedMs)} → ${verdict(restart.resyncedMs === undefined ? undefined : restart.resyncedMs / 1000, TARGETS.resyncSeconds)}`,
    );
  }
  lines.push("");
  lines.push(
    `setup: stack ${seconds(results.setup.stackMs)}, ${results.setup.targets} services Ready ${seconds(results.setup.targetsMs)}, ` +
      `golden release ${seconds(results.setup.goldenMs)}; ` +
      results.active
        .map((active) => `${active.releases} active at canary ${seconds(active.rampMs)}`)
        .join(", "),
  );
  for (const line of lines) console.log(line);
  return lines;
}

/** Compiles src/ as the Dockerfile does; returns dist/main.js. */
async function buildController(outDir: string): Promise<string> {
  const main = join(outDir, "main.js");
  // Type errors elsewhere in a working tree do not stop tsc from emitting.
  const result = await runCommand(
    join(repoRoot, "node_modules", ".bin", "node"),
    [
      join(repoRoot, "node_modules", "typescript", "bin", "tsc"),
      "-p",
      join(repoRoot, "tsconfig.build.json"),
      "--outDir",
      outDir,
    ],
    { allowFailure: true },
  );
  if (!existsSync(main)) throw new Error(`tsc did not produce ${main}: ${result.stdout}${result.stderr}`);
  return main;
}

// ---- main ------------------------------------------------------------------------------

async function main(): Promise<void> {
  const startedAt = new Date();
  const loadBefore = loadavg().map((value) => round(value, 2));
  const maxActive = settings.active.at(-1) ?? 0;
  const serviceCount = Math.max(maxActive, Math.min(settings.completed, 1_000), 1);
  say(
    `scale benchmark: ${settings.active.join(", ")} active, ${settings.completed} completed, ${serviceCount} services; ` +
      `load average ${loadBefore.join(" ")} on ${cpus().length} cores`,
  );
  const runDir = createRunDir("scale");
  const audit = auditLogFlags(runDir, [CONTROLLER_USER]);
  const stackStarted = Date.now();
  // The image runs the compiled JavaScript (dist/main.js); so does the benchmark, unless
  // BENCH_FROM_SOURCE=1 (src/main.ts with Node's type stripping, as the tests run it).
  const entry = process.env.BENCH_FROM_SOURCE
    ? Promise.resolve(join(repoRoot, "src", "main.ts"))
    : buildController(join(runDir, "dist"));
  entry.catch(() => undefined);
  const stack = await startStack({
    runDir,
    log: () => undefined,
    // A /24 holds 254 Services; a thousand services and their canaries need more.
    apiServerFlags: { ...audit.flags, "service-cluster-ip-range": "10.0.0.0/16" },
    // The defaults (100/200) make creating a thousand services crawl; the controller is not affected.
    controllerManagerFlags: { "kube-api-qps": "300", "kube-api-burst": "600" },
    schedulerFlags: { "kube-api-qps": "300", "kube-api-burst": "600" },
  });
  const stackMs = Date.now() - stackStarted;
  say(
    `stack ready in ${seconds(stackMs)}: Kubernetes ${stack.info.kubernetesVersion.gitVersion}, run directory ${runDir}`,
  );
  const kubelets: FakeKubelet[] = [];
  let current: Watched | undefined;
  const results: Results = { setup: { stackMs, targets: 0, targetsMs: 0, extraNodes: 0 }, active: [] };
  try {
    const kubeConfig = stack.kubeConfig();
    // Stable pods, canary pods, and room to spare; the harness's node holds 500.
    const extraNodes = Math.max(1, Math.ceil((2 * serviceCount + 10 - 400) / 1_500));
    for (let index = 1; index <= extraNodes; index++) {
      const kubelet = await startFakeKubelet({
        kubeConfig,
        nodeName: `scale-node-${index}`,
        capacity: { pods: "1500", cpu: "1000", memory: "4Ti" },
        concurrency: 8,
      });
      await kubelet.ready;
      kubelets.push(kubelet);
    }
    const context: Context = {
      stack,
      apis: kubeApis(kubeConfig),
      audit: new AuditLog(audit.path),
      entry: await entry,
      kubeconfigPath: await installControllerRbac({
        kubectlPath: stack.info.kubectlPath,
        adminKubeconfigPath: stack.info.kubeconfigPath,
      }),
      apiServer: new ProcessSampler(stack.controlPlane.processes.apiServer.pid, 1_000),
      etcd: new ProcessSampler(stack.controlPlane.processes.etcd.pid, 1_000),
    };
    const targets = Array.from({ length: serviceCount }, (_, index) =>
      targetAt(index, settings.perNamespace),
    );

    say(
      `setup: ${serviceCount} services (Deployment of 1 replica, Service, HTTPRoute) on ${extraNodes + 1} fake nodes; a golden release meanwhile`,
    );
    const [setup, golden] = await Promise.all([
      createAllTargets(context, targets),
      settings.completed > 0 ? runGoldenRelease(context) : Promise.resolve(undefined),
    ]);
    results.setup = { ...setup, extraNodes, stackMs, ...(golden ? { goldenMs: golden.ms } : {}) };
    say(`setup: ${serviceCount} services Ready in ${seconds(setup.targetsMs)}`);

    if (settings.completed > 0) {
      results.completed = golden
        ? await completedPhase(context, targets, golden.status)
        : { skipped: "the golden release did not finish, so there is no real finished status to copy" };
    }

    let created = 0;
    if (settings.active.length > 0) {
      say("active: starting a fresh controller");
      current = await startController(context, "scale-active");
      for (const count of settings.active) {
        results.active.push(await activePhase(context, current, targets, created, count));
        created = count;
      }
      await heapSnapshot(current, `${created} active`);
      const restarted = await restartPhase(context, current, targets.slice(0, created));
      current = restarted.watched;
      results.restart = restarted.result;
    }
    if (current) await stopController(current);
    current = undefined;
    context.apiServer.stop();
    context.etcd.stop();
  } finally {
    if (current) await stopController(current).catch(() => undefined);
    for (const kubelet of kubelets) await kubelet.stop();
    await stack.stop();
    if (!process.env.BENCH_KEEP_AUDIT) rmSync(audit.path, { force: true });
  }

  console.log("");
  const table = printTable(results);
  const cpuList = cpus();
  const result = {
    benchmark: "scale",
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    wallSeconds: round((Date.now() - benchStarted) / 1000),
    settings,
    targets: TARGETS,
    method: {
      reconcileLatency:
        "glidepath_reconcile_duration_seconds histogram of the controller, bucket counts at the end of the window minus at its start; quantile interpolated linearly inside its bucket as PromQL histogram_quantile() does; the bucket (lower, upper] is given too",
      apiRequests:
        "kube-apiserver audit log (level Metadata) of the controller's ServiceAccount only: requests that finished inside the window (watches count when they end)",
      prometheusQueries:
        'Prometheus\'s own prometheus_http_requests_total{handler="/api/v1/query"}, delta over the window',
      cpuAndMemory: "/proc/<pid>/stat (utime+stime) and /proc/<pid>/status (VmRSS), sampled every second",
      resync:
        "from spawning the new process (after the old one stopped with SIGTERM and released the Lease): ready = /readyz 200 (Release and Deployment caches listed); leading = its log line; resynced = the audit log holds a GET of every active Release's HTTPRoute (each reconcile of an active Release reads it), i.e. every Release has been observed and decided once; first status write from the audit log",
      completedSync:
        "from spawning a fresh controller: synced = /readyz 200; looked at = first scrape with an empty queue and at least N reconciles finished",
    },
    results,
    table,
    machine: {
      cpuModel: cpuList[0]?.model ?? "unknown",
      cpus: cpuList.length,
      memoryGiB: round(totalmem() / 2 ** 30),
      platform: `${platform()} ${osRelease()} ${arch()}`,
      node: process.version,
      kubernetes: stack.info.kubernetesVersion.gitVersion,
      loadAverageBefore: loadBefore,
      loadAverageAfter: loadavg().map((value) => round(value, 2)),
      note: "shared machine: other engineers' test runs may have been using it at the same time",
    },
  };
  mkdirSync(resultsDir, { recursive: true });
  const file = join(resultsDir, `scale-${startedAt.toISOString().replaceAll(":", "-").slice(0, 19)}.json`);
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`\nresults: ${file}`);
}

try {
  await main();
} catch (error) {
  // It reports; it never fails: a broken run says why and exits cleanly.
  console.error(`benchmark could not complete: ${(error as Error).stack ?? String(error)}`);
}
process.exit(0);
