// Over 400 lines on purpose: one screen's view model and its text rendering, which share the stage bar, traffic and measurement rows; the dashboard builds on the same model.
// `glidepath status`: what a person watching a release wants on one screen — where it
// is on the stage bar, where the traffic goes, what the newest measurements say
// against their thresholds, the conditions. Pure: a Release (and its plan, when the
// strategy file is at hand) in, a view model out; text rendering takes the clock.
import {
  BAKE_STAGE_NAME,
  BLUE_GREEN_STAGES,
  blueGreenStages,
  describeBlueGreen,
  describeRouting,
  formatMetricValue,
  metricUnit,
  parseDuration,
  stageRoutingOf,
  terminalPhases,
  type Condition,
  type Measurement,
  type Metric,
  type MetricUnit,
  type Release,
  type ReleasePhase,
  type Stage,
  type StageRecord,
  type TargetKind,
  type StageRouting,
  type Verdict,
} from "../api/index.ts";
import { thresholdText } from "../engine/index.ts";
import type { LaterRollback } from "../record/change-record.ts";
import { recordedActions, type CliAction } from "./audit.ts";
import { age, humanDuration, renderTable } from "./table.ts";

export type StepState = "done" | "current" | "failed" | "pending" | "skipped";

export interface StageStep {
  name: string;
  /** Percent of traffic on the new version; the bake step has none. */
  weight?: number;
  state: StepState;
  /** The stage record's outcome, once the stage was left. */
  outcome?: string;
  /** What the router actually reached, when it differs from the weight. */
  reachedWeight?: number;
  /** A StatefulSet target's update partition at that stage (docs/statefulsets.md). */
  partition?: number;
  /** A routing stage's match or mirror (docs/routing-stages.md): "only x-internal: true", "mirror 20%". */
  routing?: string;
}

export interface MetricRow {
  metric: string;
  /** As Prometheus returned it (JSON output keeps it exact); `unit` says how to show it. */
  value?: string;
  unit: MetricUnit;
  verdict?: Verdict;
  threshold?: string;
  pass: number;
  fail: number;
  inconclusive: number;
  error: number;
  measuredAt?: string;
  /** Why the newest measurement was not a pass. */
  note?: string;
}

export interface StatusView {
  namespace?: string;
  name: string;
  target: string;
  /** Set when the Release names it (a StatefulSet target). */
  targetKind?: TargetKind;
  version: string;
  previousVersion?: string;
  phase: ReleasePhase | "Unknown";
  message?: string;
  change: { id: string; type: string; risk: string; title: string; requestedBy: string };
  stage?: { index: number; name: string; weight: number; startedAt: string; hold?: string };
  /** A blue/green release: its shape in one line (docs/blue-green.md). */
  shape?: string;
  steps: StageStep[];
  bar: string;
  /** Where requests go: one line. */
  traffic: string;
  /** What sizes the canary (status.canaryScale: docs/autoscaling.md). */
  canaryScale?: string;
  metrics: MetricRow[];
  /** Metrics compared with the baseline in the running (or last) stage: one line each (docs/baseline.md). */
  comparisons?: string[];
  conditions: Condition[];
  people: string[];
  rollback?: NonNullable<Release["status"]>["rollback"];
  /** Later Releases that roll this one back (its own status still says Succeeded). */
  rolledBackLater?: LaterRollback[];
  waitingFor?: string;
  actions: CliAction[];
}

export interface PlanHints {
  /** The resolved stages (inline, or the preset's), when known. */
  stages?: readonly Stage[];
  /** The metrics analysed, for thresholds, when known. */
  metrics?: readonly Metric[];
}

const FAILED_OUTCOMES = new Set(["failed", "aborted", "rolledBack"]);

