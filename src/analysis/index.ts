// Analysis: the Prometheus port and client, PromQL templates with escaping, the
// built-in queries (and their grouped forms, which the query batcher sends once for many
// Releases), verdicts for one measurement, a round runner, and the per-stage
// limits policy (assessment.ts) that the engine applies to the measurements.
export type {
  MetricsProvider,
  QueryData,
  QueryFailure,
  QueryFailureKind,
  QueryOptions,
  QueryResult,
  SamplePair,
  Series,
  RangeSeries,
} from "./provider.ts";
export { MetricsQueryError } from "./provider.ts";
export {
  createPrometheusProvider,
  PrometheusClient,
  type PrometheusClientOptions,
} from "./prometheus-client.ts";
export { DEFAULT_RETRY_POLICY, type RetryPolicy } from "./backoff.ts";
export {
  checkQueryTemplate,
  renderQuery,
  templateVariables,
  TemplateError,
  variablesUsed,
  type TemplateVariableName,
  type TemplateVariables,
} from "./template.ts";
export {
  builtinQueries,
  metricGroupedQuery,
  metricHistogramCheck,
  metricQueryTemplate,
  type BuiltinQuery,
  type GroupedQuery,
  type GroupLabel,
  type HistogramCheck,
} from "./builtin-queries.ts";
export {
  DEFAULT_BATCH_WAIT_MS,
  groupMatchers,
  QueryBatcher,
  splitByGroup,
  sharedMeasurement,
  type BatchedQueryOptions,
  type SharedMeasurement,
} from "./query-batcher.ts";
export { quantileAboveTopBucket, type AboveTopBucket } from "./histogram.ts";
export { judge, formatSampleValue, type QueryOutcome } from "./verdict.ts";
export {
  baselineVariablesFor,
  measuredTogether,
  runAnalysis,
  templateVariablesFor,
  MINIMUM_RATE_WINDOW_MS,
  type AnalysisRound,
  type RunAnalysisInput,
  type VariablesOptions,
} from "./runner.ts";
