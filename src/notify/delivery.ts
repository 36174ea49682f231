import axios, { isAxiosError, type AxiosInstance } from "axios";
import type { Logger } from "pino";
import { backoffDelayMs, type BackoffPolicy } from "../kube/backoff.ts";
import { sleep } from "../kube/interruptible-sleep.ts";
import { timerDelay } from "../kube/timer-delay.ts";

// Delivery of one notification to one endpoint, in the background: a few attempts with
// jittered exponential backoff, on network errors, timeouts, 408, 429 and 5xx. Other
// 4xx answers will not change, so they fail at once. Log lines name the notifier and
// the HTTP status — never the URL (a Slack webhook URL is a credential) or headers.

export interface DeliveryRequest {
  url: string;
  headers: Record<string, string>;
  body: unknown;
}

export interface DeliveryPolicy {
  attempts: number;
  timeoutMs: number;
  backoff: BackoffPolicy;
}

export type AttemptResult =
  | { ok: true; status: number }
  | { ok: false; retryable: boolean; status?: number; code?: string; retryAfterMs?: number };

export const DEFAULT_BACKOFF: BackoffPolicy = { initialDelayMs: 500, maxDelayMs: 10_000 };

export function createHttpClient(): AxiosInstance {
  return axios.create({
    maxRedirects: 0,
    maxContentLength: 1024 * 1024,
    // No proxy from the environment: on-call endpoints are reached as configured.
    proxy: false,
    headers: { "user-agent": "glidepath-notifier" },
  });
}

/** One POST; never throws. */
export async function attempt(
  http: AxiosInstance,
  request: DeliveryRequest,
  timeoutMs: number,
): Promise<AttemptResult> {
  try {
    const response = await http.post(request.url, request.body, {
      headers: { "content-type": "application/json", ...request.headers },
      timeout: timerDelay(timeoutMs),
      responseType: "text",
    });
    return { ok: true, status: response.status };
  } catch (error) {
    if (!isAxiosError(error)) return { ok: false, retryable: true, code: (error as Error).name };
    const status = error.response?.status;
    if (status === undefined) return { ok: false, retryable: true, code: error.code ?? "ERR_NETWORK" };
    const retryAfterMs = retryAfter(error.response?.headers?.["retry-after"]);
    return {
      ok: false,
      retryable: isRetryableStatus(status),
      status,
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    };
  }
}

export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 425 || status === 429 || status >= 500;
}

/** Retry-After in seconds (the form webhooks use), capped at 30 s; dates are ignored. */
export function retryAfter(header: unknown): number | undefined {
  if (typeof header !== "string" || !/^\d+$/.test(header.trim())) return undefined;
  return Math.min(Number(header.trim()) * 1000, 30_000);
}

export interface DeliveryContext {
  notifier: string;
  event: string;
  release: { namespace: string; name: string };
}

/** Attempts until delivered, refused for good, or out of attempts. */
export async function deliver(
  http: AxiosInstance,
  request: DeliveryRequest,
  policy: DeliveryPolicy,
  context: DeliveryContext,
  logger: Logger,
  signal: AbortSignal,
): Promise<"delivered" | "failed"> {
  for (let attemptNumber = 1; ; attemptNumber++) {
    const result = await attempt(http, request, policy.timeoutMs);
    if (result.ok) {
      logger.debug({ ...context, attempt: attemptNumber, status: result.status }, "notification delivered");
      return "delivered";
    }
    const { retryable, status, code } = result;
    const last = !retryable || attemptNumber >= policy.attempts || signal.aborted;
    logger.warn(
      { ...context, attempt: attemptNumber, of: policy.attempts, status, code, retrying: !last },
      last ? "notification delivery failed" : "notification delivery failed; retrying",
    );
    if (last) return "failed";
    const delay = result.retryAfterMs ?? backoffDelayMs(attemptNumber - 1, policy.backoff, Math.random());
    await sleep(delay, signal);
  }
}
