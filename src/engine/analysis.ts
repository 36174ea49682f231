import { addMeasurement, assessMetric, emptyTally, thresholdText } from "./assessment.ts";
import { comparisonThresholdText, foldComparisons, withComparison } from "./baseline.ts";
import {
  metricUnit,
  STATUS_LIMITS,
  type Measurement,
  type Metric,
  type MetricTally,
  type MetricUnit,
  type ReleaseStatus,
} from "../api/index.ts";
import { clip, toTimestamp, type DecisionContext } from "./context.ts";
import { currentStageRecord } from "./record.ts";
import type { Action } from "./types.ts";

// Analysis inside the engine: fold new measurements into the running stage's
// record, judge the stage with the per-metric policy (src/engine/assessment.ts),
// and ask for the next round when it is due.

/** currentStage.lastAnalysisAt is the watermark: later measurements are new, the rest were counted. */
function watermarkMs(ctx: DecisionContext): number | undefined {
  const current = ctx.status.currentStage;
  if (!current) return undefined;
  return Date.parse(current.lastAnalysisAt ?? current.startedAt);
}

export function foldMeasurements(ctx: DecisionContext): void {
  const current = ctx.status.currentStage;
  const record = currentStageRecord(ctx.status);
  const watermark = watermarkMs(ctx);
  if (!current || !record || watermark === undefined) return;
  const metricNames = new Set(ctx.plan.metrics.map((metric) => metric.name));
  const fresh = ctx.observations.measurements
    .filter((measurement) => metricNames.has(measurement.metric) && Date.parse(measurement.at) > watermark)
    .map(withinSchemaLimits)
    .sort((a, b) => Date.parse(a.at) - Date.parse(b.at) || a.metric.localeCompare(b.metric));
  if (fresh.length === 0) return;

  const queries = ctx.observations.queries ?? {};
  const units = new Map(ctx.plan.metrics.map((metric) => [metric.name, metricUnit(metric)]));
  const tallies = new Map<string, MetricTally>(record.tallies.map((tally) => [tally.metric, tally]));
  for (const measurement of fresh) {
    const query = queries[measurement.metric];
    const tally =
      tallies.get(measurement.metric) ??
      emptyTally(measurement.metric, units.get(measurement.metric) ?? "none");
    tallies.set(
      measurement.metric,
      addMeasurement(tally, measurement, query === undefined ? undefined : clip(query, 8192)),
    );
  }
  // Plan order, so the same measurements always give the same status.
  record.tallies = ctx.plan.metrics.flatMap((metric) => tallies.get(metric.name) ?? []);
  record.measurements = [...record.measurements, ...fresh].slice(-STATUS_LIMITS.measurementsPerStage);
  foldComparisons(ctx.status, record, ctx.plan.metrics, fresh);
  const newestMs = Math.max(...fresh.map((measurement) => Date.parse(measurement.at)));
  current.lastAnalysisAt = toTimestamp(newestMs);
}

function withinSchemaLimits(measurement: Measurement): Measurement {
  return {
    ...measurement,
    reason: clip(measurement.reason, 1024),
    ...(measurement.value === undefined ? {} : { value: clip(measurement.value, 64) }),
  };
}

export interface StageVerdict {
  /** A metric beyond its limits: roll back. */
  failed?: {
    metric: Metric;
    reason: string;
    tally: MetricTally | undefined;
    /** The comparison with the baseline failed it, not a threshold. */
    byComparison?: boolean;
  };
  /** Too little data and the metric says pause: hold for a person. */
  paused?: string;
  /** Every metric passing with enough passes (vacuously true without metrics). */
  passing: boolean;
  /** "error-rate 2/3 passing, latency waiting (…)" for the status message. */
  summary: string;
}

