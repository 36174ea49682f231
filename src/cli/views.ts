// `list` and `history`: pure functions from Releases to rows and text.
import { terminalPhases, type Release, type ReleasePhase } from "../api/index.ts";
import type { LaterRollback } from "../record/change-record.ts";
import { ROLLBACK_OF_LABEL } from "./audit.ts";
import { age, humanDuration, renderTable } from "./table.ts";

const NONE = "<none>";

/** Newest first: creation time, then start time, then name (creation times have whole seconds). */
export function newestFirst(a: Release, b: Release): number {
  return (
    timeOf(b.metadata.creationTimestamp) - timeOf(a.metadata.creationTimestamp) ||
    timeOf(b.status?.startedAt) - timeOf(a.status?.startedAt) ||
    b.metadata.name.localeCompare(a.metadata.name)
  );
}

function timeOf(timestamp: string | undefined): number {
  const ms = timestamp ? Date.parse(timestamp) : Number.NaN;
  return Number.isNaN(ms) ? 0 : ms;
}

export function phaseOf(release: Release): ReleasePhase | undefined {
  return release.status?.phase;
}

export function isActive(release: Release): boolean {
  const phase = phaseOf(release);
  return phase === undefined || !terminalPhases.includes(phase);
}

/**
 * The later Releases that roll `release` back: rollback Releases name the release they
 * undo in their ROLLBACK_OF_LABEL. Oldest first.
 */
export function laterRollbacks(release: Release, releases: readonly Release[]): LaterRollback[] {
  const namespace = release.metadata.namespace;
  return releases
    .filter(
      (candidate) =>
        candidate.metadata.labels?.[ROLLBACK_OF_LABEL] === release.metadata.name &&
        (namespace === undefined ||
          candidate.metadata.namespace === undefined ||
          candidate.metadata.namespace === namespace),
    )
    .sort(newestFirst)
    .reverse()
    .map((rollback) => ({
      release: rollback.metadata.name,
      restores: rollback.spec.version,
      phase: rollback.status?.phase ?? "Pending",
      requestedBy: rollback.spec.changeRequest.requestedBy,
      why: rollback.spec.changeRequest.why,
      ...(rollback.metadata.creationTimestamp ? { at: rollback.metadata.creationTimestamp } : {}),
      ...(rollback.status?.finishedAt === undefined ? {} : { finishedAt: rollback.status.finishedAt }),
      ...(rollback.status?.signOff?.creator ? { creator: rollback.status.signOff.creator } : {}),
    }));
}

/**
 * STAGE and WEIGHT of `list`: where the traffic is now, not the last stage planned. A
 * release rolled back (or undone later by a rollback Release) has 0% on its version.
 */
export function trafficColumns(release: Release, undoneLater: boolean): { stage: string; weight: string } {
  const status = release.status;
  const stage = status?.currentStage;
  switch (status?.phase) {
    case "RolledBack":
      return { stage: NONE, weight: "0" };
    case "RollingBack":
      return { stage: NONE, weight: stage === undefined ? "0" : `${stage.weight}→0` };
    case "Failed":
      // Failed after it started: the rollback did not complete, so where traffic is is unknown.
      return { stage: stage?.name ?? NONE, weight: status.startedAt === undefined ? "0" : "unknown" };
    case "Succeeded":
      return undoneLater ? { stage: NONE, weight: "0" } : { stage: stage?.name ?? NONE, weight: "100" };
    default:
      return stage === undefined
        ? { stage: NONE, weight: NONE }
        : { stage: stage.name, weight: String(stage.weight) };
  }
}

/** `glidepath list`: the columns of `kubectl get releases`, with NAMESPACE first across namespaces. */
export function renderReleaseList(
  releases: readonly Release[],
  options: { nowMs: number; allNamespaces: boolean },
): string {
  const sorted = [...releases].sort(
    (a, b) =>
      (a.metadata.namespace ?? "").localeCompare(b.metadata.namespace ?? "") ||
      a.metadata.name.localeCompare(b.metadata.name),
  );
  const headers = ["NAME", "TARGET", "VERSION", "PHASE", "STAGE", "WEIGHT", "CHANGE", "AGE"];
  const rows = sorted.map((release) => {
    const undoneLater = laterRollbacks(release, releases).some((later) => later.phase === "Succeeded");
    const traffic = trafficColumns(release, undoneLater);
    const row = [
      release.metadata.name,
      release.spec.target.deployment,
      release.spec.version,
      release.status?.phase ?? NONE,
      traffic.stage,
      traffic.weight,
      release.spec.changeRequest.id,
      age(release.metadata.creationTimestamp, options.nowMs),
    ];
    return options.allNamespaces ? [release.metadata.namespace ?? "", ...row] : row;
  });
  return renderTable(options.allNamespaces ? ["NAMESPACE", ...headers] : headers, rows);
}

export interface HistoryEntry {
  namespace?: string;
  name: string;
  version: string;
  phase: ReleasePhase | "Unknown";
  change: string;
  changeType: string;
  requestedBy: string;
  created?: string;
  startedAt?: string;
  finishedAt?: string;
  /** One line: how it ended, or where it is. */
  outcome: string;
  /** This release rolled the target back: the release it undid. */
  rollbackOf?: string;
  /** Later releases that rolled this one back. */
  rolledBackBy?: string[];
  /** Who created it, as the controller verified the admission webhook's stamp. */
  createdBy?: { user?: string; verified: boolean };
  /** Each approval: verified (stamped, checked by the controller) and whether it counts for the gate. */
  approvals: { by: string; verified: boolean; counts: boolean }[];
}

