import type { Metric } from "./release.ts";

// The baseline a metric's `compare.baseline` asks for: the stable version started beside
// the canary with the same share of traffic, so both see the same traffic mix and the
// same warm-up (docs/baseline.md). Shared by the engine, the analysis and the routers.

/**
 * The highest canary weight a baseline can match: the baseline's share is taken from
 * stable's, so above 50% the two would no longer be equal. Stages above it run without a
 * baseline (the thresholds still apply).
 */
export const BASELINE_MAX_WEIGHT = 50;

/** The metrics compared with the baseline. */
export function comparedMetrics<M extends Pick<Metric, "compare">>(metrics: readonly M[]): M[] {
  return metrics.filter((metric) => metric.compare?.baseline !== undefined);
}

/** The baseline's share of traffic at a canary weight: the same as the canary's, up to BASELINE_MAX_WEIGHT. */
export function baselineWeight(canaryWeight: number): number {
  return canaryWeight > 0 && canaryWeight <= BASELINE_MAX_WEIGHT ? canaryWeight : 0;
}

/** A stage at this weight compares the canary with the baseline. */
export function stageComparesWithBaseline(weight: number): boolean {
  return baselineWeight(weight) > 0;
}
