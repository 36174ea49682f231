// Node fires a timer whose delay is above 2^31−1 ms (24.8 days) after 1 ms, with only a
// TimeoutOverflowWarning: a long requeue becomes a hot loop. Every timer in Glidepath
// (setTimeout, timers/promises, AbortSignal.timeout) takes its delay through timerDelay.

/** The longest delay Node's timers honour. */
export const LONGEST_TIMER_MS = 2 ** 31 - 1;

/** A reconcile is never put off longer than this: the engine recomputes a far deadline hourly. */
export const LONGEST_REQUEUE_MS = 3_600_000;

/**
 * `ms` as a delay a timer honours: a whole number of milliseconds from 0 to `ceilingMs`
 * (at most LONGEST_TIMER_MS). Longer, infinite or NaN becomes the ceiling: waiting too
 * long and looking again is safe, firing at once in a loop is not.
 */
export function timerDelay(ms: number, ceilingMs: number = LONGEST_TIMER_MS): number {
  const ceiling = Math.min(Math.max(0, Math.floor(ceilingMs)), LONGEST_TIMER_MS);
  if (Number.isNaN(ms) || ms >= ceiling) return ceiling;
  return ms <= 0 ? 0 : Math.ceil(ms);
}
