import axios, { isAxiosError, type AxiosInstance } from "axios";
import { backoffDelayMs } from "../kube/backoff.ts";
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from "./backoff.ts";
import { isRetryableFailure, parsePrometheusResponse } from "./prometheus-envelope.ts";
import {
  MetricsQueryError,
  type MetricsProvider,
  type QueryFailure,
  type QueryOptions,
  type QueryResult,
} from "./provider.ts";
import { sleep } from "../kube/interruptible-sleep.ts";
import { timerDelay } from "../kube/timer-delay.ts";

// The MetricsProvider for Prometheus (and API-compatible backends: Thanos, Mimir,
// VictoriaMetrics). Instant queries as POST form bodies with Prometheus's own
// `timeout=`, every attempt bounded in time, retries with jittered backoff on network
// errors, timeouts and 5xx only, and all attempts together bounded too.

export interface PrometheusClientOptions {
  /** Base URL, e.g. http://prometheus.monitoring:9090 (a path prefix is kept). */
  url: string;
  /** One attempt's limit; Prometheus is asked to stop evaluating a little earlier. Default 10 s. */
  requestTimeoutMs?: number;
  /** All attempts and the waits between them. Default 30 s. */
  totalTimeoutMs?: number;
  retry?: Partial<RetryPolicy>;
  /** Sent with every request, e.g. { Authorization: "Bearer …" } or a tenant header. */
  headers?: Record<string, string>;
  /** Larger answers are refused (a query that returns far too many series). Default 16 MiB. */
  maxResponseBytes?: number;
}

const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
const DEFAULT_TOTAL_TIMEOUT_MS = 30_000;
const DEFAULT_MAX_RESPONSE_BYTES = 16 * 1024 * 1024;
const ONLINE_CHECK_TIMEOUT_MS = 5_000;
/** Share of an attempt's time that Prometheus may spend evaluating, so its own timeout error (with its message) arrives before ours. */
const SERVER_TIMEOUT_SHARE = 0.9;

export class PrometheusClient implements MetricsProvider {
  readonly url: string;
  readonly #http: AxiosInstance;
  readonly #requestTimeoutMs: number;
  readonly #totalTimeoutMs: number;
  readonly #retry: RetryPolicy;

  constructor(options: PrometheusClientOptions) {
    this.url = options.url.replace(/\/+$/, "");
    this.#requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.#totalTimeoutMs = options.totalTimeoutMs ?? DEFAULT_TOTAL_TIMEOUT_MS;
    this.#retry = { ...DEFAULT_RETRY_POLICY, ...options.retry };
    if (this.#retry.attempts < 1)
      throw new Error(`retry.attempts must be at least 1, not ${this.#retry.attempts}`);
    this.#http = axios.create({
      baseURL: this.url,
      headers: { Accept: "application/json", ...options.headers },
      maxContentLength: options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES,
      maxRedirects: 0,
      // Every status is classified by parsePrometheusResponse, which knows Prometheus's envelopes.
      validateStatus: () => true,
      responseType: "text",
      transformResponse: [(data: unknown) => data],
    });
  }

  async query(promql: string, options: QueryOptions = {}): Promise<QueryResult> {
    const deadline = Date.now() + this.#totalTimeoutMs;
    let lastFailure: QueryFailure | undefined;
    let lastCause: unknown;
    for (let attempt = 1; attempt <= this.#retry.attempts; attempt++) {
      const remainingMs = deadline - Date.now();
      if (remainingMs <= 0) break;
      try {
        return await this.#attempt(
          promql,
          Math.min(this.#requestTimeoutMs, remainingMs),
          options.signal,
          options.time,
        );
      } catch (error) {
        if (!(error instanceof MetricsQueryError)) throw error;
        lastFailure = { ...error.toFailure(), attempts: attempt };
        lastCause = error.cause;
        if (!isRetryableFailure(lastFailure) || attempt === this.#retry.attempts) break;
        const delayMs = backoffDelayMs(attempt - 1, this.#retry, Math.random());
        if (Date.now() + delayMs >= deadline) break;
        if (!(await sleep(delayMs, options.signal))) {
          throw new MetricsQueryError({
            kind: "cancelled",
            message: "the query was cancelled",
            query: promql,
          });
        }
      }
    }
    throw new MetricsQueryError(
      lastFailure ?? {
        kind: "timeout",
        message: `no attempt fitted in the total time limit of ${this.#totalTimeoutMs} ms`,
        query: promql,
      },
      { cause: lastCause },
    );
  }

  async isOnline(): Promise<boolean> {
    try {
      const result = await this.#attempt(
        "vector(1)",
        Math.min(this.#requestTimeoutMs, ONLINE_CHECK_TIMEOUT_MS),
      );
      return result.data.resultType === "vector";
    } catch {
      return false;
    }
  }

  async #attempt(
    promql: string,
    timeoutMs: number,
    callerSignal?: AbortSignal,
    time?: Date,
  ): Promise<QueryResult> {
    const timeoutSignal = AbortSignal.timeout(timerDelay(timeoutMs));
    const signal = callerSignal ? AbortSignal.any([callerSignal, timeoutSignal]) : timeoutSignal;
    const form = new URLSearchParams({
      query: promql,
      timeout: `${Math.max(1, Math.floor(timeoutMs * SERVER_TIMEOUT_SHARE))}ms`,
    });
    if (time !== undefined) form.set("time", String(time.getTime() / 1000));
    let response;
    try {
      response = await this.#http.post<string>("/api/v1/query", form, { signal, timeout: timeoutMs });
    } catch (error) {
      throw this.#transportFailure(error, promql, timeoutMs, callerSignal);
    }
    return parsePrometheusResponse(response.status, String(response.data ?? ""), promql);
  }

  #transportFailure(
    error: unknown,
    promql: string,
    timeoutMs: number,
    callerSignal?: AbortSignal,
  ): MetricsQueryError {
    const base = { query: promql };
    if (callerSignal?.aborted) {
      return new MetricsQueryError(
        { ...base, kind: "cancelled", message: "the query was cancelled" },
        { cause: error },
      );
    }
    if (!isAxiosError(error)) {
      return new MetricsQueryError({ ...base, kind: "network", message: String(error) }, { cause: error });
    }
    const code = error.code ?? "";
    if (code === "ERR_CANCELED" || code === "ECONNABORTED" || code === "ETIMEDOUT") {
      return new MetricsQueryError(
        { ...base, kind: "timeout", message: `no answer from ${this.url} within ${timeoutMs} ms` },
        { cause: error },
      );
    }
    if (code === "ERR_BAD_RESPONSE") {
      return new MetricsQueryError(
        { ...base, kind: "invalid-response", message: `unusable answer from ${this.url}: ${error.message}` },
        { cause: error },
      );
    }
    // Connection errors to a dual-stack name arrive as an AggregateError with an empty message.
    const detail =
      error.message || (error.cause instanceof Error ? error.cause.message : "") || code || "no answer";
    const withCode = code && !detail.includes(code) ? `${code}: ${detail}` : detail;
    return new MetricsQueryError(
      { ...base, kind: "network", message: `${this.url}: ${withCode}` },
      { cause: error },
    );
  }
}

export function createPrometheusProvider(options: PrometheusClientOptions): MetricsProvider {
  return new PrometheusClient(options);
}
