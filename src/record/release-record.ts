import {
  API_GROUP,
  API_VERSION,
  finishedOutcomes,
  formatDuration,
  RELEASE_RECORD_KIND,
  STAMP_ANNOTATIONS,
  type FinishedOutcome,
  type Release,
  type ReleaseRecord,
} from "../api/index.ts";

// Taking the durable record of a finished release, and deciding which records retention
// lets go. Pure: the controller writes and deletes what these return.

/** Labels on every ReleaseRecord, for listing by target or by release. */
export const RECORD_TARGET_LABEL = "glidepath.dev/target";
export const RECORD_OUTCOME_LABEL = "glidepath.dev/outcome";

/**
 * The record's name: the Release's, with the first 8 characters of its uid, so a Release
 * deleted and created again under the same name keeps both records.
 */
export function releaseRecordName(release: Release): string {
  const suffix = (release.metadata.uid ?? "").replace(/[^a-z0-9]/g, "").slice(0, 8);
  if (!suffix) return release.metadata.name;
  return `${release.metadata.name.slice(0, 253 - suffix.length - 1).replace(/[-.]+$/, "")}-${suffix}`;
}

function isFinishedOutcome(phase: string | undefined): phase is FinishedOutcome {
  return (finishedOutcomes as readonly string[]).includes(phase ?? "");
}

/** The ReleaseRecord of a finished release; undefined while it has not finished. */
export function releaseRecordOf(release: Release): ReleaseRecord | undefined {
  const status = release.status;
  const outcome = status?.phase;
  if (!status || !isFinishedOutcome(outcome) || !status.finishedAt) return undefined;
  const startedMs = status.startedAt ? Date.parse(status.startedAt) : undefined;
  const finishedMs = Date.parse(status.finishedAt);
  const stamps = Object.fromEntries(
    STAMP_ANNOTATIONS.flatMap((key) => {
      const value = release.metadata.annotations?.[key];
      return value === undefined ? [] : [[key, value]];
    }),
  );
  const change = release.spec.changeRequest;
  return {
    apiVersion: `${API_GROUP}/${API_VERSION}`,
    kind: RELEASE_RECORD_KIND,
    metadata: {
      name: releaseRecordName(release),
      ...(release.metadata.namespace ? { namespace: release.metadata.namespace } : {}),
      labels: { [RECORD_TARGET_LABEL]: release.spec.target.deployment, [RECORD_OUTCOME_LABEL]: outcome },
      // The identity stamps travel with the record, so they can be verified again later.
      annotations: stamps,
    },
    spec: {
      release: {
        name: release.metadata.name,
        ...(release.metadata.uid ? { uid: release.metadata.uid } : {}),
        ...(release.metadata.creationTimestamp ? { createdAt: release.metadata.creationTimestamp } : {}),
        ...(release.metadata.labels && Object.keys(release.metadata.labels).length > 0
          ? { labels: release.metadata.labels }
          : {}),
      },
      target: release.spec.target.deployment,
      version: release.spec.version,
      outcome,
      changeType: change.type,
      changeId: change.id,
      ...(status.startedAt ? { startedAt: status.startedAt } : {}),
      finishedAt: status.finishedAt,
      ...(startedMs !== undefined && finishedMs >= startedMs
        ? { duration: formatDuration(Math.round((finishedMs - startedMs) / 1000) * 1000) }
        : {}),
      ...(change.committedAt ? { committedAt: change.committedAt } : {}),
      releaseSpec: release.spec,
      releaseStatus: status,
    },
  };
}

/** How many records to keep per target, and for how long. Either may be absent. */
export interface RecordRetention {
  keepLast?: number;
  maxAgeMs?: number;
}

/**
 * The records retention lets go: per target, all but the newest `keepLast`, and any
 * older than `maxAgeMs` (by finishedAt). Newest first is by finishedAt, then name.
 */
export function recordsToPrune(
  records: readonly ReleaseRecord[],
  retention: RecordRetention,
  now: Date,
): ReleaseRecord[] {
  const byTarget = new Map<string, ReleaseRecord[]>();
  for (const record of records) {
    const key = `${record.metadata.namespace ?? ""}/${record.spec.target}`;
    byTarget.set(key, [...(byTarget.get(key) ?? []), record]);
  }
  const pruned: ReleaseRecord[] = [];
  for (const group of byTarget.values()) {
    const newestFirst = [...group].sort(
      (a, b) =>
        Date.parse(b.spec.finishedAt) - Date.parse(a.spec.finishedAt) ||
        b.metadata.name.localeCompare(a.metadata.name),
    );
    newestFirst.forEach((record, index) => {
      const tooMany = retention.keepLast !== undefined && index >= retention.keepLast;
      const tooOld =
        retention.maxAgeMs !== undefined &&
        now.getTime() - Date.parse(record.spec.finishedAt) > retention.maxAgeMs;
      if (tooMany || tooOld) pruned.push(record);
    });
  }
  return pruned;
}

/**
 * The Release as the record keeps it, for the views that show Releases (history, the
 * change record) once the Release itself is gone. Its annotations are the identity stamps.
 */
export function releaseFromRecord(record: ReleaseRecord): Release {
  const { release } = record.spec;
  return {
    apiVersion: `${API_GROUP}/${API_VERSION}`,
    kind: "Release",
    metadata: {
      name: release.name,
      ...(record.metadata.namespace ? { namespace: record.metadata.namespace } : {}),
      ...(release.uid ? { uid: release.uid } : {}),
      ...(release.createdAt ? { creationTimestamp: release.createdAt } : {}),
      ...(release.labels ? { labels: release.labels } : {}),
      annotations: { ...record.metadata.annotations },
    },
    spec: record.spec.releaseSpec,
    status: record.spec.releaseStatus,
  };
}

/**
 * Releases and the records of the ones that are gone, one entry per release: a record
 * whose Release still exists (same uid, or same name without uids) adds nothing.
 */
export function withRecordedReleases(live: readonly Release[], records: readonly ReleaseRecord[]): Release[] {
  const liveUids = new Set(live.flatMap((release) => (release.metadata.uid ? [release.metadata.uid] : [])));
  const liveNames = new Set(
    live.map((release) => `${release.metadata.namespace ?? ""}/${release.metadata.name}`),
  );
  const gone = records.filter((record) =>
    record.spec.release.uid
      ? !liveUids.has(record.spec.release.uid)
      : !liveNames.has(`${record.metadata.namespace ?? ""}/${record.spec.release.name}`),
  );
  return [...live, ...gone.map(releaseFromRecord)];
}