/** The Releases of one target Deployment, newest first, with what became of each. */
export function releaseHistory(releases: readonly Release[], target: string): HistoryEntry[] {
  const ofTarget = releases.filter((release) => release.spec.target.deployment === target).sort(newestFirst);
  const undoneBy = new Map<string, string[]>();
  for (const release of ofTarget) {
    const undone = release.metadata.labels?.[ROLLBACK_OF_LABEL];
    if (undone) undoneBy.set(undone, [...(undoneBy.get(undone) ?? []), release.metadata.name]);
  }
  return ofTarget.map((release) => {
    const status = release.status;
    const rollbackOf = release.metadata.labels?.[ROLLBACK_OF_LABEL];
    const rolledBackBy = undoneBy.get(release.metadata.name);
    return {
      ...(release.metadata.namespace === undefined ? {} : { namespace: release.metadata.namespace }),
      name: release.metadata.name,
      version: release.spec.version,
      phase: status?.phase ?? "Unknown",
      change: release.spec.changeRequest.id,
      changeType: release.spec.changeRequest.type,
      requestedBy: release.spec.changeRequest.requestedBy,
      ...(release.metadata.creationTimestamp ? { created: release.metadata.creationTimestamp } : {}),
      ...(status?.startedAt === undefined ? {} : { startedAt: status.startedAt }),
      ...(status?.finishedAt === undefined ? {} : { finishedAt: status.finishedAt }),
      outcome: outcomeOf(release, rolledBackBy),
      ...(rollbackOf ? { rollbackOf } : {}),
      ...(rolledBackBy ? { rolledBackBy } : {}),
      ...(status?.signOff?.creator
        ? {
            createdBy: {
              ...(status.signOff.creator.user === undefined ? {} : { user: status.signOff.creator.user }),
              verified: status.signOff.creator.verified,
            },
          }
        : {}),
      approvals: (status?.approvals ?? []).map((approval) => ({
        by: approval.by,
        verified: approval.verified === true,
        counts: approval.verified === true && approval.doesNotCount === undefined,
      })),
    };
  });
}

/** Narrow, so the column costs little of a 120-column terminal; the record names everyone. */
const APPROVED_WIDTH = 20;

/** Marks in `history`: ✓ a verified approval that counts; ✗ one that does not (unverified, or the author's own). */
export const VERIFIED_MARK = "✓";
export const UNVERIFIED_MARK = "✗";

/** "carol✓ dave✗": who approved, each marked, whole names only, "+2" for those that do not fit; "-" for none. */
export function approversColumn(approvals: HistoryEntry["approvals"], width = APPROVED_WIDTH): string {
  if (approvals.length === 0) return "-";
  const marked = approvals.map(
    (approval) => `${approval.by}${approval.counts ? VERIFIED_MARK : UNVERIFIED_MARK}`,
  );
  let shown = marked.length;
  const text = (count: number) =>
    [...marked.slice(0, count), ...(count < marked.length ? [`+${marked.length - count}`] : [])].join(" ");
  while (shown > 1 && text(shown).length > width) shown--;
  return text(shown);
}

/** "succeeded; rolled back later by checkout-rollback-…", "rolled back (metric): error-rate …". */
export function outcomeOf(release: Release, rolledBackBy: readonly string[] = []): string {
  const status = release.status;
  const rollbackOf = release.metadata.labels?.[ROLLBACK_OF_LABEL];
  const parts: string[] = [];
  const phase = status?.phase;
  if (!status || phase === undefined) {
    parts.push("not picked up by the controller yet");
  } else if (phase === "Succeeded") {
    parts.push(
      rollbackOf
        ? `restored ${release.spec.version} (rollback of ${rollbackOf})`
        : `succeeded${status.previous?.version ? `, replacing ${status.previous.version}` : ""}`,
    );
  } else if (phase === "RolledBack" || phase === "RollingBack") {
    const verb = phase === "RolledBack" ? "rolled back" : "rolling back";
    parts.push(status.rollback ? `${verb} (${status.rollback.trigger}): ${status.rollback.reason}` : verb);
  } else if (phase === "Failed") {
    parts.push(`failed: ${status.message ?? "no message"}`);
  } else {
    const stage = status.currentStage;
    parts.push(
      stage
        ? `${phase} in ${stage.name} (${stage.weight}%)`
        : `${phase}${status.message ? `: ${status.message}` : ""}`,
    );
  }
  if (rolledBackBy.length > 0) parts.push(`rolled back later by ${rolledBackBy.join(", ")}`);
  return parts.join("; ");
}

const OUTCOME_WIDTH = 100;

export function renderHistory(entries: readonly HistoryEntry[], options: { nowMs: number }): string {
  const headers = ["NAME", "VERSION", "PHASE", "CHANGE", "BY", "APPROVED", "AGE", "DURATION", "OUTCOME"];
  const rows = entries.map((entry) => {
    const started = entry.startedAt ? Date.parse(entry.startedAt) : Number.NaN;
    const ended = entry.finishedAt ? Date.parse(entry.finishedAt) : options.nowMs;
    return [
      entry.name,
      entry.version,
      entry.phase,
      `${entry.change} (${entry.changeType})`,
      entry.requestedBy,
      approversColumn(entry.approvals),
      age(entry.created, options.nowMs),
      Number.isNaN(started) ? NONE : humanDuration(ended - started),
      clip(entry.outcome, OUTCOME_WIDTH),
    ];
  });
  return renderTable(headers, rows);
}

export function clip(text: string, max: number): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length <= max ? flat : `${flat.slice(0, max - 1)}…`;
}
