// The rollback-latency benchmark's fixed settings and targets, and the ones the
// environment sets (BENCH_TRIGGERS, BENCH_RUNS, BENCH_MIN_RATE_WINDOW: bench/README.md).

export const TRIGGERS = ["alert", "breach", "hung"] as const;
export type Trigger = (typeof TRIGGERS)[number];

/** The service every run releases, in its own namespace. */
export const NAMESPACE = "bench-rollback";
export const SERVICE = "checkout";

export const ANALYSIS_INTERVAL_MS = 5_000;
/** The hung trigger: analysis every 2 s, Prometheus stopped this long before the alert. */
export const HUNG_ANALYSIS_INTERVAL_MS = 2_000;
export const HUNG_BEFORE_ALERT_MS = 3_000;
/** The harness Prometheus scrapes every second (test/harness/prometheus.ts). */
export const SCRAPE_INTERVAL_MS = 1_000;
export const REQUESTS_PER_SECOND = 400;
export const BREACH_ERROR_RATIO = 0.5;
export const BREACH_MAX = 0.05;
/** Analysis rounds that must have passed on clean canary data before the breach. */
export const CLEAN_ROUNDS = 2;

export const TARGET_P99_MS: Record<Trigger, number> = {
  alert: 1_000,
  breach: ANALYSIS_INTERVAL_MS + SCRAPE_INTERVAL_MS + 1_000,
  hung: 1_000,
};
export const TARGET_TEXT: Record<Trigger, string> = {
  alert: "p99 under 1 s",
  breach: "p99 under one analysis interval (5 s) + one scrape interval (1 s) + 1 s = 7 s",
  hung: "p99 under 1 s with Prometheus hung",
};

const DEFAULT_RUNS: Record<Trigger, number> = { alert: 30, breach: 20, hung: 20 };
export const RUNS: Record<Trigger, number> = {
  alert: Number(process.env.BENCH_RUNS ?? DEFAULT_RUNS.alert),
  breach: Number(process.env.BENCH_RUNS ?? DEFAULT_RUNS.breach),
  hung: Number(process.env.BENCH_RUNS ?? DEFAULT_RUNS.hung),
};
/** The controller's prometheus.minimumRateWindow; unset = its default (1m). */
export const MIN_RATE_WINDOW = process.env.BENCH_MIN_RATE_WINDOW;

/** BENCH_TRIGGERS ("alert,breach,hung"): the triggers to measure, in their fixed order; unset = all. */
export function parseTriggers(text: string | undefined): Trigger[] {
  if (text === undefined || text.trim() === "") return [...TRIGGERS];
  const names = text.split(",").map((name) => name.trim());
  for (const name of names) {
    if (!(TRIGGERS as readonly string[]).includes(name))
      throw new Error(`BENCH_TRIGGERS: unknown trigger "${name}" (known: ${TRIGGERS.join(", ")})`);
  }
  return TRIGGERS.filter((trigger) => names.includes(trigger));
}
