import {
  formatMetricNumber,
  metricUnit,
  parseSampleValue,
  type Measurement,
  type Metric,
  type Verdict,
} from "../api/index.ts";
import type { AboveTopBucket } from "./histogram.ts";
import { formatLabels } from "./prometheus-envelope.ts";
import type { QueryFailure, QueryResult } from "./provider.ts";

// From one query's outcome to one measurement: pass, fail, inconclusive or error.
// Pure. Missing data is never healthy: an empty vector or NaN is inconclusive, a NaN
// never passes a threshold, and several series are an error unless the metric says how
// to combine them.

export type QueryOutcome = { ok: true; result: QueryResult } | { ok: false; failure: QueryFailure };

export type JudgedMetric = Pick<Metric, "name" | "max" | "min" | "aggregate" | "unit" | "template">;

const MAX_REASON_CHARS = 1024;
const MAX_VALUE_CHARS = 64;
const SERIES_SHOWN = 3;

/** A number as Prometheus writes it ("NaN", "+Inf", "-Inf", "0.05"). */
export function formatSampleValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Number.POSITIVE_INFINITY) return "+Inf";
  if (value === Number.NEGATIVE_INFINITY) return "-Inf";
  return String(value);
}

/** Combines the values of several series as `aggregate` says; a NaN anywhere gives NaN (no data is never hidden). */
export function aggregateValues(
  values: readonly number[],
  aggregate: NonNullable<Metric["aggregate"]>,
): number {
  if (values.length === 0 || values.some((value) => Number.isNaN(value))) return Number.NaN;
  switch (aggregate) {
    case "sum":
      return values.reduce((total, value) => total + value, 0);
    case "avg":
      return values.reduce((total, value) => total + value, 0) / values.length;
    case "max":
      return Math.max(...values);
    case "min":
      return Math.min(...values);
  }
}

export function measurement(
  metric: Pick<Metric, "name">,
  verdict: Verdict,
  at: string,
  reason: string,
  value?: string,
): Measurement {
  const clipped = reason.length > MAX_REASON_CHARS ? `${reason.slice(0, MAX_REASON_CHARS - 1)}…` : reason;
  return { metric: metric.name, verdict, ...(value === undefined ? {} : { value }), at, reason: clipped };
}

/**
 * The measurement for one query outcome, taken at `at` (ISO 8601). `aboveTopBucket`: the
 * metric is a histogram quantile whose buckets put it above the top finite bound.
 */
export function judge(
  metric: JudgedMetric,
  outcome: QueryOutcome,
  at: string,
  aboveTopBucket?: AboveTopBucket,
): Measurement {
  if (!outcome.ok) return measurement(metric, "error", at, failureReason(outcome.failure));
  const { data, warnings } = outcome.result;
  const warned = warnings.length > 0 ? ` (Prometheus warned: ${warnings.join("; ")})` : "";

  let valueText: string;
  let source = "";
  switch (data.resultType) {
    case "scalar":
      valueText = data.result[1];
      break;
    case "vector": {
      const series = data.result;
      if (series.length === 0) {
        return measurement(
          metric,
          "inconclusive",
          at,
          `no data: the query returned no series (no traffic, or labels that match nothing)${warned}`,
        );
      }
      if (series.length === 1) {
        valueText = (series[0] as (typeof series)[number]).value[1];
        break;
      }
      if (metric.aggregate === undefined) {
        const shown = series.slice(0, SERIES_SHOWN).map((one) => formatLabels(one.metric));
        const more = series.length > SERIES_SHOWN ? `, and ${series.length - SERIES_SHOWN} more` : "";
        return measurement(
          metric,
          "error",
          at,
          `the query returned ${series.length} series (${shown.join(", ")}${more}), not one: ` +
            `set \`aggregate\` (sum, avg, max or min) or aggregate in the query, e.g. sum(...)`,
        );
      }
      const values: number[] = [];
      for (const one of series) {
        const parsed = parseSampleValue(one.value[1]);
        if (parsed === undefined) return notANumber(metric, at, one.value[1]);
        values.push(parsed);
      }
      valueText = formatSampleValue(aggregateValues(values, metric.aggregate));
      source = ` (${metric.aggregate} of ${series.length} series)`;
      break;
    }
    case "matrix":
      return measurement(
        metric,
        "error",
        at,
        "the query returned a range (matrix) result, but a measurement needs one instant value: " +
          "wrap the [range] selector in a function such as rate() or avg_over_time()",
      );
    case "string":
      return measurement(
        metric,
        "error",
        at,
        `the query returned the string ${JSON.stringify(data.result[1])}, not a number`,
      );
  }

  const value = parseSampleValue(valueText);
  if (value === undefined) return notANumber(metric, at, valueText);
  const shownValue = valueText.length <= MAX_VALUE_CHARS ? valueText : formatSampleValue(value);
  // Reasons are read by people: the value and the limits in the metric's unit (7.91%, 99.5 ms).
  const unit = metricUnit(metric);
  const readable = (number: number) => formatMetricNumber(number, unit);
  const readableValue = readable(value);
  if (Number.isNaN(value)) {
    return measurement(
      metric,
      "inconclusive",
      at,
      `no data: the value is NaN${source} (0/0, usually no requests in the window)${warned}`,
      shownValue,
    );
  }
  if (metric.max === undefined && metric.min === undefined) {
    return measurement(
      metric,
      "error",
      at,
      `${metric.name} has no threshold: set max, min or both`,
      shownValue,
    );
  }
  if (aboveTopBucket !== undefined)
    return judgeAboveTopBucket(metric, aboveTopBucket, at, readableValue, warned, readable);
  // Written so that anything but a plain comparison success (NaN included) fails.
  if (metric.max !== undefined && !(value <= metric.max)) {
    return measurement(
      metric,
      "fail",
      at,
      `${readableValue}${source} is above the maximum ${readable(metric.max)}${warned}`,
      shownValue,
    );
  }
  if (metric.min !== undefined && !(value >= metric.min)) {
    return measurement(
      metric,
      "fail",
      at,
      `${readableValue}${source} is below the minimum ${readable(metric.min)}${warned}`,
      shownValue,
    );
  }
  return measurement(
    metric,
    "pass",
    at,
    `${readableValue}${source} is ${withinText(metric, readable)}${warned}`,
    shownValue,
  );
}

