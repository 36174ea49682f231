// Analysis against a real Prometheus scraping the traffic simulator: the verdicts
// (pass, fail, inconclusive, error), the consecutive-error policy, Prometheus's own
// error messages, every built-in query, and escaping proven by Prometheus itself.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  metricSchema,
  metricUnit,
  type Measurement,
  type Metric,
  type MetricTally,
} from "../../src/api/index.ts";
import { addMeasurement, assessMetric, emptyTally } from "../../src/engine/index.ts";
import {
  builtinQueries,
  createPrometheusProvider,
  MetricsQueryError,
  renderQuery,
  runAnalysis,
  type AnalysisRound,
  type MetricsProvider,
  type RunAnalysisInput,
} from "../../src/analysis/index.ts";
import {
  createNamespace,
  deleteNamespace,
  kubeClients,
  mergePatch,
  prometheus,
  stackInfo,
  startPrivatePrometheus,
  waitFor,
} from "../harness/context.ts";
import { ProcessSupervisor } from "../harness/processes.ts";
import { spawnTrafficSimulator } from "../harness/traffic-simulator-client.ts";
import { simulatedServices } from "./simulated-services.ts";

const INJECTION = 'a"} or vector(1) #';
const NAMESPACE = "analysis-it";
const STABLE = "2.3.1";
const CANARY = "2.4.0";
/** 1 s scrapes: a 10 s window holds about ten samples. */
const WINDOW = "10s";
const JOB = "analysis-simulators";

const errorRate: Metric = metricSchema.parse({ name: "error-rate", template: "http-error-ratio", max: 0.05 });

const simulated = simulatedServices({
  namespace: NAMESPACE,
  job: JOB,
  window: WINDOW,
  stable: { version: STABLE, errorRatio: 0 },
  canaryVersion: CANARY,
  scenarios: {
    "checkout-bad": { canaryWeight: 50, canaryErrors: 0.08 },
    "checkout-good": { canaryWeight: 50, canaryErrors: 0.01 },
    "checkout-idle": { canaryWeight: 0, canaryErrors: 0 },
    // Every canary request takes about 30 s: far above the simulator's top bucket (10 s).
    "checkout-slow": { canaryWeight: 50, canaryErrors: 0, canaryLatencyMs: 30_000 },
    "checkout-stops": { canaryWeight: 50, canaryErrors: 0.01 },
    [INJECTION]: { canaryWeight: 50, canaryErrors: 0.08 },
  },
});
const { simulators, variablesFor } = simulated;
/** Round durations, by whether every measurement had an answer from Prometheus. */
const roundTrips: { ms: number; answered: boolean }[] = [];
let provider: MetricsProvider;

/** One analysis round, timed. */
async function round(
  input: Omit<RunAnalysisInput, "provider"> & { provider?: MetricsProvider },
): Promise<AnalysisRound> {
  const started = performance.now();
  const result = await runAnalysis({ provider, ...input });
  const answered = result.measurements.every(
    (m) => !/^Prometheus (unreachable|did not answer)/.test(m.reason),
  );
  roundTrips.push({ ms: performance.now() - started, answered });
  return result;
}

async function measure(
  metric: Metric,
  service: string,
): Promise<{ measurement: Measurement; query: string }> {
  const result = await round({ metrics: [metric], variables: variablesFor(service) });
  return { measurement: result.measurements[0]!, query: result.queries[metric.name]! };
}

/** Rounds until one has data: right after the simulators start, the window is still filling. */
async function measureWithData(
  metric: Metric,
  service: string,
): Promise<{ measurement: Measurement; query: string }> {
  return waitFor(
    async () => {
      const result = await measure(metric, service);
      return result.measurement.verdict === "inconclusive" ? undefined : result;
    },
    { timeoutMs: 30_000, intervalMs: 500, description: `a measurement with data for ${service}` },
  );
}

beforeAll(async () => {
  provider = createPrometheusProvider({ url: prometheus().url, requestTimeoutMs: 5_000 });
  await simulated.start();
  // Until a whole window is scraped, a rare 5xx series may not be in it yet and a ratio reads 0.
  await prometheus().waitForQuery(
    `min(count_over_time(http_requests_total{job="${JOB}", code="500"}[${WINDOW}])) >= 9`,
    undefined,
    {
      timeoutMs: 40_000,
    },
  );
});

