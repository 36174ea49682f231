import type { builtinMetricTemplates } from "./release.ts";

// What a metric's numbers mean, and how a person reads them: 7.9% for an error ratio,
// 99.5 ms for a latency. Status keeps the exact value Prometheus returned (as text);
// only what people read (reasons, the change record, the CLI's tables) is rounded.

/** ratio: 0–1, shown as a percentage; percent: already 0–100; none: a plain number. */
export const metricUnits = ["ratio", "percent", "seconds", "milliseconds", "none"] as const;
export type MetricUnit = (typeof metricUnits)[number];

/** The unit of each built-in template's result (src/analysis/builtin-queries.ts). */
export const builtinTemplateUnits = {
  "http-error-ratio": "ratio",
  "http-latency-p99": "seconds",
  "gateway-error-ratio": "ratio",
  "gateway-latency-p99": "milliseconds",
  "istio-error-ratio": "ratio",
  "istio-latency-p99": "milliseconds",
  "nginx-error-ratio": "ratio",
  "nginx-latency-p99": "seconds",
} as const satisfies Record<BuiltinTemplate, MetricUnit>;

type BuiltinTemplate = (typeof builtinMetricTemplates)[number];

/** A metric's unit: its own `unit`, else its template's, else none. */
export function metricUnit(metric: {
  unit?: MetricUnit | undefined;
  template?: BuiltinTemplate | undefined;
}): MetricUnit {
  return metric.unit ?? (metric.template === undefined ? "none" : builtinTemplateUnits[metric.template]);
}

// Prometheus formats floats with Go's strconv: digits with optional fraction and exponent,
// or NaN, +Inf, -Inf. Anything else (Number("") is 0, Number("0x1f") is 31) is refused.
const DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

/** A sample value string as a number, or undefined when it is not one Prometheus would send. */
export function parseSampleValue(text: string): number | undefined {
  switch (text) {
    case "NaN":
      return Number.NaN;
    // JavaScript's Number("+Inf") is NaN: the infinities are mapped here.
    case "+Inf":
    case "Inf":
      return Number.POSITIVE_INFINITY;
    case "-Inf":
      return Number.NEGATIVE_INFINITY;
  }
  return DECIMAL.test(text) ? Number(text) : undefined;
}

const SIGNIFICANT_DIGITS = 3;

/** Three significant digits, no exponent for everyday magnitudes, no trailing zeros: 0.0791 → "0.0791", 12.345 → "12.3". */
function readableNumber(value: number): string {
  if (value === 0) return "0";
  const magnitude = Math.abs(value);
  if (magnitude >= 1e-4 && magnitude < 1e15) {
    const decimals = Math.max(0, SIGNIFICANT_DIGITS - 1 - Math.floor(Math.log10(magnitude)));
    return String(Number(value.toFixed(Math.min(decimals, 20))));
  }
  return value.toPrecision(SIGNIFICANT_DIGITS).replace(/\.?0+e/, "e");
}

function duration(seconds: number): string {
  const magnitude = Math.abs(seconds);
  if (magnitude !== 0 && magnitude < 1e-3) return `${readableNumber(seconds * 1e6)} µs`;
  if (magnitude < 1) return `${readableNumber(seconds * 1000)} ms`;
  return `${readableNumber(seconds)} s`;
}

/** A number as a person reads it in this unit. NaN and the infinities stay as Prometheus writes them. */
export function formatMetricNumber(value: number, unit: MetricUnit): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Number.POSITIVE_INFINITY) return "+Inf";
  if (value === Number.NEGATIVE_INFINITY) return "-Inf";
  switch (unit) {
    case "ratio":
      return `${readableNumber(value * 100)}%`;
    case "percent":
      return `${readableNumber(value)}%`;
    case "seconds":
      return duration(value);
    case "milliseconds":
      return duration(value / 1000);
    case "none":
      return readableNumber(value);
  }
}

/**
 * A sample value as Prometheus wrote it ("0.07914494264859229", "NaN", "+Inf"), as a
 * person reads it ("7.91%"). Text that is not a number is shown unchanged.
 */
export function formatMetricValue(text: string, unit: MetricUnit): string {
  const value = parseSampleValue(text);
  return value === undefined ? text : formatMetricNumber(value, unit);
}

/** "max 5%", "min 10", "between 100 ms and 300 ms". */
export function formatThreshold(
  limits: { max?: number | undefined; min?: number | undefined },
  unit: MetricUnit,
): string {
  const show = (value: number) => formatMetricNumber(value, unit);
  if (limits.max !== undefined && limits.min !== undefined)
    return `between ${show(limits.min)} and ${show(limits.max)}`;
  if (limits.max !== undefined) return `max ${show(limits.max)}`;
  if (limits.min !== undefined) return `min ${show(limits.min)}`;
  return "no threshold";
}
