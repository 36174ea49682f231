import { stringify } from "yaml";
import {
  BLUE_GREEN_STEP_NOTES,
  describeBlueGreen,
  describeRouting,
  formatMetricValue,
  stageRoutingOf,
  type MetricUnit,
  type Release,
  type SignOff,
  type TargetKind,
} from "../api/index.ts";
import { SIGN_OFF_ROLE_LABELS, signOffRows, type SignOffRow } from "./sign-off.ts";

// The change record of a release, in the shape of a change-request document:
// what changed and why, how risky, how to roll back, who approved, and what the
// metrics said at each stage. Pure: it renders what the Release holds.

export type RecordFormat = "md" | "json" | "yaml";

/**
 * A later Release that rolled this one back (`glidepath rollback` after GA): this
 * Release's own status still says Succeeded, so the record says what came after.
 */
export interface LaterRollback {
  release: string;
  /** The version it restores. */
  restores: string;
  /** Its phase: Succeeded once the restored version runs. */
  phase: string;
  requestedBy: string;
  why: string;
  /** When it was requested (created). */
  at?: string;
  finishedAt?: string;
  /** Who created it, as its own status records the controller's verification. */
  creator?: NonNullable<SignOff["creator"]>;
}

export interface ChangeRecord {
  release: {
    namespace?: string;
    name: string;
    target: string;
    /** Set when the Release names it: a StatefulSet target (docs/statefulsets.md) says so. */
    targetKind?: TargetKind;
    version: string;
    created?: string;
  };
  changeRequest: Release["spec"]["changeRequest"];
  /** A blue/green release: its shape, and what each of its steps does (docs/blue-green.md). */
  shape?: { kind: "blueGreen"; description: string; blueGreen: NonNullable<Release["spec"]["blueGreen"]> };
  outcome: {
    phase: string;
    message?: string;
    startedAt?: string;
    finishedAt?: string;
    previous?: { version?: string; images: Record<string, string> };
    promotedAt?: string;
    postMortemDue: boolean;
    changeWindow?: { bypassed: boolean; note: string };
    /** What sized the canary (docs/autoscaling.md). */
    canaryScale?: NonNullable<Release["status"]>["canaryScale"];
  };
  /** Who requested, created, approved, paused, promoted, aborted, rolled back; each verified or not. */
  signOff: SignOffRow[];
  /** verified: the admission webhook's stamp verified, so `by` is who the API server authenticated. */
  approvals: {
    by: string;
    at: string;
    comment?: string;
    verified?: boolean;
    groups?: string[];
    problem?: string;
    doesNotCount?: string;
  }[];
  stages: NonNullable<Release["status"]>["stages"];
  rollback?: NonNullable<Release["status"]>["rollback"];
  /** Edits of the stable Deployment that Glidepath did not make, and who let the release go on over them. */
  stableChanges: NonNullable<NonNullable<Release["status"]>["stableChanges"]>;
  rolledBackLater?: LaterRollback[];
  transitions: NonNullable<Release["status"]>["transitions"];
}

export function changeRecord(release: Release, rolledBackLater: readonly LaterRollback[] = []): ChangeRecord {
  const status = release.status;
  return {
    release: {
      ...(release.metadata.namespace === undefined ? {} : { namespace: release.metadata.namespace }),
      name: release.metadata.name,
      target: release.spec.target.deployment,
      ...(release.spec.target.kind === undefined ? {} : { targetKind: release.spec.target.kind }),
      version: release.spec.version,
      ...(release.metadata.creationTimestamp ? { created: release.metadata.creationTimestamp } : {}),
    },
    changeRequest: release.spec.changeRequest,
    ...blueGreenShape(release),
    outcome: {
      phase: status?.phase ?? "Pending",
      ...(status?.message === undefined ? {} : { message: status.message }),
      ...(status?.startedAt === undefined ? {} : { startedAt: status.startedAt }),
      ...(status?.finishedAt === undefined ? {} : { finishedAt: status.finishedAt }),
      ...(status?.previous === undefined ? {} : { previous: status.previous }),
      ...(status?.promotedAt === undefined ? {} : { promotedAt: status.promotedAt }),
      postMortemDue: status?.postMortemDue ?? false,
      ...(status?.changeWindow === undefined ? {} : { changeWindow: status.changeWindow }),
      ...(status?.canaryScale === undefined ? {} : { canaryScale: status.canaryScale }),
    },
    signOff: signOffRows(release, rolledBackLater),
    approvals: status?.approvals ?? [],
    stages: status?.stages ?? [],
    ...(status?.rollback === undefined ? {} : { rollback: status.rollback }),
    stableChanges: status?.stableChanges ?? [],
    ...(rolledBackLater.length === 0 ? {} : { rolledBackLater: [...rolledBackLater] }),
    transitions: status?.transitions ?? [],
  };
}

