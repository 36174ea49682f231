// Analysis that costs per template, not per Release (issue 18 item 1): Releases measured
// together by one grouped query get exactly the measurement their own query gives, on
// the same data at the same evaluation time — with traffic, with errors, without any
// series, with 0/0 = NaN, and with a p99 above the top histogram bucket — against a real
// Prometheus scraping the traffic simulator.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { metricSchema, type Metric } from "../../src/api/index.ts";
import {
  builtinQueries,
  createPrometheusProvider,
  QueryBatcher,
  renderQuery,
  runAnalysis,
  type AnalysisRound,
  type MetricsProvider,
  type QueryResult,
  type TemplateVariables,
} from "../../src/analysis/index.ts";
import { prometheus, serveMetrics, waitFor } from "../harness/context.ts";
import type { MetricsServer } from "../harness/http-fixtures.ts";
import { simulatedServices } from "./simulated-services.ts";

const NAMESPACE = "batched-it";
const STABLE = "3.0.0";
const CANARY = "3.1.0";
const WINDOW = "10s";
const JOB = "batched-simulators";

const metrics: Metric[] = [
  metricSchema.parse({ name: "error-rate", template: "http-error-ratio", max: 0.05 }),
  metricSchema.parse({ name: "latency-p99", template: "http-latency-p99", max: 0.5 }),
];

const scenarios = {
  "pay-bad": { canaryWeight: 50, canaryErrors: 0.08, canaryLatencyMs: 80 },
  "pay-good": { canaryWeight: 50, canaryErrors: 0.01, canaryLatencyMs: 120 },
  "pay-clean": { canaryWeight: 50, canaryErrors: 0, canaryLatencyMs: 40 },
  // The canary never had traffic: its series do not exist, the stable's do.
  "pay-idle": { canaryWeight: 0, canaryErrors: 0, canaryLatencyMs: 80 },
  // Traffic stops once measured: rate 0 over the window, so 0/0 = NaN.
  "pay-stops": { canaryWeight: 50, canaryErrors: 0.02, canaryLatencyMs: 80 },
  // Every canary request about 30 s: the p99 lies above the top bucket (10 s).
  "pay-slow": { canaryWeight: 50, canaryErrors: 0, canaryLatencyMs: 30_000 },
};

const simulated = simulatedServices({
  namespace: NAMESPACE,
  job: JOB,
  window: WINDOW,
  stable: { version: STABLE, errorRatio: 0.01 },
  canaryVersion: CANARY,
  scenarios,
});
const { simulators, variablesFor } = simulated;
type Service = keyof typeof scenarios | "pay-unknown" | "pay-no5xx";

/**
 * A service instrumented to publish a status code only once it happens: requests, and no
 * 5xx series at all. Its own query's `or vector(0)` makes the ratio 0; the grouped query
 * must give 0 too, not "no series".
 */
let no5xx: MetricsServer;
const no5xxStarted = Date.now();

let prometheusProvider: MetricsProvider;
/** The queries Prometheus received through `counted`, as sent. */
const sent: string[] = [];
/** The real provider, keeping a list of what it sends (to count the grouped queries). */
const counted: MetricsProvider = {
  query: (promql, options) => {
    sent.push(promql);
    return prometheusProvider.query(promql, options);
  },
  isOnline: () => prometheusProvider.isOnline(),
};

/** Each Release's round on its own, and all of them together through one batcher, at one evaluation time. */
async function bothWays(
  services: { service: Service; variables?: TemplateVariables }[],
  metricsOf: Metric[] = metrics,
  evaluationTime = new Date(Date.now() - 1_000),
): Promise<{ alone: AnalysisRound[]; together: AnalysisRound[]; sentTogether: string[] }> {
  const at = new Date().toISOString();
  const input = (entry: (typeof services)[number]) => ({
    metrics: metricsOf,
    variables: entry.variables ?? variablesFor(entry.service),
    at,
    evaluationTime,
  });
  const alone = await Promise.all(
    services.map((entry) => runAnalysis({ ...input(entry), provider: prometheusProvider })),
  );
  const batcher = new QueryBatcher(counted);
  const before = sent.length;
  const together = await Promise.all(
    services.map((entry) =>
      runAnalysis({ ...input(entry), provider: counted, batch: { batcher, maxWaitMs: 200 } }),
    ),
  );
  return { alone, together, sentTogether: sent.slice(before) };
}

