import { z } from "zod";
import type { Release } from "../api/index.ts";
import type { AlertObservation } from "../engine/index.ts";

// How a follower hands a matched alert to the leader: it records the alert on the
// Release itself, in an annotation. The leader's informer sees the change, enqueues the
// release, and the AlertInbox reads the annotation — so the alert survives any replica
// restarting, and needs no address of the leader. Bounded: a few alerts, earliest first.

export const FIRING_ALERTS_ANNOTATION = "glidepath.dev/firing-alerts";

/** Enough to roll back with evidence; the earliest one is what the engine records. */
const MAX_ANNOTATED_ALERTS = 8;

const annotatedAlertsSchema = z
  .array(
    z.object({
      name: z.string().min(1).max(256),
      fingerprint: z.string().min(1).max(64),
      startsAt: z.iso.datetime({ offset: true }),
      labels: z.record(z.string().max(256), z.string().max(1024)),
    }),
  )
  .max(64);

/** The alerts recorded on a Release; a malformed annotation reads as none. */
export function readAnnotatedAlerts(release: Pick<Release, "metadata">): AlertObservation[] {
  return parseAnnotation(release.metadata.annotations?.[FIRING_ALERTS_ANNOTATION]);
}

/**
 * The annotation's next value with `alerts` added, or undefined when it already holds
 * them all (nothing to write). Deduplicated on fingerprint + startsAt, earliest kept.
 */
export function mergeAnnotatedAlerts(
  current: string | undefined,
  alerts: readonly AlertObservation[],
): string | undefined {
  const existing = parseAnnotation(current);
  const known = new Set(existing.map(identity));
  const fresh = alerts.filter((alert) => !known.has(identity(alert)));
  if (fresh.length === 0) return undefined;
  const merged = uniqueBy([...existing, ...fresh], identity)
    .sort(
      (a, b) => Date.parse(a.startsAt) - Date.parse(b.startsAt) || a.fingerprint.localeCompare(b.fingerprint),
    )
    .slice(0, MAX_ANNOTATED_ALERTS);
  const next = JSON.stringify(merged);
  return next === current ? undefined : next;
}

function parseAnnotation(value: string | undefined): AlertObservation[] {
  if (!value) return [];
  try {
    const parsed = annotatedAlertsSchema.safeParse(JSON.parse(value));
    return parsed.success ? parsed.data : [];
  } catch {
    return [];
  }
}

function identity(alert: AlertObservation): string {
  return `${alert.fingerprint}@${new Date(Date.parse(alert.startsAt)).toISOString()}`;
}

function uniqueBy<T>(items: readonly T[], key: (item: T) => string): T[] {
  const seen = new Map<string, T>();
  for (const item of items) if (!seen.has(key(item))) seen.set(key(item), item);
  return [...seen.values()];
}
