// Rollback latency on the real stack (`npm run bench:rollback`): etcd, kube-apiserver,
// controller-manager, scheduler, a fake kubelet, Prometheus (scraping every 1 s) and
// Alertmanager on 127.0.0.1, a traffic simulator following the HTTPRoute and the canary
// Deployment, and the controller as its own process under its ServiceAccount. Two
// triggers, one after the other on the same stack and controller:
//
// alert   Each run, a Release of checkout goes to its 1% canary and holds there (analysis
//         every 5 s, so reconciles of the release are under way now and then, as in real
//         life); the benchmark POSTs a matching firing alert to /hooks/alertmanager exactly
//         as Alertmanager would, and times from just before the POST until a watch on the
//         HTTPRoute shows all traffic on stable. It also records how long the hook took to
//         answer. Target: p99 under 1 s.
//
// breach  Each run, a Release goes to its 1% canary with analysis every 5 s on the built-in
//         http-error-ratio metric (max 0.05); the canary serves its traffic without errors.
//         Once two analysis rounds have passed on clean canary data, and after a random
//         pause of up to one analysis interval (so the breach falls anywhere between two
//         rounds, as a real one would), the simulator makes the canary fail half of its
//         requests; the time is taken just after it answered, and the benchmark times until
//         the watch on the HTTPRoute shows all traffic on stable. Target: analysis interval
//         + scrape interval + 1 s. The analysis query's rate window is at least 1 m
//         (MINIMUM_RATE_WINDOW_MS), so the measured ratio rises gradually from the breach:
//         how fast depends on how much clean canary data is in the window, which is recorded.
//
// hung    As alert, but with analysis every 2 s and Prometheus stopped (SIGSTOP) 3 s before
//         the POST, so an analysis round is in flight and hangs (the controller's Prometheus
//         timeout is 60 s per attempt, so a round waits for the client's 30 s total limit);
//         Prometheus is continued (SIGCONT) once the route is on stable. Target: p99 under
//         1 s, as for alert: a rollback trigger never waits on analysis.
//
// p50, p90 and p99 (nearest rank) over BENCH_RUNS runs (default 30 for alert, 20 for
// breach and hung; BENCH_RUNS sets all), BENCH_TRIGGERS=alert,breach,hung (default all),
// BENCH_MIN_RATE_WINDOW (the controller's prometheus.minimumRateWindow, e.g. 4s); a table on
// stdout and one JSON file in bench/results/. It reports; it never fails on the numbers.
import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { arch, cpus, loadavg, platform, release as osRelease, totalmem } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { AppsV1Api, CustomObjectsApi, type KubernetesObject } from "@kubernetes/client-node";
import { installControllerRbac, startControllerProcess } from "../test/harness/controller.ts";
import { startResilientWatch } from "../test/harness/resilient-watch.ts";
import { createSampleService } from "../test/harness/sample-service.ts";
import { startStack, type Stack } from "../test/harness/stack.ts";
import { spawnTrafficSimulator } from "../test/harness/traffic-simulator-client.ts";

const TRIGGERS = ["alert", "breach", "hung"] as const;
type Trigger = (typeof TRIGGERS)[number];

const ANALYSIS_INTERVAL_MS = 5_000;
/** The hung trigger: analysis every 2 s, Prometheus stopped this long before the alert. */
const HUNG_ANALYSIS_INTERVAL_MS = 2_000;
const HUNG_BEFORE_ALERT_MS = 3_000;
/** The harness Prometheus scrapes every second (test/harness/prometheus.ts). */
const SCRAPE_INTERVAL_MS = 1_000;
const BREACH_ERROR_RATIO = 0.5;
const BREACH_MAX = 0.05;
/** Analysis rounds that must have passed on clean canary data before the breach. */
const CLEAN_ROUNDS = 2;
const TARGET_P99_MS: Record<Trigger, number> = {
  alert: 1_000,
  breach: ANALYSIS_INTERVAL_MS + SCRAPE_INTERVAL_MS + 1_000,
  hung: 1_000,
};
const TARGET_TEXT: Record<Trigger, string> = {
  alert: "p99 under 1 s",
  breach: "p99 under one analysis interval (5 s) + one scrape interval (1 s) + 1 s = 7 s",
  hung: "p99 under 1 s with Prometheus hung",
};
const DEFAULT_RUNS: Record<Trigger, number> = { alert: 30, breach: 20, hung: 20 };
const RUNS: Record<Trigger, number> = {
  alert: Number(process.env.BENCH_RUNS ?? DEFAULT_RUNS.alert),
  breach: Number(process.env.BENCH_RUNS ?? DEFAULT_RUNS.breach),
  hung: Number(process.env.BENCH_RUNS ?? DEFAULT_RUNS.hung),
};
/** The controller's prometheus.minimumRateWindow; unset = its default (1m). */
const MIN_RATE_WINDOW = process.env.BENCH_MIN_RATE_WINDOW;
const NAMESPACE = "bench-rollback";
const SERVICE = "checkout";
const resultsDir = fileURLToPath(new URL("./results/", import.meta.url));