beforeAll(async () => {
  prometheusProvider = createPrometheusProvider({ url: prometheus().url, requestTimeoutMs: 5_000 });
  no5xx = await serveMetrics(() => {
    const requests = Math.floor((Date.now() - no5xxStarted) / 10);
    return (
      "# TYPE http_requests_total counter\n" +
      `http_requests_total{namespace="${NAMESPACE}",service="pay-no5xx",version="${CANARY}",code="200"} ${requests}\n`
    );
  });
  await simulated.start([no5xx.target]);
  // A whole window scraped for every canary with traffic, so no ratio reads an early 0.
  await prometheus().waitForQuery(
    `min(count_over_time(http_requests_total{job="${JOB}", version="${CANARY}", code="500"}[${WINDOW}])) >= 9`,
    undefined,
    { timeoutMs: 40_000 },
  );
  await prometheus().waitForQuery(
    `count_over_time(http_requests_total{job="${JOB}", service="pay-no5xx"}[${WINDOW}]) >= 9`,
    undefined,
    { timeoutMs: 40_000 },
  );
});

afterAll(async () => {
  await simulated.stop();
  await no5xx?.close();
});

describe("batched and per-release analysis on the same data", () => {
  it("give identical measurements, with one query per template for all Releases", async () => {
    const services: Service[] = [
      "pay-bad",
      "pay-good",
      "pay-clean",
      "pay-idle",
      "pay-slow",
      "pay-unknown",
      "pay-no5xx",
    ];
    const { alone, together, sentTogether } = await bothWays(services.map((service) => ({ service })));
    expect(together).toEqual(alone);
    // The rounds say what each measured: pass, fail, no series, above the top bucket.
    const verdicts = Object.fromEntries(
      services.map((service, index) => [service, alone[index]!.measurements.map((m) => m.verdict)]),
    );
    expect(verdicts).toEqual({
      "pay-bad": ["fail", "pass"],
      "pay-good": ["pass", "pass"],
      "pay-clean": ["pass", "pass"],
      "pay-idle": ["inconclusive", "inconclusive"],
      "pay-slow": ["pass", "fail"],
      "pay-unknown": ["inconclusive", "inconclusive"],
      // Requests without a 5xx series: a ratio of 0; no histogram, so no p99.
      "pay-no5xx": ["pass", "inconclusive"],
    });
    expect(alone[6]!.measurements[0]!.value).toBe("0");
    expect(alone[3]!.measurements[0]!.reason).toMatch(/no series/);
    expect(alone[4]!.measurements[1]!.value).toBe("+Inf");
    // Seven Releases, two metrics, one of them a histogram with its bucket check: three queries.
    expect(sentTogether).toHaveLength(3);
    expect(sentTogether.join("\n")).toContain("sum by (namespace, service, version)");
    // The round still records each Release's own query: the one whose answer it holds.
    expect(together[0]!.queries["error-rate"]).toContain('service="pay-bad", version="3.1.0"');
  });

  it("hand each Release exactly the series its own query returns, values as Prometheus wrote them", async () => {
    const evaluationTime = new Date(Date.now() - 1_000);
    const batcher = new QueryBatcher(prometheusProvider);
    const services: Service[] = ["pay-bad", "pay-good", "pay-idle", "pay-slow"];
    for (const template of ["http-error-ratio", "http-latency-p99"] as const) {
      const builtin = builtinQueries[template];
      const shared = services.map((service) => {
        const variables = variablesFor(service);
        return {
          grouped: builtin.grouped!,
          template,
          values: [NAMESPACE, service, CANARY],
          interval: variables.interval!,
        };
      });
      const [own, batched] = await Promise.all([
        Promise.all(
          services.map((service) =>
            prometheusProvider.query(renderQuery(builtin.query, variablesFor(service)), {
              time: evaluationTime,
            }),
          ),
        ),
        Promise.all(shared.map((one) => batcher.value(one, { time: evaluationTime, maxWaitMs: 100 }))),
      ]);
      expect(batched.map(plain)).toEqual(own.map(plain));
      if (builtin.histogram) {
        const [ownBuckets, batchedBuckets] = await Promise.all([
          Promise.all(
            services.map((service) =>
              prometheusProvider.query(renderQuery(builtin.histogram!.bucketsQuery, variablesFor(service)), {
                time: evaluationTime,
              }),
            ),
          ),
          Promise.all(shared.map((one) => batcher.buckets(one, { time: evaluationTime, maxWaitMs: 100 }))),
        ]);
        expect(batchedBuckets.map(plain)).toEqual(ownBuckets.map(plain));
      }
    }
  });

  it("give NaN, not 0, to a Release whose traffic stopped, beside Releases with traffic", async () => {
    await simulators.get("pay-stops")!.client.configure({ canaryWeight: 0 });
    // The time both ways are evaluated at: once the stopped canary's window holds no requests.
    const { evaluationTime, stopped } = await waitFor(
      async () => {
        const time = new Date(Date.now() - 1_000);
        const round = await runAnalysis({
          metrics,
          variables: variablesFor("pay-stops"),
          provider: prometheusProvider,
          evaluationTime: time,
        });
        return round.measurements[0]!.value === "NaN" ? { evaluationTime: time, stopped: round } : undefined;
      },
      {
        timeoutMs: 40_000,
        intervalMs: 1_000,
        description: "the window to pass after pay-stops' canary stopped",
      },
    );
    expect(stopped.measurements[0]!.verdict).toBe("inconclusive");
    const { alone, together } = await bothWays(
      [{ service: "pay-stops" }, { service: "pay-good" }, { service: "pay-idle" }],
      metrics,
      evaluationTime,
    );
    expect(together).toEqual(alone);
    expect(together[0]!.measurements.map((m) => [m.verdict, m.value])).toEqual([
      ["inconclusive", "NaN"],
      ["inconclusive", "NaN"],
    ]);
  });

  it("keep Releases of other windows, stable analysis (bake) and label values that need escaping apart", async () => {
    const { alone, together, sentTogether } = await bothWays([
      { service: "pay-good" },
      { service: "pay-good", variables: variablesFor("pay-good", { interval: "20s" }) },
      // After promotion (bake) the new version is analysed on the stable Service; same labels for http-*.
      {
        service: "pay-bad",
        variables: variablesFor("pay-bad", { analysedService: "pay-bad", version: STABLE }),
      },
      {
        service: "pay-unknown",
        variables: variablesFor("pay-unknown", { service: 'a"} or vector(1) #|.*' }),
      },
    ]);
    expect(together).toEqual(alone);
    expect(alone[3]!.measurements.map((m) => m.verdict)).toEqual(["inconclusive", "inconclusive"]);
    // Two windows: each template's queries twice.
    expect(sentTogether).toHaveLength(6);
  });

  it("send the nginx templates' grouped forms, which Prometheus accepts", async () => {
    const nginx = ["nginx-error-ratio", "nginx-latency-p99"].map((template) =>
      metricSchema.parse({ name: template, template, max: 1_000_000 }),
    );
    const { alone, together, sentTogether } = await bothWays(
      [{ service: "pay-good" }, { service: "pay-bad" }],
      nginx,
    );
    expect(together).toEqual(alone);
    // No ingress-nginx metrics here: no series, never an error from the grouped query.
    expect(together.flatMap((round) => round.measurements.map((m) => m.verdict))).toEqual([
      "inconclusive",
      "inconclusive",
      "inconclusive",
      "inconclusive",
    ]);
    expect(sentTogether.join("\n")).toContain("sum by (namespace, service)");
  });
});

/** An answer without its timestamps' object identity, for comparison. */
function plain(result: QueryResult): unknown {
  return JSON.parse(JSON.stringify(result));
}
