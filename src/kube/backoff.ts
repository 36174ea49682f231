// Retry timing shared by the informer, the work queue and leader election. Pure, so it
// is tested with plain numbers; callers pass Math.random() as the jitter.

export interface BackoffPolicy {
  /** The ceiling of the first retry's delay; it doubles with every further retry. */
  initialDelayMs: number;
  /** No delay is longer than this. */
  maxDelayMs: number;
}

/**
 * The delay before retry number `retry` (0 for the first), with "equal jitter": half of
 * the exponential ceiling is fixed and half is spread by `jitter` (0 ≤ jitter < 1). Many
 * controllers that lost the API server together then do not come back together, and no
 * retry comes at once.
 */
export function backoffDelayMs(retry: number, policy: BackoffPolicy, jitter: number): number {
  if (!Number.isInteger(retry) || retry < 0)
    throw new Error(`retry must be a whole number ≥ 0, not ${retry}`);
  checkJitter(jitter);
  checkPolicy(policy);
  // 2 ** retry is Infinity for huge retries; Math.min brings it back to the cap.
  const ceiling = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** retry);
  return Math.round(ceiling / 2 + (ceiling / 2) * jitter);
}

/**
 * `baseMs` stretched by up to `maxFactor` of itself (client-go's wait.Jitter), so that
 * replicas polling at the same period drift apart: base + base × maxFactor × jitter.
 */
export function jitteredMs(baseMs: number, maxFactor: number, jitter: number): number {
  if (!(baseMs >= 0) || !Number.isFinite(baseMs)) throw new Error(`base delay must be ≥ 0 ms, not ${baseMs}`);
  if (!(maxFactor >= 0)) throw new Error(`jitter factor must be ≥ 0, not ${maxFactor}`);
  checkJitter(jitter);
  return Math.round(baseMs + baseMs * maxFactor * jitter);
}

function checkJitter(jitter: number): void {
  if (!(jitter >= 0 && jitter < 1)) throw new Error(`jitter must be in [0, 1), not ${jitter}`);
}

function checkPolicy(policy: BackoffPolicy): void {
  if (!(policy.initialDelayMs > 0) || !Number.isFinite(policy.initialDelayMs)) {
    throw new Error(`backoff initialDelayMs must be a positive number, not ${policy.initialDelayMs}`);
  }
  if (!(policy.maxDelayMs >= policy.initialDelayMs)) {
    throw new Error(
      `backoff maxDelayMs (${policy.maxDelayMs}) must be at least initialDelayMs (${policy.initialDelayMs})`,
    );
  }
}
