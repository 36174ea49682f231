// Reading errors from @kubernetes/client-node 2.x. Typed calls throw ApiException with
// `.code` and `.body` as the response's JSON *string* (undefined for some codes, e.g.
// 401); a failed watch request ends with a plain Error carrying `.statusCode`; a watch
// stream's ERROR event carries a Status object with `.code`; network failures are
// undici's TypeError("fetch failed") with the reason in `.cause`.
import { STATUS_CODES } from "node:http";

/** The HTTP status of a failed API call or watch, if there was one. */
export function apiStatusCode(error: unknown): number | undefined {
  if (!error || typeof error !== "object") return undefined;
  const candidate = error as { code?: unknown; statusCode?: unknown };
  if (typeof candidate.code === "number") return candidate.code;
  if (typeof candidate.statusCode === "number") return candidate.statusCode;
  return undefined;
}

interface StatusDetails {
  reason?: string;
  message?: string;
}

/** The Kubernetes Status the server sent with an error, parsed from ApiException's string body. */
export function apiErrorStatus(error: unknown): StatusDetails | undefined {
  if (!error || typeof error !== "object") return undefined;
  const source = error as { body?: unknown; kind?: unknown; message?: unknown; reason?: unknown };
  // A Status object itself (the object of a watch ERROR event).
  if (source.kind === "Status") return pickStatus(source);
  let body = source.body;
  if (typeof body === "string") {
    const text = body.trim();
    try {
      body = JSON.parse(text);
    } catch {
      return text ? { message: text.slice(0, 500) } : undefined;
    }
  }
  return body && typeof body === "object" ? pickStatus(body as Record<string, unknown>) : undefined;
}

function pickStatus(status: Record<string, unknown>): StatusDetails {
  return {
    reason: typeof status.reason === "string" ? status.reason : undefined,
    message: typeof status.message === "string" ? status.message : undefined,
  };
}

/**
 * One line a person can act on: "409 Conflict: Operation cannot be fulfilled on …" for
 * API errors, "fetch failed (ECONNREFUSED 127.0.0.1:6443)" for network errors.
 */
export function describeApiError(error: unknown): string {
  const code = apiStatusCode(error);
  const status = apiErrorStatus(error);
  if (code !== undefined) {
    const reason = status?.reason ? ` ${status.reason}` : "";
    const message = status?.message ?? STATUS_CODES[code] ?? "";
    // Plain-text bodies often repeat the code ("404 page not found").
    if (!reason && message.startsWith(`${code} `)) return message;
    return `${code}${reason}${message ? `: ${message}` : ""}`;
  }
  if (error instanceof Error) {
    const cause = (error as { cause?: unknown }).cause;
    if (cause instanceof Error) {
      const causeCode = (cause as { code?: unknown }).code;
      const detail =
        typeof causeCode === "string" && !cause.message.includes(causeCode)
          ? `${causeCode} ${cause.message}`
          : cause.message;
      return `${error.message} (${detail})`;
    }
    return error.message;
  }
  return String(error);
}

export const isNotFound = (error: unknown): boolean => apiStatusCode(error) === 404;
/** 409: AlreadyExists on create, Conflict on a stale resourceVersion. */
export const isConflict = (error: unknown): boolean => apiStatusCode(error) === 409;

/** Wraps an API failure with what was being done, keeping the original as the cause. */
export function apiError(action: string, error: unknown): Error {
  return new Error(`${action}: ${describeApiError(error)}`, { cause: error });
}