afterAll(async () => {
  await simulated.stop();
  for (const answered of [true, false]) {
    const times = roundTrips.filter((trip) => trip.answered === answered).map((trip) => trip.ms);
    if (times.length === 0) continue;
    times.sort((a, b) => a - b);
    console.log(
      `[analysis] ${times.length} rounds ${answered ? "answered by" : "without"} Prometheus: ` +
        `median ${times[Math.floor(times.length / 2)]!.toFixed(1)} ms, slowest ${times.at(-1)!.toFixed(1)} ms`,
    );
  }
});

describe("verdicts from real Prometheus", () => {
  it("fails a canary with 8% errors against max 5%", async () => {
    const { measurement, query } = await measureWithData(errorRate, "checkout-bad");
    expect(measurement.verdict).toBe("fail");
    expect(Number(measurement.value)).toBeGreaterThan(0.06);
    expect(Number(measurement.value)).toBeLessThan(0.1);
    // The reason is for people: the ratio as a percentage, the exact value stays in `value`.
    expect(measurement.reason).toMatch(/^\d+(\.\d+)?% is above the maximum 5%$/);
    expect(query).toContain('service="checkout-bad", version="2.4.0"');
  });

  it("passes a canary with 1% errors", async () => {
    const { measurement } = await measureWithData(errorRate, "checkout-good");
    expect(measurement.verdict).toBe("pass");
    expect(Number(measurement.value)).toBeGreaterThan(0.005);
    expect(Number(measurement.value)).toBeLessThan(0.02);
  });

  it("is inconclusive when the canary has never had traffic: no series", async () => {
    // The stable version of the same service is scraped, so the labels are right and only traffic is missing.
    await prometheus().waitForQuery(`http_requests_total{service="checkout-idle", version="${STABLE}"}`);
    const { measurement } = await measure(errorRate, "checkout-idle");
    expect(measurement).toMatchObject({
      verdict: "inconclusive",
      reason: expect.stringMatching(/no series/),
    });
    expect(measurement.value).toBeUndefined();
  });

  it("is inconclusive, never 0, when the canary's traffic stops: 0/0 is NaN", async () => {
    await measureWithData(errorRate, "checkout-stops");
    await simulators.get("checkout-stops")!.client.configure({ canaryWeight: 0 });
    const { measurement } = await waitFor(
      async () => {
        const result = await measure(errorRate, "checkout-stops");
        return result.measurement.verdict === "inconclusive" ? result : undefined;
      },
      {
        timeoutMs: 30_000,
        intervalMs: 1_000,
        description: "the window to pass after the canary's traffic stopped",
      },
    );
    expect(measurement).toMatchObject({
      value: "NaN",
      reason: expect.stringMatching(/^no data: the value is NaN/),
    });
  });

  it("runs several metrics in parallel and returns each query as sent", async () => {
    const latency = metricSchema.parse({ name: "latency-p99", template: "http-latency-p99", max: 0.5 });
    const tooFast = metricSchema.parse({ name: "latency-floor", template: "http-latency-p99", min: 1 });
    const result = await round({
      metrics: [errorRate, latency, tooFast],
      variables: variablesFor("checkout-good"),
    });
    expect(result.measurements.map((m) => [m.metric, m.verdict])).toEqual([
      ["error-rate", "pass"],
      ["latency-p99", "pass"],
      ["latency-floor", "fail"],
    ]);
    // 80 ms ±25%: the p99 lies in the 0.05–0.1 bucket.
    expect(Number(result.measurements[1]!.value)).toBeGreaterThan(0.05);
    expect(Number(result.measurements[1]!.value)).toBeLessThanOrEqual(0.1);
    expect(Object.keys(result.queries)).toEqual(["error-rate", "latency-p99", "latency-floor"]);
    expect(result.measurements.every((m) => m.at === result.at)).toBe(true);
  });

  it("fails a max when the p99 lies above the top histogram bucket, which histogram_quantile reports as the bound", async () => {
    const metrics = [
      metricSchema.parse({ name: "p99-max-15", template: "http-latency-p99", max: 15 }),
      metricSchema.parse({ name: "p99-max-300ms", template: "http-latency-p99", max: 0.3 }),
      metricSchema.parse({ name: "p99-min-1", template: "http-latency-p99", min: 1 }),
    ];
    const result = await waitFor(
      async () => {
        const taken = await round({ metrics, variables: variablesFor("checkout-slow") });
        return taken.measurements.some((m) => m.verdict === "inconclusive") ? undefined : taken;
      },
      { timeoutMs: 30_000, intervalMs: 500, description: "measurements with data for checkout-slow" },
    );
    // What Prometheus itself says: the top finite bound, 10, not 30.
    const answer = await provider.query(result.queries["p99-max-15"]!);
    expect(answer.data.resultType === "vector" && answer.data.result[0]?.value[1]).toBe("10");
    const above = /^p99 is above the top histogram bucket \(10 s\): 100% of requests took longer than 10 s/;
    expect(result.measurements).toEqual([
      expect.objectContaining({
        metric: "p99-max-15",
        verdict: "fail",
        value: "+Inf",
        reason: expect.stringMatching(above),
      }),
      expect.objectContaining({ metric: "p99-max-300ms", verdict: "fail", value: "+Inf" }),
      expect.objectContaining({ metric: "p99-min-1", verdict: "pass", value: "+Inf" }),
    ]);
    expect(result.measurements[0]!.reason).toMatch(/not shown to be at or below the maximum 15 s/);
    expect(result.measurements[1]!.reason).toMatch(/so it is above the maximum 300 ms$/);
  });

  it("accepts every built-in query: Prometheus parses and runs them all", async () => {
    const metrics = Object.keys(builtinQueries).map((template) =>
      metricSchema.parse({ name: template, template, max: 1_000_000 }),
    );
    const result = await round({ metrics, variables: variablesFor("checkout-good") });
    for (const measurement of result.measurements) {
      const expected = measurement.metric.startsWith("http-") ? "pass" : "inconclusive";
      expect([measurement.metric, measurement.verdict, measurement.reason]).toEqual([
        measurement.metric,
        expected,
        expect.any(String),
      ]);
    }
  });
});

