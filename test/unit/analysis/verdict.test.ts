import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { measurementSchema, parseSampleValue } from "../../../src/api/index.ts";
import {
  formatSampleValue,
  judge,
  type QueryFailure,
  type QueryOutcome,
  type QueryResult,
} from "../../../src/analysis/index.ts";
import { aggregateValues, failureReason, type JudgedMetric } from "../../../src/analysis/verdict.ts";

const AT = "2026-03-01T12:00:00.000Z";
const errorRate: JudgedMetric = { name: "error-rate", max: 0.05 };
const throughput: JudgedMetric = { name: "throughput", min: 10 };
const band: JudgedMetric = { name: "band", min: 10, max: 20 };

const vector = (...values: string[]): QueryOutcome => ({
  ok: true,
  result: {
    data: {
      resultType: "vector",
      result: values.map((value, index) => ({
        metric: { pod: `api-${index}` },
        value: [1772366400, value] as const,
      })),
    },
    warnings: [],
  },
});
const scalar = (value: string): QueryOutcome => ({
  ok: true,
  result: { data: { resultType: "scalar", result: [1772366400, value] }, warnings: [] },
});
const failed = (failure: Omit<QueryFailure, "query">): QueryOutcome => ({
  ok: false,
  failure: { ...failure, query: "sum(rate(x[1m]))" },
});

/** Every measurement must fit the status schema as it is. */
const judged = (metric: JudgedMetric, outcome: QueryOutcome) =>
  measurementSchema.parse(judge(metric, outcome, AT));

describe("sample values as Prometheus writes them", () => {
  it.each([
    ["0.08", 0.08],
    ["0", 0],
    ["-3.5", -3.5],
    ["1e-05", 0.00001],
    ["1.5E+10", 1.5e10],
    [".5", 0.5],
    ["+Inf", Infinity],
    ["Inf", Infinity],
    ["-Inf", -Infinity],
  ])("parses %j", (text, value) => {
    expect(parseSampleValue(text)).toBe(value);
  });

  it("parses NaN explicitly", () => {
    expect(parseSampleValue("NaN")).toBeNaN();
  });

  it.each(["", " ", "0x1f", "1_000", "abc", "nan", "inf", "Infinity", "1.2.3", "1e", "--1"])(
    "refuses %j",
    (text) => {
      expect(parseSampleValue(text)).toBeUndefined();
    },
  );

  it("formats numbers back the way Prometheus does, round trip included (property)", () => {
    expect([NaN, Infinity, -Infinity, 0.05].map(formatSampleValue)).toEqual(["NaN", "+Inf", "-Inf", "0.05"]);
    fc.assert(
      fc.property(fc.double(), (value) => {
        // String(-0) is "0", as Go writes it too.
        expect(Object.is(parseSampleValue(formatSampleValue(value)), Object.is(value, -0) ? 0 : value)).toBe(
          true,
        );
      }),
    );
  });
});

describe("a measurement against its thresholds", () => {
  it("passes at or below max", () => {
    expect(judged(errorRate, vector("0.01"))).toEqual({
      metric: "error-rate",
      verdict: "pass",
      value: "0.01",
      at: AT,
      reason: "0.01 is at or below the maximum 0.05",
    });
    expect(judged(errorRate, vector("0.05")).verdict).toBe("pass");
  });

  it("fails above max, keeping the value as Prometheus returned it", () => {
    expect(judged(errorRate, vector("0.08000000000000002"))).toMatchObject({
      verdict: "fail",
      value: "0.08000000000000002",
      reason: "0.08 is above the maximum 0.05",
    });
  });

  it("fails below min and passes at min", () => {
    expect(judged(throughput, scalar("9.5"))).toMatchObject({
      verdict: "fail",
      reason: "9.5 is below the minimum 10",
    });
    expect(judged(throughput, scalar("10"))).toMatchObject({
      verdict: "pass",
      reason: "10 is at or above the minimum 10",
    });
  });

  it("checks both bounds", () => {
    expect(judged(band, vector("15"))).toMatchObject({ verdict: "pass", reason: "15 is between 10 and 20" });
    expect(judged(band, vector("21")).verdict).toBe("fail");
    expect(judged(band, vector("9")).verdict).toBe("fail");
  });

  it("fails +Inf against max and -Inf against min", () => {
    expect(judged(errorRate, vector("+Inf"))).toMatchObject({ verdict: "fail", value: "+Inf" });
    expect(judged(throughput, vector("-Inf"))).toMatchObject({ verdict: "fail", value: "-Inf" });
    expect(judged(throughput, vector("+Inf")).verdict).toBe("pass");
    expect(judged(errorRate, vector("-Inf")).verdict).toBe("pass");
  });

  it("never passes a NaN, whatever the threshold (property)", () => {
    fc.assert(
      fc.property(
        fc.record({
          max: fc.option(fc.double({ noNaN: true }), { nil: undefined }),
          min: fc.option(fc.double({ noNaN: true }), { nil: undefined }),
        }),
        fc.constantFrom(vector("NaN"), scalar("NaN")),
        (limits, outcome) => {
          const metric: JudgedMetric = { name: "m", ...limits };
          expect(judge(metric, outcome, AT).verdict).not.toBe("pass");
        },
      ),
    );
  });
});

describe("no data", () => {
  it("is inconclusive for an empty vector", () => {
    expect(judged(errorRate, vector())).toEqual({
      metric: "error-rate",
      verdict: "inconclusive",
      at: AT,
      reason: "no data: the query returned no series (no traffic, or labels that match nothing)",
    });
  });

  it("is inconclusive for NaN, from a vector or a scalar", () => {
    expect(judged(errorRate, vector("NaN"))).toMatchObject({
      verdict: "inconclusive",
      value: "NaN",
      reason: "no data: the value is NaN (0/0, usually no requests in the window)",
    });
    expect(judged(throughput, scalar("NaN")).verdict).toBe("inconclusive");
  });
});

