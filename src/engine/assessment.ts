import {
  formatMetricValue,
  formatThreshold,
  metricUnit,
  type Measurement,
  type Metric,
  type MetricTally,
  type MetricUnit,
} from "../api/index.ts";

// The per-stage policy over a metric's measurements: failureLimit,
// inconclusiveLimit with onInconclusive, consecutiveErrorLimit. Pure; the engine
// calls it on the tallies kept in status, so a restarted controller decides the same.

export function emptyTally(metric: string, unit: MetricUnit): MetricTally {
  return { metric, pass: 0, fail: 0, inconclusive: 0, error: 0, consecutiveErrors: 0, unit };
}

export function addMeasurement(tally: MetricTally, measurement: Measurement, query?: string): MetricTally {
  return {
    ...tally,
    [measurement.verdict]: tally[measurement.verdict] + 1,
    consecutiveErrors: measurement.verdict === "error" ? tally.consecutiveErrors + 1 : 0,
    lastVerdict: measurement.verdict,
    ...(measurement.value === undefined ? {} : { lastValue: measurement.value }),
    ...(query === undefined ? {} : { query }),
  };
}

export type MetricAssessment =
  /** The metric is beyond a limit: roll back. */
  | { state: "failed"; reason: string }
  /** Too many rounds without data and the metric says pause: hold for a person. */
  | { state: "paused"; reason: string }
  /** Within limits, and the newest round passed: `passes` rounds passed so far. */
  | { state: "passing"; passes: number }
  /** Within limits, but the newest round did not pass (or none ran yet): do not advance. */
  | { state: "waiting"; reason: string };

export function assessMetric(metric: Metric, tally: MetricTally | undefined): MetricAssessment {
  if (!tally || tally.lastVerdict === undefined)
    return { state: "waiting", reason: `${metric.name}: not measured yet` };
  if (tally.fail > metric.failureLimit) {
    return {
      state: "failed",
      reason: `${metric.name} failed ${tally.fail} time(s), more than failureLimit ${metric.failureLimit} (last value ${tally.lastValue === undefined ? "none" : formatMetricValue(tally.lastValue, metricUnit(metric))}, ${thresholdText(metric)})`,
    };
  }
  if (tally.consecutiveErrors > metric.consecutiveErrorLimit) {
    return {
      state: "failed",
      reason: `${metric.name} could not be measured ${tally.consecutiveErrors} times in a row, more than consecutiveErrorLimit ${metric.consecutiveErrorLimit}`,
    };
  }
  if (tally.inconclusive > metric.inconclusiveLimit) {
    const reason = `${metric.name} had no data ${tally.inconclusive} time(s), more than inconclusiveLimit ${metric.inconclusiveLimit}`;
    return metric.onInconclusive === "fail" ? { state: "failed", reason } : { state: "paused", reason };
  }
  if (tally.lastVerdict !== "pass") {
    return { state: "waiting", reason: `${metric.name}: the newest measurement was ${tally.lastVerdict}` };
  }
  return { state: "passing", passes: tally.pass };
}

/** "max 5%", "min 10", "between 100 ms and 300 ms", in the metric's unit. */
export function thresholdText(metric: Pick<Metric, "max" | "min" | "unit" | "template">): string {
  return formatThreshold(metric, metricUnit(metric));
}