describe("errors", () => {
  it("carries Prometheus's message for bad PromQL, without retrying it", async () => {
    const broken = metricSchema.parse({
      name: "broken",
      query: 'sum(rate(http_requests_total{service="{{service}}"}[{{interval}}])',
      max: 1,
    });
    const { measurement, query } = await measure(broken, "checkout-good");
    expect(measurement.verdict).toBe("error");
    expect(measurement.reason).toMatch(/^Prometheus rejected the query \(bad_data\): .*parse error/);
    const error = await provider.query(query).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(MetricsQueryError);
    expect(error).toMatchObject({
      kind: "prometheus",
      errorType: "bad_data",
      status: 400,
      attempts: 1,
      query,
    });
  });

  it("is an error naming the series count when a query returns several", async () => {
    const perVersion = metricSchema.parse({
      name: "per-version",
      query: 'sum by (version) (rate(http_requests_total{service="{{service}}"}[{{interval}}]))',
      min: 0,
    });
    const { measurement } = await measure(perVersion, "checkout-good");
    expect(measurement).toMatchObject({
      verdict: "error",
      reason: expect.stringMatching(/^the query returned 2 series/),
    });
    const summed = await measure({ ...perVersion, aggregate: "sum" }, "checkout-good");
    expect(summed.measurement).toMatchObject({
      verdict: "pass",
      reason: expect.stringMatching(/\(sum of 2 series\)/),
    });
  });

  it("errors while Prometheus is stopped, and the metric fails after consecutiveErrorLimit", async () => {
    const privatePrometheus = await startPrivatePrometheus({ name: "prometheus-analysis" });
    try {
      privatePrometheus.setScrapeTargets(JOB, [simulators.get("checkout-good")!.client.target]);
      const privateProvider = createPrometheusProvider({
        url: privatePrometheus.url,
        requestTimeoutMs: 1_000,
        totalTimeoutMs: 3_000,
        retry: { attempts: 2, initialDelayMs: 50, maxDelayMs: 200 },
      });
      const metric: Metric = { ...errorRate, consecutiveErrorLimit: 2 };
      expect(await privateProvider.isOnline()).toBe(true);
      const before = await waitFor(
        async () => {
          const result = await round({
            provider: privateProvider,
            metrics: [metric],
            variables: variablesFor("checkout-good"),
          });
          return result.measurements[0]!.verdict === "pass" ? result : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 500, description: "a pass from the private Prometheus" },
      );
      let tally: MetricTally = addMeasurement(
        emptyTally(metric.name, metricUnit(metric)),
        before.measurements[0]!,
      );

      await privatePrometheus.stop();
      expect(await privateProvider.isOnline()).toBe(false);
      const states: string[] = [];
      for (let attempt = 0; attempt < 3; attempt++) {
        const result = await round({
          provider: privateProvider,
          metrics: [metric],
          variables: variablesFor("checkout-good"),
        });
        const measurement = result.measurements[0]!;
        expect(measurement.verdict).toBe("error");
        expect(measurement.reason).toMatch(/^Prometheus unreachable after 2 attempts: .*ECONNREFUSED/);
        tally = addMeasurement(tally, measurement, result.queries[metric.name]);
        states.push(assessMetric(metric, tally).state);
      }
      expect(states).toEqual(["waiting", "waiting", "failed"]);
      expect(assessMetric(metric, tally)).toEqual({
        state: "failed",
        reason: "error-rate could not be measured 3 times in a row, more than consecutiveErrorLimit 2",
      });
    } finally {
      await privatePrometheus.stop();
    }
  });
});

