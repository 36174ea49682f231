// Rollback latency of a blue/green release after its switch (issue 17 item 1), measured as
// bench/rollback-latency.ts measures its alert trigger: the same stack (prepareRollbackStack:
// sample service, traffic simulator, controller with its hook token, a watch on the
// HTTPRoute). Each run, a blue/green Release of checkout previews for 1 s and switches (the
// route watch sees checkout-canary at 100); its scaleDownDelay is 10 minutes, so only the
// trigger ends it. A matching firing alert is POSTed to /hooks/alertmanager exactly as
// Alertmanager would, timed from just before the POST until the watch shows all traffic on
// stable. (In the preview there is nothing to time: the route was never written.)
//
// `node bench/rollback-blue-green.ts`; BENCH_RUNS (default 30). A table on stdout and one
// JSON file in bench/results/. It reports; it never fails on the numbers.
import { startStack } from "../test/harness/stack.ts";
import { describeMachine, loadAverage, writeResults } from "./lib/results.ts";
import { reasonOf, runBenchmark } from "./lib/run.ts";
import { summarise } from "./lib/statistics.ts";
import { waitUntil } from "./lib/wait.ts";
import { firingAlertWebhook, postAlert } from "./rollback-latency/alert.ts";
import { readRelease, waitRolledBack } from "./rollback-latency/release.ts";
import { latencyTable } from "./rollback-latency/report.ts";
import { allOnStable, weightsOf } from "./rollback-latency/route-watch.ts";
import { prepareRollbackStack, type RollbackStack } from "./rollback-latency/stack.ts";

const RUNS = Number(process.env.BENCH_RUNS ?? 30);
const TARGET_P99_MS = 1_000;

interface BlueGreenRun {
  run: number;
  /** POST sent → HTTPRoute watched at 100% stable. */
  alertToRouteMs: number;
  hookAnswerMs: number;
}

function blueGreenRelease(bench: RollbackStack, name: string, version: string) {
  const service = bench.service;
  return {
    apiVersion: "glidepath.dev/v1alpha1",
    kind: "Release",
    metadata: { name },
    spec: {
      target: { deployment: service, service },
      version,
      images: { [service]: `registry.example.com/${service}:${version}` },
      blueGreen: { preview: "1s", scaleDownDelay: "10m", minMeasurements: 0 },
      traffic: { gatewayAPI: { httpRoute: service } },
      analysis: {
        interval: "5s",
        metrics: [],
        alerts: { matchLabels: { service }, severities: ["critical"] },
      },
      progressDeadline: "60s",
      bake: "10s",
      changeRequest: {
        id: `BENCH-${name}`,
        type: "standard",
        title: `Blue/green benchmark ${name}`,
        why: "rollback-latency benchmark, blue/green",
        risk: "low",
        requestedBy: "bench",
        rollbackPlan: "Revert to 1.0.0",
      },
    },
  };
}

async function blueGreenRun(bench: RollbackStack, run: number): Promise<BlueGreenRun> {
  const name = `${bench.service}-bluegreen-${run}`;
  const before = performance.now();
  await bench.custom.createNamespacedCustomObject({
    group: "glidepath.dev",
    version: "v1alpha1",
    plural: "releases",
    namespace: bench.namespace,
    body: blueGreenRelease(bench, name, `3.0.${run}`),
  });
  await bench.route.changed((route) => weightsOf(route)[`${bench.service}-canary`] === 100, before, 120_000);
  await waitUntil(`${name} switched`, async () => {
    const status = (await readRelease(bench, name)).status;
    return status?.phase === "Progressing" && status.currentStage?.name === "switch" ? true : undefined;
  });
  const body = firingAlertWebhook({
    namespace: bench.namespace,
    service: bench.service,
    externalURL: bench.stack.info.alertmanager.url,
  });
  const sent = performance.now();
  const routeOnStable = bench.route.changed(allOnStable(bench.service), sent, 60_000);
  routeOnStable.catch(() => undefined);
  await postAlert(bench, body);
  const hookAnswerMs = performance.now() - sent;
  const stableAt = await routeOnStable;
  const finished = await waitRolledBack(bench, name);
  if (finished.rollback?.trigger !== "alert")
    throw new Error(`${name} ended ${finished.phase}, rolled back by ${finished.rollback?.trigger}`);
  // The next run's release waits for this one's cleanup (the route restored exactly).
  await waitUntil(`${name}'s route restored`, async () =>
    weightsOf(await routeNow(bench))[`${bench.service}-canary`] === undefined ? true : undefined,
  );
  return { run, alertToRouteMs: stableAt - sent, hookAnswerMs };
}

async function routeNow(bench: RollbackStack) {
  return (await bench.custom.getNamespacedCustomObject({
    group: "gateway.networking.k8s.io",
    version: "v1",
    namespace: bench.namespace,
    plural: "httproutes",
    name: bench.service,
  })) as Parameters<typeof weightsOf>[0];
}

async function main(): Promise<void> {
  const started = new Date();
  const loadBefore = loadAverage();
  console.log(`blue/green rollback benchmark: ${RUNS} runs on the real stack; starting it…`);
  const stack = await startStack({ log: () => undefined });
  const runs: BlueGreenRun[] = [];
  const failures: string[] = [];
  try {
    const bench = await prepareRollbackStack(stack, {
      controllerConfig: { prometheus: { url: stack.info.prometheus.url, timeout: "5s" } },
    });
    for (let run = 1; run <= RUNS; run++) {
      try {
        const measured = await blueGreenRun(bench, run);
        runs.push(measured);
        console.log(
          `  run ${run}: alert → route on stable ${Math.round(measured.alertToRouteMs)} ms (hook answered in ${Math.round(measured.hookAnswerMs)} ms)`,
        );
      } catch (error) {
        failures.push(`run ${run}: ${reasonOf(error)}`);
        console.log(`  run ${run}: FAILED ${reasonOf(error)}`);
      }
    }
    await bench.stop();
  } finally {
    await stack.stop();
  }
  const summary = summarise(runs.map((run) => run.alertToRouteMs));
  console.log("");
  for (const line of latencyTable([
    { label: "switched: alert → HTTPRoute 100% stable", summary },
    { label: "switched: the hook's answer", summary: summarise(runs.map((run) => run.hookAnswerMs)) },
  ]))
    console.log(line);
  console.log(
    `${runs.length}/${RUNS} runs measured; p99 ${Math.round(summary.p99)} ms (target, as the alert trigger's: under ${TARGET_P99_MS} ms)`,
  );
  const file = writeResults("rollback-blue-green", started, {
    benchmark: "rollback-blue-green",
    description:
      "A blue/green Release switched (HTTPRoute 100% on the preview, stable untouched for scaleDownDelay), then an Alertmanager webhook: POST → a watch on the HTTPRoute sees 100% on stable. Same stack as rollback-latency.",
    startedAt: started.toISOString(),
    finishedAt: new Date().toISOString(),
    runsRequested: RUNS,
    targetP99Ms: TARGET_P99_MS,
    summary,
    runs,
    failures,
    machine: describeMachine(stack.info.kubernetesVersion.gitVersion, loadBefore),
  });
  console.log(`results: ${file}`);
}

await runBenchmark(main, { exitCodeOnFailure: 0 });
