// Straight from its module, not the index: the dashboard's page takes these types (no Node APIs).
import type { ReleaseRecord } from "../api/release-record.ts";

// The four DORA figures over a window, computed from ReleaseRecords (pure):
// - deployment frequency: succeeded releases per day;
// - lead time for changes: committedAt → finishedAt of succeeded releases (median, p90),
//   counted only where CI recorded committedAt, and the missing ones said;
// - change failure rate: (rolled back + failed) ÷ finished;
// - time to restore: from the moment Glidepath acted on the breach or alert
//   (status.rollback.at) to 100% stable (rollback.completedAt), and to the next succeeded
//   release of the same target.
// A record belongs to the window by its finishedAt.

export interface DoraWindow {
  from: string;
  to: string;
  days: number;
}

export interface Spread {
  /** How many values the figures are taken from. */
  count: number;
  medianMs?: number;
  p90Ms?: number;
}

export interface DoraFigures {
  window: DoraWindow;
  finished: number;
  succeeded: number;
  rolledBack: number;
  failed: number;
  deploymentFrequency: { perDay: number; deployments: number };
  leadTime: Spread & { missing: number };
  changeFailureRate: { ratio?: number; failures: number; finished: number };
  timeToRestore: {
    toStable: Spread;
    toNextSuccess: Spread;
    /** Failures with no later succeeded release of their target in the records. */
    notYetRestored: number;
  };
}

export const DORA_GROUPINGS = ["target", "namespace", "cluster"] as const;
export type DoraGrouping = (typeof DORA_GROUPINGS)[number];

/** The group a record counts in: "namespace/target", "namespace", or "" for the cluster. */
export function doraGroupKey(record: ReleaseRecord, by: DoraGrouping): string {
  const namespace = record.metadata.namespace ?? "";
  if (by === "cluster") return "";
  return by === "namespace" ? namespace : `${namespace}/${record.spec.target}`;
}

/** The q-quantile (0..1) of ascending values, linear between the nearest ranks. */
function quantile(ascending: readonly number[], q: number): number | undefined {
  if (ascending.length === 0) return undefined;
  const position = (ascending.length - 1) * q;
  const below = Math.floor(position);
  const above = Math.ceil(position);
  const low = ascending[below] as number;
  const high = ascending[above] as number;
  return low + (high - low) * (position - below);
}

function spread(values: readonly number[]): Spread {
  const ascending = [...values].sort((a, b) => a - b);
  const median = quantile(ascending, 0.5);
  const p90 = quantile(ascending, 0.9);
  return {
    count: ascending.length,
    ...(median === undefined ? {} : { medianMs: Math.round(median) }),
    ...(p90 === undefined ? {} : { p90Ms: Math.round(p90) }),
  };
}

const isFailure = (record: ReleaseRecord) =>
  record.spec.outcome === "RolledBack" || record.spec.outcome === "Failed";

/**
 * DORA figures of the records finished in (now − windowMs, now]. `all` may hold records
 * outside the window: a failure's restoring release may finish after it.
 */
export function doraFigures(all: readonly ReleaseRecord[], windowMs: number, now: Date): DoraFigures {
  const toMs = now.getTime();
  const fromMs = toMs - windowMs;
  const finishedMs = (record: ReleaseRecord) => Date.parse(record.spec.finishedAt);
  const inWindow = all.filter((record) => finishedMs(record) > fromMs && finishedMs(record) <= toMs);
  const succeeded = inWindow.filter((record) => record.spec.outcome === "Succeeded");
  const failures = inWindow.filter(isFailure);

  const leadTimes = succeeded.flatMap((record) =>
    record.spec.committedAt === undefined
      ? []
      : [Math.max(0, finishedMs(record) - Date.parse(record.spec.committedAt))],
  );

  const toStable: number[] = [];
  const toNextSuccess: number[] = [];
  let notYetRestored = 0;
  for (const failure of failures) {
    const rollback = failure.spec.releaseStatus.rollback;
    const brokeAt = rollback ? Date.parse(rollback.at) : finishedMs(failure);
    if (rollback?.completedAt) toStable.push(Math.max(0, Date.parse(rollback.completedAt) - brokeAt));
    const next = all
      .filter(
        (record) =>
          record.spec.outcome === "Succeeded" &&
          record.spec.target === failure.spec.target &&
          record.metadata.namespace === failure.metadata.namespace &&
          finishedMs(record) > brokeAt,
      )
      .sort((a, b) => finishedMs(a) - finishedMs(b))[0];
    if (next) toNextSuccess.push(finishedMs(next) - brokeAt);
    else notYetRestored += 1;
  }

  const days = windowMs / 86_400_000;
  return {
    window: { from: new Date(fromMs).toISOString(), to: now.toISOString(), days },
    finished: inWindow.length,
    succeeded: succeeded.length,
    rolledBack: inWindow.filter((record) => record.spec.outcome === "RolledBack").length,
    failed: inWindow.filter((record) => record.spec.outcome === "Failed").length,
    deploymentFrequency: { perDay: succeeded.length / days, deployments: succeeded.length },
    leadTime: { ...spread(leadTimes), missing: succeeded.length - leadTimes.length },
    changeFailureRate: {
      ...(inWindow.length > 0 ? { ratio: failures.length / inWindow.length } : {}),
      failures: failures.length,
      finished: inWindow.length,
    },
    timeToRestore: { toStable: spread(toStable), toNextSuccess: spread(toNextSuccess), notYetRestored },
  };
}

/** DORA figures per group (target, namespace or the whole cluster), groups sorted by key. */
export function doraByGroup(
  all: readonly ReleaseRecord[],
  by: DoraGrouping,
  windowMs: number,
  now: Date,
): { group: string; figures: DoraFigures }[] {
  const groups = new Map<string, ReleaseRecord[]>();
  for (const record of all) {
    const key = doraGroupKey(record, by);
    groups.set(key, [...(groups.get(key) ?? []), record]);
  }
  return [...groups.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([group, records]) => ({ group, figures: doraFigures(records, windowMs, now) }));
}

/** The window DORA figures take by default, and /metrics always: 30 days. */
export const DORA_WINDOW_MS = 30 * 86_400_000;