describe("escaping, proven by Prometheus", () => {
  const template =
    'http_requests_total{namespace="{{namespace}}", service="{{service}}", version="{{version}}", code="200"}';

  it("would let a naive substitution change the query (the attack is real)", async () => {
    const naive = template
      .replace("{{namespace}}", NAMESPACE)
      .replace("{{service}}", INJECTION)
      .replace("{{version}}", CANARY);
    const result = await provider.query(naive);
    expect(result.data).toEqual({
      resultType: "vector",
      result: [{ metric: {}, value: [expect.any(Number), "1"] }],
    });
  });

  it("keeps the injection string one label value: the query matches exactly the series that carries it", async () => {
    const query = renderQuery(template, variablesFor(INJECTION));
    const result = await waitFor(async () => {
      const answer = await provider.query(query);
      return answer.data.resultType === "vector" && answer.data.result.length > 0
        ? answer.data.result
        : undefined;
    });
    expect(result).toHaveLength(1);
    expect(result[0]!.metric).toMatchObject({ service: INJECTION, version: CANARY, code: "200" });
    expect(Number(result[0]!.value[1])).toBeGreaterThan(1);
  });

  it("measures the injected service's own error ratio through the built-in query", async () => {
    const { measurement, query } = await measureWithData(errorRate, INJECTION);
    expect(query).toContain('service="a\\"} or vector(1) #"');
    expect(measurement.verdict).toBe("fail");
    expect(Number(measurement.value)).toBeGreaterThan(0.06);
    expect(Number(measurement.value)).toBeLessThan(0.1);
  });
});

describe("the traffic simulator", () => {
  const group = "gateway.networking.k8s.io";
  let namespace: string;
  beforeAll(async () => {
    namespace = await createNamespace("analysis");
  });
  afterAll(async () => {
    await deleteNamespace(namespace);
  });

  it("follows the HTTPRoute's backendRef weights, as its own process, until weights are set over HTTP", async () => {
    const { custom } = kubeClients();
    const route = (stable: number, canary: number) => ({
      apiVersion: `${group}/v1`,
      kind: "HTTPRoute",
      metadata: { name: "checkout", namespace },
      spec: {
        parentRefs: [{ name: "gateway" }],
        rules: [
          {
            backendRefs: [
              { name: "checkout", port: 80, weight: stable },
              { name: "checkout-canary", port: 80, weight: canary },
            ],
          },
        ],
      },
    });
    await custom.createNamespacedCustomObject({
      group,
      version: "v1",
      namespace,
      plural: "httproutes",
      body: route(90, 10),
    });
    const supervisor = new ProcessSupervisor(stackInfo().runDir);
    try {
      const { client } = await spawnTrafficSimulator(supervisor, {
        namespace,
        service: "checkout",
        requestsPerSecond: 100,
        stable: { version: STABLE },
        canary: { version: CANARY },
        route: { name: "checkout", kubeconfigPath: stackInfo().kubeconfigPath, pollMs: 200 },
      });
      await waitFor(async () => (await client.state()).canaryWeight === 10, {
        description: "canary weight 10 from the route",
      });

      await custom.patchNamespacedCustomObject(
        { group, version: "v1", namespace, plural: "httproutes", name: "checkout", body: route(1, 3) },
        mergePatch,
      );
      await waitFor(async () => (await client.state()).canaryWeight === 75, {
        description: "canary weight 75 from the route",
      });

      const manual = await client.configure({ canaryWeight: 20, canary: { errorRatio: 0.5 } });
      expect(manual).toMatchObject({
        weightsFrom: "manual",
        canaryWeight: 20,
        canary: { errorRatio: 0.5, version: CANARY },
      });
      const back = await client.configure({ weightsFrom: "route" });
      expect(back).toMatchObject({ weightsFrom: "route", canaryWeight: 75 });
      await expect(client.configure({ canaryWeight: 101 } as never)).rejects.toThrow(/HTTP 400/);

      const exposition = await client.metrics();
      expect(exposition).toMatch(
        new RegExp(
          `http_requests_total\\{namespace="${namespace}",service="checkout",version="${CANARY}",code="200"\\} \\d+`,
        ),
      );
      expect(exposition).toContain("# TYPE http_request_duration_seconds histogram");
    } finally {
      await supervisor.stopAll();
    }
  });
});
