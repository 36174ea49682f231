// Phase 4, restart: the running controller is stopped (SIGTERM: it finishes in-flight
// reconciles and releases its Lease) and a new one started; from the new process's spawn,
// when it is ready, leads, first writes a status, and has observed every active Release
// again: the initial list queues every Release once (the queue holds a key once), so the
// queue empty with at least as many reconciles done as there are Releases means each was
// reconciled. (An idle reconcile reads only caches, so the audit log cannot tell it.)
import type { Target } from "../lib/fixtures.ts";
import { mib, seconds } from "../lib/format.ts";
import { sumOf } from "../lib/prometheus-text.ts";
import { say } from "../lib/run.ts";
import { sleep } from "../lib/wait.ts";
import { startController, stopController, type Context, type Watched } from "./context.ts";

export interface RestartResult {
  releases: number;
  /** Process spawned → /readyz answers 200 (Release and Deployment caches listed). */
  readyMs: number;
  /** Process spawned → it holds the Lease (its log line). */
  leadingMs?: number;
  /** Process spawned → its first status write (audit log). */
  firstStatusWriteMs?: number;
  /**
   * Process spawned → every active Release observed once: the first scrape with the queue
   * empty and at least one reconcile per Release done.
   */
  resyncedMs?: number;
  /** Process spawned → the first scrape (every 250 ms) with an empty queue, if any. */
  queueEmptyMs?: number;
  rssAtResyncMiB?: number;
  apiRequestsDuringResync?: number;
  previousStopMs: number;
}

export async function restartPhase(
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
  let reconciled = 0;
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
    if (queueEmptyAt === undefined || resyncedAt === undefined) {
      const samples = await controller.scrape().catch(() => undefined);
      const empty = samples !== undefined && sumOf(samples, "glidepath_queue_depth") === 0;
      reconciled = samples ? sumOf(samples, "glidepath_reconcile_duration_seconds_count") : reconciled;
      if (empty && reconciled > 0) queueEmptyAt ??= Date.now();
      if (empty && reconciled >= routes.length && resyncedAt === undefined) {
        resyncedAt = Date.now();
        rssAtResync = sampler.sample()?.rssBytes;
      }
    }
    const read = await context.audit.read(offset);
    offset = read.nextOffset;
    for (const event of read.events) {
      if (event.at < spawnedAt) continue;
      if (resyncedAt === undefined || event.at <= resyncedAt) requests++;
      if (firstWriteAt === undefined && event.resource === "releases/status" && event.verb === "update")
        firstWriteAt = event.at;
    }
    if (Date.now() - lastSaid >= 10_000) {
      lastSaid = Date.now();
      say(`  ${Math.min(reconciled, routes.length)}/${routes.length} reconciles since the start`);
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
