// metav1.MicroTime (Lease acquireTime/renewTime, Event eventTime) must carry six
// fractional digits: the API server parses it with "2006-01-02T15:04:05.000000Z07:00"
// and rejects the three digits a plain Date serialises to. client-node 2.0.1 has a
// V1MicroTime class (a Date whose toISOString pads to microseconds), but its
// serialiser passes Dates through to JSON.stringify untouched, so only a V1MicroTime
// instance comes out right; and it does not convert MicroTime on the way in either:
// a Lease read back holds its times as *strings*, whatever the types say.
import { V1MicroTime } from "@kubernetes/client-node";

/** A value that serialises as a MicroTime the API server accepts. */
export function toMicroTime(at: Date | number): V1MicroTime {
  const ms = typeof at === "number" ? at : at.getTime();
  if (!Number.isFinite(ms)) throw new Error(`cannot make a MicroTime of an invalid time (${String(at)})`);
  return new V1MicroTime(ms);
}

/** The wire form: 2024-05-01T12:00:00.123000Z. */
export function formatMicroTime(at: Date | number): string {
  return toMicroTime(at).toISOString();
}

/**
 * A MicroTime as client-node hands it back (a string at run time, or a Date) as a Date;
 * undefined when absent or unparseable. Digits beyond milliseconds are dropped.
 */
export function parseMicroTime(value: unknown): Date | undefined {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? undefined : value;
  if (typeof value !== "string" || value === "") return undefined;
  const parsed = new Date(value);
  return Number.isNaN(parsed.getTime()) ? undefined : parsed;
}
