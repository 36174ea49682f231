// Scale of one controller on the real local stack (`npm run bench:scale`): etcd,
// kube-apiserver 1.20, controller-manager, scheduler, fake kubelets, Prometheus, and the
// controller as its own process under its ServiceAccount (dist/main.js compiled as the
// image does, default settings). One module per phase, in bench/scale/:
//
//   1. setup.ts: N services (Deployment of 1 replica, Service, HTTPRoute), 50 a namespace;
//      meanwhile one real release runs to Succeeded, to give the completed ones a real status
//   2. completed.ts: 10,000 finished Releases (created as admin, status written through the
//      status subresource); a fresh controller: time to sync, RSS after sync and after a
//      few minutes of steady state
//   3. active.ts: 100, then 1,000 Releases held at their canary stage (hold 4h, analysis
//      every 30 s): over a window (window.ts), reconcile latency p50/p99, reconciles/s,
//      controller RSS and CPU, the controller's API requests/s and Prometheus queries/s
//   4. restart.ts: the controller is stopped (SIGTERM) and a new one started: time until it
//      has observed every one of the 1,000 active Releases again
//
// Method (docs/performance.md): reconcile quantiles come from the controller's
// glidepath_reconcile_duration_seconds histogram (bucket deltas over the window,
// interpolated as histogram_quantile() does, with the bucket given too); API requests from
// kube-apiserver's audit log, which logs the controller ServiceAccount's requests only;
// Prometheus queries from Prometheus's own prometheus_http_requests_total; CPU and RSS from
// /proc/<pid>. It prints a table (scale/report.ts) and writes JSON to bench/results/. It
// reports; it never fails on the numbers, but it exits 1, naming the phase and the reason,
// when it could not complete. Settings (BENCH_ACTIVE, BENCH_COMPLETED, BENCH_WINDOW_S, …,
// BENCH_PROFILE=cpu|heap): bench/README.md.
import { rmSync } from "node:fs";
import { cpus } from "node:os";
import { createRunDir } from "../test/harness/processes.ts";
import type { FakeKubelet } from "../test/harness/fake-kubelet.ts";
import { auditLogFlags, usersAuditRules } from "./lib/audit-log.ts";
import { targetAt } from "./lib/fixtures.ts";
import { round, seconds } from "./lib/format.ts";
import { describeMachine, loadAverage, writeResults } from "./lib/results.ts";
import { elapsedMs, inPhase, PhaseFailure, runBenchmark, say } from "./lib/run.ts";
import { activePhase } from "./scale/active.ts";
import { completedPhase } from "./scale/completed.ts";
import { startControllers, stopController, heapSnapshot, type Watched } from "./scale/context.ts";
import { failoverPhase } from "./scale/failover.ts";
import { METHOD, reportLines, TARGETS, type Results } from "./scale/report.ts";
import { restartPhase } from "./scale/restart.ts";
import { settings } from "./scale/settings.ts";
import { createAllTargets, runGoldenRelease } from "./scale/setup.ts";
import {
  CONTROLLER_USER,
  controllerEntry,
  createContext,
  extraNodesFor,
  startExtraKubelets,
  startScaleStack,
} from "./scale/stack.ts";

