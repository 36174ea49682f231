import { terminalPhases, type Release } from "../api/index.ts";

/**
 * One active release per target: the name of an older, unfinished Release of the
 * same Deployment that `release` must wait for. Older means created earlier (name
 * breaks ties), so two Releases never wait for each other. A Release the controller
 * refused (Valid=False) before it started never will, so it holds no target.
 */
export function findBlockingRelease(release: Release, all: readonly unknown[]): string | undefined {
  if (release.status?.phase && release.status.phase !== "Pending") return undefined;
  const mine = order(release);
  let blocking: { name: string; order: [number, string] } | undefined;
  for (const item of all) {
    const other = item as Release;
    if (other.metadata?.uid === release.metadata.uid || other.metadata?.name === release.metadata.name)
      continue;
    if (!sameTarget(other, release) || !holdsTarget(other)) continue;
    const theirs = order(other);
    const started = other.status?.phase !== undefined && other.status.phase !== "Pending";
    if (!started && !isBefore(theirs, mine)) continue;
    if (!blocking || isBefore(theirs, blocking.order))
      blocking = { name: other.metadata.name, order: theirs };
  }
  return blocking?.name;
}

/**
 * The keys of the Releases waiting for `changed`, when it no longer holds its target
 * (it finished, was refused, or is gone): they may start now, not at their next retry.
 */
export function releasesWaitingOn(changed: Release, gone: boolean, all: readonly unknown[]): string[] {
  if (!gone && holdsTarget(changed)) return [];
  const keys: string[] = [];
  for (const item of all) {
    const other = item as Release;
    if (!sameTarget(other, changed) || other.metadata?.name === changed.metadata?.name) continue;
    if (other.status?.phase !== "Pending" || other.status.waitingFor !== changed.metadata?.name) continue;
    keys.push(`${other.metadata.namespace}/${other.metadata.name}`);
  }
  return keys;
}

function sameTarget(a: Release, b: Release): boolean {
  return (
    a.metadata?.namespace === b.metadata?.namespace &&
    a.spec?.target?.deployment === b.spec?.target?.deployment
  );
}

/** Unfinished, and started or not refused: it has the target, or will take it. */
function holdsTarget(release: Release): boolean {
  const phase = release.status?.phase;
  if (phase !== undefined && terminalPhases.includes(phase)) return false;
  // One refused after it started (its spec edited) still has a canary out there.
  if (release.status?.startedAt !== undefined) return true;
  return !(release.status?.conditions ?? []).some(
    (condition) => condition.type === "Valid" && condition.status === "False",
  );
}

function order(release: Release): [number, string] {
  return [Date.parse(release.metadata.creationTimestamp ?? "") || 0, release.metadata.name];
}

function isBefore(a: [number, string], b: [number, string]): boolean {
  return a[0] !== b[0] ? a[0] < b[0] : a[1] < b[1];
}
