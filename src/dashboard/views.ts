// The dashboard's view models: a Release (and its plan) in, the JSON the page shows out.
// Pure, built on the CLI's own views (stage steps, traffic columns, metric thresholds),
// so the page and `glidepath status` never disagree.
import type { CoreV1Event } from "@kubernetes/client-node";
import {
  BAKE_STAGE_NAME,
  metricUnit,
  parseDuration,
  terminalPhases,
  type Metric,
  type Release,
  type Stage,
} from "../api/index.ts";
import { thresholdText } from "../engine/index.ts";
import { recordedActions } from "../cli/audit.ts";
import { peopleLines, stageSteps, trafficLine } from "../cli/status-view.ts";
import { trafficColumns, type HistoryEntry } from "../cli/views.ts";
import type { DoraFigures } from "../record/dora.ts";
import type {
  ChartPoint,
  EventRow,
  HistoryRow,
  MetricChart,
  ReleaseDetail,
  ReleaseSummary,
  TargetHistory,
  TimelineStage,
} from "./protocol.ts";

/** What the plan says beyond the Release itself: stage holds, the bake, the metrics' limits. */
export interface DetailPlan {
  stages?: readonly Stage[];
  bakeMs?: number;
  metrics?: readonly Metric[];
}

export function releaseKey(release: Release): string {
  return `${release.metadata.namespace ?? ""}/${release.metadata.name}`;
}

export function releaseSummary(release: Release, planned?: readonly Stage[]): ReleaseSummary {
  const status = release.status;
  const traffic = trafficColumns(release, false);
  return {
    key: releaseKey(release),
    namespace: release.metadata.namespace ?? "",
    name: release.metadata.name,
    target: release.spec.target.deployment,
    version: release.spec.version,
    phase: status?.phase ?? "Unknown",
    ...(status?.message === undefined ? {} : { message: status.message }),
    steps: stageSteps(release, planned),
    stage: traffic.stage,
    weight: traffic.weight,
    changeId: release.spec.changeRequest.id,
    ...(release.metadata.creationTimestamp ? { createdAt: release.metadata.creationTimestamp } : {}),
    pauseRequested: release.spec.control?.paused === true,
    awaitingApproval: status?.phase === "AwaitingApproval",
  };
}

/** The stage timeline: each planned stage (then the bake) with its planned hold and how long it took. */
export function timeline(release: Release, plan: DetailPlan, nowMs: number): TimelineStage[] {
  const planned = release.spec.stages ?? plan.stages;
  const records = release.status?.stages ?? [];
  return stageSteps(release, planned).map((step) => {
    const record = records.find((candidate) => candidate.name === step.name);
    const stage = planned?.find((candidate) => candidate.name === step.name);
    const plannedMs =
      step.name === BAKE_STAGE_NAME
        ? (plan.bakeMs ?? (release.spec.bake ? parseDuration(release.spec.bake) : undefined))
        : stage?.hold === undefined
          ? undefined
          : parseDuration(stage.hold);
    const entered = record ? Date.parse(record.enteredAt) : Number.NaN;
    const exited = record?.exitedAt
      ? Date.parse(record.exitedAt)
      : step.state === "current"
        ? nowMs
        : Number.NaN;
    const actualMs =
      Number.isNaN(entered) || Number.isNaN(exited) ? undefined : Math.max(0, exited - entered);
    return {
      name: step.name,
      ...(step.weight === undefined ? {} : { weight: step.weight }),
      ...(step.reachedWeight === undefined ? {} : { reachedWeight: step.reachedWeight }),
      state: step.state,
      ...(step.outcome === undefined ? {} : { outcome: step.outcome }),
      ...(plannedMs === undefined ? {} : { plannedMs }),
      ...(record ? { enteredAt: record.enteredAt } : {}),
      ...(record?.exitedAt ? { exitedAt: record.exitedAt } : {}),
      ...(actualMs === undefined ? {} : { actualMs }),
    };
  });
}

/** "0.08" → 0.08; "NaN", "+Inf" or nothing → null (a gap in the chart). */
function chartValue(text: string | undefined): number | null {
  if (text === undefined) return null;
  const value = Number(text);
  return Number.isFinite(value) ? value : null;
}

