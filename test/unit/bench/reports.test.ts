import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { AlertRun } from "../../../bench/rollback-latency/alert.ts";
import type { BreachRun } from "../../../bench/rollback-latency/breach.ts";
import {
  alertRows,
  alertRunLine,
  breachRunLine,
  latencyTable,
  METHOD,
  summariseAlertRuns,
  summariseBreachRuns,
  targetVerdict,
} from "../../../bench/rollback-latency/report.ts";
import { allOnStable, type Route } from "../../../bench/rollback-latency/route-watch.ts";
import { parseTriggers, TARGET_P99_MS, TARGET_TEXT } from "../../../bench/rollback-latency/settings.ts";
import { reportLines, type Results } from "../../../bench/scale/report.ts";
import { summarise } from "../../../bench/lib/statistics.ts";

const stored = (file: string) =>
  JSON.parse(readFileSync(new URL(`../../../bench/results/${file}`, import.meta.url), "utf8")) as Record<
    string,
    unknown
  >;

describe("the scale benchmark's report", () => {
  it("is the table and lines docs/performance.md was written from, given the same results", () => {
    // The run docs/performance.md cites: its JSON keeps the results and the lines printed then.
    const run = stored("scale-2026-12-04T18-25-36.json") as { results: Results; table: string[] };
    const lines = reportLines(run.results);
    expect(lines).toEqual(run.table);
    expect(lines.slice(0, 3)).toEqual([
      "| scenario | Releases | reconciles/s | reconcile p50 | reconcile p99 | RSS end (max) | CPU cores | API req/s | Prom queries/s |",
      "|---|---|---|---|---|---|---|---|---|",
      "| 100 active | 100 | 6.67 | 50 ms (50–100] | 187 ms (100–250] | 180.6 (180.6) MiB | 0.08 | 40.5 | 3.33 |",
    ]);
  });

  it("says the completed Releases were skipped, and why, when they were", () => {
    const run = stored("scale-2026-12-04T18-25-36.json") as { results: Results };
    const lines = reportLines({
      ...run.results,
      completed: { skipped: "the golden release did not finish" },
    });
    expect(lines).toContain("completed: skipped (the golden release did not finish)");
    expect(lines.filter((line) => line.includes("completed,"))).toEqual([]);
  });
});