function blueGreenShape(release: Release): Pick<ChangeRecord, "shape"> {
  const description = describeBlueGreen(release.spec);
  const blueGreen = release.spec.blueGreen;
  return description === undefined || blueGreen === undefined
    ? {}
    : { shape: { kind: "blueGreen", description, blueGreen } };
}

export function renderChangeRecord(
  release: Release,
  format: RecordFormat = "md",
  rolledBackLater: readonly LaterRollback[] = [],
): string {
  const record = changeRecord(release, rolledBackLater);
  if (format === "json") return JSON.stringify(record, null, 2) + "\n";
  if (format === "yaml") return stringify(record);
  return renderMarkdown(record);
}

const yesNo = (value: boolean | undefined) => (value === undefined ? "not stated" : value ? "yes" : "no");
const cell = (text: string | number | undefined) =>
  String(text ?? "")
    .replace(/\|/g, "\\|")
    .replace(/\n/g, " ");

function renderMarkdown(record: ChangeRecord): string {
  const cr = record.changeRequest;
  const lines: string[] = [];
  const where = record.release.namespace ? `${record.release.namespace}/` : "";
  lines.push(`# ${cr.id}: ${cr.title}`, "");
  lines.push(
    `Release ${where}${record.release.name}: ${record.release.targetKind === "StatefulSet" ? "StatefulSet " : ""}${record.release.target} → ${record.release.version}`,
    "",
  );
  lines.push("| | |", "|---|---|");
  lines.push(`| Type | ${cr.type} |`, `| Risk | ${cr.risk} |`, `| Requested by | ${cell(cr.requestedBy)} |`);
  lines.push(
    `| Outcome | **${record.outcome.phase}**${record.outcome.message ? ` — ${cell(record.outcome.message)}` : ""} |`,
  );
  if (record.shape) lines.push(`| Shape | ${cell(record.shape.description)} |`);
  if (record.outcome.startedAt) lines.push(`| Started | ${record.outcome.startedAt} |`);
  if (record.outcome.finishedAt) lines.push(`| Finished | ${record.outcome.finishedAt} |`);
  if (record.outcome.previous) {
    lines.push(`| Previous version | ${record.outcome.previous.version ?? "unknown"} |`);
  }
  if (record.outcome.promotedAt) lines.push(`| Promoted to GA | ${record.outcome.promotedAt} |`);
  if (record.outcome.canaryScale)
    lines.push(
      `| Canary sized by | ${record.outcome.canaryScale.source}: ${cell(record.outcome.canaryScale.message)} |`,
    );
  if (cr.ticketUrl) lines.push(`| Ticket | ${cr.ticketUrl} |`);
  if (record.outcome.changeWindow) {
    const window = record.outcome.changeWindow;
    lines.push(`| Change window | ${window.bypassed ? "bypassed: " : ""}${cell(window.note)} |`);
  }
  for (const later of record.rolledBackLater ?? [])
    lines.push(
      `| Rolled back later | by release ${later.release} to ${cell(later.restores)} (${later.phase}) |`,
    );
  if (record.outcome.postMortemDue) lines.push("| Post-mortem | **due** |");
  lines.push("");

  // Sections the change request left empty are named once, not each under its own heading.
  const notStated: string[] = [];
  if (cr.scope) lines.push("## Scope", "", cr.scope, "");
  else notStated.push("scope");
  lines.push("## Why", "", cr.why, "");
  if (cr.successCriteria.length > 0)
    lines.push("## Success criteria", "", ...cr.successCriteria.map((c) => `- ${c}`), "");
  else notStated.push("success criteria");
  if (cr.rollbackPlan) lines.push("## Rollback plan", "", cr.rollbackPlan, "");
  else notStated.push("rollback plan");
  const testing = (["unit", "integration", "manual"] as const).filter(
    (kind) => cr.testing[kind] !== undefined,
  );
  if (testing.length > 0 || cr.testing.notes) {
    lines.push("## Testing", "", ...testing.map((kind) => `- ${kind}: ${yesNo(cr.testing[kind])}`));
    if (cr.testing.notes) lines.push(`- notes: ${cr.testing.notes}`);
    lines.push("");
  }
  const testingUnstated = (["unit", "integration", "manual"] as const).filter(
    (kind) => cr.testing[kind] === undefined,
  );
  if (testingUnstated.length > 0) notStated.push(`${testingUnstated.join(", ")} testing`);
  if (notStated.length > 0) lines.push(`Not stated in the change request: ${notStated.join("; ")}.`, "");

  lines.push("## Sign-off", "");
  lines.push(
    "Verified: the controller checked the admission webhook's stamp, so the name is the user the Kubernetes API server authenticated.",
    "",
  );
  lines.push("| Role | Name | Groups | Time | Verified |", "|---|---|---|---|---|");
  for (const row of record.signOff)
    lines.push(
      `| ${SIGN_OFF_ROLE_LABELS[row.role]} | ${cell(row.name)} | ${cell(row.groups.join(", "))} | ${row.at ?? ""} | ${cell(verifiedCell(row))} |`,
    );
  lines.push("");

  lines.push("## Approvals", "");
  if (record.approvals.length === 0) lines.push(cr.requiresApproval ? "required; none yet" : "not required");
  for (const approval of record.approvals) {
    const verified =
      approval.verified === true
        ? ` (verified${approval.groups?.length ? `; groups ${approval.groups.join(", ")}` : ""})`
        : approval.verified === false
          ? ` (unverified: ${approval.problem ?? "no identity stamp"}; it counts for no gate)`
          : "";
    lines.push(
      `- ${approval.by} at ${approval.at}${approval.comment ? `: ${approval.comment}` : ""}${verified}`,
    );
  }
  lines.push("");

  lines.push("## Stages", "");
  if (record.stages.length === 0) lines.push("no stage entered");
  for (const stage of record.stages) {
    const reached = stage.reachedWeight !== undefined && stage.reachedWeight !== stage.weight;
    lines.push(
      `### ${stage.name} (${describeRouting(stageRoutingOf(stage)) ?? `${stage.weight}%`}${reached ? `, reached ${stage.reachedWeight}%` : ""}${stage.partition === undefined ? "" : `, partition ${stage.partition}`}) — ${stage.outcome ?? "in progress"}`,
      "",
      `Entered ${stage.enteredAt}${stage.exitedAt ? `, left ${stage.exitedAt}` : ""}.`,
      "",
    );
    const note = record.shape ? BLUE_GREEN_STEP_NOTES[stage.name] : undefined;
    if (note) lines.push(note, "");
    if (stage.tallies.length > 0) {
      lines.push("| metric | pass | fail | no data | error | last value |", "|---|---|---|---|---|---|");
      for (const tally of stage.tallies) {
        lines.push(
          `| ${tally.metric} | ${tally.pass} | ${tally.fail} | ${tally.inconclusive} | ${tally.error} | ${cell(readableValue(tally.lastValue, tally.unit))} |`,
        );
      }
      lines.push("");
    }
    if ((stage.comparisons ?? []).length > 0) {
      lines.push(
        "Compared with the baseline (Mann-Whitney U):",
        "",
        "| metric | verdict | canary samples | baseline samples | U | p | P(canary worse) | shift |",
        "|---|---|---|---|---|---|---|---|",
      );
      for (const comparison of stage.comparisons ?? []) {
        const unit = stage.tallies.find((tally) => tally.metric === comparison.metric)?.unit;
        const shown = (value: number | undefined) => (value === undefined ? "-" : String(value));
        const shift = comparison.shift === undefined ? "-" : readableValue(String(comparison.shift), unit);
        lines.push(
          `| ${comparison.metric} | ${comparison.verdict} | ${comparison.canary.length} | ${comparison.baseline.length} | ${shown(comparison.u)} | ${shown(comparison.p)} | ${shown(comparison.effect)} | ${cell(shift)} |`,
        );
      }
      lines.push("");
    }
    if (stage.measurements.length > 0) {
      lines.push("Newest measurements:", "");
      for (const m of stage.measurements) {
        const unit = stage.tallies.find((tally) => tally.metric === m.metric)?.unit;
        lines.push(`- ${m.at} ${m.metric} **${m.verdict}** ${readableValue(m.value, unit)} — ${m.reason}`);
      }
      lines.push("");
    }
  }

  if (record.rollback) {
    const rb = record.rollback;
    lines.push("## Rollback", "");
    lines.push(`- trigger: **${rb.trigger}**`, `- reason: ${rb.reason}`, `- at: ${rb.at}`);
    if (rb.by) lines.push(`- by: ${rb.by}`);
    if (rb.metric)
      lines.push(
        `- metric: ${rb.metric} = ${rb.value === undefined ? "?" : readableValue(rb.value, rb.unit)} (${rb.threshold ?? "threshold unknown"})`,
      );
    if (rb.alert) lines.push(`- alert: ${rb.alert.name} (fingerprint ${rb.alert.fingerprint})`);
    if (rb.restored) lines.push(`- restored: ${rb.restored.version ?? "previous images"}`);
    if (rb.completedAt) lines.push(`- completed: ${rb.completedAt}`);
    if (rb.verified !== undefined)
      lines.push(`- verified: ${yesNo(rb.verified)}${rb.verification ? ` (${rb.verification})` : ""}`);
    lines.push("");
  }

  if (record.stableChanges.length > 0) {
    lines.push("## Changes to stable by others", "");
    for (const change of record.stableChanges) {
      lines.push(`- ${change.at} **${change.kind}**${change.by ? ` (${change.by})` : ""}: ${change.message}`);
    }
    lines.push("");
  }

  for (const later of record.rolledBackLater ?? []) {
    lines.push("## Rolled back later", "");
    lines.push(`- by release: ${later.release} (${later.phase})`, `- restores: ${later.restores}`);
    lines.push(`- requested by: ${later.requestedBy}`, `- why: ${later.why}`);
    if (later.at) lines.push(`- at: ${later.at}`);
    if (later.finishedAt) lines.push(`- completed: ${later.finishedAt}`);
    lines.push("");
  }

  lines.push("## Timeline", "");
  for (const t of record.transitions) lines.push(`- ${t.at} ${t.from} → ${t.to}: ${t.reason}`);
  if (record.transitions.length === 0) lines.push("nothing yet");
  lines.push("");
  return lines.join("\n");
}

/** "yes", "no — why", "automatic", with an approval's standing and the entry's note. */
function verifiedCell(row: SignOffRow): string {
  const verdict = row.automatic ? "automatic" : row.verified ? "yes" : "**no**";
  return row.note ? `${verdict} — ${row.note}` : verdict;
}

/** A value as Prometheus returned it, in its unit for people (the exact value is in -o json/yaml). */
function readableValue(value: string | undefined, unit: MetricUnit | undefined): string {
  if (value === undefined) return "";
  return formatMetricValue(value, unit ?? "none");
}
