// What the rollback-latency benchmark prints and keeps: a line per run, the latency table
// (nearest-rank p50/p90/p99, min, max, mean in milliseconds), the verdict against each
// target, and how each trigger was measured. Pure.
import { summarise, measured, type Summary } from "../lib/statistics.ts";
import { markdownTable } from "../lib/table.ts";
import type { AlertRun } from "./alert.ts";
import type { BreachRun } from "./breach.ts";
import {
  BREACH_ERROR_RATIO,
  BREACH_MAX,
  CLEAN_ROUNDS,
  HUNG_ANALYSIS_INTERVAL_MS,
  HUNG_BEFORE_ALERT_MS,
  type Trigger,
} from "./settings.ts";

export const METHOD: Record<Trigger, string> = {
  alert:
    "Each run a Release goes to its 1% canary (analysis every 5 s, http-error-ratio max 0.5, so rounds run but never fail); the benchmark POSTs a matching firing Alertmanager webhook (version 4) to the controller's /hooks/alertmanager and times from just before the POST until a watch on the HTTPRoute sees 100% on stable; the Release must end RolledBack with trigger alert. hookAnswerMs is the POST's answer time.",
  breach: `Each run a Release goes to its 1% canary with analysis every 5 s on the built-in http-error-ratio metric (max ${BREACH_MAX}, failureLimit 0); the simulator sends the canary clean traffic. Once ${CLEAN_ROUNDS} analysis rounds have passed on canary data, and after a random pause uniform in [0, 5 s) so the breach falls at a random point between rounds, the simulator is told to fail ${BREACH_ERROR_RATIO * 100}% of the canary's requests; the time just after it answered is the breach start, and the run ends when a watch on the HTTPRoute sees 100% on stable. The Release must end RolledBack with trigger metric. The query's rate window is at least 1 m (MINIMUM_RATE_WINDOW_MS), so the measured ratio rises gradually: it crosses ${BREACH_MAX} after roughly cleanCanaryMs × ${BREACH_MAX}/(${BREACH_ERROR_RATIO}−${BREACH_MAX}) of bad traffic, which is short here because the canary has only seconds of clean data; with a full 1 m window of clean data (a canary older than 1 m) it would take about 60 s × ${BREACH_MAX}/${BREACH_ERROR_RATIO} = 6 s, before waiting for the next round. firstErrorScrapeMs is breach start → the timestamp of the first Prometheus sample of the canary's 5xx counter above 0; failedRoundMs is breach start → the time of the analysis round that failed (its measurement's at); decisionMs is breach start → status.rollback.at.`,
  hung: `As alert, but the Release analyses every ${HUNG_ANALYSIS_INTERVAL_MS / 1000} s; once a round is recorded, the benchmark stops the controller's Prometheus (SIGSTOP) and POSTs the alert ${HUNG_BEFORE_ALERT_MS / 1000} s later, so an analysis round is in flight and hangs (the controller's Prometheus timeout is 60 s per attempt: a round waits for the client's 30 s total limit). Timed from just before the POST until a watch on the HTTPRoute sees 100% on stable; Prometheus is continued (SIGCONT) only then. The Release must end RolledBack with trigger alert.`,
};

export function alertRunLine(run: AlertRun): string {
  return `  run ${String(run.run).padStart(2)}: route ${run.alertToRouteMs.toFixed(0).padStart(5)} ms   hook answer ${run.hookAnswerMs.toFixed(1).padStart(6)} ms`;
}

export function breachRunLine(run: BreachRun): string {
  const optional = (label: string, value: number | undefined) =>
    value === undefined ? "" : `   ${label} ${value.toFixed(0).padStart(5)} ms`;
  return (
    `  run ${String(run.run).padStart(2)}: route ${run.breachToRouteMs.toFixed(0).padStart(5)} ms` +
    optional("first error scrape", run.firstErrorScrapeMs) +
    optional("failed round", run.failedRoundMs) +
    `   clean canary data ${(run.cleanCanaryMs / 1000).toFixed(1)} s` +
    `   measured ${run.measuredValue ?? "?"}`
  );
}

export function summariseAlertRuns(runs: readonly AlertRun[]) {
  return {
    alertToRouteMs: summarise(runs.map((run) => run.alertToRouteMs)),
    hookAnswerMs: summarise(runs.map((run) => run.hookAnswerMs)),
  };
}

/** The table rows of a trigger timed from the webhook POST (alert, hung). */
export function alertRows(
  trigger: "alert" | "hung",
  summary: ReturnType<typeof summariseAlertRuns>,
): { label: string; summary: Summary }[] {
  return [
    { label: `${trigger}: webhook POST → HTTPRoute 100% stable`, summary: summary.alertToRouteMs },
    { label: `${trigger}: webhook POST → hook's answer`, summary: summary.hookAnswerMs },
  ];
}

export function summariseBreachRuns(runs: readonly BreachRun[]) {
  return {
    breachToRouteMs: summarise(runs.map((run) => run.breachToRouteMs)),
    firstErrorScrapeMs: summarise(measured(runs.map((run) => run.firstErrorScrapeMs))),
    failedRoundMs: summarise(measured(runs.map((run) => run.failedRoundMs))),
    decisionMs: summarise(measured(runs.map((run) => run.decisionMs))),
    cleanCanaryMs: summarise(runs.map((run) => run.cleanCanaryMs)),
  };
}

const LABEL_WIDTH = 46;
const NUMBER_COLUMNS = ["p50", "p90", "p99", "min", "max", "mean"] as const;

/** The latency table: one row per label, whole milliseconds, "–" where nothing was measured. */
export function latencyTable(rows: readonly { label: string; summary: Summary }[]): string[] {
  return markdownTable(
    [
      { header: "milliseconds", width: LABEL_WIDTH },
      ...NUMBER_COLUMNS.map((header) => ({ header, width: 6, align: "right" as const })),
      { header: "runs", width: 4, align: "right" },
    ],
    rows.map(({ label, summary }) => [
      label,
      ...NUMBER_COLUMNS.map((column) =>
        Number.isFinite(summary[column]) ? summary[column].toFixed(0) : "–",
      ),
      String(summary.count),
    ]),
  );
}

export interface TargetVerdict {
  metTarget: boolean;
  text: string;
  runsOverTarget: number;
}

/** The headline figure against its target: met when p99 is under it. */
export function targetVerdict(
  headline: Summary,
  values: readonly number[],
  targetMs: number,
  targetText: string,
): TargetVerdict {
  const runsOverTarget = values.filter((value) => value >= targetMs).length;
  const metTarget = headline.count > 0 && headline.p99 < targetMs;
  const text =
    headline.count === 0
      ? "no run completed"
      : `p99 ${headline.p99.toFixed(0)} ms: ${metTarget ? "under" : "OVER"} the ${targetMs} ms target (${targetText}); ${runsOverTarget} run(s) at or over it`;
  return { metTarget, text, runsOverTarget };
}
