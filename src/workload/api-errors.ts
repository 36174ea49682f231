// Reading the API server's answers out of client-node's ApiException, whose `body` is
// the response text (a JSON Status object, usually).

export function apiStatusCode(error: unknown): number | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === "number" ? code : undefined;
}

export const isNotFound = (error: unknown): boolean => apiStatusCode(error) === 404;
/** 409: AlreadyExists on create, Conflict on a stale resourceVersion. */
export const isConflict = (error: unknown): boolean => apiStatusCode(error) === 409;

/** The Status reason and message the API server sent, for error messages a person reads. */
export function describeApiError(error: unknown): string {
  const code = apiStatusCode(error);
  if (code === undefined) return error instanceof Error ? error.message : String(error);
  const body = (error as { body?: unknown }).body;
  let status: { reason?: string; message?: string } | undefined;
  if (typeof body === "string") {
    try {
      status = JSON.parse(body) as { reason?: string; message?: string };
    } catch {
      status = { message: body.slice(0, 500) };
    }
  } else if (typeof body === "object" && body !== null) {
    status = body as { reason?: string; message?: string };
  }
  const reason = status?.reason ? ` ${status.reason}` : "";
  const message = status?.message ?? (error instanceof Error ? error.message : "");
  return `HTTP ${code}${reason}: ${message}`;
}

/** Wraps an API failure with what was being done, keeping the original as the cause. */
export function apiError(action: string, error: unknown): Error {
  return new Error(`${action}: ${describeApiError(error)}`, { cause: error });
}
