import type { VersionRef } from "../api/index.ts";
import type { WorkloadObservation } from "./types.ts";

// Whether a Deployment runs a given version. The engine's rollback counts as done only
// when stable runs what the release replaced; `glidepath rollback --wait` verifies the
// restored version by the same test, so both agree on what "restored" means.

export type VersionMismatch =
  | { kind: "version"; running: string | undefined; wanted: string }
  | { kind: "image"; container: string; running: string | undefined; wanted: string };

/**
 * How what runs differs from `ref`: its version label (when `ref` names a version), then
 * each container `ref` names whose image differs; other containers may run anything.
 */
export function versionMismatches(
  running: Pick<WorkloadObservation, "version" | "images">,
  ref: VersionRef,
): VersionMismatch[] {
  const mismatches: VersionMismatch[] = [];
  if (ref.version !== undefined && running.version !== ref.version)
    mismatches.push({ kind: "version", running: running.version, wanted: ref.version });
  for (const [container, wanted] of Object.entries(ref.images)) {
    const image = running.images[container];
    if (image !== wanted) mismatches.push({ kind: "image", container, running: image, wanted });
  }
  return mismatches;
}

/** The workload exists and runs `ref` (its version label and every image it names). */
export function runsVersion(workload: WorkloadObservation, ref: VersionRef): boolean {
  return workload.exists && versionMismatches(workload, ref).length === 0;
}