const METHOD: Record<Trigger, string> = {
  alert:
    "Each run a Release goes to its 1% canary (analysis every 5 s, http-error-ratio max 0.5, so rounds run but never fail); the benchmark POSTs a matching firing Alertmanager webhook (version 4) to the controller's /hooks/alertmanager and times from just before the POST until a watch on the HTTPRoute sees 100% on stable; the Release must end RolledBack with trigger alert. hookAnswerMs is the POST's answer time.",
  breach: `Each run a Release goes to its 1% canary with analysis every 5 s on the built-in http-error-ratio metric (max ${BREACH_MAX}, failureLimit 0); the simulator sends the canary clean traffic. Once ${CLEAN_ROUNDS} analysis rounds have passed on canary data, and after a random pause uniform in [0, 5 s) so the breach falls at a random point between rounds, the simulator is told to fail ${BREACH_ERROR_RATIO * 100}% of the canary's requests; the time just after it answered is the breach start, and the run ends when a watch on the HTTPRoute sees 100% on stable. The Release must end RolledBack with trigger metric. The query's rate window is at least 1 m (MINIMUM_RATE_WINDOW_MS), so the measured ratio rises gradually: it crosses ${BREACH_MAX} after roughly cleanCanaryMs × ${BREACH_MAX}/(${BREACH_ERROR_RATIO}−${BREACH_MAX}) of bad traffic, which is short here because the canary has only seconds of clean data; with a full 1 m window of clean data (a canary older than 1 m) it would take about 60 s × ${BREACH_MAX}/${BREACH_ERROR_RATIO} = 6 s, before waiting for the next round. firstErrorScrapeMs is breach start → the timestamp of the first Prometheus sample of the canary's 5xx counter above 0; failedRoundMs is breach start → the time of the analysis round that failed (its measurement's at); decisionMs is breach start → status.rollback.at.`,
  hung: `As alert, but the Release analyses every ${HUNG_ANALYSIS_INTERVAL_MS / 1000} s; once a round is recorded, the benchmark stops the controller's Prometheus (SIGSTOP) and POSTs the alert ${HUNG_BEFORE_ALERT_MS / 1000} s later, so an analysis round is in flight and hangs (the controller's Prometheus timeout is 60 s per attempt: a round waits for the client's 30 s total limit). Timed from just before the POST until a watch on the HTTPRoute sees 100% on stable; Prometheus is continued (SIGCONT) only then. The Release must end RolledBack with trigger alert.`,
};

interface AlertRun {
  run: number;
  /** POST sent → HTTPRoute watched at 100% stable. */
  alertToRouteMs: number;
  /** POST sent → the hook's 200 answer. */
  hookAnswerMs: number;
}

interface BreachRun {
  run: number;
  /** configure() answered → HTTPRoute watched at 100% stable. */
  breachToRouteMs: number;
  /** Breach start → first Prometheus sample with canary 5xx > 0 (scrape timestamp). */
  firstErrorScrapeMs?: number;
  /** Breach start → the failing analysis round's measurement time. */
  failedRoundMs?: number;
  /** Breach start → status.rollback.at (the engine decided to roll back). */
  decisionMs?: number;
  /** The error ratio the failing round measured (status.rollback.value). */
  measuredValue?: string;
  /** Canary at 1% on the route (as watched) → breach start: the clean canary data in the rate window. */
  cleanCanaryMs: number;
  /** The random pause after the second clean round. */
  pauseMs: number;
}

