import { formatDuration, type Measurement, type Metric, type Release } from "../api/index.ts";
import {
  baselineDeploymentName,
  baselineServiceName,
  canaryDeploymentName,
  canaryServiceName,
} from "../api/workload-names.ts";
import {
  metricGroupedQuery,
  metricHistogramCheck,
  metricQueryTemplate,
  type HistogramCheck,
} from "./builtin-queries.ts";
import { quantileAboveTopBucket } from "./histogram.ts";
import { MetricsQueryError, type MetricsProvider, type QueryOptions, type QueryResult } from "./provider.ts";
import { sharedMeasurement, type QueryBatcher } from "./query-batcher.ts";
import { renderQuery, TemplateError, type TemplateVariables } from "./template.ts";
import { failureReason, judge, measurement } from "./verdict.ts";

// One analysis round: render every metric's query, run them all at once, judge each
// answer. It decides nothing about stages: the engine feeds the measurements to
// assessment.ts, which applies failureLimit and the other limits.

export interface AnalysisRound {
  /** When the round was taken; every measurement carries it. */
  at: string;
  /** One per metric, in the order of the metrics. */
  measurements: Measurement[];
  /** The query as sent, by metric name; absent for a metric whose template could not be filled. */
  queries: Record<string, string>;
}

export interface RunAnalysisInput {
  metrics: readonly Metric[];
  variables: TemplateVariables;
  provider: MetricsProvider;
  /** ISO 8601 time of the round; default now. */
  at?: string;
  signal?: AbortSignal;
  /**
   * The baseline's variables (baselineVariablesFor): metrics compared with the baseline are
   * also asked for it, and their measurements carry its value (docs/baseline.md).
   */
  baselineVariables?: TemplateVariables;
  /**
   * Measures built-in templates together with other Releases' rounds (one grouped query);
   * without it, or for a custom query, each metric runs its own query.
   */
  batch?: { batcher: QueryBatcher; maxWaitMs: number };
  /** When Prometheus evaluates the queries; default now. */
  evaluationTime?: Date;
}

export async function runAnalysis(input: RunAnalysisInput): Promise<AnalysisRound> {
  const at = input.at ?? new Date().toISOString();
  const queries: Record<string, string> = {};
  const measurements = await Promise.all(
    input.metrics.map(async (metric): Promise<Measurement> => {
      let query: string;
      try {
        query = renderQuery(metricQueryTemplate(metric), input.variables);
      } catch (error) {
        if (!(error instanceof TemplateError)) throw error;
        return measurement(metric, "error", at, `the query template cannot be filled: ${error.message}`);
      }
      // The query as the Release's own: a shared query's answer is exactly its answer.
      queries[metric.name] = query;
      const ask = askerFor(metric, query, input);
      const check = metricHistogramCheck(metric);
      // Both at once; the metric's own query failing is the reason that counts.
      const [answer, buckets] = await Promise.allSettled([
        ask.value(),
        check === undefined
          ? undefined
          : ask.buckets(check).then((result) => quantileAboveTopBucket(result, check)),
      ]);
      if (answer.status === "rejected") return providerFailure(metric, answer.reason, at);
      if (buckets.status === "rejected") {
        const why =
          buckets.reason instanceof MetricsQueryError
            ? failureReason(buckets.reason.toFailure())
            : String(buckets.reason);
        return measurement(
          metric,
          "error",
          at,
          `cannot tell whether the quantile lies above the top histogram bucket: ${why}`,
        );
      }
      return judge(metric, { ok: true, result: answer.value }, at, buckets.value);
    }),
  );
  if (input.baselineVariables === undefined) return { at, measurements, queries };
  const baselineVariables = input.baselineVariables;
  const withBaseline = await Promise.all(
    measurements.map(async (taken, index) => {
      const metric = input.metrics[index] as Metric;
      if (metric.compare?.baseline === undefined) return taken;
      const value = await baselineValue(metric, baselineVariables, input);
      return value === undefined ? taken : { ...taken, baselineValue: value };
    }),
  );
  return { at, measurements: withBaseline, queries };
}

/**
 * The baseline's value of a compared metric: the same template asked for the baseline;
 * undefined when it has none (no data, an error: the interval gives no baseline sample).
 */
async function baselineValue(
  metric: Metric,
  variables: TemplateVariables,
  input: RunAnalysisInput,
): Promise<string | undefined> {
  let query: string;
  try {
    query = renderQuery(metricQueryTemplate(metric), variables);
  } catch (error) {
    if (error instanceof TemplateError) return undefined;
    throw error;
  }
  try {
    const result = await input.provider.query(query, {
      ...(input.signal ? { signal: input.signal } : {}),
      ...(input.evaluationTime ? { time: input.evaluationTime } : {}),
    });
    // judge reads the one value out of the answer (aggregating series as the metric says).
    return judge(metric, { ok: true, result }, input.at ?? new Date().toISOString()).value;
  } catch (error) {
    if (error instanceof MetricsQueryError) return undefined;
    throw error;
  }
}

