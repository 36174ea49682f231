import { z } from "zod";
import { MetricsQueryError, type QueryFailure, type QueryResult } from "./provider.ts";

// Prometheus's HTTP API envelope {status, data:{resultType, result}, errorType, error,
// warnings}, validated with zod. Pure: the client hands over the HTTP status and the
// body text, and gets a result or a MetricsQueryError that carries Prometheus's own
// errorType and message together with the query.

const samplePairSchema = z.tuple([z.number(), z.string()]).readonly();
const labelsSchema = z.record(z.string(), z.string());

const dataSchema = z.discriminatedUnion("resultType", [
  z.object({ resultType: z.literal("scalar"), result: samplePairSchema }),
  z.object({ resultType: z.literal("string"), result: samplePairSchema }),
  z.object({
    resultType: z.literal("vector"),
    result: z.array(
      z.object({
        metric: labelsSchema,
        value: samplePairSchema.optional(),
        // Native histograms come as `histogram` instead of `value`.
        histogram: z.unknown().optional(),
      }),
    ),
  }),
  z.object({
    resultType: z.literal("matrix"),
    result: z.array(
      z.object({
        metric: labelsSchema,
        values: z.array(samplePairSchema).optional(),
        histograms: z.unknown().optional(),
      }),
    ),
  }),
]);

export const prometheusEnvelopeSchema = z.object({
  status: z.enum(["success", "error"]),
  data: dataSchema.optional(),
  errorType: z.string().optional(),
  error: z.string().optional(),
  warnings: z.array(z.string()).optional(),
  infos: z.array(z.string()).optional(),
});

export type PrometheusEnvelope = z.infer<typeof prometheusEnvelopeSchema>;

/** How much of a body that is not an envelope goes into an error message. */
const BODY_SNIPPET_CHARS = 200;

/** Turns one HTTP answer to POST /api/v1/query into a result, or throws MetricsQueryError. */
export function parsePrometheusResponse(status: number, body: string, query: string): QueryResult {
  const fail = (failure: Omit<QueryFailure, "query" | "status">): never => {
    throw new MetricsQueryError({ ...failure, query, status });
  };
  const isHttpError = status < 200 || status > 299;

  let raw: unknown;
  try {
    raw = JSON.parse(body);
  } catch {
    return fail({
      kind: isHttpError ? "http" : "invalid-response",
      message: `HTTP ${status}, and the body is not a Prometheus JSON envelope: ${snippet(body)}`,
    });
  }
  const parsed = prometheusEnvelopeSchema.safeParse(raw);
  if (!parsed.success) {
    return fail({
      kind: isHttpError ? "http" : "invalid-response",
      message: `HTTP ${status}, and the body is not a Prometheus query envelope (${z.prettifyError(parsed.error).replace(/\n/g, "; ")}): ${snippet(body)}`,
    });
  }
  const envelope = parsed.data;
  if (envelope.status === "error") {
    return fail({
      // Prometheus answers 503 with errorType "timeout" when the evaluation ran out of time.
      kind: envelope.errorType === "timeout" ? "timeout" : "prometheus",
      message: envelope.error ?? `Prometheus reported an error without a message (HTTP ${status})`,
      ...(envelope.errorType === undefined ? {} : { errorType: envelope.errorType }),
    });
  }
  if (isHttpError) {
    return fail({ kind: "http", message: `HTTP ${status} with a "success" envelope: ${snippet(body)}` });
  }
  const data = envelope.data;
  if (data === undefined) {
    return fail({ kind: "invalid-response", message: `a "success" envelope without data: ${snippet(body)}` });
  }
  const warnings = [...(envelope.warnings ?? [])];

  switch (data.resultType) {
    case "scalar":
    case "string":
      return { data: { resultType: data.resultType, result: data.result }, warnings };
    case "vector": {
      const result = data.result.map((series) => {
        if (series.value === undefined) {
          return fail({
            kind: "invalid-response",
            message: `the series ${formatLabels(series.metric)} holds a native histogram, not a number: wrap the query in histogram_quantile(), histogram_count() or histogram_sum()`,
          });
        }
        return { metric: series.metric, value: series.value };
      });
      return { data: { resultType: "vector", result }, warnings };
    }
    case "matrix": {
      const result = data.result.map((series) => ({ metric: series.metric, values: series.values ?? [] }));
      return { data: { resultType: "matrix", result }, warnings };
    }
  }
}

/**
 * Whether another attempt may succeed: network failures, timeouts and 5xx answers.
 * Never a 4xx or bad_data/execution error: the same query would fail the same way.
 */
export function isRetryableFailure(failure: Pick<QueryFailure, "kind" | "status" | "errorType">): boolean {
  switch (failure.kind) {
    case "network":
    case "timeout":
      return true;
    case "http":
    case "prometheus":
      if (failure.errorType === "bad_data" || failure.errorType === "execution") return false;
      return failure.status !== undefined && failure.status >= 500 && failure.status <= 599;
    case "invalid-response":
    case "cancelled":
      return false;
  }
}

/** `{job="api", code="500"}`, for messages. */
export function formatLabels(labels: Readonly<Record<string, string>>): string {
  const pairs = Object.entries(labels).map(([name, value]) => `${name}=${JSON.stringify(value)}`);
  return `{${pairs.join(", ")}}`;
}

function snippet(body: string): string {
  const oneLine = body.replace(/\s+/g, " ").trim();
  if (oneLine === "") return "(empty body)";
  return oneLine.length > BODY_SNIPPET_CHARS ? `${oneLine.slice(0, BODY_SNIPPET_CHARS)}…` : oneLine;
}
