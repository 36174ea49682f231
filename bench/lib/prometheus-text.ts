// Reading a /metrics page (Prometheus text format 0.0.4) and the quantiles of a histogram
// between two scrapes, computed from its buckets the way PromQL's histogram_quantile()
// does: find the bucket holding the rank, interpolate linearly inside it.

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

/** Cumulative bucket counts by upper bound, summed over every series of the histogram. */
export type Buckets = Map<number, number>;

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

/** What was observed between two scrapes of the same histogram. */
export function bucketsBetween(before: Buckets, after: Buckets): Buckets {
  const delta: Buckets = new Map();
  for (const [le, count] of after) delta.set(le, count - (before.get(le) ?? 0));
  return delta;
}

export interface Quantile {
  /** Interpolated inside the bucket, as histogram_quantile() does. */
  estimate: number;
  /** The bucket the rank falls in: the true value is in (lower, upper]. */
  lower: number;
  upper: number;
}

export function histogramQuantile(q: number, buckets: Buckets): Quantile | undefined {
  const sorted = [...buckets.entries()].sort((a, b) => a[0] - b[0]);
  const total = sorted.at(-1)?.[1] ?? 0;
  if (total <= 0) return undefined;
  const rank = q * total;
  let lower = 0;
  let below = 0;
  for (const [upper, cumulative] of sorted) {
    if (cumulative >= rank) {
      if (upper === Number.POSITIVE_INFINITY) {
        // Like histogram_quantile(): past the last finite bucket, its bound is all we know.
        return { estimate: lower, lower, upper };
      }
      const inBucket = cumulative - below;
      const estimate = inBucket > 0 ? lower + ((upper - lower) * (rank - below)) / inBucket : upper;
      return { estimate, lower, upper };
    }
    lower = upper;
    below = cumulative;
  }
  return undefined;
}