/** The steps of the stage bar: the planned stages, then the bake. */
export function stageSteps(
  release: Release,
  planned?: readonly (Pick<Stage, "name" | "weight"> & Partial<Pick<Stage, "match" | "mirror">>)[],
): StageStep[] {
  const status = release.status;
  const records = status?.stages ?? [];
  const recordedStages = records.filter((record) => record.name !== BAKE_STAGE_NAME);
  const plan = (release.spec.stages ?? planned ?? []).map(({ name, weight, match, mirror }) => ({
    name,
    weight,
    ...(match ? { match } : {}),
    ...(mirror ? { mirror } : {}),
  }));
  const planCoversRecords = recordedStages.every((record) =>
    plan.some((stage) => stage.name === record.name),
  );
  const stages =
    plan.length > 0 && planCoversRecords
      ? plan
      : recordedStages.map(({ name, weight, match, mirror }) => ({
          name,
          weight,
          ...(match ? { match } : {}),
          ...(mirror ? { mirror } : {}),
        }));
  const phase = status?.phase;
  const finished = phase !== undefined && terminalPhases.includes(phase);

  const stepOf = (name: string, weight: number | undefined, routing?: StageRouting): StageStep => {
    const record = records.find((candidate) => candidate.name === name);
    const routed = describeRouting(routing);
    const base = {
      name,
      ...(weight === undefined ? {} : { weight }),
      ...(routed ? { routing: routed } : {}),
    };
    if (!record) return { ...base, state: finished || phase === "RollingBack" ? "skipped" : "pending" };
    const reached =
      record.reachedWeight !== undefined && record.reachedWeight !== record.weight && name !== BAKE_STAGE_NAME
        ? { reachedWeight: record.reachedWeight }
        : {};
    if (record.partition !== undefined) Object.assign(reached, { partition: record.partition });
    if (record.outcome) {
      return {
        ...base,
        ...reached,
        state: FAILED_OUTCOMES.has(record.outcome) ? "failed" : "done",
        outcome: record.outcome,
      };
    }
    return { ...base, ...reached, state: finished ? "skipped" : "current" };
  };
  return [
    ...stages.map((stage) => stepOf(stage.name, stage.weight, stageRoutingOf(stage))),
    stepOf(BAKE_STAGE_NAME, undefined),
  ];
}

const STEP_MARK: Record<StepState, string> = {
  done: "✔",
  current: "▶",
  failed: "✘",
  pending: "○",
  skipped: "·",
};

/**
 * "✔ 1% → ✔ 10% → ▶ 50% → ○ 100% → ○ bake"; by name ("✔ preview → ▶ switch → …") where weights
 * repeat; a routing stage shows as "match" or "mirror 20%", a StatefulSet's stage with its partition.
 */
export function stageBar(steps: readonly StageStep[], byName = false): string {
  const label = (step: StageStep) =>
    step.routing !== undefined
      ? step.routing.startsWith("only ")
        ? "match"
        : step.routing
      : step.weight === undefined || byName
        ? step.name
        : `${step.weight}%`;
  return steps
    .map(
      (step) =>
        `${STEP_MARK[step.state]} ${label(step)}` +
        (step.partition === undefined ? "" : ` (partition ${step.partition})`),
    )
    .join(" → ");
}

/** Where the requests go, from the phase and the current stage, and any later rollback of it. */
export function trafficLine(release: Release, rolledBackLater: readonly LaterRollback[] = []): string {
  const status = release.status;
  const later = rolledBackLater.at(-1);
  if (later && status?.phase === "Succeeded") {
    return later.phase === "Succeeded"
      ? `stable 100% on ${later.restores} (this release was rolled back later by ${later.release})`
      : `being rolled back to ${later.restores} by release ${later.release} (${later.phase})`;
  }
  const version = release.spec.version;
  const previous = status?.previous?.version ?? "the previous version";
  const stage = status?.currentStage;
  switch (status?.phase) {
    case undefined:
    case "Pending":
    case "WaitingForWindow":
      return `stable 100% (${previous === "the previous version" ? "unchanged" : previous}); not started`;
    case "Succeeded":
      return `stable 100% on ${version}`;
    case "RolledBack":
      return `stable 100% on ${status.rollback?.restored?.version ?? previous} (rolled back)`;
    case "Failed":
      return status.startedAt === undefined
        ? "stable 100%; nothing was changed"
        : `unknown: the release failed (${status.rollback?.verification ?? "see the message"})`;
    case "RollingBack":
      return `moving all traffic back to stable on ${previous}`;
    default:
      break;
  }
  if (!stage)
    return `stable 100% on ${previous}; starting the ${release.spec.blueGreen ? "preview" : "canary"}`;
  if (status.bakeStartedAt !== undefined) return `stable 100% on ${version} (promoted; baking)`;
  if (release.spec.blueGreen && stage.name === BLUE_GREEN_STAGES.preview)
    return `stable 100% on ${previous} · preview on ${version} at full size, no user traffic`;
  if (release.spec.blueGreen && stage.name === BLUE_GREEN_STAGES.switch)
    return `switched: 100% on ${version} (preview) · stable kept on ${previous} for a one-write rollback`;
  const stageRecord = status.stages.find((record) => record.name === stage.name);
  if (stageRecord?.match)
    return `stable on ${previous} · canary on ${version} for requests with ${describeRouting({ match: stageRecord.match })?.replace(/^only /, "")}`;
  if (stageRecord?.mirror) {
    return `stable 100% on ${previous} · ${stageRecord.mirror.percent}% of requests mirrored to the canary on ${version} (its answers dropped)`;
  }
  const reached = stageRecord?.reachedWeight;
  const canary = `canary ${stage.weight}% on ${version}`;
  const note = reached !== undefined && reached !== stage.weight ? ` (router reached ${reached}%)` : "";
  if (stage.weight >= 100) return `${canary}${note}; stable being promoted to ${version}`;
  return `stable ${100 - stage.weight}% on ${previous} · ${canary}${note}`;
}

