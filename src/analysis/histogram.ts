import type { HistogramCheck } from "./builtin-queries.ts";
import type { QueryResult } from "./provider.ts";
import { parseSampleValue } from "../api/index.ts";

// histogram_quantile never answers +Inf: when the quantile falls in the +Inf bucket it
// returns the top finite bucket's bound, so a p99 of 30 s with buckets up to 10 s reads
// "10" and passes a max of 15. The buckets' own rates show it: the quantile lies above
// the top finite bound when that bucket holds less than `quantile` of all requests.

/** A quantile that lies above every finite bucket of its histogram. Pure data. */
export interface AboveTopBucket {
  quantile: number;
  /** The highest finite `le`, in the histogram's unit. */
  topBound: number;
  /** The share (0–1) of requests in the window slower than the top bound. */
  shareAbove: number;
}

/**
 * Whether the buckets' rates (one series per `le`) put the quantile above the top finite
 * bound; undefined when they do not, or say nothing (no series, no requests, no finite bucket).
 */
export function quantileAboveTopBucket(
  buckets: QueryResult,
  check: HistogramCheck,
): AboveTopBucket | undefined {
  if (buckets.data.resultType !== "vector") return undefined;
  let total: number | undefined;
  let top: { bound: number; count: number } | undefined;
  for (const series of buckets.data.result) {
    const bound = parseSampleValue(series.metric["le"] ?? "");
    const count = parseSampleValue(series.value[1]);
    if (bound === undefined || count === undefined || Number.isNaN(bound) || Number.isNaN(count)) continue;
    if (bound === Number.POSITIVE_INFINITY) total = count;
    else if (top === undefined || bound > top.bound) top = { bound, count };
  }
  if (total === undefined || top === undefined || !(total > 0)) return undefined;
  // Prometheus's own test: the quantile's rank lies beyond the top finite bucket's count.
  if (!(top.count < check.quantile * total)) return undefined;
  return {
    quantile: check.quantile,
    topBound: top.bound,
    shareAbove: (total - top.count) / total,
  };
}
