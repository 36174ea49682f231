// What the scale benchmark reports: the table (the shape docs/performance.md shows), the
// lines under it, the verdicts against the targets, and how each figure was taken. Pure.
import { formatQuantile, mib, seconds } from "../lib/format.ts";
import { markdownTable } from "../lib/table.ts";
import type { ActiveResult } from "./active.ts";
import type { CompletedResult } from "./completed.ts";
import type { FailoverResult } from "./failover.ts";
import type { RestartResult } from "./restart.ts";
import type { SetupResult } from "./setup.ts";

export const TARGETS = {
  activeReconcileP99Seconds: 1,
  activeRssMiB: 256,
  completedRssMiB: 384,
  resyncSeconds: 30,
};

export const METHOD = {
  reconcileLatency:
    "glidepath_reconcile_duration_seconds histogram of the controller, bucket counts at the end of the window minus at its start; quantile interpolated linearly inside its bucket as PromQL histogram_quantile() does; the bucket (lower, upper] is given too",
  apiRequests:
    "kube-apiserver audit log (level Metadata) of the controller's ServiceAccount only: requests that finished inside the window (watches count when they end)",
  prometheusQueries:
    'Prometheus\'s own prometheus_http_requests_total{handler="/api/v1/query"}, delta over the window',
  cpuAndMemory: "/proc/<pid>/stat (utime+stime) and /proc/<pid>/status (VmRSS), sampled every second",
  resync:
    "from spawning the new process (after the old one stopped with SIGTERM and released the Lease): ready = /readyz 200 (Release and Deployment caches listed); leading = its log line; resynced = the first /metrics scrape (every 250 ms) with an empty work queue and at least as many reconciles finished as there are active Releases (the initial list queues each Release once), i.e. every Release has been observed and decided once; first status write from the audit log",
  completedSync:
    "from spawning a fresh controller: synced = /readyz 200; looked at = first scrape with an empty queue and at least N reconciles finished",
};

const COLUMNS = [
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

export function verdict(value: number | undefined, limit: number): string {
  if (value === undefined || Number.isNaN(value)) return "not measured";
  return value < limit ? "met" : "MISSED";
}

export interface Results {
  setup: SetupResult & { stackMs: number; goldenMs?: number };
  completed?: CompletedResult | { skipped: string };
  active: ActiveResult[];
  restart?: RestartResult;
  /** Sharded runs (BENCH_REPLICAS > 1), in place of the restart. */
  failover?: FailoverResult;
}

/** The table and the lines under it, as printed at the end of a run and kept in the JSON. */
export function reportLines(results: Results): string[] {
  const rows: string[][] = results.active.map((active) => [
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
  const completed = results.completed;
  if (completed && "releases" in completed) {
    rows.push([
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
  const lines = markdownTable(
    COLUMNS.map((header) => ({ header })),
    rows,
  );
  lines.push("");
  for (const active of results.active) {
    lines.push(
      `${active.releases} active: queue depth mean ${active.queueDepthMean} (max ${active.queueDepthMax}); ` +
        `analysis rounds ${active.prometheus.analysisRoundsPerSecond}/s of ${active.prometheus.analysisRoundsDuePerSecond}/s due; ` +
        `kube-apiserver ${active.apiServer?.cpuCores.toFixed(2)} cores, etcd ${active.etcd?.cpuCores.toFixed(2)}; ` +
        `controller heap ${active.controllerHeap.usedMiB} of ${active.controllerHeap.totalMiB} MiB; load ${active.loadAverage.join(" ")}`,
    );
    const lag = active.analysisLag;
    // Runs before issue 18.4 have neither: their table stays as it was printed.
    if (active.replicas)
      lines.push(
        `${active.releases} active: ${active.replicas.length} replica(s), RSS end ${active.replicas.map((replica) => `${mib(replica.usage?.rssEndBytes)}`).join(" / ")} MiB, ` +
          `CPU ${active.replicas.map((replica) => replica.usage?.cpuCores.toFixed(2) ?? "—").join(" / ")} cores; ` +
          `API ${active.apiRequests.countedByController.perSecond}/s by glidepath_kube_requests_total; ` +
          (lag
            ? `analysis lag p50 ${lag.p50} s, p99 ${lag.p99} s over ${lag.rounds} rounds (interval ${lag.intervalSeconds} s, target p99 < ${lag.intervalSeconds / 10} s)`
            : "analysis lag not measured (no two rounds of a Release in the window)"),
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
  const failover = results.failover;
  if (failover) {
    lines.push(
      `failover with ${failover.replicas} replicas: SIGKILL of one holding shards ${failover.shards.join(", ")} (${failover.releases} active Releases): ` +
        `Leases taken ${seconds(failover.leasesTakenMs)}, every Release of them reconciled ${seconds(failover.reconciledMs)} after the kill ` +
        `(lease duration ${failover.leaseDurationSeconds} s; a Release is written again at its next analysis round)`,
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
  return lines;
}