/** The newest measurement of each metric in the running (or last) stage, against its threshold. */
export function metricRows(release: Release, metrics?: readonly Metric[]): MetricRow[] {
  const status = release.status;
  if (!status) return [];
  const current = status.currentStage;
  const record: StageRecord | undefined =
    (current && status.stages.find((candidate) => candidate.name === current.name)) ?? status.stages.at(-1);
  if (!record) return [];
  const definitions = metrics ?? release.spec.analysis?.metrics ?? [];
  const names = [
    ...new Set([...record.tallies.map((tally) => tally.metric), ...record.measurements.map((m) => m.metric)]),
  ];
  return names.map((name) => {
    const tally = record.tallies.find((candidate) => candidate.metric === name);
    const newest = newestMeasurement(record.measurements, name);
    const definition = definitions.find((metric) => metric.name === name);
    const value = newest?.value ?? tally?.lastValue;
    const verdict = newest?.verdict ?? tally?.lastVerdict;
    return {
      metric: name,
      ...(value === undefined ? {} : { value }),
      unit: tally?.unit ?? (definition ? metricUnit(definition) : "none"),
      ...(verdict === undefined ? {} : { verdict }),
      ...(definition ? { threshold: thresholdText(definition) } : {}),
      pass: tally?.pass ?? 0,
      fail: tally?.fail ?? 0,
      inconclusive: tally?.inconclusive ?? 0,
      error: tally?.error ?? 0,
      ...(newest ? { measuredAt: newest.at } : {}),
      ...(newest && newest.verdict !== "pass" ? { note: newest.reason } : {}),
    };
  });
}

/** "error-rate vs baseline: pass — the canary is not worse …" for each comparison of the running (or last) stage. */
export function comparisonLines(release: Release): string[] {
  const status = release.status;
  const current = status?.currentStage;
  const record =
    (current && status.stages.find((candidate) => candidate.name === current.name)) ?? status?.stages.at(-1);
  return (record?.comparisons ?? []).map(
    (comparison) => `${comparison.metric} vs baseline: ${comparison.verdict} — ${comparison.reason}`,
  );
}

function withComparisons(release: Release): { comparisons?: string[] } {
  const lines = comparisonLines(release);
  return lines.length === 0 ? {} : { comparisons: lines };
}

function newestMeasurement(measurements: readonly Measurement[], metric: string): Measurement | undefined {
  return measurements
    .filter((measurement) => measurement.metric === metric)
    .reduce<Measurement | undefined>((newest, m) => (!newest || m.at >= newest.at ? m : newest), undefined);
}

/** What people asked for that the controller is acting on, or has on record. */
export function peopleLines(release: Release): string[] {
  const control = release.spec.control;
  const status = release.status;
  const lines: string[] = [];
  if (control?.paused) lines.push("paused by a person (spec.control.paused)");
  if (control?.abort)
    lines.push(
      `abort requested by ${control.abort.by} at ${control.abort.at}${control.abort.reason ? `: ${control.abort.reason}` : ""}`,
    );
  if (control?.promote && control.promote.at !== status?.handledPromoteAt)
    lines.push(
      `promote${control.promote.full ? " --full" : ""} requested by ${control.promote.by} at ${control.promote.at}, not carried out yet`,
    );
  const approvals: { by: string; at: string; comment?: string; verified?: boolean; problem?: string }[] =
    status?.approvals.length ? status.approvals : (control?.approvals ?? []);
  for (const approval of approvals)
    lines.push(
      `approved by ${approval.by} at ${approval.at}${approval.comment ? `: ${approval.comment}` : ""}${verification(approval)}`,
    );
  return lines;
}

