import { describe, expect, it } from "vitest";
import { parseAuditLine, summariseRequests, type AuditEvent } from "../../../bench/lib/audit-log.ts";

const CONTROLLER = "system:serviceaccount:glidepath-system:glidepath-controller";

const line = (event: Record<string, unknown>) =>
  JSON.stringify({
    kind: "Event",
    apiVersion: "audit.k8s.io/v1",
    level: "Metadata",
    stage: "ResponseComplete",
    user: { username: CONTROLLER },
    ...event,
  });

describe("a line of the kube-apiserver audit log", () => {
  it("gives the verb, the user, the resource with its subresource, the object, the code and the apiserver's latency", () => {
    expect(
      parseAuditLine(
        line({
          verb: "update",
          objectRef: {
            resource: "releases",
            subresource: "status",
            namespace: "scale-000",
            name: "svc-00001-2-0-0",
            apiGroup: "glidepath.dev",
          },
          responseStatus: { metadata: {}, code: 200 },
          requestReceivedTimestamp: "2026-12-06T13:00:00.000000Z",
          stageTimestamp: "2026-12-06T13:00:00.014000Z",
        }),
      ),
    ).toEqual({
      verb: "update",
      user: CONTROLLER,
      resource: "releases/status",
      code: 200,
      namespace: "scale-000",
      name: "svc-00001-2-0-0",
      at: Date.parse("2026-12-06T13:00:00.014Z"),
      latencyMs: 14,
    });
  });

  it("reads a cluster-wide list with no object and no namespace", () => {
    expect(
      parseAuditLine(
        line({
          verb: "list",
          objectRef: { resource: "deployments", apiGroup: "apps" },
          responseStatus: { code: 200 },
          requestReceivedTimestamp: "2026-12-06T13:00:01.000Z",
          stageTimestamp: "2026-12-06T13:00:01.002Z",
        }),
      ),
    ).toEqual({
      verb: "list",
      user: CONTROLLER,
      resource: "deployments",
      code: 200,
      at: Date.parse("2026-12-06T13:00:01.002Z"),
      latencyMs: 2,
    });
  });

  it("marks a request with no object reference and no code as such", () => {
    const event = parseAuditLine(line({ verb: "get", stageTimestamp: "2026-12-06T13:00:02.000Z" }));
    expect(event).toMatchObject({ verb: "get", resource: "(none)", code: 0, latencyMs: 0 });
  });

  it("passes over what is not a complete event", () => {
    expect(parseAuditLine("")).toBeUndefined();
    expect(parseAuditLine("not json")).toBeUndefined();
    // A line cut off by a read that reached the end of the file while it was written.
    expect(parseAuditLine(line({ verb: "get" }).slice(0, 40))).toBeUndefined();
    // No time it finished: it cannot be placed in a window.
    expect(parseAuditLine(line({ verb: "get" }))).toBeUndefined();
  });
});

describe("requests by kind", () => {
  const event = (verb: string, resource: string, latencyMs: number): AuditEvent => ({
    verb,
    resource,
    code: 200,
    at: 0,
    latencyMs,
  });

  it("are counted most frequent first, with nearest-rank p50 and p99 of the apiserver's latency", () => {
    const summary = summariseRequests([
      event("get", "httproutes", 4),
      event("update", "releases/status", 20),
      event("get", "httproutes", 2),
      event("get", "httproutes", 9),
    ]);
    expect(Object.keys(summary)).toEqual(["get httproutes", "update releases/status"]);
    expect(summary["get httproutes"]).toEqual({ count: 3, latencyP50Ms: 4, latencyP99Ms: 9 });
    expect(summary["update releases/status"]).toEqual({ count: 1, latencyP50Ms: 20, latencyP99Ms: 20 });
  });
});
