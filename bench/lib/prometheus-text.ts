// Reading a /metrics page (Prometheus text format 0.0.4): its samples, the sum of a
// metric's series, a histogram's buckets (their quantiles: statistics.ts).
import type { Buckets } from "./statistics.ts";

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const SAMPLE_LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+-?\d+)?$/;
const LABEL_PAIR = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function parsePrometheusText(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const match = SAMPLE_LINE.exec(line.trim());
    if (!match) continue;
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? "").matchAll(LABEL_PAIR)) {
      labels[pair[1] as string] = (pair[2] as string).replace(/\\(.)/g, (_, char: string) =>
        char === "n" ? "\n" : char,
      );
    }
    samples.push({ name: match[1] as string, labels, value: parseValue(match[3] as string) });
  }
  return samples;
}

function parseValue(text: string): number {
  if (text === "+Inf") return Number.POSITIVE_INFINITY;
  if (text === "-Inf") return Number.NEGATIVE_INFINITY;
  return Number(text);
}

function matches(sample: Sample, name: string, labels: Record<string, string>): boolean {
  return (
    sample.name === name && Object.entries(labels).every(([label, value]) => sample.labels[label] === value)
  );
}

/** The sum of every series of `name` whose labels include `labels`. */
export function sumOf(samples: readonly Sample[], name: string, labels: Record<string, string> = {}): number {
  return samples.filter((sample) => matches(sample, name, labels)).reduce((sum, s) => sum + s.value, 0);
}

/** Cumulative bucket counts of histogram `histogram` by upper bound, summed over its series. */
export function histogramBuckets(
  samples: readonly Sample[],
  histogram: string,
  labels: Record<string, string> = {},
): Buckets {
  const buckets: Buckets = new Map();
  for (const sample of samples) {
    if (!matches(sample, `${histogram}_bucket`, labels)) continue;
    const le = parseValue(sample.labels.le ?? "NaN");
    buckets.set(le, (buckets.get(le) ?? 0) + sample.value);
  }
  return buckets;
}