/** Whether the controller verified who approved (the admission webhook's stamp); older records say nothing. */
function verification(approval: { verified?: boolean; problem?: string }): string {
  if (approval.verified === true) return " (verified)";
  if (approval.verified === false)
    return ` (unverified: ${approval.problem ?? "no identity stamp"}; it opens no gate)`;
  return "";
}

export function statusView(
  release: Release,
  hints: PlanHints = {},
  rolledBackLater: readonly LaterRollback[] = [],
): StatusView {
  const status = release.status;
  const cr = release.spec.changeRequest;
  const planned =
    release.spec.stages ??
    hints.stages ??
    (release.spec.blueGreen
      ? blueGreenStages(release.spec.blueGreen, release.spec.changeRequest.requiresApproval)
      : undefined);
  const steps = stageSteps(release, planned);
  const shape = describeBlueGreen(release.spec);
  const current = status?.currentStage;
  const hold = current && planned?.find((stage) => stage.name === current.name)?.hold;
  return {
    ...(release.metadata.namespace === undefined ? {} : { namespace: release.metadata.namespace }),
    name: release.metadata.name,
    target: release.spec.target.deployment,
    ...(release.spec.target.kind === undefined ? {} : { targetKind: release.spec.target.kind }),
    version: release.spec.version,
    ...(status?.previous?.version === undefined ? {} : { previousVersion: status.previous.version }),
    phase: status?.phase ?? "Unknown",
    ...(status?.message === undefined ? {} : { message: status.message }),
    change: { id: cr.id, type: cr.type, risk: cr.risk, title: cr.title, requestedBy: cr.requestedBy },
    ...(current
      ? {
          stage: {
            index: current.index,
            name: current.name,
            weight: current.weight,
            startedAt: current.startedAt,
            ...(hold === undefined ? {} : { hold }),
          },
        }
      : {}),
    ...(shape === undefined ? {} : { shape }),
    steps,
    bar: stageBar(steps, shape !== undefined),
    traffic: trafficLine(release, rolledBackLater),
    ...(status?.canaryScale === undefined ? {} : { canaryScale: status.canaryScale.message }),
    metrics: metricRows(release, hints.metrics),
    ...withComparisons(release),
    conditions: status?.conditions ?? [],
    people: peopleLines(release),
    ...(status?.rollback === undefined ? {} : { rollback: status.rollback }),
    ...(rolledBackLater.length === 0 ? {} : { rolledBackLater: [...rolledBackLater] }),
    ...(status?.waitingFor === undefined ? {} : { waitingFor: status.waitingFor }),
    actions: recordedActions(release),
  };
}

const RECENT_ACTIONS = 5;