/**
 * One chart per metric: every measurement the status keeps (the newest of each stage),
 * oldest first, the threshold, and the running stage's counters against the limits.
 */
export function metricCharts(release: Release, metrics: readonly Metric[] = []): MetricChart[] {
  const status = release.status;
  const records = status?.stages ?? [];
  const current = status?.currentStage;
  const counting = (current && records.find((record) => record.name === current.name)) ?? records.at(-1);
  const definitions = metrics.length > 0 ? metrics : (release.spec.analysis?.metrics ?? []);
  const names = [
    ...new Set([
      ...definitions.map((metric) => metric.name),
      ...records.flatMap((record) => [
        ...record.tallies.map((tally) => tally.metric),
        ...record.measurements.map((measurement) => measurement.metric),
      ]),
    ]),
  ];
  return names.map((name) => {
    const definition = definitions.find((metric) => metric.name === name);
    const points: ChartPoint[] = records
      .flatMap((record) =>
        record.measurements
          .filter((measurement) => measurement.metric === name)
          .map((measurement) => ({
            at: Date.parse(measurement.at),
            value: chartValue(measurement.value),
            verdict: measurement.verdict,
            stage: record.name,
            reason: measurement.reason,
          })),
      )
      .filter((point) => !Number.isNaN(point.at))
      .sort((a, b) => a.at - b.at);
    const tally = counting?.tallies.find((candidate) => candidate.metric === name);
    const query = [...records]
      .reverse()
      .find((record) => record.tallies.some((t) => t.metric === name && t.query))
      ?.tallies.find((t) => t.metric === name)?.query;
    const unit = tally?.unit ?? (definition ? metricUnit(definition) : "none");
    return {
      metric: name,
      unit,
      ...(definition ? { thresholdText: thresholdText(definition) } : {}),
      ...(definition?.max === undefined ? {} : { max: definition.max }),
      ...(definition?.min === undefined ? {} : { min: definition.min }),
      points,
      counters: {
        pass: tally?.pass ?? 0,
        fail: tally?.fail ?? 0,
        inconclusive: tally?.inconclusive ?? 0,
        error: tally?.error ?? 0,
        consecutiveErrors: tally?.consecutiveErrors ?? 0,
      },
      ...(definition
        ? {
            limits: {
              failure: definition.failureLimit,
              inconclusive: definition.inconclusiveLimit,
              consecutiveErrors: definition.consecutiveErrorLimit,
            },
          }
        : {}),
      ...(query === undefined ? {} : { query }),
    };
  });
}

/** Kubernetes Events about the Release, newest first. */
export function eventRows(events: readonly CoreV1Event[]): EventRow[] {
  const seen = (event: CoreV1Event) =>
    event.lastTimestamp ?? event.eventTime ?? event.firstTimestamp ?? event.metadata?.creationTimestamp;
  const iso = (value: Date | string | undefined) =>
    value === undefined ? undefined : value instanceof Date ? value.toISOString() : String(value);
  return events
    .map((event) => {
      const lastSeen = iso(seen(event) as Date | string | undefined);
      return {
        type: event.type ?? "Normal",
        reason: event.reason ?? "",
        message: event.message ?? "",
        count: event.count ?? 1,
        ...(lastSeen === undefined ? {} : { lastSeen }),
      };
    })
    .sort((a, b) => (b.lastSeen ?? "").localeCompare(a.lastSeen ?? ""));
}

