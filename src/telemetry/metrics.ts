import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

// The controller's own telemetry on /metrics. One registry per controller
// instance, so tests and benchmarks can run several in one process.

export interface ControllerMetrics {
  registry: Registry;
  releasesByPhase: Gauge<"phase">;
  canaryWeight: Gauge<"namespace" | "release">;
  rollbacks: Counter<"trigger">;
  measurements: Counter<"metric" | "verdict">;
  reconcileDuration: Histogram<"outcome">;
  queueDepth: Gauge;
  leader: Gauge;
  prometheusQueryDuration: Histogram<"outcome">;
  alertsReceived: Counter<"outcome">;
  alertToRollback: Histogram;
  notifications: Counter<"notifier" | "outcome">;
  dora: Gauge<"namespace" | "target" | "figure">;
  kubeRequests: Counter<"verb" | "resource" | "code">;
}

/** One target's DORA figures over the last DORA_WINDOW, as /metrics exports them. */
export interface DoraSample {
  namespace: string;
  target: string;
  deployments: number;
  changeFailureRatio?: number;
  leadTimeSeconds?: number;
  timeToRestoreSeconds?: number;
}

export interface MetricsSources {
  /** Releases by phase, read when /metrics is scraped. */
  phases?: () => Map<string, number>;
  /** Work queue depth, read when /metrics is scraped. */
  queueDepth?: () => number;
  /** Whether this replica holds the Lease, read when /metrics is scraped. */
  leading?: () => boolean;
  /** DORA figures per target from the ReleaseRecords, read when /metrics is scraped. */
  dora?: () => DoraSample[];
}

export function createControllerMetrics(
  options: { defaultMetrics?: boolean; sources?: MetricsSources } = {},
): ControllerMetrics {
  const sources = options.sources ?? {};
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: "glidepath_" });
  const registers = [registry];
  return {
    registry,
    releasesByPhase: new Gauge({
      name: "glidepath_releases",
      help: "Releases known to the controller, by phase.",
      labelNames: ["phase"],
      registers,
      collect() {
        if (!sources.phases) return;
        this.reset();
        for (const [phase, count] of sources.phases()) this.set({ phase }, count);
      },
    }),
    canaryWeight: new Gauge({
      name: "glidepath_canary_weight_percent",
      help: "Traffic percentage on the new version, per active release.",
      labelNames: ["namespace", "release"],
      registers,
    }),
    rollbacks: new Counter({
      name: "glidepath_rollbacks_total",
      help: "Rollbacks started, by trigger (metric, health, alert, manual, deadline).",
      labelNames: ["trigger"],
      registers,
    }),
    measurements: new Counter({
      name: "glidepath_measurements_total",
      help: "Analysis measurements, by metric and verdict.",
      labelNames: ["metric", "verdict"],
      registers,
    }),
    reconcileDuration: new Histogram({
      name: "glidepath_reconcile_duration_seconds",
      help: "Time to reconcile one release.",
      labelNames: ["outcome"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    queueDepth: new Gauge({
      name: "glidepath_queue_depth",
      help: "Release keys waiting in the work queue.",
      registers,
      collect() {
        if (sources.queueDepth) this.set(sources.queueDepth());
      },
    }),
    leader: new Gauge({
      name: "glidepath_leader",
      help: "1 on the replica that holds the Lease and reconciles, 0 on the others.",
      registers,
      collect() {
        if (sources.leading) this.set(sources.leading() ? 1 : 0);
      },
    }),
    prometheusQueryDuration: new Histogram({
      name: "glidepath_prometheus_query_duration_seconds",
      help: "Duration of one analysis round's Prometheus queries.",
      labelNames: ["outcome"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    alertToRollback: new Histogram({
      name: "glidepath_alert_to_rollback_seconds",
      help: "From a matching alert reaching this replica's hook to the reconcile that sent all traffic back to stable.",
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    alertsReceived: new Counter({
      name: "glidepath_alerts_received_total",
      help: "Alerts received on the Alertmanager webhook, by what became of them.",
      labelNames: ["outcome"],
      registers,
    }),
    // One gauge with a `figure` label rather than four: the figures are computed together
    // on each scrape, from the ReleaseRecords the replica caches. Bounded: per target.
    dora: new Gauge({
      name: "glidepath_dora",
      help:
        "DORA figures per target over the last 30 days, from ReleaseRecords (leader only): " +
        "figure=deployments (succeeded releases), change_failure_ratio, lead_time_seconds (median) " +
        "and time_to_restore_seconds (median, trigger to 100% stable).",
      labelNames: ["namespace", "target", "figure"],
      registers,
      collect() {
        if (!sources.dora) return;
        this.reset();
        for (const sample of sources.dora()) {
          const labels = { namespace: sample.namespace, target: sample.target };
          this.set({ ...labels, figure: "deployments" }, sample.deployments);
          if (sample.changeFailureRatio !== undefined)
            this.set({ ...labels, figure: "change_failure_ratio" }, sample.changeFailureRatio);
          if (sample.leadTimeSeconds !== undefined)
            this.set({ ...labels, figure: "lead_time_seconds" }, sample.leadTimeSeconds);
          if (sample.timeToRestoreSeconds !== undefined)
            this.set({ ...labels, figure: "time_to_restore_seconds" }, sample.timeToRestoreSeconds);
        }
      },
    }),
    kubeRequests: new Counter({
      name: "glidepath_kube_requests_total",
      help:
        "Requests of the controller's Kubernetes clients (the informers' lists and watches aside), by verb, resource " +
        '(plural, with subresource) and HTTP status ("error": no answer).',
      labelNames: ["verb", "resource", "code"],
      registers,
    }),
    notifications: new Counter({
      name: "glidepath_notifications_total",
      help: "On-call notifications, by notifier and outcome.",
      labelNames: ["notifier", "outcome"],
      registers,
    }),
  };
}