/** The whole status screen as lines of text; ages are taken at `nowMs`. */
export function renderStatus(view: StatusView, nowMs: number): string[] {
  const where = view.namespace ? `${view.namespace}/` : "";
  const lines: string[] = [];
  const field = (label: string, text: string) => lines.push(`${label.padEnd(11)}${text}`);
  field("Release", `${where}${view.name}`);
  field(
    "Target",
    `${(view.targetKind ?? "Deployment").toLowerCase()} ${view.target}: ${view.previousVersion ?? "?"} → ${view.version}`,
  );
  field(
    "Change",
    `${view.change.id} (${view.change.type}, risk ${view.change.risk}) ${view.change.title} — requested by ${view.change.requestedBy}`,
  );
  const undone = view.rolledBackLater?.at(-1);
  field(
    "Phase",
    view.phase === "Unknown"
      ? "Unknown (the controller has not picked it up yet)"
      : `${view.phase}${undone ? ` (rolled back later by ${undone.release})` : ""}`,
  );
  if (view.message) field("Message", view.message);
  if (view.waitingFor) field("Waiting", `for release ${view.waitingFor} of the same target`);
  if (view.shape) field("Shape", view.shape);
  field("Stages", view.bar);
  if (view.stage) {
    const running = nowMs - Date.parse(view.stage.startedAt);
    const holdMs = view.stage.hold === undefined ? undefined : parseDuration(view.stage.hold);
    const forHow =
      view.steps.find((step) => step.name === view.stage?.name)?.state === "current" && !Number.isNaN(running)
        ? `, for ${humanDuration(running)}${holdMs ? ` of ${humanDuration(holdMs)} hold` : ""}`
        : "";
    const count = view.steps.length - 1;
    const position = view.stage.name === BAKE_STAGE_NAME ? "after GA" : `${view.stage.index + 1} of ${count}`;
    const routing = view.steps.find((step) => step.name === view.stage?.name)?.routing;
    field(
      "Stage",
      `${view.stage.name} (${position}), ${routing ?? `${view.stage.weight}%`} on ${view.version}${forHow}`,
    );
  }
  field("Traffic", view.traffic);
  if (view.canaryScale) field("Canary", `sized by ${view.canaryScale}`);
  for (const [index, line] of view.people.entries()) field(index === 0 ? "People" : "", line);
  if (view.rollback) {
    const rollback = view.rollback;
    field("Rollback", `${rollback.trigger} at ${rollback.at}: ${rollback.reason}`);
    if (rollback.restored)
      field(
        "",
        `restored ${rollback.restored.version ?? "the previous images"}${rollback.verified === undefined ? "" : rollback.verified ? ", verified" : ", NOT verified"}`,
      );
    if (rollback.verification) field("", rollback.verification);
  }
  for (const later of view.rolledBackLater ?? [])
    field(
      "Undone",
      `by release ${later.release} (${later.phase}), restoring ${later.restores}` +
        `${later.at ? `, requested at ${later.at}` : ""} by ${later.requestedBy}: ${later.why}`,
    );

  lines.push("", "Metrics:");
  if (view.metrics.length === 0) lines.push("  no measurements yet");
  else {
    const table = renderTable(
      ["METRIC", "VALUE", "THRESHOLD", "VERDICT", "PASS", "FAIL", "NO DATA", "ERRORS", "MEASURED"],
      view.metrics.map((row) => [
        row.metric,
        shownValue(row),
        row.threshold ?? "-",
        row.verdict ?? "-",
        String(row.pass),
        String(row.fail),
        String(row.inconclusive),
        String(row.error),
        row.measuredAt ? `${age(row.measuredAt, nowMs)} ago` : "-",
      ]),
    );
    lines.push(...indent(table));
    for (const row of view.metrics) if (row.note) lines.push(`  ${row.metric}: ${row.note}`);
  }
  for (const line of view.comparisons ?? []) lines.push(`  ${line}`);

  lines.push("", "Conditions:");
  if (view.conditions.length === 0) lines.push("  none yet");
  else {
    const table = renderTable(
      ["TYPE", "STATUS", "REASON", "AGE", "MESSAGE"],
      view.conditions.map((condition) => [
        condition.type,
        condition.status,
        condition.reason,
        age(condition.lastTransitionTime, nowMs),
        condition.message,
      ]),
    );
    lines.push(...indent(table));
  }

  const recent = view.actions.slice(-RECENT_ACTIONS);
  if (recent.length > 0) {
    lines.push("", "Actions (glidepath CLI):");
    for (const action of recent)
      lines.push(
        `  ${action.at}  ${action.action} by ${action.by}${action.detail ? `: ${action.detail}` : ""}`,
      );
  }
  return lines;
}

function indent(table: string): string[] {
  return table
    .trimEnd()
    .split("\n")
    .map((line) => `  ${line}`);
}

/**
 * One line for logs and pipes, printed when it changes: phase, bar, weight, the
 * newest verdicts, the message. No ages in it, so an unchanged release prints nothing.
 */
export function statusLine(view: StatusView): string {
  const stage = view.stage ? ` ${view.stage.name} ${view.stage.weight}%` : "";
  const metrics = view.metrics
    .map(
      (row) =>
        `${row.metric}=${shownValue(row)} ${row.verdict ?? "-"}${row.threshold ? ` (${row.threshold})` : ""}`,
    )
    .join(", ");
  return [
    `${view.name} ${view.phase}${stage}`,
    view.bar,
    ...(metrics ? [metrics] : []),
    ...(view.message ? [view.message] : []),
  ].join(" | ");
}

/** A Release as JSON for scripts: the view without what only a screen needs. */
export function statusJson(view: StatusView): Record<string, unknown> {
  const { bar: _bar, ...rest } = view;
  return rest;
}

/** Whether a phase ends the release: status --watch and rollback --wait stop there. */
export function isFinished(phase: StatusView["phase"]): boolean {
  return phase !== "Unknown" && terminalPhases.includes(phase);
}

/** The row's value in its unit (7.91%, 99.5 ms), or "-" when nothing was measured. */
function shownValue(row: MetricRow): string {
  return row.value === undefined ? "-" : formatMetricValue(row.value, row.unit);
}
