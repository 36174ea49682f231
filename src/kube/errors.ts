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
  /** The object the server was asked about: name, API group, and `kind` (the resource, plural). */
  details?: { name?: string; group?: string; kind?: string };
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
  const details = status.details && typeof status.details === "object" ? status.details : undefined;
  const text = (key: string): string | undefined => {
    const value = (details as Record<string, unknown> | undefined)?.[key];
    return typeof value === "string" && value !== "" ? value : undefined;
  };
  const name = text("name");
  const group = text("group");
  const kind = text("kind");
  return {
    reason: typeof status.reason === "string" ? status.reason : undefined,
    message: typeof status.message === "string" ? status.message : undefined,
    ...(name || group || kind
      ? {
          details: {
            ...(name ? { name } : {}),
            ...(group ? { group } : {}),
            ...(kind ? { kind } : {}),
          },
        }
      : {}),
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
    // A wrapper made by apiError() already says what the API answered; the cause's own
    // message would be client-node's multi-line dump (HTTP-Code, Body, Headers).
    if (cause instanceof Error && apiStatusCode(cause) === undefined) {
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

/** What the controller asked the API server to do, where the error itself cannot tell. */
export interface ApiRequest {
  /** The RBAC verb: get, list, watch, create, update, patch, delete. */
  verb: string;
  /** The resource, plural, with its subresource if any: "deployments", "releases/status". */
  resource: string;
  /** The API group; "" or absent for the core group. */
  group?: string;
  namespace?: string;
  name?: string;
}

/** The innermost error in a chain of `cause`s that carries an HTTP status: the API's own answer. */
export function findApiError(error: unknown): unknown {
  let current: unknown = error;
  let found: unknown = undefined;
  for (let depth = 0; depth < 10 && current && typeof current === "object"; depth++) {
    if (apiStatusCode(current) !== undefined) found = current;
    current = (current as { cause?: unknown }).cause;
  }
  return found;
}

// kube-apiserver's RBAC denial: `User "…" cannot patch resource "httproutes" in API group
// "gateway.networking.k8s.io" in the namespace "shop"` (no namespace part cluster-wide).
const FORBIDDEN_PATTERN =
  /User "([^"]+)" cannot (\S+) resource "([^"]+)" in API group "([^"]*)"(?: in the namespace "([^"]+)")?/;
const SERVICE_ACCOUNT_USER = /^system:serviceaccount:([^:]+):([^:]+)$/;

/**
 * One sentence a person can act on, for a failed API call: what the controller may not
 * do or what failed (verb, resource, namespace, name), then the code and the API
 * server's own message from its Status. Never client-node's dump. `request` fills in
 * what the server's answer does not say (it names the verb only in a 403).
 *
 *   the controller may not patch httproutes.gateway.networking.k8s.io "checkout" in namespace
 *   shop: grant patch on httproutes.gateway.networking.k8s.io to ServiceAccount
 *   glidepath-system/glidepath-controller (403 Forbidden: User "…" cannot patch resource …)
 */
export function describeApiFailure(error: unknown, request?: ApiRequest): string {
  const answer = findApiError(error) ?? error;
  const code = apiStatusCode(answer);
  if (code === undefined) return oneLine(describeApiError(error));
  const status = apiErrorStatus(answer);
  const serverSaid = oneLine(describeApiError(answer));
  const denial = code === 403 ? FORBIDDEN_PATTERN.exec(status?.message ?? "") : null;
  const verb = denial?.[2] ?? request?.verb;
  const resource = denial?.[3] ?? request?.resource ?? status?.details?.kind;
  const group = denial ? denial[4] : (request?.group ?? status?.details?.group);
  const namespace = denial?.[5] ?? request?.namespace;
  const name = status?.details?.name ?? request?.name;
  const what = resource ? resourceRef(resource, group) : "the object";
  const object = `${what}${name ? ` "${name}"` : ""}${namespace ? ` in namespace ${namespace}` : ""}`;
  switch (code) {
    case 401:
      return `the API server did not accept the controller's credentials (${serverSaid}): check the token of its ServiceAccount`;
    case 403: {
      const user = denial?.[1];
      const account = user ? SERVICE_ACCOUNT_USER.exec(user) : null;
      const subject = account
        ? `ServiceAccount ${account[1]}/${account[2]}`
        : user
          ? `user ${user}`
          : "the controller's ServiceAccount";
      const action = verb ?? "use";
      return `the controller may not ${action} ${object}: grant ${action} on ${what} to ${subject} (${serverSaid})`;
    }
    case 404:
      return `${object} does not exist (${serverSaid})`;
    default:
      return `${verb ? `${verb} ` : ""}${object} failed: ${serverSaid}`;
  }
}

/** "deployments.apps", "services", "releases.glidepath.dev/status": as kubectl and RBAC rules name them. */
function resourceRef(resource: string, group: string | undefined): string {
  const [plural, subresource] = resource.split("/", 2);
  return `${plural}${group ? `.${group}` : ""}${subresource ? `/${subresource}` : ""}`;
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, " ").trim();
}

/** Why a referenced object stops a release: the condition reason a person sees. */
export type TargetErrorReason = "TargetNotFound" | "TargetInvalid" | "RouteNotFound" | "RouteInvalid";

/**
 * An object the Release names is missing or does not fit it (a container the Deployment
 * lacks, a route with no rule to the stable Service). Retrying alone will not help: a
 * person must change the Release or the object.
 */
export class TargetError extends Error {
  readonly reason: TargetErrorReason;
  constructor(reason: TargetErrorReason, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "TargetError";
    this.reason = reason;
  }
}

/** The router's own object (an HTTPRoute, the stable Ingress) does not exist: there is no route to restore. */
export function isRouteNotFound(error: unknown): error is TargetError {
  return error instanceof TargetError && error.reason === "RouteNotFound";
}

/**
 * undici ends a response whose body sent nothing for its bodyTimeout (300 s by default):
 * for a watch, that is a quiet stream ending like the server's own timeout would, not a
 * failure. It arrives as BodyTimeoutError, or as fetch's TypeError("terminated") with it
 * as the cause; over HTTP/2 its message is `stream timeout after 300000`.
 */
export function isIdleStreamTimeout(error: unknown): boolean {
  for (let current = error, depth = 0; current && typeof current === "object" && depth < 5; depth++) {
    const candidate = current as { code?: unknown; name?: unknown; message?: unknown; cause?: unknown };
    if (candidate.code === "UND_ERR_BODY_TIMEOUT" || candidate.name === "BodyTimeoutError") return true;
    if (typeof candidate.message === "string" && /stream timeout after \d+/.test(candidate.message))
      return true;
    current = candidate.cause;
  }
  return false;
}
