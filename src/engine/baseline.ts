import {
  baselineWeight,
  comparedMetrics,
  MAX_BASELINE_SAMPLES,
  parseSampleValue,
  stageComparesWithBaseline,
  type ComparisonRecord,
  type Measurement,
  type Metric,
  type ReleaseStatus,
  type StageRecord,
} from "../api/index.ts";
import type { MetricAssessment } from "./assessment.ts";
import { clip, type DecisionContext } from "./context.ts";
import type { Action } from "./types.ts";
import { runsImages } from "./world.ts";
import { compareWithBaseline, roundTo, type ComparisonSettings } from "./mann-whitney.ts";

// The baseline comparison inside the engine: each round's canary and baseline values
// join the stage's samples in status (bounded, newest kept), the Mann-Whitney test
// (mann-whitney.ts) judges them, and the verdict joins the metric's threshold verdict.
// Pure; the samples live in status, so a restarted controller judges the same.

/** The running stage compares with the baseline: a canary stage at a weight the baseline can match. */
export function comparingStage(status: ReleaseStatus): boolean {
  const current = status.currentStage;
  return (
    status.bakeStartedAt === undefined && current !== undefined && stageComparesWithBaseline(current.weight)
  );
}

function settingsOf(metric: Metric): ComparisonSettings | undefined {
  const baseline = metric.compare?.baseline;
  if (!baseline) return undefined;
  return {
    worse: baseline.worse,
    confidence: baseline.confidence,
    effectSize: baseline.effectSize,
    minSamples: baseline.minSamples,
  };
}

/** A value that can be a sample: a finite number (no data, NaN and ±Inf are left out). */
function sampleOf(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = parseSampleValue(text);
  return value !== undefined && Number.isFinite(value) ? value : undefined;
}

function withNewest(samples: readonly number[], value: number | undefined): number[] {
  return value === undefined ? [...samples] : [...samples, value].slice(-MAX_BASELINE_SAMPLES);
}

/** The comparison record of one metric's samples, with the test's verdict on them. */
export function judgeSamples(
  metric: Metric,
  canary: readonly number[],
  baseline: readonly number[],
): ComparisonRecord {
  const settings = settingsOf(metric);
  if (!settings) throw new Error(`metric ${metric.name} is not compared with a baseline`);
  const comparison = compareWithBaseline(canary, baseline, settings);
  const result = comparison.result;
  return {
    metric: metric.name,
    canary: [...canary],
    baseline: [...baseline],
    verdict: comparison.verdict,
    ...(result === undefined
      ? {}
      : {
          u: result.u,
          p: roundTo(result.p, 6),
          effect: roundTo(result.effect, 6),
          shift: roundTo(result.shift, 6),
        }),
    reason: clip(comparison.reason, 1024),
  };
}

/**
 * Adds the fresh measurements' values (canary and baseline, each when it is a number) to
 * the stage's comparisons, in plan order, and judges them again.
 */
export function foldComparisons(
  status: ReleaseStatus,
  record: StageRecord,
  metrics: readonly Metric[],
  fresh: readonly Measurement[],
): void {
  if (!comparingStage(status)) return;
  const compared = comparedMetrics(metrics);
  if (compared.length === 0) return;
  const before = new Map((record.comparisons ?? []).map((comparison) => [comparison.metric, comparison]));
  record.comparisons = compared.map((metric) => {
    let canary = before.get(metric.name)?.canary ?? [];
    let baseline = before.get(metric.name)?.baseline ?? [];
    for (const measurement of fresh) {
      if (measurement.metric !== metric.name) continue;
      canary = withNewest(canary, sampleOf(measurement.value));
      baseline = withNewest(baseline, sampleOf(measurement.baselineValue));
    }
    return judgeSamples(metric, canary, baseline);
  });
}

/**
 * A compared metric's assessment: its thresholds' assessment first (a failure, a pause
 * or a wait stands), then the comparison's. It passes only when both do; too few samples
 * wait (they come with the next rounds).
 */
