// The breach trigger: a Release at its canary on clean traffic; once two analysis rounds
// passed on it, and after a random pause of up to one interval (so the breach falls
// anywhere between two rounds), the simulator makes the canary fail half its requests;
// timed from just after it answered until the route watch shows all traffic on stable.
import { sleep, waitUntil } from "../lib/wait.ts";
import { readRelease, startRelease, waitRolledBack } from "./release.ts";
import { allOnStable } from "./route-watch.ts";
import { ANALYSIS_INTERVAL_MS, BREACH_ERROR_RATIO, BREACH_MAX, CLEAN_ROUNDS } from "./settings.ts";
import type { RollbackStack } from "./stack.ts";

export interface BreachRun {
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

/** The first raw sample of the version's 5xx counter above 0 (ms since the epoch), from Prometheus. */
async function firstErrorSampleAt(bench: RollbackStack, version: string): Promise<number | undefined> {
  const selector = `http_requests_total{namespace="${bench.namespace}", service="${bench.service}", version="${version}", code="500"}[5m]`;
  const response = await fetch(`${bench.stack.info.prometheus.url}/api/v1/query`, {
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
}

export async function breachRun(bench: RollbackStack, run: number): Promise<BreachRun> {
  const { simulator } = bench;
  const name = `${bench.service}-breach-${run}`;
  const version = `2.1.${run}`;
  const canaryAt = await startRelease(bench, {
    name,
    version,
    run,
    analysis: {
      interval: `${ANALYSIS_INTERVAL_MS / 1000}s`,
      metrics: [
        { name: "error-rate", template: "http-error-ratio", max: BREACH_MAX, inconclusiveLimit: 100 },
      ],
    },
  });
  await waitUntil(
    `${name}: ${CLEAN_ROUNDS} analysis rounds passed on clean canary data`,
    async () => {
      const status = (await readRelease(bench, name)).status;
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
    stableAt = await bench.route.changed(allOnStable(bench.service), breachAt, 60_000);
  } finally {
    await simulator.client.configure({ canary: { errorRatio: 0 } });
  }
  const finished = await waitRolledBack(bench, name);
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
  const firstError = await firstErrorSampleAt(bench, version).catch(() => undefined);
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
}
