// Analysis on time (issue 18 item 4): how late each analysis round came, from the rounds the
// Releases' status keeps (each stage keeps its newest measurements with the round's start).
// Consecutive rounds of one metric should be one interval apart; the lag is how much more.
// Pure.
import type { Release } from "../../src/api/index.ts";

/** Lags in seconds (gap between consecutive rounds − interval) of the rounds that began in [from, to]. */
export function analysisLags(
  releases: readonly Release[],
  intervalSeconds: number,
  from: number,
  to: number,
): number[] {
  const lags: number[] = [];
  for (const release of releases) {
    for (const stage of release.status?.stages ?? []) {
      const byMetric = new Map<string, number[]>();
      for (const measurement of stage.measurements ?? []) {
        const at = Date.parse(measurement.at);
        if (Number.isFinite(at))
          byMetric.set(measurement.metric, [...(byMetric.get(measurement.metric) ?? []), at]);
      }
      for (const times of byMetric.values()) {
        times.sort((a, b) => a - b);
        for (let index = 1; index < times.length; index++) {
          const at = times[index] as number;
          if (at < from || at > to) continue;
          lags.push((at - (times[index - 1] as number)) / 1000 - intervalSeconds);
        }
      }
    }
  }
  return lags;
}
