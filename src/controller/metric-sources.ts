import { releaseRecordSchema, type Release } from "../api/index.ts";
import { doraByGroup, DORA_WINDOW_MS } from "../record/dora.ts";
import type { DoraSample } from "../telemetry/metrics.ts";

// What /metrics reads from the caches when it is scraped: Releases by phase, and the DORA
// figures per target from the ReleaseRecords.

export function countPhases(releases: readonly Release[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const release of releases) {
    const phase = release.status?.phase ?? "Pending";
    counts.set(phase, (counts.get(phase) ?? 0) + 1);
  }
  return counts;
}

/** DORA figures per target from cached ReleaseRecords (records that do not parse are left out). */
export function doraSamples(cachedRecords: readonly unknown[], now: Date): DoraSample[] {
  const records = cachedRecords.flatMap((item) => {
    const parsed = releaseRecordSchema.safeParse(item);
    return parsed.success ? [parsed.data] : [];
  });
  return doraByGroup(records, "target", DORA_WINDOW_MS, now).map(({ group, figures }) => {
    const [namespace = "", target = ""] = group.split("/");
    const seconds = (ms: number | undefined) => (ms === undefined ? undefined : ms / 1000);
    const leadTime = seconds(figures.leadTime.medianMs);
    const restore = seconds(figures.timeToRestore.toStable.medianMs);
    return {
      namespace,
      target,
      deployments: figures.deploymentFrequency.deployments,
      ...(figures.changeFailureRate.ratio === undefined
        ? {}
        : { changeFailureRatio: figures.changeFailureRate.ratio }),
      ...(leadTime === undefined ? {} : { leadTimeSeconds: leadTime }),
      ...(restore === undefined ? {} : { timeToRestoreSeconds: restore }),
    };
  });
}
