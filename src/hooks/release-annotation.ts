import { z } from "zod";
import type { Release } from "../api/index.ts";
import type { AlertObservation } from "../engine/index.ts";

// How a follower hands a matched alert to the leader: it writes the alert onto the
// Release itself, in an annotation. The leader's informer sees the change, enqueues the
// release, and the AlertInbox reads the annotation — so the alert survives any replica
// restarting, and needs no address of the leader.
//
// Bounded, so the patch is never refused (the API server allows 256 KiB of annotations
// in all): at most 8 alerts, each at most 4 KiB and all together at most 32 KiB of JSON
// (control characters in labels are escaped to six bytes each, so characters are not
// bytes). The earliest alerts are kept: every one of them already rolls the release back,
// and the earliest is what the engine records. Alerts that do not fit are counted in a
// second annotation. Entries are read one by one, so one bad entry never hides the others.

export const FIRING_ALERTS_ANNOTATION = "glidepath.dev/firing-alerts";
/** How many matched alerts did not fit in FIRING_ALERTS_ANNOTATION, in all. */
export const DROPPED_ALERTS_ANNOTATION = "glidepath.dev/firing-alerts-dropped";

const MAX_ANNOTATED_ALERTS = 8;
export const MAX_ANNOTATION_BYTES = 32 * 1024;
const MAX_ALERT_BYTES = 4 * 1024;

const annotatedAlertSchema = z.object({
  name: z.string().min(1).max(256),
  fingerprint: z.string().min(1).max(64),
  startsAt: z.iso.datetime({ offset: true }),
  labels: z.record(z.string().max(256), z.string().max(1024)),
});

/** The alerts recorded on a Release; entries that are not alerts are skipped. */
export function readAnnotatedAlerts(release: Pick<Release, "metadata">): AlertObservation[] {
  return parseAnnotation(release.metadata.annotations?.[FIRING_ALERTS_ANNOTATION]);
}

export interface AnnotationUpdate {
  /** The annotation's next value. */
  annotation: string;
  /** How many alerts did not fit: new ones, or recorded ones pushed out by earlier new ones. */
  dropped: number;
}

/**
 * The annotation's next value with `alerts` added, or undefined when there is nothing to
 * write (it holds them all already, or none of them fits). Deduplicated on fingerprint +
 * startsAt, earliest kept.
 */
export function mergeAnnotatedAlerts(
  current: string | undefined,
  alerts: readonly AlertObservation[],
): AnnotationUpdate | undefined {
  const existing = parseAnnotation(current);
  const known = new Set(existing.map(identity));
  const fresh = uniqueBy(
    alerts.filter((alert) => !known.has(identity(alert))),
    identity,
  ).map(withinAlertBudget);
  if (fresh.length === 0) return undefined;
  const candidates = [...existing, ...fresh].sort(
    (a, b) => Date.parse(a.startsAt) - Date.parse(b.startsAt) || a.fingerprint.localeCompare(b.fingerprint),
  );
  const kept: AlertObservation[] = [];
  for (const alert of candidates) {
    if (kept.length === MAX_ANNOTATED_ALERTS) break;
    if (jsonBytes([...kept, alert]) <= MAX_ANNOTATION_BYTES) kept.push(alert);
  }
  // New alerts that did not fit, and recorded ones pushed out by earlier new ones.
  const dropped = candidates.length - kept.length;
  const annotation = JSON.stringify(kept);
  if (annotation === current) return dropped > 0 ? { annotation, dropped } : undefined;
  return { annotation, dropped };
}

/** The dropped-alerts count after adding `dropped` to what the annotation says. */
export function addDroppedAlerts(current: string | undefined, dropped: number): string {
  const before = Number.parseInt(current ?? "0", 10);
  return String((Number.isSafeInteger(before) && before > 0 ? before : 0) + dropped);
}

/** An alert whose JSON fits MAX_ALERT_BYTES: labels are dropped, last first, until it does. */
function withinAlertBudget(alert: AlertObservation): AlertObservation {
  if (jsonBytes(alert) <= MAX_ALERT_BYTES) return alert;
  const labels = Object.entries(alert.labels);
  while (labels.length > 0 && jsonBytes({ ...alert, labels: Object.fromEntries(labels) }) > MAX_ALERT_BYTES)
    labels.pop();
  return { ...alert, labels: Object.fromEntries(labels) };
}

function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value), "utf8");
}

function parseAnnotation(value: string | undefined): AlertObservation[] {
  if (!value) return [];
  let entries: unknown;
  try {
    entries = JSON.parse(value);
  } catch {
    return [];
  }
  if (!Array.isArray(entries)) return [];
  return entries.flatMap((entry) => {
    const parsed = annotatedAlertSchema.safeParse(entry);
    return parsed.success ? [parsed.data] : [];
  });
}

function identity(alert: AlertObservation): string {
  return `${alert.fingerprint}@${new Date(Date.parse(alert.startsAt)).toISOString()}`;
}

function uniqueBy<T>(items: readonly T[], key: (item: T) => string): T[] {
  const seen = new Map<string, T>();
  for (const item of items) if (!seen.has(key(item))) seen.set(key(item), item);
  return [...seen.values()];
}