describe("the rollback-latency benchmark's report", () => {
  const alertRuns: AlertRun[] = [
    { run: 1, alertToRouteMs: 438.2, hookAnswerMs: 114.5 },
    { run: 2, alertToRouteMs: 216.4, hookAnswerMs: 5.04 },
  ];

  it("prints the latency table with padded columns and a dash where nothing was measured", () => {
    const alert = summariseAlertRuns(alertRuns);
    expect(
      latencyTable([
        { label: "alert: webhook POST → HTTPRoute 100% stable", summary: alert.alertToRouteMs },
        { label: "breach: → first scrape with canary errors", summary: summarise([]) },
      ]),
    ).toEqual([
      "| milliseconds                                   |    p50 |    p90 |    p99 |    min |    max |   mean | runs |",
      "|------------------------------------------------|--------|--------|--------|--------|--------|--------|------|",
      "| alert: webhook POST → HTTPRoute 100% stable    |    216 |    438 |    438 |    216 |    438 |    327 |    2 |",
      "| breach: → first scrape with canary errors      |      – |      – |      – |      – |      – |      0 |    0 |",
    ]);
  });

  it("prints a line per run", () => {
    expect(alertRunLine(alertRuns[0]!)).toBe("  run  1: route   438 ms   hook answer  114.5 ms");
    const breach: BreachRun = {
      run: 2,
      breachToRouteMs: 4006.2,
      firstErrorScrapeMs: 1190,
      failedRoundMs: 3590,
      cleanCanaryMs: 11_592,
      pauseMs: 100,
      measuredValue: "0.1035",
    };
    expect(breachRunLine(breach)).toBe(
      "  run  2: route  4006 ms   first error scrape  1190 ms   failed round  3590 ms   clean canary data 11.6 s   measured 0.1035",
    );
    expect(breachRunLine({ run: 3, breachToRouteMs: 5000, cleanCanaryMs: 9000, pauseMs: 0 })).toBe(
      "  run  3: route  5000 ms   clean canary data 9.0 s   measured ?",
    );
  });

  it("summarises a stored run as it was summarised then, and gives the same verdicts", () => {
    const run = stored("rollback-latency-2026-12-04T17-19-59.json") as {
      triggers: Record<
        "alert" | "breach",
        {
          runs: unknown[];
          summary: unknown;
          targetP99Ms: number;
          target: string;
          metTarget: boolean;
          runsOverTarget: number;
        }
      >;
    };
    const { alert, breach } = run.triggers;
    const alertSummary = summariseAlertRuns(alert.runs as AlertRun[]);
    const breachSummary = summariseBreachRuns(breach.runs as BreachRun[]);
    expect(alertSummary).toEqual(alert.summary);
    expect(breachSummary).toEqual(breach.summary);
    const alertVerdict = targetVerdict(
      alertSummary.alertToRouteMs,
      (alert.runs as AlertRun[]).map((entry) => entry.alertToRouteMs),
      alert.targetP99Ms,
      alert.target,
    );
    expect(alertVerdict).toEqual({
      metTarget: alert.metTarget,
      runsOverTarget: alert.runsOverTarget,
      text: "p99 91 ms: under the 1000 ms target (p99 under 1 s); 0 run(s) at or over it",
    });
  });

  it("measures the hung trigger as the run docs/performance.md cites: method, target, summary, table and verdict", () => {
    const run = stored("rollback-latency-2026-12-06T14-00-55.json") as {
      triggers: {
        hung: {
          method: string;
          runs: AlertRun[];
          summary: unknown;
          targetP99Ms: number;
          target: string;
          metTarget: boolean;
          runsOverTarget: number;
        };
      };
    };
    const { hung } = run.triggers;
    expect(METHOD.hung).toBe(hung.method);
    expect([TARGET_P99_MS.hung, TARGET_TEXT.hung]).toEqual([hung.targetP99Ms, hung.target]);
    const summary = summariseAlertRuns(hung.runs);
    expect(summary).toEqual(hung.summary);
    expect(latencyTable(alertRows("hung", summary)).slice(2)).toEqual([
      "| hung: webhook POST → HTTPRoute 100% stable     |    234 |    482 |    633 |     82 |    633 |    297 |   20 |",
      "| hung: webhook POST → hook's answer             |     50 |     68 |    204 |     11 |    204 |     57 |   20 |",
    ]);
    const verdict = targetVerdict(
      summary.alertToRouteMs,
      hung.runs.map((entry) => entry.alertToRouteMs),
      TARGET_P99_MS.hung,
      TARGET_TEXT.hung,
    );
    expect(verdict).toEqual({
      metTarget: hung.metTarget,
      runsOverTarget: hung.runsOverTarget,
      text: "p99 633 ms: under the 1000 ms target (p99 under 1 s with Prometheus hung); 0 run(s) at or over it",
    });
  });

  it("measures the triggers BENCH_TRIGGERS names in their fixed order, all three when unset", () => {
    expect(parseTriggers(undefined)).toEqual(["alert", "breach", "hung"]);
    expect(parseTriggers("hung,alert")).toEqual(["alert", "hung"]);
    expect(() => parseTriggers("hang")).toThrow(
      'BENCH_TRIGGERS: unknown trigger "hang" (known: alert, breach, hung)',
    );
  });

  it("calls a target missed when p99 reaches it, and says so when no run completed", () => {
    expect(targetVerdict(summarise([500, 1_000]), [500, 1_000], 1_000, "p99 under 1 s")).toEqual({
      metTarget: false,
      runsOverTarget: 1,
      text: "p99 1000 ms: OVER the 1000 ms target (p99 under 1 s); 1 run(s) at or over it",
    });
    expect(targetVerdict(summarise([]), [], 1_000, "p99 under 1 s")).toEqual({
      metTarget: false,
      runsOverTarget: 0,
      text: "no run completed",
    });
  });

  it("ends a run when the route sends nothing to the canary and something to stable", () => {
    const route = (backends: { name: string; weight?: number }[]): Route => ({
      spec: { rules: [{ backendRefs: backends }] },
    });
    const onStable = allOnStable("checkout");
    const cases: [{ name: string; weight?: number }[], boolean][] = [
      [
        [
          { name: "checkout", weight: 100 },
          { name: "checkout-canary", weight: 0 },
        ],
        true,
      ],
      [[{ name: "checkout" }], true],
      [
        [
          { name: "checkout", weight: 99 },
          { name: "checkout-canary", weight: 1 },
        ],
        false,
      ],
      [[{ name: "checkout", weight: 0 }], false],
    ];
    for (const [backends, expected] of cases) expect(onStable(route(backends))).toBe(expected);
  });
});