export function withComparison(
  metric: Metric,
  thresholds: MetricAssessment,
  status: ReleaseStatus,
  record: StageRecord | undefined,
): MetricAssessment {
  if (settingsOf(metric) === undefined || !comparingStage(status)) return thresholds;
  if (thresholds.state === "failed" || thresholds.state === "paused") return thresholds;
  const comparison = record?.comparisons?.find((candidate) => candidate.metric === metric.name);
  if (comparison?.verdict === "fail")
    return { state: "failed", reason: `${metric.name} compared with the baseline: ${comparison.reason}` };
  if (thresholds.state === "waiting") return thresholds;
  if (comparison?.verdict !== "pass") {
    return {
      state: "waiting",
      reason: `${metric.name}: ${comparison?.reason ?? "not compared with the baseline yet"}`,
    };
  }
  return thresholds;
}

/** The rollback's threshold text for a metric the comparison failed. */
export function comparisonThresholdText(metric: Metric): string {
  const settings = settingsOf(metric);
  if (!settings) return "";
  return `not ${settings.worse === "either" ? "different from" : `${settings.worse} than`} the baseline (p < ${roundTo(1 - settings.confidence, 3)}, effect ≥ ${settings.effectSize})`;
}

// ---- the baseline workload and its share of traffic (desired state, as converge.ts) ----

/** A metric of the plan compares with the baseline, so the release runs one. */
export function usesBaseline(ctx: DecisionContext): boolean {
  return comparedMetrics(ctx.plan.metrics).length > 0;
}

/**
 * The baseline's share at this canary weight: the canary's in a stage that compares, once
 * the baseline is Ready (it is never sent traffic it cannot serve); otherwise none.
 */
export function desiredBaselineWeight(ctx: DecisionContext, canaryWeight: number): number {
  if (!usesBaseline(ctx) || !comparingStage(ctx.status) || ctx.status.phase === "RollingBack") return 0;
  const baseline = ctx.observations.baseline;
  const previous = ctx.status.previous;
  if (!baseline?.ready || !previous || !runsImages(baseline, previous.images)) return 0;
  return baselineWeight(canaryWeight);
}

/** The router holds the baseline's share (none: no baseline backendRef). */
export function baselineHolds(ctx: DecisionContext, weight: number): boolean {
  return (ctx.observations.traffic.baselineWeight ?? 0) === weight;
}

/**
 * The baseline Deployment as the status wants it: while the canary stages compare, the
 * stable version with as many replicas as the canary; afterwards (a stage above the
 * baseline's reach, GA, the bake, a rollback) scaled to zero once the router sends it
 * nothing. Returns whether it is as wanted.
 */
export function convergeBaseline(
  ctx: DecisionContext,
  wanted: { replicas: number } | undefined,
  actions: Action[],
): boolean {
  if (!usesBaseline(ctx)) return true;
  const baseline = ctx.observations.baseline;
  const previous = ctx.status.previous;
  if (wanted && previous) {
    const asWanted =
      baseline !== undefined &&
      runsImages(baseline, previous.images) &&
      baseline.desiredReplicas === wanted.replicas;
    if (!asWanted) {
      actions.push({
        type: "ensureBaseline",
        images: previous.images,
        ...(previous.version === undefined ? {} : { version: previous.version }),
        replicas: wanted.replicas,
      });
      return false;
    }
    // Not Ready yet: the stages go on, the baseline gets its share once it is.
    return true;
  }
  const scaledDown = baseline === undefined || !baseline.exists || baseline.desiredReplicas === 0;
  if (scaledDown) return true;
  if (baselineHolds(ctx, 0)) actions.push({ type: "scaleBaseline", replicas: 0 });
  return false;
}

/** What a rollback or the end of a bake still waits for on the baseline's side (nothing without one). */
export function baselineOutstanding(ctx: DecisionContext): string[] {
  if (!usesBaseline(ctx)) return [];
  const outstanding: string[] = [];
  const share = ctx.observations.traffic.baselineWeight ?? 0;
  if (share !== 0) outstanding.push(`the router to take the baseline's ${share}% back to stable`);
  const baseline = ctx.observations.baseline;
  if (baseline?.exists === true && baseline.desiredReplicas > 0)
    outstanding.push(`the baseline to scale to 0 (${baseline.desiredReplicas} replicas)`);
  return outstanding;
}
