import { describe, expect, it } from "vitest";
import {
  builtinQueries,
  judge,
  quantileAboveTopBucket,
  type QueryResult,
} from "../../../src/analysis/index.ts";

const AT = "2026-03-01T12:00:00.000Z";
const check = builtinQueries["http-latency-p99"].histogram!;

/** Bucket rates by `le`, as `sum by (le) (rate(..._bucket[1m]))` returns them. */
function buckets(counts: Record<string, number>): QueryResult {
  return {
    data: {
      resultType: "vector",
      result: Object.entries(counts).map(([le, count]) => ({
        metric: { le },
        value: [1772366400, String(count)] as const,
      })),
    },
    warnings: [],
  };
}
const p99Answer = (value: string) =>
  ({
    ok: true,
    result: {
      data: { resultType: "vector", result: [{ metric: {}, value: [1772366400, value] }] },
      warnings: [],
    },
  }) as const;

describe("a quantile above the top histogram bucket", () => {
  it("is seen when the top finite bucket holds less than 99% of requests", () => {
    // Every request slower than 10 s: only +Inf counts them.
    expect(quantileAboveTopBucket(buckets({ "0.5": 0, "5": 0, "10": 0, "+Inf": 200 }), check)).toEqual({
      quantile: 0.99,
      topBound: 10,
      shareAbove: 1,
    });
    expect(quantileAboveTopBucket(buckets({ "10": 97, "1": 50, "+Inf": 100 }), check)).toMatchObject({
      topBound: 10,
      shareAbove: 0.03,
    });
  });

  it("is not seen when the quantile falls in a finite bucket, or nothing was counted", () => {
    expect(quantileAboveTopBucket(buckets({ "1": 50, "10": 99, "+Inf": 100 }), check)).toBeUndefined();
    expect(quantileAboveTopBucket(buckets({ "1": 0, "10": 0, "+Inf": 0 }), check)).toBeUndefined();
    expect(quantileAboveTopBucket(buckets({ "1": 0, "10": 0, "+Inf": Number.NaN }), check)).toBeUndefined();
    expect(quantileAboveTopBucket(buckets({}), check)).toBeUndefined();
    expect(quantileAboveTopBucket(buckets({ "+Inf": 5 }), check)).toBeUndefined();
  });

  it("fails a max, even one above the top bound, and says why; passes a min", () => {
    const above = quantileAboveTopBucket(buckets({ "10": 0, "+Inf": 200 }), check);
    expect(judge({ name: "p99", template: "http-latency-p99", max: 15 }, p99Answer("10"), AT, above)).toEqual(
      {
        metric: "p99",
        verdict: "fail",
        value: "+Inf",
        at: AT,
        reason:
          "p99 is above the top histogram bucket (10 s): 100% of requests took longer than 10 s " +
          "(histogram_quantile reports 10 s, the top bucket's bound), so it is not shown to be at or " +
          "below the maximum 15 s: add histogram buckets above it",
      },
    );
    expect(
      judge({ name: "p99", template: "http-latency-p99", max: 0.3 }, p99Answer("10"), AT, above),
    ).toMatchObject({
      verdict: "fail",
      reason: expect.stringMatching(/so it is above the maximum 300 ms$/),
    });
    expect(judge({ name: "p99", min: 1 }, p99Answer("10"), AT, above)).toMatchObject({
      verdict: "pass",
      value: "+Inf",
    });
  });

  it("leaves no data as no data", () => {
    const above = quantileAboveTopBucket(buckets({ "10": 0, "+Inf": 200 }), check);
    expect(judge({ name: "p99", max: 15 }, p99Answer("NaN"), AT, above).verdict).toBe("inconclusive");
  });
});
