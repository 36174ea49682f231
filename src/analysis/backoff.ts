// Retry timing for the Prometheus client, kept pure so it is tested with plain numbers.

export interface RetryPolicy {
  /** Attempts in all, the first one included (1 = no retries). */
  attempts: number;
  /** The ceiling of the first retry's delay; it doubles with every retry. */
  baseDelayMs: number;
  /** No delay is longer than this. */
  maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { attempts: 3, baseDelayMs: 250, maxDelayMs: 2_000 };

/**
 * The delay before retry number `retry` (0 for the first retry), with "equal jitter":
 * half of the exponential ceiling is fixed and half is spread by `jitter` (0 ≤ jitter < 1,
 * e.g. Math.random()), so controllers that lost Prometheus together do not return together,
 * and no retry comes at once.
 */
export function backoffDelayMs(
  retry: number,
  policy: Pick<RetryPolicy, "baseDelayMs" | "maxDelayMs">,
  jitter: number,
): number {
  if (!Number.isInteger(retry) || retry < 0)
    throw new Error(`retry must be a whole number ≥ 0, not ${retry}`);
  if (!(jitter >= 0 && jitter < 1)) throw new Error(`jitter must be in [0, 1), not ${jitter}`);
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** retry);
  return Math.round(ceiling / 2 + (ceiling / 2) * jitter);
}