type Route = KubernetesObject & {
  spec?: { rules?: { backendRefs?: { name: string; weight?: number }[] }[] };
};

interface ReleaseStatusView {
  phase?: string;
  startedAt?: string;
  currentStage?: { name: string };
  stages?: {
    name: string;
    exitedAt?: string;
    tallies?: { metric: string; pass: number; fail: number; inconclusive: number; error: number }[];
    measurements?: { metric: string; verdict: string; value?: string; at: string }[];
  }[];
  rollback?: { at: string; trigger: string; value?: string };
}

function parseTriggers(text: string | undefined): Trigger[] {
  if (text === undefined || text.trim() === "") return [...TRIGGERS];
  const names = text.split(",").map((name) => name.trim());
  for (const name of names) {
    if (!(TRIGGERS as readonly string[]).includes(name))
      throw new Error(`BENCH_TRIGGERS: unknown trigger "${name}" (known: ${TRIGGERS.join(", ")})`);
  }
  return TRIGGERS.filter((trigger) => names.includes(trigger));
}

function weightsOf(route: Route): Record<string, number> {
  const weights: Record<string, number> = {};
  for (const ref of route.spec?.rules?.[0]?.backendRefs ?? []) weights[ref.name] = ref.weight ?? 1;
  return weights;
}

function allOnStable(route: Route): boolean {
  const weights = weightsOf(route);
  return (weights[`${SERVICE}-canary`] ?? 0) === 0 && (weights[SERVICE] ?? 0) > 0;
}

/** Nearest-rank percentile. With fewer than 100 samples p99 is the slowest run. */
function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

type Summary = ReturnType<typeof summarise>;

function summarise(values: number[]) {
  const sorted = [...values].sort((a, b) => a - b);
  const mean = values.reduce((sum, value) => sum + value, 0) / (values.length || 1);
  return {
    count: values.length,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    min: sorted[0] ?? Number.NaN,
    max: sorted.at(-1) ?? Number.NaN,
    mean,
  };
}

