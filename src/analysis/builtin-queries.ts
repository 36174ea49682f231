import { builtinTemplateUnits, type Metric, type MetricUnit } from "../api/index.ts";
import type { TemplateVariableName } from "./template.ts";

// The PromQL behind `template:` metrics, one place per metrics convention.
//
// Error ratios: (errors or vector(0)) / requests. With traffic but no 5xx series yet the
// ratio is 0; without traffic the denominator is empty (no series) or 0 (0/0 = NaN),
// so the result is no data — inconclusive — and never a healthy-looking 0.
//
// Which series belong to the new version:
//   http-*, istio-*   the pods' `version` label ({{version}}), before and after promotion;
//   gateway-*, nginx-* the backend Service that carries the new version ({{analysedService}}).

type BuiltinTemplate = NonNullable<Metric["template"]>;

function errorRatio(errors: string, requests: string): string {
  return `(\n  sum(rate(${errors}[{{interval}}])) or vector(0)\n)\n/\nsum(rate(${requests}[{{interval}}]))`;
}

// The same queries for many Releases at once (query-batcher.ts): one selector matching
// all their label values, aggregated `by` the labels that tell them apart, so each group
// is exactly the series the Release's own selector matches, summed in the same order.

/** A label that tells one Release's series from another's, and the template variable holding its value. */
export interface GroupLabel {
  label: string;
  variable: TemplateVariableName;
}

/** A built-in query in the form that measures many Releases with one query. */
export interface GroupedQuery {
  labels: readonly GroupLabel[];
  /** `matchers` selects every Release's series (label=~"a|b", …); one series per Release in the answer. */
  query(matchers: string, interval: string): string;
  /** For a latency quantile: its buckets' rates by the labels and `le`, as HistogramCheck.bucketsQuery. */
  bucketsQuery?(matchers: string, interval: string): string;
}

/**
 * The error ratio by group. `or vector(0)` cannot stand for a missing error series per
 * group, so a group with requests but no 5xx series gets 0 from `0 * count(...)` of its
 * requests (always a finite count, so exactly 0), and a group without requests gets no
 * series at all — no data, as the Release's own query says.
 */
function groupedErrorRatio(
  labels: readonly GroupLabel[],
  errors: (matchers: string) => string,
  requests: (matchers: string) => string,
): GroupedQuery {
  const by = labels.map((one) => one.label).join(", ");
  return {
    labels,
    query: (matchers, interval) =>
      `(\n  sum by (${by}) (rate(${errors(matchers)}[${interval}]))\n  or\n` +
      `  0 * count by (${by}) (rate(${requests(matchers)}[${interval}]))\n)\n/\n` +
      `sum by (${by}) (rate(${requests(matchers)}[${interval}]))`,
  };
}

function groupedP99(labels: readonly GroupLabel[], buckets: (matchers: string) => string): GroupedQuery {
  const by = [...labels.map((one) => one.label), "le"].join(", ");
  const rates = (matchers: string, interval: string) =>
    `sum by (${by}) (rate(${buckets(matchers)}[${interval}]))`;
  return {
    labels,
    query: (matchers, interval) => `histogram_quantile(0.99, ${rates(matchers, interval)})`,
    bucketsQuery: rates,
  };
}

const httpLabels: readonly GroupLabel[] = [
  { label: "namespace", variable: "namespace" },
  { label: "service", variable: "service" },
  { label: "version", variable: "version" },
];
const nginxLabels: readonly GroupLabel[] = [
  { label: "namespace", variable: "namespace" },
  { label: "service", variable: "analysedService" },
];

/** A latency template's histogram, so a p99 above the top bucket can be told from one at its bound. */
export interface HistogramCheck {
  quantile: number;
  /** The buckets' rates by `le`, the same series the quantile is computed from. */
  bucketsQuery: string;
}

function bucketRates(buckets: string): string {
  return `sum by (le) (rate(${buckets}[{{interval}}]))`;
}

/** The p99 of a histogram, and the check that tells "above the top bucket" from "at its bound". */
function p99(buckets: string): Pick<BuiltinQuery, "query" | "histogram"> {
  return {
    query: `histogram_quantile(0.99, ${bucketRates(buckets)})`,
    histogram: { quantile: 0.99, bucketsQuery: bucketRates(buckets) },
  };
}

const httpSelector = `namespace="{{namespace}}", service="{{service}}", version="{{version}}"`;
// Istio's destination_version is the pods' version label; the workload is the stable or the canary Deployment.
const istioSelector =
  `reporter="destination", destination_workload_namespace="{{namespace}}", ` +
  `destination_workload=~"{{target}}|{{canary}}", destination_version="{{version}}"`;
// Envoy-based gateways with one upstream cluster per backend Service, named <namespace>_<service>_<port> (Contour).
const envoySelector = `envoy_cluster_name=~"{{namespace}}_{{analysedService}}_[0-9]+"`;
const nginxSelector = `namespace="{{namespace}}", service="{{analysedService}}"`;

