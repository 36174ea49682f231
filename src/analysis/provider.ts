// The port the analysis needs from a metrics backend: run one instant PromQL query,
// and say whether the backend answers at all. The Prometheus client
// (prometheus-client.ts) is the real implementation; nothing else sees HTTP.

/** One sample as Prometheus sends it: [unix seconds, value string ("0.08", "NaN", "+Inf")]. */
export type SamplePair = readonly [timestamp: number, value: string];

export interface Series {
  metric: Readonly<Record<string, string>>;
  value: SamplePair;
}

export interface RangeSeries {
  metric: Readonly<Record<string, string>>;
  values: readonly SamplePair[];
}

/** The `data` of a successful instant query, values still as Prometheus's strings. */
export type QueryData =
  | { resultType: "scalar"; result: SamplePair }
  | { resultType: "vector"; result: readonly Series[] }
  | { resultType: "matrix"; result: readonly RangeSeries[] }
  | { resultType: "string"; result: SamplePair };

export interface QueryResult {
  data: QueryData;
  /** Prometheus's warnings (e.g. a partial response from a federated or remote backend). */
  warnings: readonly string[];
}

/**
 * Why a query produced no result:
 * - `network`: no HTTP answer (refused, reset, DNS);
 * - `timeout`: no answer in time, or Prometheus's own `timeout` errorType;
 * - `prometheus`: Prometheus answered with an error envelope (bad_data, execution…);
 * - `http`: an HTTP error without a Prometheus envelope (a proxy, a wrong URL);
 * - `invalid-response`: a 2xx answer that is not a Prometheus query envelope;
 * - `cancelled`: the caller aborted the query.
 */
export type QueryFailureKind =
  "network" | "timeout" | "prometheus" | "http" | "invalid-response" | "cancelled";

/** A failed query as plain data, so the verdict layer can judge it without the client. */
export interface QueryFailure {
  kind: QueryFailureKind;
  /** Prometheus's own message when it sent one, otherwise the transport's. */
  message: string;
  /** Prometheus's errorType: bad_data, execution, timeout, canceled, internal, unavailable… */
  errorType?: string;
  /** The HTTP status, when there was an answer. */
  status?: number;
  /** The query as sent. */
  query: string;
  /** How many attempts were made (retries included). */
  attempts?: number;
}

export class MetricsQueryError extends Error implements QueryFailure {
  readonly kind: QueryFailureKind;
  readonly errorType?: string;
  readonly status?: number;
  readonly query: string;
  readonly attempts?: number;

  constructor(failure: QueryFailure, options?: { cause?: unknown }) {
    super(failure.message, options);
    this.name = "MetricsQueryError";
    this.kind = failure.kind;
    this.query = failure.query;
    if (failure.errorType !== undefined) this.errorType = failure.errorType;
    if (failure.status !== undefined) this.status = failure.status;
    if (failure.attempts !== undefined) this.attempts = failure.attempts;
  }

  /** The failure as plain data (for the verdict layer and for logs). */
  toFailure(): QueryFailure {
    return {
      kind: this.kind,
      message: this.message,
      query: this.query,
      ...(this.errorType === undefined ? {} : { errorType: this.errorType }),
      ...(this.status === undefined ? {} : { status: this.status }),
      ...(this.attempts === undefined ? {} : { attempts: this.attempts }),
    };
  }
}

export interface QueryOptions {
  /** Aborts the query (and its retries) early, e.g. when the controller shuts down. */
  signal?: AbortSignal;
  /** When the query is evaluated; default now (Prometheus's own time). */
  time?: Date;
}

export interface MetricsProvider {
  /** Runs an instant query now. Rejects with MetricsQueryError. */
  query(promql: string, options?: QueryOptions): Promise<QueryResult>;
  /** True when the backend answers a trivial query; never throws. */
  isOnline(): Promise<boolean>;
}
