import { pino, type Logger } from "pino";

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
    timestamp: pino.stdTimeFunctions.isoTime,
  });
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