export interface BuiltinQuery {
  query: string;
  unit: MetricUnit;
  description: string;
  /** For a quantile of a histogram: how to see that it lies above the top finite bucket. */
  histogram?: HistogramCheck;
  /**
   * The query for many Releases at once. Absent where a Release's series cannot be told
   * apart by plain labels (gateway-*: a cluster name pattern; istio-*: two workloads summed).
   */
  grouped?: GroupedQuery;
}

export const builtinQueries: Readonly<Record<BuiltinTemplate, BuiltinQuery>> = {
  "http-error-ratio": {
    query: errorRatio(
      `http_requests_total{${httpSelector}, code=~"5.."}`,
      `http_requests_total{${httpSelector}}`,
    ),
    grouped: groupedErrorRatio(
      httpLabels,
      (matchers) => `http_requests_total{${matchers}, code=~"5.."}`,
      (matchers) => `http_requests_total{${matchers}}`,
    ),
    unit: builtinTemplateUnits["http-error-ratio"],
    description: "share of 5xx responses in http_requests_total{namespace, service, version, code}",
  },
  "http-latency-p99": {
    ...p99(`http_request_duration_seconds_bucket{${httpSelector}}`),
    grouped: groupedP99(httpLabels, (matchers) => `http_request_duration_seconds_bucket{${matchers}}`),
    unit: builtinTemplateUnits["http-latency-p99"],
    description: "p99 of the http_request_duration_seconds histogram",
  },
  "gateway-error-ratio": {
    query: errorRatio(
      `envoy_cluster_upstream_rq{${envoySelector}, envoy_response_code=~"5.."}`,
      `envoy_cluster_upstream_rq{${envoySelector}}`,
    ),
    unit: builtinTemplateUnits["gateway-error-ratio"],
    description: "share of 5xx upstream responses of the gateway's Envoy cluster for the backend Service",
  },
  "gateway-latency-p99": {
    ...p99(`envoy_cluster_upstream_rq_time_bucket{${envoySelector}}`),
    unit: builtinTemplateUnits["gateway-latency-p99"],
    description: "p99 upstream request time of the gateway's Envoy cluster for the backend Service",
  },
  "istio-error-ratio": {
    query: errorRatio(
      `istio_requests_total{${istioSelector}, response_code=~"5.."}`,
      `istio_requests_total{${istioSelector}}`,
    ),
    unit: builtinTemplateUnits["istio-error-ratio"],
    description: "share of 5xx responses reported by the destination sidecars of the new version",
  },
  "istio-latency-p99": {
    ...p99(`istio_request_duration_milliseconds_bucket{${istioSelector}}`),
    unit: builtinTemplateUnits["istio-latency-p99"],
    description: "p99 request duration reported by the destination sidecars of the new version",
  },
  "nginx-error-ratio": {
    query: errorRatio(
      `nginx_ingress_controller_requests{${nginxSelector}, status=~"5.."}`,
      `nginx_ingress_controller_requests{${nginxSelector}}`,
    ),
    grouped: groupedErrorRatio(
      nginxLabels,
      (matchers) => `nginx_ingress_controller_requests{${matchers}, status=~"5.."}`,
      (matchers) => `nginx_ingress_controller_requests{${matchers}}`,
    ),
    unit: builtinTemplateUnits["nginx-error-ratio"],
    description: "share of 5xx responses ingress-nginx sent to the backend Service",
  },
  "nginx-latency-p99": {
    ...p99(`nginx_ingress_controller_request_duration_seconds_bucket{${nginxSelector}}`),
    grouped: groupedP99(
      nginxLabels,
      (matchers) => `nginx_ingress_controller_request_duration_seconds_bucket{${matchers}}`,
    ),
    unit: builtinTemplateUnits["nginx-latency-p99"],
    description: "p99 request duration ingress-nginx measured for the backend Service",
  },
};

/** The histogram check of a metric's built-in template, if it is a latency quantile. */
export function metricHistogramCheck(metric: Pick<Metric, "query" | "template">): HistogramCheck | undefined {
  if (metric.query !== undefined || metric.template === undefined) return undefined;
  return builtinQueries[metric.template].histogram;
}

/** The grouped form of a metric's built-in template; none for a custom query. */
export function metricGroupedQuery(metric: Pick<Metric, "query" | "template">): GroupedQuery | undefined {
  if (metric.query !== undefined || metric.template === undefined) return undefined;
  return builtinQueries[metric.template].grouped;
}

/** The PromQL template a metric runs: its own `query`, or its built-in template's. */
export function metricQueryTemplate(metric: Pick<Metric, "name" | "query" | "template">): string {
  if (metric.query !== undefined) return metric.query;
  if (metric.template !== undefined) return builtinQueries[metric.template].query;
  throw new Error(`metric ${metric.name} has neither a query nor a template`);
}