/**
 * A quantile above the top finite bucket is only known to exceed that bound, so it is
 * +Inf to the thresholds: it fails any max (even one above the bound: nothing shows it is
 * within it) and passes any min.
 */
function judgeAboveTopBucket(
  metric: JudgedMetric,
  above: AboveTopBucket,
  at: string,
  reported: string,
  warned: string,
  readable: (value: number) => string,
): Measurement {
  const bound = readable(above.topBound);
  const share = Number((above.shareAbove * 100).toPrecision(3));
  const fact =
    `p${Number((above.quantile * 100).toPrecision(3))} is above the top histogram bucket (${bound}): ` +
    `${share}% of requests took longer than ${bound} (histogram_quantile reports ${reported}, the top bucket's bound)`;
  if (metric.max !== undefined) {
    const verdict =
      metric.max < above.topBound
        ? `above the maximum ${readable(metric.max)}`
        : `not shown to be at or below the maximum ${readable(metric.max)}: add histogram buckets above it`;
    return measurement(metric, "fail", at, `${fact}, so it is ${verdict}${warned}`, "+Inf");
  }
  return measurement(
    metric,
    "pass",
    at,
    `${fact}, so it is ${withinText(metric, readable)}${warned}`,
    "+Inf",
  );
}

function withinText(metric: JudgedMetric, readable: (value: number) => string): string {
  if (metric.max !== undefined && metric.min !== undefined)
    return `between ${readable(metric.min)} and ${readable(metric.max)}`;
  if (metric.max !== undefined) return `at or below the maximum ${readable(metric.max)}`;
  return `at or above the minimum ${readable(metric.min ?? Number.NaN)}`;
}

/** A readable sentence for a failed query, with Prometheus's own errorType and message. */
export function failureReason(failure: QueryFailure): string {
  const attempts =
    failure.attempts !== undefined && failure.attempts > 1 ? ` after ${failure.attempts} attempts` : "";
  const errorType = failure.errorType !== undefined ? ` (${failure.errorType})` : "";
  switch (failure.kind) {
    case "prometheus":
      return `Prometheus rejected the query${errorType}: ${failure.message}`;
    case "timeout":
      return `Prometheus did not answer in time${errorType}${attempts}: ${failure.message}`;
    case "network":
      return `Prometheus unreachable${attempts}: ${failure.message}`;
    case "http":
      return `Prometheus answered HTTP ${failure.status ?? "?"}${attempts}: ${failure.message}`;
    case "invalid-response":
      return `Prometheus's answer was not usable: ${failure.message}`;
    case "cancelled":
      return `the query was cancelled before Prometheus answered`;
  }
}

function notANumber(metric: JudgedMetric, at: string, text: string): Measurement {
  return measurement(
    metric,
    "error",
    at,
    `Prometheus returned the sample value ${JSON.stringify(text.slice(0, MAX_VALUE_CHARS))}, which is not a number`,
  );
}
