// Phase 2, completed: 10,000 finished Releases (created as admin, status written through
// the status subresource); a fresh controller: time to sync, RSS after sync and after a
// few minutes of steady state. The Releases are deleted again afterwards.
import type { ReleaseStatus } from "../../src/api/index.ts";
import type { BenchController } from "../lib/controller.ts";
import {
  createReleases,
  deleteReleases,
  releaseBody,
  type ReleaseBody,
  type Target,
} from "../lib/fixtures.ts";
import { mib, round } from "../lib/format.ts";
import { heapUsage, type HeapUsage } from "../lib/heap.ts";
import type { ProcessUsage } from "../lib/process-stats.ts";
import { sumOf } from "../lib/prometheus-text.ts";
import { say } from "../lib/run.ts";
import { sleep } from "../lib/wait.ts";
import { heapSnapshot, startController, stopController, type Context } from "./context.ts";
import { GOLDEN_ANALYSIS, GOLDEN_STAGES } from "./releases.ts";
import { settings } from "./settings.ts";

export interface CompletedResult {
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

export async function completedPhase(
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