async function main(): Promise<void> {
  const startedAt = new Date();
  const loadBefore = loadAverage();
  const maxActive = settings.active.at(-1) ?? 0;
  const serviceCount = Math.max(maxActive, Math.min(settings.completed, 1_000), 1);
  say(
    `scale benchmark: ${settings.active.join(", ")} active, ${settings.completed} completed, ${serviceCount} services; ` +
      `load average ${loadBefore.join(" ")} on ${cpus().length} cores`,
  );
  const runDir = createRunDir("scale");
  const audit = auditLogFlags(runDir, usersAuditRules([CONTROLLER_USER]));
  const stackStarted = Date.now();
  const entry = controllerEntry(runDir);
  entry.catch(() => undefined);
  const stack = await inPhase("stack", () => startScaleStack(runDir, audit.flags));
  const stackMs = Date.now() - stackStarted;
  say(
    `stack ready in ${seconds(stackMs)}: Kubernetes ${stack.info.kubernetesVersion.gitVersion}, run directory ${runDir}`,
  );
  const kubelets: FakeKubelet[] = [];
  let current: Watched[] = [];
  const results: Results = { setup: { stackMs, targets: 0, targetsMs: 0, extraNodes: 0 }, active: [] };
  try {
    const kubeConfig = stack.kubeConfig();
    const extraNodes = extraNodesFor(serviceCount);
    await inPhase("stack", () => startExtraKubelets(kubeConfig, extraNodes, kubelets));
    const context = await inPhase("stack", async () =>
      createContext(
        stack,
        kubeConfig,
        await inPhase("build (compiling the controller)", () => entry),
        audit.path,
      ),
    );
    const targets = Array.from({ length: serviceCount }, (_, index) =>
      targetAt(index, settings.perNamespace),
    );

    say(
      `setup: ${serviceCount} services (Deployment of 1 replica, Service, HTTPRoute) on ${extraNodes + 1} fake nodes; a golden release meanwhile`,
    );
    const servicesReady = inPhase("setup", () => createAllTargets(context, targets));
    const goldenFinished =
      settings.completed > 0
        ? inPhase("setup (golden release)", () => runGoldenRelease(context))
        : Promise.resolve(undefined);
    // When one fails, the other's later failure (the stack is going) must not go unhandled.
    servicesReady.catch(() => undefined);
    goldenFinished.catch(() => undefined);
    const [setup, golden] = await Promise.all([servicesReady, goldenFinished]);
    results.setup = { ...setup, extraNodes, stackMs, ...(golden ? { goldenMs: golden.ms } : {}) };
    say(`setup: ${serviceCount} services Ready in ${seconds(setup.targetsMs)}`);

    if (settings.completed > 0) {
      results.completed = golden
        ? await inPhase("completed", () => completedPhase(context, targets, golden.status))
        : { skipped: "the golden release did not finish, so there is no real finished status to copy" };
    }

    let created = 0;
    if (settings.active.length > 0) {
      say(
        settings.replicas > 1
          ? `active: starting ${settings.replicas} fresh sharded controllers`
          : "active: starting a fresh controller",
      );
      current = await inPhase(`active ${settings.active[0]}`, () =>
        startControllers(context, "scale-active"),
      );
      for (const count of settings.active) {
        const watched = current;
        results.active.push(
          await inPhase(`active ${count}`, () => activePhase(context, watched, targets, created, count)),
        );
        created = count;
      }
      for (const watched of current) await heapSnapshot(watched, `${created} active`);
      const group = current;
      if (group.length > 1) {
        // Sharded: the failover of one replica's shards rather than the restart of the one controller.
        const failover = await inPhase("failover", () =>
          failoverPhase(context, group, targets.slice(0, created)),
        );
        current = failover.survivors;
        results.failover = failover.result;
      } else {
        const restarted = await inPhase("restart", () =>
          restartPhase(context, group[0] as Watched, targets.slice(0, created)),
        );
        current = [restarted.watched];
        results.restart = restarted.result;
      }
    }
    for (const watched of current) await stopController(watched);
    current = [];
    context.apiServer.stop();
    context.etcd.stop();
  } finally {
    for (const watched of current) await stopController(watched).catch(() => undefined);
    for (const kubelet of kubelets) await kubelet.stop();
    await stack.stop();
    if (!process.env.BENCH_KEEP_AUDIT) rmSync(audit.path, { force: true });
  }

  console.log("");
  const table = reportLines(results);
  for (const line of table) console.log(line);
  const result = {
    benchmark: "scale",
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    wallSeconds: round(elapsedMs() / 1000),
    settings,
    targets: TARGETS,
    method: METHOD,
    results,
    table,
    machine: describeMachine(stack.info.kubernetesVersion.gitVersion, loadBefore),
  };
  const file = writeResults("scale", startedAt, result);
  console.log(`\nresults: ${file}`);
  // What was measured is printed and kept; a phase that could not run still fails the run.
  if (results.completed && "skipped" in results.completed)
    throw new PhaseFailure("completed", new Error(`skipped: ${results.completed.skipped}`));
}

await runBenchmark(main, { exitCodeOnFailure: 1 });
