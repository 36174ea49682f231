import type { Release } from "../api/index.ts";

const FINISHED = new Set(["Succeeded", "RolledBack", "Failed"]);

/**
 * One active release per target: the name of an older, unfinished Release of the
 * same Deployment that `release` must wait for. Older means created earlier (name
 * breaks ties), so two Releases never wait for each other.
 */
export function findBlockingRelease(release: Release, all: readonly unknown[]): string | undefined {
  if (release.status?.phase && release.status.phase !== "Pending") return undefined;
  const mine = order(release);
  let blocking: { name: string; order: [number, string] } | undefined;
  for (const item of all) {
    const other = item as Release;
    if (other.metadata?.uid === release.metadata.uid || other.metadata?.name === release.metadata.name)
      continue;
    if (other.metadata?.namespace !== release.metadata.namespace) continue;
    if (other.spec?.target?.deployment !== release.spec.target.deployment) continue;
    if (FINISHED.has(other.status?.phase ?? "")) continue;
    const theirs = order(other);
    const started = other.status?.phase !== undefined && other.status.phase !== "Pending";
    if (!started && !isBefore(theirs, mine)) continue;
    if (!blocking || isBefore(theirs, blocking.order))
      blocking = { name: other.metadata.name, order: theirs };
  }
  return blocking?.name;
}

function order(release: Release): [number, string] {
  return [Date.parse(release.metadata.creationTimestamp ?? "") || 0, release.metadata.name];
}

function isBefore(a: [number, string], b: [number, string]): boolean {
  return a[0] !== b[0] ? a[0] < b[0] : a[1] < b[1];
}