export function judgeStage(ctx: DecisionContext, minMeasurements: number): StageVerdict {
  const record = currentStageRecord(ctx.status);
  const verdict: StageVerdict = { passing: true, summary: "" };
  const parts: string[] = [];
  for (const metric of ctx.plan.metrics) {
    const tally = record?.tallies.find((candidate) => candidate.metric === metric.name);
    const thresholds = assessMetric(metric, tally);
    const assessment = withComparison(metric, thresholds, ctx.status, record);
    switch (assessment.state) {
      case "failed":
        verdict.failed ??= {
          metric,
          reason: assessment.reason,
          tally,
          ...(thresholds.state === "failed" ? {} : { byComparison: true }),
        };
        verdict.passing = false;
        parts.push(`${metric.name} failed`);
        break;
      case "paused":
        verdict.paused ??= assessment.reason;
        verdict.passing = false;
        parts.push(`${metric.name} paused`);
        break;
      case "waiting":
        verdict.passing = false;
        parts.push(assessment.reason);
        break;
      case "passing":
        if (assessment.passes < minMeasurements) verdict.passing = false;
        parts.push(
          `${metric.name} ${Math.min(assessment.passes, minMeasurements)}/${minMeasurements} passing`,
        );
        break;
    }
  }
  verdict.summary = parts.length === 0 ? "no metrics to analyse" : parts.join(", ");
  return verdict;
}

/** Passing rounds a stage needs: its own minMeasurements, or 1 when there are metrics. */
export function minMeasurementsFor(ctx: DecisionContext, stageMinMeasurements: number | undefined): number {
  if (ctx.plan.metrics.length === 0) return 0;
  return stageMinMeasurements ?? 1;
}

export function metricEvidence(failed: NonNullable<StageVerdict["failed"]>): {
  metric: string;
  value?: string;
  unit: MetricUnit;
  threshold: string;
} {
  return {
    metric: failed.metric.name,
    ...(failed.tally?.lastValue === undefined ? {} : { value: failed.tally.lastValue }),
    unit: metricUnit(failed.metric),
    threshold: clip(
      failed.byComparison === true ? comparisonThresholdText(failed.metric) : thresholdText(failed.metric),
      128,
    ),
  };
}

// ---- scheduling rounds ----

/**
 * The stage a status analyses, if any: analysis keeps running while a person holds the
 * release or is asked to approve. A stage is known by its index and when it was entered
 * (a stage left and entered again is another one); the bake analyses stable. A round's
 * measurements count only for the stage it was asked for.
 */
export interface AnalysedStage {
  index: number;
  startedAt: string;
  subject: "canary" | "stable";
}

export function analysedStageOf(status: ReleaseStatus | undefined): AnalysedStage | undefined {
  const phase = status?.phase;
  const running =
    phase === "Progressing" || phase === "Paused" || phase === "AwaitingApproval" || phase === "Baking";
  const current = status?.currentStage;
  if (!running || !current) return undefined;
  return {
    index: current.index,
    startedAt: current.startedAt,
    subject: status.bakeStartedAt === undefined ? "canary" : "stable",
  };
}

export function isSameStage(a: AnalysedStage | undefined, b: AnalysedStage | undefined): boolean {
  return (
    a !== undefined &&
    b !== undefined &&
    a.index === b.index &&
    Date.parse(a.startedAt) === Date.parse(b.startedAt) &&
    a.subject === b.subject
  );
}

function analysing(ctx: DecisionContext): boolean {
  return analysedStageOf(ctx.status) !== undefined && ctx.plan.metrics.length > 0;
}

export function nextAnalysisAtMs(ctx: DecisionContext): number | undefined {
  const watermark = watermarkMs(ctx);
  if (!analysing(ctx) || watermark === undefined) return undefined;
  return watermark + ctx.plan.analysisIntervalMs;
}

/**
 * Asks for a round when one is due and moves the watermark, so a repeated call asks
 * nothing. Not while a round of this stage is still running: its measurements come with
 * a later reconcile, and the watermark stays where they count.
 */
export function requestAnalysisIfDue(ctx: DecisionContext): Action | undefined {
  const due = nextAnalysisAtMs(ctx);
  const current = ctx.status.currentStage;
  if (due === undefined || !current || due > ctx.nowMs) return undefined;
  if (isSameStage(ctx.observations.analysisInFlight, analysedStageOf(ctx.status))) return undefined;
  current.lastAnalysisAt = ctx.now;
  return { type: "runAnalysis", subject: ctx.status.bakeStartedAt === undefined ? "canary" : "stable" };
}
