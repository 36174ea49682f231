// One measurement window over a running controller: reconcile latency from its histogram
// (bucket deltas over the window), its CPU and RSS and those of kube-apiserver and etcd,
// its API requests (audit log, and the controller's own glidepath_kube_requests_total) and Prometheus queries (Prometheus's own counter), and the
// depth of its work queue sampled every 5 s.
import { summariseRequests, type RequestKindSummary } from "../lib/audit-log.ts";
import { round } from "../lib/format.ts";
import { heapUsage, type HeapUsage } from "../lib/heap.ts";
import type { ProcessUsage } from "../lib/process-stats.ts";
import { histogramBuckets, sumOf, type Sample } from "../lib/prometheus-text.ts";
import { loadAverage } from "../lib/results.ts";
import { bucketsBetween, histogramQuantile, nearestRank, type Quantile } from "../lib/statistics.ts";
import { sleep } from "../lib/wait.ts";
import { scrapePrometheus, type Context, type Watched } from "./context.ts";

export interface LatencySummary {
  count: number;
  perSecond: number;
  errors: number;
  p50?: Quantile;
  p90?: Quantile;
  p99?: Quantile;
}

export interface WindowResult {
  seconds: number;
  releasesActive: number;
  reconcile: LatencySummary;
  controller: ProcessUsage | undefined;
  /** Every replica's (sharded runs; one for a single controller). Absent in runs before issue 18.4. */
  replicas?: { identity: string; usage: ProcessUsage | undefined }[];
  /** Seconds each analysis round came later than one interval after the one before (lag.ts). */
  analysisLag?: { rounds: number; p50: number; p99: number; intervalSeconds: number };
  apiServer: ProcessUsage | undefined;
  etcd: ProcessUsage | undefined;
  apiRequests: {
    total: number;
    perSecond: number;
    /** By "verb resource": count and the apiserver's own latency. */
    byRequest: Record<string, RequestKindSummary>;
    errors: number;
    /**
     * The controller's own count (glidepath_kube_requests_total: its typed clients, the
     * informers' lists and watches aside), by "verb resource"; the audit log's cross-check.
     */
    countedByController: { perSecond: number; byRequest: Record<string, number> };
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

/** Reconciles between two scrapes of the controller's /metrics, over `seconds`. */
export function reconcileSummary(before: Sample[], after: Sample[], seconds: number): LatencySummary {
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

/** glidepath_kube_requests_total between two scrapes, by "verb resource". */
export function controllerRequests(
  before: Sample[],
  after: Sample[],
  seconds: number,
): WindowResult["apiRequests"]["countedByController"] {
  const name = "glidepath_kube_requests_total";
  const byRequest: Record<string, number> = {};
  let total = 0;
  for (const sample of after) {
    if (sample.name !== name) continue;
    const delta = sample.value - sumOf(before, name, sample.labels);
    if (delta === 0) continue;
    const kind = `${sample.labels.verb} ${sample.labels.resource}`;
    byRequest[kind] = (byRequest[kind] ?? 0) + delta;
    total += delta;
  }
  return { perSecond: round(total / seconds, 1), byRequest };
}

export interface WindowOptions {
  seconds: number;
  /** The Releases still active at the end of the window. */
  countActive: () => Promise<number>;
  /** Each active Release's analysis interval: what the rounds due per second are computed from. */
  analysisIntervalSeconds: number;
  /** The lags of the rounds that began in [from, to] (lag.ts). */
  analysisLags?: (from: number, to: number) => Promise<number[]>;
}

/** Every replica's /metrics; flattened, counters and histogram buckets add up across them. */
async function scrapeEach(group: readonly Watched[]): Promise<Sample[][]> {
  return Promise.all(group.map((watched) => watched.controller.scrape()));
}

/** The replicas' request counts together (each counted between its own two scrapes). */
function mergeRequests(
  counts: WindowResult["apiRequests"]["countedByController"][],
): WindowResult["apiRequests"]["countedByController"] {
  const byRequest: Record<string, number> = {};
  for (const count of counts)
    for (const [kind, value] of Object.entries(count.byRequest))
      byRequest[kind] = (byRequest[kind] ?? 0) + value;
  return {
    perSecond: round(
      counts.reduce((sum, count) => sum + count.perSecond, 0),
      1,
    ),
    byRequest,
  };
}

export async function measureWindow(
  context: Context,
  watched: Watched | readonly Watched[],
  options: WindowOptions,
): Promise<WindowResult> {
  const group = Array.isArray(watched) ? (watched as readonly Watched[]) : [watched as Watched];
  const { sampler } = group[0] as Watched;
  const [eachBefore, prometheusBefore] = await Promise.all([scrapeEach(group), scrapePrometheus(context)]);
  const metricsBefore = eachBefore.flat();
  const auditOffset = context.audit.offset();
  const start = Date.now();
  const depths: number[] = [];
  const end = start + options.seconds * 1000;
  while (Date.now() < end) {
    await sleep(Math.min(5_000, end - Date.now()));
    const samples = await scrapeEach(group).catch(() => undefined);
    if (samples) depths.push(sumOf(samples.flat(), "glidepath_queue_depth"));
  }
  const stop = Date.now();
  const [eachAfter, prometheusAfter] = await Promise.all([scrapeEach(group), scrapePrometheus(context)]);
  const metricsAfter = eachAfter.flat();
  const loadAverageAtEnd = loadAverage();
  const wall = (stop - start) / 1000;
  // Requests finish into the audit log a moment after they end.
  await sleep(2_000);
  const events = await context.audit.events(auditOffset, start, stop);
  const query = { handler: "/api/v1/query" };
  const rounds = "glidepath_prometheus_query_duration_seconds_count";
  const releasesActive = await options.countActive();
  const lags = options.analysisLags ? (await options.analysisLags(start, stop)).sort((a, b) => a - b) : [];
  return {
    seconds: round(wall),
    releasesActive,
    reconcile: reconcileSummary(metricsBefore, metricsAfter, wall),
    controller: sampler.usage(start, stop),
    replicas: group.map((member) => ({
      identity: member.controller.identity,
      usage: member.sampler.usage(start, stop),
    })),
    ...(lags.length > 0
      ? {
          analysisLag: {
            rounds: lags.length,
            p50: round(nearestRank(lags, 0.5), 2),
            p99: round(nearestRank(lags, 0.99), 2),
            intervalSeconds: options.analysisIntervalSeconds,
          },
        }
      : {}),
    apiServer: context.apiServer.usage(start, stop),
    etcd: context.etcd.usage(start, stop),
    apiRequests: {
      total: events.length,
      perSecond: round(events.length / wall, 1),
      byRequest: summariseRequests(events),
      errors: events.filter((event) => event.code >= 400).length,
      countedByController: mergeRequests(
        eachBefore.map((before, index) => controllerRequests(before, eachAfter[index] ?? [], wall)),
      ),
    },
    prometheus: {
      queriesPerSecond: round(
        (sumOf(prometheusAfter, "prometheus_http_requests_total", query) -
          sumOf(prometheusBefore, "prometheus_http_requests_total", query)) /
          wall,
        2,
      ),
      analysisRoundsPerSecond: round((sumOf(metricsAfter, rounds) - sumOf(metricsBefore, rounds)) / wall, 2),
      analysisRoundsDuePerSecond: round(releasesActive / options.analysisIntervalSeconds, 2),
    },
    queueDepthMax: Math.max(0, ...depths),
    queueDepthMean: round(depths.reduce((sum, depth) => sum + depth, 0) / (depths.length || 1)),
    // The first replica's (the only one unless sharded).
    controllerHeap: heapUsage(eachAfter[0] ?? []),
    loadAverage: loadAverageAtEnd,
  };
}
