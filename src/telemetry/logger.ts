import { pino, type Logger } from "pino";
import { apiStatusCode, describeApiError, findApiError } from "../kube/errors.ts";

export type { Logger };

/** JSON logs on stdout. Secrets never reach a log line: tokens are redacted wherever they appear. */
export function createLogger(options: { level?: string; name?: string } = {}): Logger {
  return pino({
    name: options.name ?? "glidepath",
    level: options.level ?? process.env.LOG_LEVEL ?? "info",
    redact: {
      paths: ["token", "*.token", "authorization", "*.authorization", "headers.authorization", "bearerToken"],
      censor: "[redacted]",
    },
    serializers: { err: serializeError },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
}

const SAID_IN_ONE_LINE = new Set(["ReleaseBlockedError", "TargetError"]);

/**
 * `err` in a log line. A failed API call is said in one line (code, reason, the API
 * server's message): client-node's ApiException carries a multi-line message with the
 * whole body and every response header, and a stack that says nothing about the cause.
 */
export function serializeError(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  // A release that cannot move until a person acts: the message says it all, a stack would not help.
  if (SAID_IN_ONE_LINE.has(error.name)) return { type: error.name, message: error.message };
  const answer = findApiError(error);
  if (answer === undefined) return pino.stdSerializers.err(error);
  return {
    type: error.name,
    message: describeApiError(error).replace(/\s*\n\s*/g, " "),
    code: apiStatusCode(answer),
  };
}

/** The fields every log line about a release carries. */
export function releaseLogFields(release: { metadata: { namespace?: string; name: string; uid?: string } }) {
  return {
    release: {
      namespace: release.metadata.namespace,
      name: release.metadata.name,
      uid: release.metadata.uid,
    },
  };
}
