import { describe, expect, it } from "vitest";
import { MetricsQueryError, type QueryFailure } from "../../../src/analysis/index.ts";
import { isRetryableFailure, parsePrometheusResponse } from "../../../src/analysis/prometheus-envelope.ts";
import { DEFAULT_RETRY_POLICY } from "../../../src/analysis/backoff.ts";
import { backoffDelayMs } from "../../../src/kube/backoff.ts";

const QUERY = 'sum(rate(http_requests_total{service="checkout"}[1m]))';

/** The failure a response turns into (the test fails when it turns into a result). */
function failureOf(status: number, body: string): QueryFailure {
  try {
    parsePrometheusResponse(status, body, QUERY);
  } catch (error) {
    expect(error).toBeInstanceOf(MetricsQueryError);
    return (error as MetricsQueryError).toFailure();
  }
  throw new Error(`HTTP ${status} ${body} was accepted`);
}

describe("a successful Prometheus envelope", () => {
  it("gives a vector with its values still as strings", () => {
    const body = JSON.stringify({
      status: "success",
      data: {
        resultType: "vector",
        result: [{ metric: { version: "2.4.0" }, value: [1772366400.123, "+Inf"] }],
      },
    });
    expect(parsePrometheusResponse(200, body, QUERY)).toEqual({
      data: {
        resultType: "vector",
        result: [{ metric: { version: "2.4.0" }, value: [1772366400.123, "+Inf"] }],
      },
      warnings: [],
    });
  });

  it("gives a scalar, a string and a matrix, with warnings", () => {
    const scalar = {
      status: "success",
      data: { resultType: "scalar", result: [1, "NaN"] },
      warnings: ["careful"],
    };
    expect(parsePrometheusResponse(200, JSON.stringify(scalar), QUERY)).toEqual({
      data: { resultType: "scalar", result: [1, "NaN"] },
      warnings: ["careful"],
    });
    const text = { status: "success", data: { resultType: "string", result: [1, "hi"] } };
    expect(parsePrometheusResponse(200, JSON.stringify(text), QUERY).data.resultType).toBe("string");
    const matrix = {
      status: "success",
      data: { resultType: "matrix", result: [{ metric: {}, values: [[1, "2"]] }] },
    };
    expect(parsePrometheusResponse(200, JSON.stringify(matrix), QUERY).data).toEqual(matrix.data);
  });

  it("accepts an empty vector and unknown extra fields", () => {
    const body = { status: "success", data: { resultType: "vector", result: [] }, infos: ["note"], extra: 1 };
    expect(parsePrometheusResponse(200, JSON.stringify(body), QUERY).data).toEqual({
      resultType: "vector",
      result: [],
    });
  });
});

describe("an error envelope", () => {
  it("carries Prometheus's errorType, message and HTTP status, and the query", () => {
    const body = JSON.stringify({
      status: "error",
      errorType: "bad_data",
      error: 'invalid parameter "query": 1:30: parse error: unclosed left parenthesis',
    });
    expect(failureOf(400, body)).toEqual({
      kind: "prometheus",
      errorType: "bad_data",
      status: 400,
      message: 'invalid parameter "query": 1:30: parse error: unclosed left parenthesis',
      query: QUERY,
    });
  });

  it("is a timeout when Prometheus ran out of time", () => {
    const body = JSON.stringify({
      status: "error",
      errorType: "timeout",
      error: "query timed out in expression evaluation",
    });
    expect(failureOf(503, body)).toMatchObject({ kind: "timeout", errorType: "timeout", status: 503 });
  });

  it("keeps an execution error (422)", () => {
    const body = JSON.stringify({
      status: "error",
      errorType: "execution",
      error: "many-to-many matching not allowed",
    });
    expect(failureOf(422, body)).toMatchObject({ kind: "prometheus", errorType: "execution", status: 422 });
  });
});

describe("answers that are not envelopes", () => {
  it("are HTTP errors when the status says so, with a bit of the body", () => {
    const failure = failureOf(502, "<html><body>502 Bad Gateway</body></html>");
    expect(failure.kind).toBe("http");
    expect(failure.message).toBe(
      "HTTP 502, and the body is not a Prometheus JSON envelope: <html><body>502 Bad Gateway</body></html>",
    );
    expect(failureOf(404, "404 page not found")).toMatchObject({ kind: "http", status: 404 });
  });

  it("are invalid responses on a 2xx", () => {
    expect(failureOf(200, "")).toMatchObject({
      kind: "invalid-response",
      message: expect.stringMatching(/\(empty body\)$/),
    });
    expect(failureOf(200, JSON.stringify({ status: "success" }))).toMatchObject({
      kind: "invalid-response",
      message: expect.stringMatching(/without data/),
    });
    expect(
      failureOf(200, JSON.stringify({ status: "success", data: { resultType: "vector", result: {} } })).kind,
    ).toBe("invalid-response");
    expect(failureOf(200, JSON.stringify({ status: "ok", data: {} })).message).toMatch(
      /not a Prometheus query envelope/,
    );
    expect(
      failureOf(
        200,
        JSON.stringify({
          status: "success",
          data: { resultType: "vector", result: [{ metric: {}, value: [1, 2] }] },
        }),
      ).kind,
    ).toBe("invalid-response");
  });

  it("names a native histogram series and says what to do", () => {
    const body = JSON.stringify({
      status: "success",
      data: { resultType: "vector", result: [{ metric: { le: "x" }, histogram: [1, { count: "3" }] }] },
    });
    expect(failureOf(200, body).message).toMatch(/\{le="x"\} holds a native histogram.*histogram_quantile/);
  });

  it("cuts a long body short", () => {
    expect(failureOf(500, "x".repeat(10_000)).message).toHaveLength(
      "HTTP 500, and the body is not a Prometheus JSON envelope: ".length + 201,
    );
  });
});

describe("retrying", () => {
  it.each([
    [{ kind: "network" }, true],
    [{ kind: "timeout" }, true],
    [{ kind: "timeout", status: 503, errorType: "timeout" }, true],
    [{ kind: "http", status: 502 }, true],
    [{ kind: "prometheus", status: 503, errorType: "unavailable" }, true],
    [{ kind: "prometheus", status: 500, errorType: "internal" }, true],
    [{ kind: "prometheus", status: 400, errorType: "bad_data" }, false],
    [{ kind: "prometheus", status: 422, errorType: "execution" }, false],
    [{ kind: "prometheus", status: 500, errorType: "bad_data" }, false],
    [{ kind: "http", status: 404 }, false],
    [{ kind: "http", status: 429 }, false],
    [{ kind: "invalid-response", status: 200 }, false],
    [{ kind: "cancelled" }, false],
  ] as const)("%j → %s", (failure, retryable) => {
    expect(isRetryableFailure(failure)).toBe(retryable);
  });

  it("retries with the controller's one jittered backoff, never at once", () => {
    expect(backoffDelayMs(0, DEFAULT_RETRY_POLICY, 0)).toBe(DEFAULT_RETRY_POLICY.initialDelayMs / 2);
    expect(backoffDelayMs(10, DEFAULT_RETRY_POLICY, 0.999)).toBeLessThanOrEqual(
      DEFAULT_RETRY_POLICY.maxDelayMs,
    );
  });
});
