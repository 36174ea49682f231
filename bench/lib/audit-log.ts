// Counting the API requests one user makes, from the kube-apiserver's own audit log.
// kube-apiserver 1.20's apiserver_request_total has no user or user-agent label, so the
// apiserver is asked to log (at level Metadata, one line per finished request) the
// requests of the controller's ServiceAccount and nothing else.
import { mkdirSync, statSync, writeFileSync } from "node:fs";
import { open } from "node:fs/promises";
import { join } from "node:path";
import { stringify } from "yaml";
import { nearestRank } from "./statistics.ts";

export interface AuditEvent {
  verb: string;
  /** Who made the request ("system:serviceaccount:<namespace>:<name>"), when logged. */
  user?: string;
  /** "releases", "releases/status", "deployments", … */
  resource: string;
  code: number;
  namespace?: string;
  name?: string;
  /** When the request finished (ms since the epoch). */
  at: number;
  /** From received to finished, as the apiserver saw it. */
  latencyMs: number;
  /** The object as stored after the request, when the policy logs it (level RequestResponse). */
  object?: unknown;
}

/** The audit policy that logs only `users`' requests, one Metadata line each. */
export function usersAuditRules(users: string[]): object[] {
  return [{ level: "Metadata", users }, { level: "None" }];
}

/** kube-apiserver flags that log the requests the policy `rules` select to `<dir>/audit.log`. */
export function auditLogFlags(dir: string, rules: object[]): { flags: Record<string, string>; path: string } {
  mkdirSync(dir, { recursive: true });
  const policyPath = join(dir, "audit-policy.yaml");
  const path = join(dir, "audit.log");
  writeFileSync(
    policyPath,
    stringify({
      apiVersion: "audit.k8s.io/v1",
      kind: "Policy",
      // One event per request, when it is finished (a watch: when it ends).
      omitStages: ["RequestReceived", "ResponseStarted"],
      rules,
    }),
  );
  writeFileSync(path, "");
  return {
    path,
    flags: {
      "audit-policy-file": policyPath,
      "audit-log-path": path,
      "audit-log-format": "json",
      // The default rotates at 100 MB, which a thousand Releases reach in minutes; offsets must stay valid.
      "audit-log-maxsize": "100000",
    },
  };
}

export class AuditLog {
  readonly path: string;

  constructor(path: string) {
    this.path = path;
  }

  /** The current end of the file: events logged from now on start at or after it. */
  offset(): number {
    try {
      return statSync(this.path).size;
    } catch {
      return 0;
    }
  }

  /** Events written from `fromOffset` on, whose request finished within [from, to]. */
  async events(fromOffset: number, from: number, to: number): Promise<AuditEvent[]> {
    const { events } = await this.read(fromOffset);
    return events.filter((event) => event.at >= from && event.at <= to);
  }

  /** Every complete line from `fromOffset` to the end of the file, and where the next read starts. */
  async read(fromOffset: number): Promise<{ events: AuditEvent[]; nextOffset: number }> {
    const end = this.offset();
    if (end <= fromOffset) return { events: [], nextOffset: fromOffset };
    const handle = await open(this.path, "r");
    let text: string;
    try {
      const buffer = Buffer.alloc(end - fromOffset);
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, fromOffset);
      const complete = buffer.lastIndexOf(0x0a, bytesRead - 1) + 1;
      text = buffer.toString("utf8", 0, complete);
    } finally {
      await handle.close();
    }
    const events: AuditEvent[] = [];
    for (const line of text.split("\n")) {
      const event = parseAuditLine(line);
      if (event) events.push(event);
    }
    return { events, nextOffset: fromOffset + Buffer.byteLength(text) };
  }
}

/** One line of the JSON audit log; undefined for anything that is not a complete event. */
export function parseAuditLine(line: string): AuditEvent | undefined {
  if (!line.startsWith("{")) return undefined;
  let raw: {
    verb?: string;
    user?: { username?: string };
    objectRef?: { resource?: string; subresource?: string; namespace?: string; name?: string };
    responseStatus?: { code?: number };
    responseObject?: unknown;
    requestReceivedTimestamp?: string;
    stageTimestamp?: string;
  };
  try {
    raw = JSON.parse(line) as typeof raw;
  } catch {
    return undefined;
  }
  const at = Date.parse(raw.stageTimestamp ?? "");
  if (Number.isNaN(at)) return undefined;
  const resource = raw.objectRef?.resource ?? "(none)";
  return {
    verb: raw.verb ?? "?",
    ...(raw.user?.username ? { user: raw.user.username } : {}),
    resource: raw.objectRef?.subresource ? `${resource}/${raw.objectRef.subresource}` : resource,
    code: raw.responseStatus?.code ?? 0,
    ...(raw.objectRef?.namespace ? { namespace: raw.objectRef.namespace } : {}),
    ...(raw.objectRef?.name ? { name: raw.objectRef.name } : {}),
    at,
    latencyMs: at - Date.parse(raw.requestReceivedTimestamp ?? raw.stageTimestamp ?? ""),
    ...(raw.responseObject ? { object: raw.responseObject } : {}),
  };
}

export interface RequestKindSummary {
  count: number;
  /** Apiserver-side latency (received → finished), milliseconds, nearest rank. */
  latencyP50Ms: number;
  latencyP99Ms: number;
}

/** Requests by "verb resource", most frequent first; watches are left out of the latencies' meaning. */
export function summariseRequests(events: readonly AuditEvent[]): Record<string, RequestKindSummary> {
  const byKind = new Map<string, number[]>();
  for (const event of events) {
    const key = `${event.verb} ${event.resource}`;
    let latencies = byKind.get(key);
    if (!latencies) byKind.set(key, (latencies = []));
    latencies.push(event.latencyMs);
  }
  return Object.fromEntries(
    [...byKind.entries()]
      .sort((a, b) => b[1].length - a[1].length)
      .map(([key, latencies]) => {
        const sorted = latencies.sort((a, b) => a - b);
        return [
          key,
          {
            count: sorted.length,
            latencyP50Ms: nearestRank(sorted, 0.5),
            latencyP99Ms: nearestRank(sorted, 0.99),
          },
        ];
      }),
  );
}