export function releaseDetail(
  release: Release,
  plan: DetailPlan,
  events: { rows: EventRow[] } | { problem: string },
  nowMs: number,
): ReleaseDetail {
  const status = release.status;
  const cr = release.spec.changeRequest;
  const current = status?.currentStage;
  const record = current && status?.stages.find((candidate) => candidate.name === current.name);
  const approvals: { by: string; at: string; comment?: string; verified?: boolean; problem?: string }[] =
    status?.approvals.length ? status.approvals : (release.spec.control?.approvals ?? []);
  const rollback = status?.rollback;
  const planned = release.spec.stages ?? plan.stages;
  return {
    summary: releaseSummary(release, planned),
    ...(status?.previous?.version === undefined ? {} : { previousVersion: status.previous.version }),
    traffic: trafficLine(release),
    weights: {
      ...(current ? { set: current.weight } : {}),
      ...(record?.reachedWeight === undefined ? {} : { actual: record.reachedWeight }),
    },
    timeline: timeline(release, plan, nowMs),
    charts: metricCharts(release, plan.metrics),
    conditions: (status?.conditions ?? []).map(
      ({ type, status: value, reason, message, lastTransitionTime }) => ({
        type,
        status: value,
        reason,
        message,
        lastTransitionTime,
      }),
    ),
    ...("rows" in events ? { events: events.rows } : { events: [], eventsProblem: events.problem }),
    approvals: approvals.map((approval) => ({
      by: approval.by,
      at: approval.at,
      ...(approval.comment ? { comment: approval.comment } : {}),
      ...(approval.verified === undefined ? {} : { verified: approval.verified }),
      ...(approval.problem ? { problem: approval.problem } : {}),
    })),
    requiresApproval: cr.requiresApproval,
    changeRequest: {
      id: cr.id,
      type: cr.type,
      title: cr.title,
      why: cr.why,
      risk: cr.risk,
      ...(cr.scope ? { scope: cr.scope } : {}),
      requestedBy: cr.requestedBy,
      ...(cr.rollbackPlan ? { rollbackPlan: cr.rollbackPlan } : {}),
      successCriteria: cr.successCriteria,
      ...(cr.ticketUrl ? { ticketUrl: cr.ticketUrl } : {}),
    },
    ...(rollback
      ? {
          rollback: {
            trigger: rollback.trigger,
            reason: rollback.reason,
            at: rollback.at,
            ...(rollback.by ? { by: rollback.by } : {}),
            ...(rollback.metric ? { metric: rollback.metric } : {}),
            ...(rollback.value ? { value: rollback.value } : {}),
            ...(rollback.threshold ? { threshold: rollback.threshold } : {}),
            ...(rollback.restored?.version ? { restoredVersion: rollback.restored.version } : {}),
            ...(rollback.completedAt ? { completedAt: rollback.completedAt } : {}),
            ...(rollback.verified === undefined ? {} : { verified: rollback.verified }),
            ...(rollback.verification ? { verification: rollback.verification } : {}),
          },
        }
      : {}),
    people: peopleLines(release),
    actions: recordedActions(release),
    finished: status?.phase !== undefined && terminalPhases.includes(status.phase),
  };
}

/**
 * The history and DORA page of one target: `glidepath history`'s entries (Releases and the
 * records of the ones that are gone), marked live where the Release still exists, and
 * the DORA figures as `glidepath dora` computed them.
 */
export function targetHistory(input: {
  namespace: string;
  target: string;
  window: string;
  entries: readonly HistoryEntry[];
  /** Names of the Releases that still exist. */
  liveNames: ReadonlySet<string>;
  dora: { figures: DoraFigures } | { problem: string };
  problems: string[];
}): TargetHistory {
  const releases: HistoryRow[] = input.entries.map((entry) => {
    const started = entry.startedAt ? Date.parse(entry.startedAt) : Number.NaN;
    const finished = entry.finishedAt ? Date.parse(entry.finishedAt) : Number.NaN;
    const durationMs = finished >= started ? finished - started : undefined;
    return {
      name: entry.name,
      version: entry.version,
      phase: entry.phase,
      outcome: entry.outcome,
      changeType: entry.changeType,
      changeId: entry.change,
      requestedBy: entry.requestedBy,
      ...(entry.created ? { createdAt: entry.created } : {}),
      ...(entry.startedAt ? { startedAt: entry.startedAt } : {}),
      ...(entry.finishedAt ? { finishedAt: entry.finishedAt } : {}),
      ...(durationMs === undefined ? {} : { durationMs }),
      approvals: entry.approvals,
      live: input.liveNames.has(entry.name),
      ...(entry.rollbackOf ? { rollbackOf: entry.rollbackOf } : {}),
      ...(entry.rolledBackBy ? { rolledBackBy: entry.rolledBackBy } : {}),
    };
  });
  return {
    namespace: input.namespace,
    target: input.target,
    window: input.window,
    releases,
    ...("figures" in input.dora ? { dora: input.dora.figures } : { doraProblem: input.dora.problem }),
    problems: input.problems,
  };
}