function providerFailure(metric: Metric, error: unknown, at: string): Measurement {
  if (error instanceof MetricsQueryError) return judge(metric, { ok: false, failure: error.toFailure() }, at);
  return measurement(metric, "error", at, `the metrics provider failed: ${(error as Error).message}`);
}

/** How one metric's queries are answered: by a query shared with other Releases, or its own. */
interface Asker {
  value(): Promise<QueryResult>;
  /** The histogram's buckets, for a quantile histogram_quantile would cap at the top bound. */
  buckets(check: HistogramCheck): Promise<QueryResult>;
}

function askerFor(metric: Metric, query: string, input: RunAnalysisInput): Asker {
  const options: QueryOptions = {
    ...(input.signal ? { signal: input.signal } : {}),
    ...(input.evaluationTime ? { time: input.evaluationTime } : {}),
  };
  const shared =
    input.batch && sharedMeasurement(metric.template, metricGroupedQuery(metric), input.variables);
  if (input.batch && shared) {
    const { batcher, maxWaitMs } = input.batch;
    return {
      value: () => batcher.value(shared, { ...options, maxWaitMs }),
      buckets: () => batcher.buckets(shared, { ...options, maxWaitMs }),
    };
  }
  return {
    value: () => input.provider.query(query, options),
    buckets: (check) => input.provider.query(renderQuery(check.bucketsQuery, input.variables), options),
  };
}

/** Whether every metric of a round is measured by queries shared with other Releases (none of its own). */
export function measuredTogether(metrics: readonly Metric[], variables: TemplateVariables): boolean {
  // A metric compared with the baseline also asks the baseline's value with a query of its own.
  return metrics.every(
    (metric) =>
      metric.compare?.baseline === undefined &&
      sharedMeasurement(metric.template, metricGroupedQuery(metric), variables) !== undefined,
  );
}

/**
 * rate() needs several scrapes in its window; shorter analysis intervals still look back
 * this far unless the controller is configured otherwise (prometheus.minimumRateWindow).
 */
export const MINIMUM_RATE_WINDOW_MS = 60_000;

export interface VariablesOptions {
  /** canary while the canary takes traffic; stable once the new version is promoted (bake). */
  subject: "canary" | "stable";
  /** The analysis interval (ReleasePlan.analysisIntervalMs); {{interval}} is at least minimumRateWindowMs. */
  analysisIntervalMs: number;
  /** Default MINIMUM_RATE_WINDOW_MS. */
  minimumRateWindowMs?: number;
}

/**
 * The variables that ask a template about the baseline instead of the canary: the
 * baseline's Deployment and Service where the canary's stand, and stable's version
 * (status.previous.version), which the baseline's pods carry.
 */
export function baselineVariablesFor(release: Release, options: VariablesOptions): TemplateVariables {
  const variables = templateVariablesFor(release, options);
  const baselineService = baselineServiceName(release.spec.target.service);
  variables.canary = baselineDeploymentName(release.spec.target.deployment);
  variables.canaryService = baselineService;
  variables.analysedService = baselineService;
  const stableVersion = release.status?.previous?.version;
  if (stableVersion === undefined) delete variables.version;
  else variables.version = stableVersion;
  return variables;
}

/** The template variables of a Release, with the canary names the workload code gives its objects. */
export function templateVariablesFor(release: Release, options: VariablesOptions): TemplateVariables {
  const { spec } = release;
  const canaryService = canaryServiceName(spec.target.service);
  const variables: TemplateVariables = {
    service: spec.target.service,
    target: spec.target.deployment,
    canary: canaryDeploymentName(spec.target.deployment),
    canaryService,
    analysedService: options.subject === "canary" ? canaryService : spec.target.service,
    version: spec.version,
    interval: formatDuration(
      Math.max(options.analysisIntervalMs, options.minimumRateWindowMs ?? MINIMUM_RATE_WINDOW_MS),
    ),
  };
  // Optional ones stay unset when unknown, so a template that needs them says so by name.
  if (release.metadata.namespace !== undefined) variables.namespace = release.metadata.namespace;
  if (release.status?.previous?.version !== undefined)
    variables.stableVersion = release.status.previous.version;
  if (spec.traffic.gatewayAPI !== undefined) variables.route = spec.traffic.gatewayAPI.httpRoute;
  if (spec.traffic.nginx !== undefined) variables.ingress = spec.traffic.nginx.ingress;
  return variables;
}
