import type { BackoffPolicy } from "../kube/backoff.ts";

// Retry timing for the Prometheus client: the controller's one jittered backoff
// (src/kube/backoff.ts), with how many attempts in all.

export interface RetryPolicy extends BackoffPolicy {
  /** Attempts in all, the first one included (1 = no retries). */
  attempts: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { attempts: 3, initialDelayMs: 250, maxDelayMs: 2_000 };
