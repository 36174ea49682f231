// What the dashboard's server accepts: every request is checked here before anything is
// read or written with the person's credentials. Pure, so each rule is unit-tested.
//
// The server acts with the kubeconfig of whoever started it, so any web page that can
// make their browser send a request to it is an attacker (cross-site request forgery,
// DNS rebinding). Hence: the Host header must name the loopback address and port we
// listen on (a rebound hostname does not); every API request carries the per-server
// random token that only our own page holds (in a header, which a cross-site form or
// image cannot set); writes also need a same-origin Origin and a JSON body.
import { timingSafeEqual } from "node:crypto";
import { z } from "zod";
import { dnsLabelSchema, dnsSubdomainSchema } from "../api/index.ts";
import { doraWindowSchema } from "../cli/command-line.ts";
import { EXIT } from "../cli/exit-codes.ts";
import { TOKEN_HEADER, type ActionResult } from "./protocol.ts";

/** The largest action body accepted: a comment or a reason of 1,000 characters fits well. */
export const MAX_BODY_BYTES = 16 * 1024;

export interface Listening {
  port: number;
  token: string;
}

export type Guard = { ok: true } | { ok: false; status: 400 | 403 | 405 | 415; message: string };

type Headers = Record<string, string | string[] | undefined>;

function header(headers: Headers, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** The origins our own page has: the loopback address we listen on, by number or as localhost. */
export function allowedOrigins(port: number): string[] {
  return [`http://127.0.0.1:${port}`, `http://localhost:${port}`];
}

function sameToken(given: string | undefined, token: string): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Whether a request may be served at all. `kind`: "page" (the HTML and its assets: Host
 * only), "read" (API reads: Host and token; the event stream may carry the token in its
 * query, since EventSource cannot set headers), "write" (actions: Host, token header,
 * Origin, Fetch-Metadata and a JSON content type).
 */
export function guardRequest(
  request: { method: string; headers: Headers; queryToken?: string | undefined },
  kind: "page" | "read" | "write",
  listening: Listening,
): Guard {
  const host = header(request.headers, "host");
  const hosts = allowedOrigins(listening.port).map((origin) => origin.replace("http://", ""));
  if (!host || !hosts.includes(host.toLowerCase()))
    return {
      ok: false,
      status: 403,
      message: `Host ${JSON.stringify(host ?? "")} is not this dashboard (${hosts.join(" or ")}): refused, as a DNS-rebinding guard`,
    };
  const method = request.method.toUpperCase();
  if (kind !== "write" && method !== "GET" && method !== "HEAD")
    return { ok: false, status: 405, message: `${method} is not allowed here` };
  if (kind === "page") return { ok: true };

  const token = header(request.headers, TOKEN_HEADER) ?? (kind === "read" ? request.queryToken : undefined);
  if (!sameToken(token, listening.token))
    return {
      ok: false,
      status: 403,
      message: `the ${TOKEN_HEADER} header is missing or wrong: only the dashboard's own page may call its API`,
    };
  if (kind === "read") return { ok: true };

  if (method !== "POST") return { ok: false, status: 405, message: `${method} is not allowed here: POST` };
  const origin = header(request.headers, "origin");
  if (!origin || !allowedOrigins(listening.port).includes(origin.toLowerCase()))
    return {
      ok: false,
      status: 403,
      message: `Origin ${JSON.stringify(origin ?? "")} is not this dashboard: cross-site requests are refused`,
    };
  const site = header(request.headers, "sec-fetch-site");
  if (site !== undefined && site !== "same-origin")
    return { ok: false, status: 403, message: `Sec-Fetch-Site ${site}: cross-site requests are refused` };
  const type = header(request.headers, "content-type") ?? "";
  if (!/^application\/json(\s*;|$)/i.test(type))
    return { ok: false, status: 415, message: "the body must be JSON (Content-Type: application/json)" };
  return { ok: true };
}

// ---- paths and bodies ----

export const releaseRefSchema = z.object({ namespace: dnsLabelSchema, name: dnsSubdomainSchema });
export type ReleaseRef = z.infer<typeof releaseRefSchema>;

const note = z.string().trim().max(1000, { message: "must be at most 1000 characters" }).optional();

/** The body of POST /api/releases/NAMESPACE/NAME/actions: the CLI's options for each action. */
export const actionBodySchema = z.discriminatedUnion("action", [
  z.strictObject({ action: z.literal("approve"), comment: note }),
  z.strictObject({ action: z.literal("pause"), reason: note }),
  z.strictObject({ action: z.literal("resume") }),
  z.strictObject({ action: z.literal("promote"), full: z.boolean().default(false) }),
  z.strictObject({ action: z.literal("abort"), reason: note }),
  z.strictObject({ action: z.literal("rollback"), reason: note }),
]);
export type ActionBody = z.infer<typeof actionBodySchema>;

/** "/api/releases/NS/NAME" or "/api/releases/NS/NAME/actions", validated; undefined for other paths. */
export function parseReleasePath(
  pathname: string,
): { ok: true; ref: ReleaseRef; actions: boolean } | { ok: false; message: string } | undefined {
  const match = /^\/api\/releases\/([^/]+)\/([^/]+)(\/actions)?$/.exec(pathname);
  if (!match) return undefined;
  let namespace: string;
  let name: string;
  try {
    namespace = decodeURIComponent(match[1] ?? "");
    name = decodeURIComponent(match[2] ?? "");
  } catch {
    return { ok: false, message: "the path is not valid percent-encoding" };
  }
  const parsed = releaseRefSchema.safeParse({ namespace, name });
  if (!parsed.success)
    return {
      ok: false,
      message: parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`).join("; "),
    };
  return { ok: true, ref: parsed.data, actions: match[3] !== undefined };
}

export const historyRefSchema = z.object({
  namespace: dnsLabelSchema,
  target: dnsLabelSchema,
  window: doraWindowSchema.default("30d"),
});
export type HistoryRef = z.infer<typeof historyRefSchema>;

/** "/api/history/NS/TARGET" with `?window=30d` (as `glidepath dora --window`), validated; undefined for other paths. */
export function parseHistoryPath(
  pathname: string,
  window: string | null,
): { ok: true; ref: HistoryRef } | { ok: false; message: string } | undefined {
  const match = /^\/api\/history\/([^/]+)\/([^/]+)$/.exec(pathname);
  if (!match) return undefined;
  let namespace: string;
  let target: string;
  try {
    namespace = decodeURIComponent(match[1] ?? "");
    target = decodeURIComponent(match[2] ?? "");
  } catch {
    return { ok: false, message: "the path is not valid percent-encoding" };
  }
  const parsed = historyRefSchema.safeParse({ namespace, target, ...(window === null ? {} : { window }) });
  if (!parsed.success)
    return {
      ok: false,
      message: parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`).join("; "),
    };
  return { ok: true, ref: parsed.data };
}

/** A zod error as one line: "action: Invalid input…; comment: must be at most 1000 characters". */
export function describeBodyError(error: z.ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.length ? issue.path.join(".") : "body"}: ${issue.message}`)
    .join("; ");
}

// ---- the API server's answer ----

/**
 * How the API server (or the release's state) took an action, from the CLI's exit code
 * and message: a 403 from the admission webhook names it ("admission webhook … denied
 * the request"); any other 403 is RBAC.
 */
export function classifyOutcome(exitCode: number, message: string): ActionResult["outcome"] {
  if (exitCode === EXIT.ok) return "accepted";
  if (/\b403\b/.test(message) || /\bforbidden\b/i.test(message))
    return /admission webhook/i.test(message) ? "webhook" : "rbac";
  if (exitCode === EXIT.conflict) return "conflict";
  if (exitCode === EXIT.notFound) return "not-found";
  return "failed";
}