describe("several series", () => {
  it("are an error naming the count and the first series, without aggregate", () => {
    const measurement = judged(errorRate, vector("0.01", "0.02", "0.03", "0.04"));
    expect(measurement.verdict).toBe("error");
    expect(measurement.value).toBeUndefined();
    expect(measurement.reason).toBe(
      'the query returned 4 series ({pod="api-0"}, {pod="api-1"}, {pod="api-2"}, and 1 more), not one: ' +
        "set `aggregate` (sum, avg, max or min) or aggregate in the query, e.g. sum(...)",
    );
  });

  it.each([
    ["sum", "0.06"],
    ["avg", "0.02"],
    ["max", "0.03"],
    ["min", "0.01"],
  ] as const)("are combined with aggregate: %s", (aggregate, value) => {
    const measurement = judged({ ...errorRate, aggregate }, vector("0.01", "0.02", "0.03"));
    expect(Number(measurement.value)).toBeCloseTo(Number(value), 12);
    expect(measurement.reason).toContain(`(${aggregate} of 3 series)`);
    expect(measurement.verdict).toBe(aggregate === "sum" ? "fail" : "pass");
  });

  it("give no data when any of them is NaN, and fail on an infinity", () => {
    expect(judged({ ...errorRate, aggregate: "max" }, vector("0.01", "NaN")).verdict).toBe("inconclusive");
    expect(judged({ ...errorRate, aggregate: "min" }, vector("0.01", "NaN")).verdict).toBe("inconclusive");
    expect(judged({ ...errorRate, aggregate: "sum" }, vector("0.01", "+Inf"))).toMatchObject({
      verdict: "fail",
      value: "+Inf",
    });
    expect(aggregateValues([], "sum")).toBeNaN();
  });

  it("is a single series, taken as it is", () => {
    expect(judged({ ...errorRate, aggregate: "sum" }, vector("0.01")).reason).toBe(
      "0.01 is at or below the maximum 0.05",
    );
  });
});

describe("results that cannot be judged", () => {
  it("is an error for a value that is not a number", () => {
    expect(judged(errorRate, vector("0x10"))).toMatchObject({
      verdict: "error",
      reason: 'Prometheus returned the sample value "0x10", which is not a number',
    });
    expect(judged({ ...errorRate, aggregate: "sum" }, vector("1", "oops")).verdict).toBe("error");
  });

  it("is an error for a matrix or a string", () => {
    const matrix: QueryResult = {
      data: { resultType: "matrix", result: [{ metric: {}, values: [[1, "1"]] }] },
      warnings: [],
    };
    expect(judged(errorRate, { ok: true, result: matrix }).reason).toMatch(
      /range \(matrix\) result.*rate\(\)/,
    );
    const text: QueryResult = { data: { resultType: "string", result: [1, "hello"] }, warnings: [] };
    expect(judged(errorRate, { ok: true, result: text }).reason).toBe(
      'the query returned the string "hello", not a number',
    );
  });

  it("mentions Prometheus's warnings", () => {
    const outcome = vector("0.01");
    if (outcome.ok) outcome.result.warnings = ["partial response: store eu-1 unavailable"];
    expect(judged(errorRate, outcome).reason).toBe(
      "0.01 is at or below the maximum 0.05 (Prometheus warned: partial response: store eu-1 unavailable)",
    );
  });
});

describe("failed queries", () => {
  it("carry Prometheus's errorType and message", () => {
    const measurement = judged(
      errorRate,
      failed({
        kind: "prometheus",
        errorType: "bad_data",
        status: 400,
        message: "1:14: parse error: unclosed left parenthesis",
      }),
    );
    expect(measurement).toEqual({
      metric: "error-rate",
      verdict: "error",
      at: AT,
      reason: "Prometheus rejected the query (bad_data): 1:14: parse error: unclosed left parenthesis",
    });
  });

  it.each([
    [
      { kind: "network", message: "connect ECONNREFUSED 127.0.0.1:9090", attempts: 3 },
      "Prometheus unreachable after 3 attempts: connect ECONNREFUSED 127.0.0.1:9090",
    ],
    [
      {
        kind: "timeout",
        errorType: "timeout",
        status: 503,
        message: "query timed out in expression evaluation",
      },
      "Prometheus did not answer in time (timeout): query timed out in expression evaluation",
    ],
    [
      { kind: "http", status: 502, message: "HTTP 502: bad gateway", attempts: 2 },
      "Prometheus answered HTTP 502 after 2 attempts: HTTP 502: bad gateway",
    ],
    [
      { kind: "invalid-response", status: 200, message: "not JSON" },
      "Prometheus's answer was not usable: not JSON",
    ],
    [{ kind: "cancelled", message: "aborted" }, "the query was cancelled before Prometheus answered"],
  ] as const)("explain a %s failure", (failure, reason) => {
    expect(judged(errorRate, failed(failure))).toMatchObject({ verdict: "error", reason });
    expect(failureReason({ ...failure, query: "q" })).toBe(reason);
  });

  it("keep reasons within the status limit", () => {
    const measurement = judged(
      errorRate,
      failed({ kind: "prometheus", errorType: "execution", message: "x".repeat(5000) }),
    );
    expect(measurement.reason).toHaveLength(1024);
    expect(measurement.reason.endsWith("…")).toBe(true);
  });
});
