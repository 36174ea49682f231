// How the page writes times, durations and metric values: the CLI's own functions (they
// import nothing the browser lacks), so the page and `glidepath status` read alike.
import { formatMetricNumber, type MetricUnit } from "../../api/metric-units.ts";
import { age, humanDuration } from "../../cli/table.ts";

export { age, humanDuration };

export function metricValue(value: number | null | undefined, unit: string): string {
  if (value === null || value === undefined) return "no value";
  return formatMetricNumber(value, unit as MetricUnit);
}

export function clockTime(iso: string | number | undefined): string {
  if (iso === undefined) return "—";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? String(iso) : date.toLocaleTimeString([], { hour12: false });
}

export function dateTime(iso: string | undefined): string {
  if (iso === undefined) return "—";
  const date = new Date(iso);
  return Number.isNaN(date.getTime())
    ? iso
    : `${date.toLocaleDateString()} ${date.toLocaleTimeString([], { hour12: false })}`;
}
