import { describe, expect, it } from "vitest";
import { histogramBuckets, parsePrometheusText, sumOf } from "../../../bench/lib/prometheus-text.ts";
import {
  bucketsBetween,
  histogramQuantile,
  measured,
  nearestRank,
  summarise,
  type Buckets,
} from "../../../bench/lib/statistics.ts";

const INF = Number.POSITIVE_INFINITY;
const buckets = (entries: [number, number][]): Buckets => new Map(entries);

describe("nearest-rank quantiles of measured values", () => {
  const sorted = Array.from({ length: 10 }, (_, index) => (index + 1) * 10); // 10 … 100

  it("take the value whose rank is the first at or above q × n", () => {
    expect(nearestRank(sorted, 0.5)).toBe(50);
    expect(nearestRank(sorted, 0.9)).toBe(90);
    expect(nearestRank(sorted, 0.91)).toBe(100);
  });

  it("make p99 of fewer than 100 values the largest one", () => {
    expect(nearestRank(sorted, 0.99)).toBe(100);
    expect(nearestRank([7], 0.99)).toBe(7);
  });

  it("give the smallest value for q = 0 and NaN when there is nothing", () => {
    expect(nearestRank(sorted, 0)).toBe(10);
    expect(nearestRank([], 0.5)).toBeNaN();
  });

  it("summarise unsorted runs: quantiles, min, max and mean", () => {
    expect(summarise([438, 216, 300])).toEqual({
      count: 3,
      p50: 300,
      p90: 438,
      p99: 438,
      min: 216,
      max: 438,
      mean: 318,
    });
  });

  it("summarise no runs as NaN everywhere but the count", () => {
    const summary = summarise([]);
    expect(summary.count).toBe(0);
    for (const value of [summary.p50, summary.p99, summary.min, summary.max]) expect(value).toBeNaN();
    expect(summary.mean).toBe(0);
  });

  it("leave out figures that were not measured", () => {
    expect(measured([1, undefined, Number.NaN, INF, 2])).toEqual([1, 2]);
  });
});

describe("histogram quantiles, as PromQL's histogram_quantile() computes them", () => {
  // 100 observations: 20 ≤ 50 ms, 70 in (50, 100], 9 in (100, 250], 1 in (250, 500].
  const reconcile = buckets([
    [0.05, 20],
    [0.1, 90],
    [0.25, 99],
    [0.5, 100],
    [INF, 100],
  ]);

  it("interpolate linearly inside the bucket that holds the rank, and name that bucket", () => {
    // Rank 50 is the 30th of the 70 in (0.05, 0.1]: 0.05 + 0.05 × 30/70.
    const p50 = histogramQuantile(0.5, reconcile)!;
    expect(p50.lower).toBe(0.05);
    expect(p50.upper).toBe(0.1);
    expect(p50.estimate).toBeCloseTo(0.05 + (0.05 * 30) / 70, 12);
  });

  it("put a rank on a bucket's boundary at that bucket's upper bound", () => {
    expect(histogramQuantile(0.99, reconcile)).toEqual({ estimate: 0.25, lower: 0.1, upper: 0.25 });
  });

  it("answer the top finite bound when the rank lies in the +Inf bucket, never +Inf", () => {
    const slow = buckets([
      [0.1, 10],
      [1, 50],
      [INF, 100],
    ]);
    expect(histogramQuantile(0.99, slow)).toEqual({ estimate: 1, lower: 1, upper: INF });
  });

  it("say nothing when nothing was observed", () => {
    expect(histogramQuantile(0.5, buckets([]))).toBeUndefined();
    expect(
      histogramQuantile(
        0.5,
        buckets([
          [0.1, 0],
          [INF, 0],
        ]),
      ),
    ).toBeUndefined();
  });

  it("count only what was observed between two scrapes", () => {
    const before = buckets([
      [0.1, 5],
      [INF, 6],
    ]);
    const after = buckets([
      [0.1, 15],
      [INF, 26],
    ]);
    expect([...bucketsBetween(before, after)]).toEqual([
      [0.1, 10],
      [INF, 20],
    ]);
  });
});

describe("a /metrics page", () => {
  const page = [
    "# HELP glidepath_reconcile_duration_seconds Time inside reconcile().",
    "# TYPE glidepath_reconcile_duration_seconds histogram",
    'glidepath_reconcile_duration_seconds_bucket{outcome="ok",le="0.1"} 8',
    'glidepath_reconcile_duration_seconds_bucket{outcome="ok",le="+Inf"} 10',
    'glidepath_reconcile_duration_seconds_bucket{outcome="error",le="0.1"} 0',
    'glidepath_reconcile_duration_seconds_bucket{outcome="error",le="+Inf"} 2',
    'glidepath_reconcile_duration_seconds_count{outcome="ok"} 10',
    'glidepath_reconcile_duration_seconds_count{outcome="error"} 2',
    'prometheus_http_requests_total{code="200",handler="/api/v1/query"} 41 1733490000000',
    'odd_label{path="a \\"quoted\\" \\\\ value"} 1',
    "glidepath_queue_depth 3",
  ].join("\n");
  const samples = parsePrometheusText(page);

  it("sums the series whose labels match", () => {
    expect(sumOf(samples, "glidepath_reconcile_duration_seconds_count")).toBe(12);
    expect(sumOf(samples, "glidepath_reconcile_duration_seconds_count", { outcome: "error" })).toBe(2);
    expect(sumOf(samples, "prometheus_http_requests_total", { handler: "/api/v1/query" })).toBe(41);
    expect(sumOf(samples, "glidepath_queue_depth")).toBe(3);
  });

  it("unescapes label values", () => {
    expect(samples.find((sample) => sample.name === "odd_label")?.labels.path).toBe('a "quoted" \\ value');
  });

  it("gives a histogram's buckets summed over its series, +Inf included", () => {
    const histogram = histogramBuckets(samples, "glidepath_reconcile_duration_seconds");
    expect([...histogram]).toEqual([
      [0.1, 8],
      [INF, 12],
    ]);
    expect(histogramQuantile(0.5, histogram)?.upper).toBe(0.1);
  });
});
