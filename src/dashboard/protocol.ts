// What the dashboard's server sends its page: plain JSON shapes, shared by the server
// (src/dashboard/views.ts builds them) and the page (src/dashboard/web). Type imports
// only, so the browser bundle takes these types and none of the server's code.
import type { DoraFigures } from "../record/dora.ts";

export type { DoraFigures };

export type StepState = "done" | "current" | "failed" | "pending" | "skipped";

export interface StepSummary {
  name: string;
  /** Percent of traffic on the new version; the bake step has none. */
  weight?: number;
  state: StepState;
  outcome?: string;
  reachedWeight?: number;
}

/** One row of the list page. */
export interface ReleaseSummary {
  /** "namespace/name". */
  key: string;
  namespace: string;
  name: string;
  target: string;
  version: string;
  /** The status phase, or "Unknown" before the controller wrote one. */
  phase: string;
  message?: string;
  steps: StepSummary[];
  /** The current stage's name, or "<none>". */
  stage: string;
  /** Percent of traffic on the new version now, as `glidepath list` says it ("10", "50→0", "<none>"). */
  weight: string;
  changeId: string;
  createdAt?: string;
  /** spec.control.paused: a person asked to hold it (the phase follows once the controller acts). */
  pauseRequested: boolean;
  /** Waiting for an approval that has not come. */
  awaitingApproval: boolean;
}

/** A stage of the timeline: what was planned and what happened. */
export interface TimelineStage {
  name: string;
  weight?: number;
  reachedWeight?: number;
  state: StepState;
  outcome?: string;
  /** The planned hold (the bake's duration for the bake step). */
  plannedMs?: number;
  enteredAt?: string;
  exitedAt?: string;
  /** exitedAt − enteredAt; for the running stage, until the page's clock. */
  actualMs?: number;
}

export interface ChartPoint {
  /** Milliseconds since the epoch. */
  at: number;
  /** null: no number (no data, an error, NaN). */
  value: number | null;
  verdict: "pass" | "fail" | "inconclusive" | "error";
  stage: string;
  reason: string;
}

/** One metric: its measurements (every stage the status keeps), its threshold and its counters. */
export interface MetricChart {
  metric: string;
  unit: string;
  /** "≤ 5%", "≥ 99.5%": as the CLI prints it. */
  thresholdText?: string;
  max?: number;
  min?: number;
  points: ChartPoint[];
  /** The running (or last) stage's counters, against the metric's limits. */
  counters: { pass: number; fail: number; inconclusive: number; error: number; consecutiveErrors: number };
  limits?: { failure: number; inconclusive: number; consecutiveErrors: number };
  /** The query as last sent to Prometheus. */
  query?: string;
}

export interface EventRow {
  type: string;
  reason: string;
  message: string;
  count: number;
  lastSeen?: string;
}

export interface ApprovalRow {
  by: string;
  at: string;
  comment?: string;
  /** true: the admission webhook's stamp verified; false: unverified (opens no gate); absent: not checked yet. */
  verified?: boolean;
  problem?: string;
}

/** Everything the release page shows. */
export interface ReleaseDetail {
  summary: ReleaseSummary;
  previousVersion?: string;
  traffic: string;
  /** The weight the release sets now, and what the router reported reaching. */
  weights: { set?: number; actual?: number };
  timeline: TimelineStage[];
  charts: MetricChart[];
  conditions: { type: string; status: string; reason: string; message: string; lastTransitionTime: string }[];
  events: EventRow[];
  /** Why the Events could not be read (e.g. RBAC), when they could not. */
  eventsProblem?: string;
  approvals: ApprovalRow[];
  requiresApproval: boolean;
  changeRequest: {
    id: string;
    type: string;
    title: string;
    why: string;
    risk: string;
    scope?: string;
    requestedBy: string;
    rollbackPlan?: string;
    successCriteria: string[];
    ticketUrl?: string;
  };
  rollback?: {
    trigger: string;
    reason: string;
    at: string;
    by?: string;
    metric?: string;
    value?: string;
    threshold?: string;
    restoredVersion?: string;
    completedAt?: string;
    verified?: boolean;
    verification?: string;
  };
  /** Who asked for what (pause, abort, promote) that the controller has on record. */
  people: string[];
  /** The CLI's and dashboard's own log of actions. */
  actions: { action: string; by: string; at: string; detail?: string }[];
  finished: boolean;
}

/** One release of a target on the history page, from its Release or, once that is gone, its ReleaseRecord. */
export interface HistoryRow {
  name: string;
  version: string;
  /** The status phase, or "Unknown" before the controller wrote one. */
  phase: string;
  /** How it ended, or where it is, in the words of `glidepath history`. */
  outcome: string;
  changeType: string;
  changeId: string;
  requestedBy: string;
  createdAt?: string;
  startedAt?: string;
  finishedAt?: string;
  /** finishedAt − startedAt, for a finished release. */
  durationMs?: number;
  /** Each approval as the controller verified it, and whether it counts for the gate. */
  approvals: { by: string; verified: boolean; counts: boolean }[];
  /** The Release still exists (its page can be opened); otherwise only its ReleaseRecord is left. */
  live: boolean;
  rollbackOf?: string;
  rolledBackBy?: string[];
}

/** Everything the history and DORA page of one target shows. */
export interface TargetHistory {
  namespace: string;
  target: string;
  /** The DORA window as asked for: "30d". */
  window: string;
  /** Newest first. */
  releases: HistoryRow[];
  /** The figures `glidepath dora TARGET --window …` gives; absent when the records could not be read. */
  dora?: DoraFigures;
  /** Why there are no figures (e.g. no right to list ReleaseRecords). */
  doraProblem?: string;
  /** Releases or records that did not parse, left out. */
  problems: string[];
}

/** The windows the history page offers for its DORA figures; `glidepath dora --window` takes any "Nd". */
export const DORA_WINDOWS = ["7d", "30d", "90d", "365d"] as const;

/** Server-sent events on /api/events. */
export type FeedEvent =
  | { type: "snapshot"; releases: ReleaseSummary[]; scope: string }
  | { type: "upsert"; release: ReleaseSummary }
  | { type: "delete"; key: string };

export const controlActions = ["approve", "pause", "resume", "promote", "abort", "rollback"] as const;
export type ControlAction = (typeof controlActions)[number];

/** The answer to an action: what the CLI would have printed, and how the API server took it. */
export interface ActionResult {
  ok: boolean;
  /** The CLI's exit code for the same command (docs/cli.md). */
  exitCode: number;
  /** "accepted", or who refused: Kubernetes RBAC, the admission webhook, or the release's state. */
  outcome: "accepted" | "rbac" | "webhook" | "conflict" | "not-found" | "failed";
  message: string;
}

/** The header that carries the page's session token on every API request. */
export const TOKEN_HEADER = "x-glidepath-token";