function defined(values: (number | undefined)[]): number[] {
  return values.filter((value): value is number => value !== undefined && Number.isFinite(value));
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitUntil<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 60_000,
  intervalMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

function reasonOf(error: unknown): string {
  return ((error as Error).message ?? String(error)).split("\n")[0] ?? "";
}

async function main(): Promise<void> {
  const SELECTED = parseTriggers(process.env.BENCH_TRIGGERS);
  const started = new Date();
  const loadBefore = loadavg();
  const plan = SELECTED.map((trigger) => `${RUNS[trigger]} ${trigger}`).join(", ");
  console.log(`rollback-latency benchmark: ${plan} runs on the real stack; starting it…`);
  const stack: Stack = await startStack({ log: () => undefined });
  const failures: Record<Trigger, string[]> = { alert: [], breach: [], hung: [] };
  const alertRuns: AlertRun[] = [];
  const hungRuns: AlertRun[] = [];
  const breachRuns: BreachRun[] = [];
  try {
    const kubeConfig = stack.kubeConfig();
    const custom = kubeConfig.makeApiClient(CustomObjectsApi);
    const apps = kubeConfig.makeApiClient(AppsV1Api);
    await createSampleService(kubeConfig, {
      namespace: NAMESPACE,
      name: SERVICE,
      version: "1.0.0",
      replicas: 2,
    });
    await waitUntil("the stable Deployment Ready", async () => {
      const deployment = await apps.readNamespacedDeployment({ name: SERVICE, namespace: NAMESPACE });
      return (deployment.status?.readyReplicas ?? 0) >= 2 ? true : undefined;
    });

    // Weights from the HTTPRoute, and each role's version from the `version` label of its
    // Deployment (checkout, checkout-canary): each Release's canary version gets its traffic.
    const simulator = await spawnTrafficSimulator(stack.supervisor, {
      namespace: NAMESPACE,
      service: SERVICE,
      requestsPerSecond: 400,
      stable: { version: "1.0.0" },
      canary: { version: "none" },
      route: { name: SERVICE, kubeconfigPath: stack.info.kubeconfigPath, deployment: SERVICE, pollMs: 200 },
    });
    const scrapeTarget = new URL(simulator.client.url).host;
    stack.prometheus.setScrapeTargets("bench-gateway", [scrapeTarget]);
    await stack.prometheus.waitForTarget("bench-gateway", scrapeTarget);

    const token = randomBytes(24).toString("base64url");
    const tokenFile = join(stack.info.runDir, "bench-hook-token");
    writeFileSync(tokenFile, token, { mode: 0o600 });
    const controller = await startControllerProcess({
      supervisor: stack.supervisor,
      kubeconfigPath: await installControllerRbac({
        kubectlPath: stack.info.kubectlPath,
        adminKubeconfigPath: stack.info.kubeconfigPath,
      }),
      prometheusUrl: stack.info.prometheus.url,
      runDir: stack.info.runDir,
      identity: "bench-controller",
      config: {
        hooks: { alertmanager: { token: { file: tokenFile } } },
        prometheus: {
          url: stack.info.prometheus.url,
          // hung: an attempt outlasts the client's 30 s limit for all attempts, as a
          // Prometheus stuck on a heavy query would.
          timeout: SELECTED.includes("hung") ? "60s" : "5s",
          ...(MIN_RATE_WINDOW ? { minimumRateWindow: MIN_RATE_WINDOW } : {}),
        },
      },
    });

    // The route as a watch delivers it, with the time each version arrived.
    let route: { object: Route; at: number } | undefined;
    const wake = new Set<() => void>();
    const watch = startResilientWatch<Route>({
      kubeConfig,
      path: `/apis/gateway.networking.k8s.io/v1/namespaces/${NAMESPACE}/httproutes`,
      fieldSelector: `metadata.name=${SERVICE}`,
      list: async () => {
        const listed = (await custom.listNamespacedCustomObject({
          group: "gateway.networking.k8s.io",
          version: "v1",
          namespace: NAMESPACE,
          plural: "httproutes",
          fieldSelector: `metadata.name=${SERVICE}`,
        })) as { items: Route[]; metadata: { resourceVersion: string } };
        return { items: listed.items, resourceVersion: listed.metadata.resourceVersion };
      },
      onSync: (items) => {
        if (items[0]) route = { object: items[0], at: performance.now() };
        for (const notify of wake) notify();
      },
      onEvent: (_type, object) => {
        route = { object, at: performance.now() };
        for (const notify of wake) notify();
      },
    });
    await watch.synced;
    const routeChange = (accept: (route: Route) => boolean, after: number, timeoutMs: number) =>
      new Promise<number>((resolve, reject) => {
        const check = (): void => {
          if (route && route.at >= after && accept(route.object)) {
            clearTimeout(timer);
            wake.delete(check);
            resolve(route.at);
          }
        };
        const timer = setTimeout(() => {
          wake.delete(check);
          reject(new Error(`the HTTPRoute did not change within ${timeoutMs} ms`));
        }, timeoutMs);
        wake.add(check);
        check();
      });

    const readRelease = async (name: string) =>
      (await custom.getNamespacedCustomObject({
        group: "glidepath.dev",
        version: "v1alpha1",
        namespace: NAMESPACE,
        plural: "releases",
        name,
      })) as { status?: ReleaseStatusView };

    /** Creates the Release and resolves when the route has the 1% canary (the watch's time) and the Release is at its canary stage. */
    const startRelease = async (
      name: string,
      version: string,
      run: number,
      analysis: Record<string, unknown>,
    ): Promise<number> => {
      const before = performance.now();
      await custom.createNamespacedCustomObject({
        group: "glidepath.dev",
        version: "v1alpha1",
        namespace: NAMESPACE,
        plural: "releases",
        body: {
          apiVersion: "glidepath.dev/v1alpha1",
          kind: "Release",
          metadata: { name },
          spec: {
            target: { deployment: SERVICE, service: SERVICE },
            version,
            images: { [SERVICE]: `registry.example.com/${SERVICE}:${version}` },
            stages: [
              { name: "canary", weight: 1, hold: "10m" },
              { name: "ga", weight: 100, hold: "0s" },
            ],
            traffic: { gatewayAPI: { httpRoute: SERVICE } },
            analysis,
            progressDeadline: "60s",
            bake: "10s",
            changeRequest: {
              id: `BENCH-${name}`,
              type: "standard",
              title: `Benchmark run ${run}`,
              why: "rollback-latency benchmark",
              risk: "low",
              requestedBy: "bench",
              rollbackPlan: "Revert to 1.0.0",
            },
          },
        },
      });
      const canaryAt = await routeChange(
        (object) => weightsOf(object)[`${SERVICE}-canary`] === 1,
        before,
        60_000,
      );
      await waitUntil(`${name} at its canary stage`, async () => {
        const status = (await readRelease(name)).status;
        return status?.phase === "Progressing" && status.currentStage?.name === "canary" ? true : undefined;
      });
      return canaryAt;
    };

    const waitRolledBack = (name: string) =>
      waitUntil(`${name} RolledBack`, async () => {
        const status = (await readRelease(name)).status;
        return status?.phase === "RolledBack" || status?.phase === "Failed" ? status : undefined;
      });

    /** hung: Prometheus is stopped while a round runs, and continued once the route is on stable. */
    const alertRun = async (run: number, hung = false): Promise<AlertRun> => {
      const name = hung ? `checkout-hung-${run}` : `checkout-alert-${run}`;
      await startRelease(name, hung ? `2.2.${run}` : `2.0.${run}`, run, {
        interval: hung ? `${HUNG_ANALYSIS_INTERVAL_MS / 1000}s` : "5s",
        metrics: [{ name: "error-rate", template: "http-error-ratio", max: 0.5, inconclusiveLimit: 100 }],
        alerts: { matchLabels: { service: SERVICE }, severities: ["critical"] },
      });
      let prometheusStopped = false;
      if (hung) {
        await waitUntil(`${name}: an analysis round recorded`, async () => {
          const stage = (await readRelease(name)).status?.stages?.find((record) => record.name === "canary");
          return (stage?.measurements?.length ?? 0) >= 1 ? true : undefined;
        });
        process.kill(stack.prometheus.process.pid, "SIGSTOP");
        prometheusStopped = true;
        await sleep(HUNG_BEFORE_ALERT_MS);
      }
      try {
        const body = JSON.stringify({
          receiver: "glidepath",
          status: "firing",
          alerts: [
            {
              status: "firing",
              labels: {
                alertname: "BenchCanaryErrors",
                namespace: NAMESPACE,
                service: SERVICE,
                severity: "critical",
              },
              annotations: { summary: "benchmark" },
              startsAt: new Date().toISOString(),
              endsAt: "0001-01-01T00:00:00Z",
              generatorURL: "http://prometheus.bench/graph",
              fingerprint: randomBytes(8).toString("hex"),
            },
          ],
          groupLabels: { alertname: "BenchCanaryErrors" },
          commonLabels: {},
          commonAnnotations: {},
          externalURL: stack.info.alertmanager.url,
          version: "4",
          groupKey: '{}:{alertname="BenchCanaryErrors"}',
          truncatedAlerts: 0,
        });
        const sent = performance.now();
        const onStable = routeChange(allOnStable, sent, 60_000);
        // A failed run must not leave an unhandled rejection behind.
        onStable.catch(() => undefined);
        const answer = await fetch(`${controller.url}/hooks/alertmanager`, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
          body,
        });
        const hookAnswerMs = performance.now() - sent;
        if (answer.status !== 200)
          throw new Error(`the hook answered ${answer.status}: ${await answer.text()}`);
        const stableAt = await onStable;
        if (prometheusStopped) {
          process.kill(stack.prometheus.process.pid, "SIGCONT");
          prometheusStopped = false;
        }
        const finished = await waitRolledBack(name);
        if (finished.rollback?.trigger !== "alert")
          throw new Error(`${name} ended ${finished.phase}, rolled back by ${finished.rollback?.trigger}`);
        return { run, alertToRouteMs: stableAt - sent, hookAnswerMs };
      } finally {
        if (prometheusStopped) process.kill(stack.prometheus.process.pid, "SIGCONT");
      }
    };

    /** The first raw sample of the version's 5xx counter above 0 (ms since the epoch), from Prometheus. */
    const firstErrorSampleAt = async (version: string): Promise<number | undefined> => {
      const selector = `http_requests_total{namespace="${NAMESPACE}", service="${SERVICE}", version="${version}", code="500"}[5m]`;
      const response = await fetch(`${stack.info.prometheus.url}/api/v1/query`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ query: selector }),
        signal: AbortSignal.timeout(5_000),
      });
      const answer = (await response.json()) as {
        status: string;
        data?: { resultType: string; result: { values: [number, string][] }[] };
      };
      if (answer.status !== "success" || answer.data?.resultType !== "matrix") return undefined;
      let first: number | undefined;
      for (const series of answer.data.result) {
        const hit = series.values.find(([, value]) => Number(value) > 0);
        if (hit && (first === undefined || hit[0] * 1000 < first)) first = hit[0] * 1000;
      }
      return first;
    };

    const breachRun = async (run: number): Promise<BreachRun> => {
      const name = `checkout-breach-${run}`;
      const version = `2.1.${run}`;
      const canaryAt = await startRelease(name, version, run, {
        interval: `${ANALYSIS_INTERVAL_MS / 1000}s`,
        metrics: [
          { name: "error-rate", template: "http-error-ratio", max: BREACH_MAX, inconclusiveLimit: 100 },
        ],
      });
      await waitUntil(
        `${name}: ${CLEAN_ROUNDS} analysis rounds passed on clean canary data`,
        async () => {
          const status = (await readRelease(name)).status;
          if (status?.phase !== "Progressing" || status.currentStage?.name !== "canary")
            throw new Error(`${name} left its canary stage: ${status?.phase}`);
          const stage = status.stages?.find((record) => record.name === "canary" && !record.exitedAt);
          const tally = stage?.tallies?.find((entry) => entry.metric === "error-rate");
          return (tally?.pass ?? 0) >= CLEAN_ROUNDS ? true : undefined;
        },
        60_000,
        100,
      );
      // The simulator sends this version the canary's share (it read both from the cluster).
      await waitUntil(`the simulator sending 1% to ${version}`, async () => {
        const state = await simulator.client.state();
        return state.canary.version === version && state.canaryWeight === 1 && state.canary.errorRatio === 0
          ? true
          : undefined;
      });
      const pauseMs = Math.random() * ANALYSIS_INTERVAL_MS;
      await sleep(pauseMs);

      let breachAt: number;
      let breachWallMs: number;
      let stableAt: number;
      try {
        await simulator.client.configure({ canary: { errorRatio: BREACH_ERROR_RATIO } });
        breachAt = performance.now();
        breachWallMs = Date.now();
        stableAt = await routeChange(allOnStable, breachAt, 60_000);
      } finally {
        await simulator.client.configure({ canary: { errorRatio: 0 } });
      }
      const finished = await waitRolledBack(name);
      if (finished.rollback?.trigger !== "metric")
        throw new Error(`${name} ended ${finished.phase}, rolled back by ${finished.rollback?.trigger}`);
      const failed = finished.stages
        ?.find((record) => record.name === "canary")
        ?.measurements?.find(
          (measurement) =>
            measurement.metric === "error-rate" &&
            measurement.verdict === "fail" &&
            Date.parse(measurement.at) >= breachWallMs - 1_000,
        );
      const firstError = await firstErrorSampleAt(version).catch(() => undefined);
      const since = (iso: string | undefined) => (iso ? Date.parse(iso) - breachWallMs : undefined);
      const result: BreachRun = {
        run,
        breachToRouteMs: stableAt - breachAt,
        cleanCanaryMs: breachAt - canaryAt,
        pauseMs,
      };
      if (firstError !== undefined) result.firstErrorScrapeMs = firstError - breachWallMs;
      const failedRoundMs = since(failed?.at);
      if (failedRoundMs !== undefined) result.failedRoundMs = failedRoundMs;
      const decisionMs = since(finished.rollback?.at);
      if (decisionMs !== undefined) result.decisionMs = decisionMs;
      if (finished.rollback?.value !== undefined) result.measuredValue = finished.rollback.value;
      return result;
    };

    for (const trigger of SELECTED) {
      console.log(`\n${trigger}: ${RUNS[trigger]} runs`);
      for (let run = 1; run <= RUNS[trigger]; run++) {
        try {
          if (trigger === "alert" || trigger === "hung") {
            const measured = await alertRun(run, trigger === "hung");
            (trigger === "hung" ? hungRuns : alertRuns).push(measured);
            console.log(
              `  run ${String(run).padStart(2)}: route ${measured.alertToRouteMs.toFixed(0).padStart(5)} ms   hook answer ${measured.hookAnswerMs.toFixed(1).padStart(6)} ms`,
            );
          } else {
            const measured = await breachRun(run);
            breachRuns.push(measured);
            const optional = (label: string, value: number | undefined) =>
              value === undefined ? "" : `   ${label} ${value.toFixed(0).padStart(5)} ms`;
            console.log(
              `  run ${String(run).padStart(2)}: route ${measured.breachToRouteMs.toFixed(0).padStart(5)} ms` +
                optional("first error scrape", measured.firstErrorScrapeMs) +
                optional("failed round", measured.failedRoundMs) +
                `   clean canary data ${(measured.cleanCanaryMs / 1000).toFixed(1)} s` +
                `   measured ${measured.measuredValue ?? "?"}`,
            );
          }
        } catch (error) {
          const reason = reasonOf(error);
          failures[trigger].push(`run ${run}: ${reason}`);
          console.log(`  run ${run}: FAILED ${reason}`);
        }
      }
    }
    watch.stop();
    await controller.stop();
  } finally {
    await stack.stop();
  }

  const summary = {
    alert: SELECTED.includes("alert")
      ? {
          alertToRouteMs: summarise(alertRuns.map((run) => run.alertToRouteMs)),
          hookAnswerMs: summarise(alertRuns.map((run) => run.hookAnswerMs)),
        }
      : undefined,
    hung: SELECTED.includes("hung")
      ? {
          alertToRouteMs: summarise(hungRuns.map((run) => run.alertToRouteMs)),
          hookAnswerMs: summarise(hungRuns.map((run) => run.hookAnswerMs)),
        }
      : undefined,
    breach: SELECTED.includes("breach")
      ? {
          breachToRouteMs: summarise(breachRuns.map((run) => run.breachToRouteMs)),
          firstErrorScrapeMs: summarise(defined(breachRuns.map((run) => run.firstErrorScrapeMs))),
          failedRoundMs: summarise(defined(breachRuns.map((run) => run.failedRoundMs))),
          decisionMs: summarise(defined(breachRuns.map((run) => run.decisionMs))),
          cleanCanaryMs: summarise(breachRuns.map((run) => run.cleanCanaryMs)),
        }
      : undefined,
  };
  const headline: Partial<Record<Trigger, Summary>> = {};
  if (summary.alert) headline.alert = summary.alert.alertToRouteMs;
  if (summary.breach) headline.breach = summary.breach.breachToRouteMs;
  if (summary.hung) headline.hung = summary.hung.alertToRouteMs;
  const measuredCount: Record<Trigger, number> = {
    alert: alertRuns.length,
    breach: breachRuns.length,
    hung: hungRuns.length,
  };

  const row = (label: string, values: Summary) =>
    `| ${label.padEnd(46)} | ${[values.p50, values.p90, values.p99, values.min, values.max, values.mean]
      .map((value) => (Number.isFinite(value) ? value.toFixed(0) : "–").padStart(6))
      .join(" | ")} | ${String(values.count).padStart(4)} |`;
  console.log("");
  console.log(
    `| ${"milliseconds".padEnd(46)} |    p50 |    p90 |    p99 |    min |    max |   mean | runs |`,
  );
  console.log(`|${"-".repeat(48)}|--------|--------|--------|--------|--------|--------|------|`);
  if (summary.alert) {
    console.log(row("alert: webhook POST → HTTPRoute 100% stable", summary.alert.alertToRouteMs));
    console.log(row("alert: webhook POST → hook's answer", summary.alert.hookAnswerMs));
  }
  if (summary.breach) {
    console.log(row("breach: canary errors → HTTPRoute 100% stable", summary.breach.breachToRouteMs));
    console.log(row("breach: → first scrape with canary errors", summary.breach.firstErrorScrapeMs));
    console.log(row("breach: → the analysis round that failed", summary.breach.failedRoundMs));
    console.log(row("breach: → rollback decided (status)", summary.breach.decisionMs));
    console.log(row("breach: clean canary data before the breach", summary.breach.cleanCanaryMs));
  }
  if (summary.hung) {
    console.log(row("hung: webhook POST → HTTPRoute 100% stable", summary.hung.alertToRouteMs));
    console.log(row("hung: webhook POST → hook's answer", summary.hung.hookAnswerMs));
  }
  const verdicts: Partial<Record<Trigger, { metTarget: boolean; text: string; runsOverTarget: number }>> = {};
  for (const trigger of SELECTED) {
    const values = headline[trigger]!;
    const target = TARGET_P99_MS[trigger];
    const all =
      trigger === "breach"
        ? breachRuns.map((run) => run.breachToRouteMs)
        : (trigger === "hung" ? hungRuns : alertRuns).map((run) => run.alertToRouteMs);
    const runsOverTarget = all.filter((value) => value >= target).length;
    const metTarget = values.count > 0 && values.p99 < target;
    const text =
      values.count === 0
        ? "no run completed"
        : `p99 ${values.p99.toFixed(0)} ms: ${metTarget ? "under" : "OVER"} the ${target} ms target (${TARGET_TEXT[trigger]}); ${runsOverTarget} run(s) at or over it`;
    verdicts[trigger] = { metTarget, text, runsOverTarget };
    const failed = failures[trigger].length;
    console.log(
      `${trigger}: ${measuredCount[trigger]}/${RUNS[trigger]} runs measured; ${text}${failed ? `; ${failed} failed` : ""}`,
    );
  }

  const cpuList = cpus();
  const triggers = Object.fromEntries(
    SELECTED.map((trigger) => [
      trigger,
      {
        method: METHOD[trigger],
        runsRequested: RUNS[trigger],
        runsMeasured: measuredCount[trigger],
        targetP99Ms: TARGET_P99_MS[trigger],
        target: TARGET_TEXT[trigger],
        metTarget: verdicts[trigger]?.metTarget ?? false,
        runsOverTarget: verdicts[trigger]?.runsOverTarget ?? 0,
        summary: summary[trigger],
        runs: { alert: alertRuns, breach: breachRuns, hung: hungRuns }[trigger],
        failures: failures[trigger],
      },
    ]),
  );
  const result = {
    benchmark: "rollback-latency",
    description:
      "Trigger → a watch on the HTTPRoute sees 100% on stable, for an Alertmanager webhook (alert), for a canary metric breach seen by analysis (breach) and for a webhook while the controller's Prometheus is stopped mid-round (hung). Real kube-apiserver/etcd/Prometheus (1 s scrape)/Alertmanager on 127.0.0.1; the controller a separate process with its ServiceAccount token; analysis every 5 s; 400 requests/s of simulated traffic, 1% to the canary.",
    startedAt: started.toISOString(),
    finishedAt: new Date().toISOString(),
    triggersRun: SELECTED,
    settings: {
      analysisIntervalMs: ANALYSIS_INTERVAL_MS,
      hung: {
        analysisIntervalMs: HUNG_ANALYSIS_INTERVAL_MS,
        prometheusStoppedBeforeAlertMs: HUNG_BEFORE_ALERT_MS,
      },
      scrapeIntervalMs: SCRAPE_INTERVAL_MS,
      requestsPerSecond: 400,
      canaryWeightPercent: 1,
      breach: { errorRatio: BREACH_ERROR_RATIO, max: BREACH_MAX, cleanRoundsBefore: CLEAN_ROUNDS },
      minimumRateWindow: MIN_RATE_WINDOW ?? "1m (the controller's default)",
    },
    percentileMethod: "nearest rank (with fewer than 100 runs, p99 is the slowest run)",
    triggers,
    machine: {
      cpuModel: cpuList[0]?.model ?? "unknown",
      cpus: cpuList.length,
      memoryGiB: Number((totalmem() / 2 ** 30).toFixed(1)),
      platform: `${platform()} ${osRelease()} ${arch()}`,
      node: process.version,
      kubernetes: stack.info.kubernetesVersion.gitVersion,
      loadAverageBefore: loadBefore.map((value) => Number(value.toFixed(2))),
      loadAverageAfter: loadavg().map((value) => Number(value.toFixed(2))),
      note: "shared machine: other engineers' test runs may have been using it at the same time",
    },
  };
  mkdirSync(resultsDir, { recursive: true });
  const file = join(
    resultsDir,
    `rollback-latency-${started.toISOString().replaceAll(":", "-").slice(0, 19)}.json`,
  );
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`results: ${file}`);
}

try {
  await main();
} catch (error) {
  // It reports; it never fails: a broken run says why and exits cleanly.
  console.error(`benchmark could not complete: ${(error as Error).stack ?? String(error)}`);
}
process.exit(0);
