// Quantiles, pure: nearest rank over measured values (the rollback runs, the apiserver's
// request latencies), and a histogram's quantile from its bucket counts the way PromQL's
// histogram_quantile() computes it (find the bucket holding the rank, interpolate
// linearly inside it).

/**
 * Nearest-rank quantile (`q` from 0 to 1) of values sorted ascending; NaN when there are
 * none. With fewer than 100 values, p99 is the largest.
 */
export function nearestRank(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number;
}

export interface Summary {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  min: number;
  max: number;
  mean: number;
}

/** Nearest-rank p50/p90/p99, min, max and mean; NaN for each when there are no values. */
export function summarise(values: readonly number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  const mean = values.reduce((sum, value) => sum + value, 0) / (values.length || 1);
  return {
    count: values.length,
    p50: nearestRank(sorted, 0.5),
    p90: nearestRank(sorted, 0.9),
    p99: nearestRank(sorted, 0.99),
    min: sorted[0] ?? Number.NaN,
    max: sorted.at(-1) ?? Number.NaN,
    mean,
  };
}

/** The values that were measured: undefined, NaN and infinities left out. */
export function measured(values: readonly (number | undefined)[]): number[] {
  return values.filter((value): value is number => value !== undefined && Number.isFinite(value));
}

/** Cumulative bucket counts by upper bound (`le`), summed over every series of the histogram. */
export type Buckets = Map<number, number>;

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

/** The `q` quantile (0 to 1) of cumulative buckets; undefined when they counted nothing. */
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
