// Rollback latency on the real stack (`npm run bench:rollback`): etcd, kube-apiserver,
// controller-manager, scheduler, a fake kubelet, Prometheus (scraping every 1 s) and
// Alertmanager on 127.0.0.1, a traffic simulator following the HTTPRoute and the canary
// Deployment, and the controller as its own process under its ServiceAccount. Three
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
//
// The pieces live in bench/rollback-latency/: stack.ts (sample service, simulator,
// controller with its hook token, route watch), release.ts (a run's Release), alert.ts,
// breach.ts and hung.ts (one run of each trigger), report.ts (lines, table, verdicts).
import { startStack } from "../test/harness/stack.ts";
import { describeMachine, loadAverage, writeResults } from "./lib/results.ts";
import { reasonOf, runBenchmark } from "./lib/run.ts";
import type { Summary } from "./lib/statistics.ts";
import { alertRun, type AlertRun } from "./rollback-latency/alert.ts";
import { breachRun, type BreachRun } from "./rollback-latency/breach.ts";
import { hungRun } from "./rollback-latency/hung.ts";
import {
  alertRows,
  alertRunLine,
  breachRunLine,
  latencyTable,
  METHOD,
  summariseAlertRuns,
  summariseBreachRuns,
  targetVerdict,
  type TargetVerdict,
} from "./rollback-latency/report.ts";
import {
  ANALYSIS_INTERVAL_MS,
  BREACH_ERROR_RATIO,
  BREACH_MAX,
  CLEAN_ROUNDS,
  HUNG_ANALYSIS_INTERVAL_MS,
  HUNG_BEFORE_ALERT_MS,
  MIN_RATE_WINDOW,
  parseTriggers,
  REQUESTS_PER_SECOND,
  RUNS,
  SCRAPE_INTERVAL_MS,
  TARGET_P99_MS,
  TARGET_TEXT,
  type Trigger,
} from "./rollback-latency/settings.ts";
import { prepareRollbackStack } from "./rollback-latency/stack.ts";

async function main(): Promise<void> {
  const SELECTED = parseTriggers(process.env.BENCH_TRIGGERS);
  const started = new Date();
  const loadBefore = loadAverage();
  const plan = SELECTED.map((trigger) => `${RUNS[trigger]} ${trigger}`).join(", ");
  console.log(`rollback-latency benchmark: ${plan} runs on the real stack; starting it…`);
  const stack = await startStack({ log: () => undefined });
  const failures: Record<Trigger, string[]> = { alert: [], breach: [], hung: [] };
  const alertRuns: AlertRun[] = [];
  const hungRuns: AlertRun[] = [];
  const breachRuns: BreachRun[] = [];
  try {
    const bench = await prepareRollbackStack(stack, {
      controllerConfig: {
        prometheus: {
          url: stack.info.prometheus.url,
          // hung: an attempt outlasts the client's 30 s limit for all attempts, as a
          // Prometheus stuck on a heavy query would.
          timeout: SELECTED.includes("hung") ? "60s" : "5s",
          ...(MIN_RATE_WINDOW ? { minimumRateWindow: MIN_RATE_WINDOW } : {}),
        },
      },
    });
    for (const trigger of SELECTED) {
      console.log(`\n${trigger}: ${RUNS[trigger]} runs`);
      for (let run = 1; run <= RUNS[trigger]; run++) {
        try {
          if (trigger === "alert" || trigger === "hung") {
            const measured = trigger === "hung" ? await hungRun(bench, run) : await alertRun(bench, run);
            (trigger === "hung" ? hungRuns : alertRuns).push(measured);
            console.log(alertRunLine(measured));
          } else {
            const measured = await breachRun(bench, run);
            breachRuns.push(measured);
            console.log(breachRunLine(measured));
          }
        } catch (error) {
          const reason = reasonOf(error);
          failures[trigger].push(`run ${run}: ${reason}`);
          console.log(`  run ${run}: FAILED ${reason}`);
        }
      }
    }
    await bench.stop();
  } finally {
    await stack.stop();
  }

  const summary = {
    alert: SELECTED.includes("alert") ? summariseAlertRuns(alertRuns) : undefined,
    hung: SELECTED.includes("hung") ? summariseAlertRuns(hungRuns) : undefined,
    breach: SELECTED.includes("breach") ? summariseBreachRuns(breachRuns) : undefined,
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

  const rows: { label: string; summary: Summary }[] = [];
  if (summary.alert) rows.push(...alertRows("alert", summary.alert));
  if (summary.breach) {
    rows.push({
      label: "breach: canary errors → HTTPRoute 100% stable",
      summary: summary.breach.breachToRouteMs,
    });
    rows.push({
      label: "breach: → first scrape with canary errors",
      summary: summary.breach.firstErrorScrapeMs,
    });
    rows.push({ label: "breach: → the analysis round that failed", summary: summary.breach.failedRoundMs });
    rows.push({ label: "breach: → rollback decided (status)", summary: summary.breach.decisionMs });
    rows.push({
      label: "breach: clean canary data before the breach",
      summary: summary.breach.cleanCanaryMs,
    });
  }
  if (summary.hung) rows.push(...alertRows("hung", summary.hung));
  console.log("");
  for (const line of latencyTable(rows)) console.log(line);
  const verdicts: Partial<Record<Trigger, TargetVerdict>> = {};
  for (const trigger of SELECTED) {
    const all =
      trigger === "breach"
        ? breachRuns.map((run) => run.breachToRouteMs)
        : (trigger === "hung" ? hungRuns : alertRuns).map((run) => run.alertToRouteMs);
    const verdict = targetVerdict(headline[trigger]!, all, TARGET_P99_MS[trigger], TARGET_TEXT[trigger]);
    verdicts[trigger] = verdict;
    const failed = failures[trigger].length;
    console.log(
      `${trigger}: ${measuredCount[trigger]}/${RUNS[trigger]} runs measured; ${verdict.text}${failed ? `; ${failed} failed` : ""}`,
    );
  }

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
      requestsPerSecond: REQUESTS_PER_SECOND,
      canaryWeightPercent: 1,
      breach: { errorRatio: BREACH_ERROR_RATIO, max: BREACH_MAX, cleanRoundsBefore: CLEAN_ROUNDS },
      minimumRateWindow: MIN_RATE_WINDOW ?? "1m (the controller's default)",
    },
    percentileMethod: "nearest rank (with fewer than 100 runs, p99 is the slowest run)",
    triggers,
    machine: describeMachine(stack.info.kubernetesVersion.gitVersion, loadBefore),
  };
  const file = writeResults("rollback-latency", started, result);
  console.log(`results: ${file}`);
}

// It reports; it never fails: a broken run says why and exits cleanly.
await runBenchmark(main, { exitCodeOnFailure: 0 });
