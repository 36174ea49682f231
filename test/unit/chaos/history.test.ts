import { describe, expect, it } from "vitest";
import {
  canaryWeights,
  finishedAt,
  parseActionLine,
  percentiles,
  promotionsOnMissingData,
  recoveryMs,
  replicaOverlaps,
  storedVersions,
  walkStages,
  type ActionEvent,
  type StoredObject,
} from "../../chaos/history.ts";

const STAGES = [1, 10, 50, 100];
const A = "system:serviceaccount:glidepath-system:chaos-r1";
const B = "system:serviceaccount:glidepath-system:chaos-r2";

function route(resourceVersion: number, canary?: number): StoredObject {
  const refs = [{ name: "web", weight: 100 - (canary ?? 0) }];
  if (canary !== undefined) refs.push({ name: "web-canary", weight: canary });
  return { metadata: { resourceVersion: String(resourceVersion) }, spec: { rules: [{ backendRefs: refs }] } };
}

function write(at: number, user: string, resource: string, object?: StoredObject, code = 200): ActionEvent {
  return {
    at,
    user,
    verb: "patch",
    resource,
    namespace: "shop",
    name: "web",
    code,
    ...(object ? { object } : {}),
  };
}

describe("reading the audit log", () => {
  it("keeps a replica's finished write with its user and stored object, and drops reads and partial lines", () => {
    const line = JSON.stringify({
      verb: "patch",
      user: { username: A },
      objectRef: { resource: "releases", subresource: "status", namespace: "shop", name: "r1" },
      responseStatus: { code: 200 },
      responseObject: { metadata: { resourceVersion: "7" }, status: { phase: "Progressing" } },
      stageTimestamp: "2026-12-06T10:00:00.123456Z",
    });
    expect(parseActionLine(line)).toEqual({
      at: Date.parse("2026-12-06T10:00:00.123Z"),
      user: A,
      verb: "patch",
      resource: "releases/status",
      namespace: "shop",
      name: "r1",
      code: 200,
      object: { metadata: { resourceVersion: "7" }, status: { phase: "Progressing" } },
    });
    expect(parseActionLine(line.replace('"patch"', '"get"'))).toBeUndefined();
    expect(parseActionLine(line.slice(0, 40))).toBeUndefined();
  });
});

describe("the route's stages", () => {
  it("orders stored versions by resourceVersion, leaves out failed and unchanged writes, folds repeats", () => {
    const events = [
      write(3, A, "httproutes", route(12, 10)),
      write(1, A, "httproutes", route(10, 1)),
      write(2, A, "httproutes", route(10, 1)), // a write that changed nothing keeps the version
      write(4, B, "httproutes", route(13, 50), 409),
      write(5, B, "httproutes", route(14, 10)),
    ];
    const versions = storedVersions(events, "httproutes", "shop", "web");
    expect(versions.map((version) => [version.at, version.object.metadata?.resourceVersion])).toEqual([
      [1, "10"],
      [3, "12"],
      [5, "14"],
    ]);
    expect(canaryWeights(versions, "web-canary")).toEqual([1, 10]);
    const stored = [route(1), route(2, 0), route(3, 1)].map((object, at) => ({ at, object }));
    expect(canaryWeights(stored, "web-canary")).toEqual([0, 1]);
  });

  it("accepts every stage once and in order, then the way back to stable", () => {
    expect(walkStages([0, 1, 10, 50, 100, 0], STAGES)).toEqual({
      reached: 4,
      endedOnStable: true,
      skipped: [],
      repeated: [],
    });
    expect(walkStages([1, 10, 0], STAGES)).toEqual({
      reached: 2,
      endedOnStable: true,
      skipped: [],
      repeated: [],
    });
  });

  it("names a skipped stage, a repeated stage and traffic moved after the end", () => {
    expect(walkStages([1, 50, 100, 0], STAGES).skipped).toEqual(["stage 2 (10%) skipped: went to 50%"]);
    expect(walkStages([1, 10, 1, 10, 50, 100, 0], STAGES).repeated).toEqual([
      "stage 1 (1%) repeated after stage 2",
      "stage 2 (10%) repeated after stage 2",
    ]);
    expect(walkStages([1, 0, 1], STAGES).repeated).toEqual([
      "traffic moved to 1% after the route went back to stable",
    ]);
    expect(walkStages([1, 7], STAGES).skipped).toEqual(["7% is no stage's weight (after stage 1)"]);
  });
});

describe("promotions on missing data", () => {
  const at = (time: string) => Date.parse(`2026-12-06T10:00:${time}Z`);
  const canary = (
    measurements: { verdict: string; at: string }[],
    lastVerdict: string,
    outcome?: string,
  ) => ({
    status: {
      stages: [
        {
          name: "canary",
          weight: 1,
          ...(outcome ? { outcome } : {}),
          tallies: [{ metric: "error-rate", pass: 2, lastVerdict }],
          measurements: measurements.map((measurement) => ({ metric: "error-rate", ...measurement })),
        },
      ],
    },
  });

  it("finds a pass no real answer accounts for, and a stage passed on a newest round that did not pass", () => {
    const rounds = [
      { verdict: "pass", at: "2026-12-06T10:00:05Z" },
      { verdict: "pass", at: "2026-12-06T10:00:20Z" },
      { verdict: "error", at: "2026-12-06T10:00:22Z" },
    ];
    // The real answer at :22 came after the status holding the :20 pass was stored (:20.5),
    // later than the proxy's allowed lag (1 s).
    const statuses = [
      { at: at("06"), object: canary(rounds.slice(0, 1), "pass") },
      { at: at("20.5"), object: canary(rounds.slice(0, 2), "pass") },
      { at: at("23"), object: canary(rounds, "error", "passed") },
    ];
    expect(promotionsOnMissingData(statuses, [at("05.2"), at("22")])).toEqual([
      "stage canary: error-rate passed in the round of 2026-12-06T10:00:20Z, but Prometheus answered nothing real from then on",
      "stage canary passed with error-rate's newest round error",
    ]);
  });

  it("finds nothing when every pass had its real answer and a passed stage's newest round passed", () => {
    const rounds = [
      { verdict: "error", at: "2026-12-06T10:00:05Z" },
      { verdict: "pass", at: "2026-12-06T10:00:20Z" },
    ];
    const statuses = [
      { at: at("06"), object: canary(rounds.slice(0, 1), "error") },
      // A round begun during a stop, answered for real once Prometheus was continued.
      { at: at("31"), object: canary(rounds, "pass", "passed") },
    ];
    expect(promotionsOnMissingData(statuses, [at("30")])).toEqual([]);
  });
});

describe("replicas acting at once", () => {
  it("accepts one replica after another, each in one unbroken run of actions", () => {
    const events = [
      write(1, A, "httproutes"),
      write(2, A, "releases/status"),
      write(3, B, "releases/status"),
      write(4, A, "events"), // an Event is not an action
      write(5, A, "releases/status", undefined, 409), // refused: nothing was done
      write(6, B, "httproutes"),
    ];
    expect(replicaOverlaps(events)).toEqual([]);
  });

  it("finds a replica that acts again after another one has acted", () => {
    const events = [write(3, B, "releases/status"), write(1, A, "httproutes"), write(4, A, "deployments")];
    expect(replicaOverlaps(events)).toEqual([{ user: A, at: 4, resource: "deployments", name: "web" }]);
  });
});

describe("recovery and percentiles", () => {
  const status = (at: number, name: string, phase = "Progressing"): ActionEvent => ({
    at,
    user: A,
    verb: "update",
    resource: "releases/status",
    namespace: "shop",
    name,
    code: 200,
    object: { status: { phase } },
  });

  it("is how long until every release in flight was written again; undefined when one never was", () => {
    const events = [status(5, "r1"), status(14, "r2"), status(12, "r1"), status(20, "r2", "Succeeded")];
    const releases = [
      { namespace: "shop", name: "r1" },
      { namespace: "shop", name: "r2" },
    ];
    expect(recoveryMs(events, 10, releases)).toBe(4);
    expect(recoveryMs(events, 15, releases)).toBeUndefined();
    expect(finishedAt(events, releases[1]!)).toBe(20);
    expect(finishedAt(events, releases[0]!)).toBeUndefined();
  });

  it("gives nearest-rank p50 and p99", () => {
    expect(percentiles([4, 1, 3, 2])).toEqual({ p50: 2, p99: 4 });
    expect(percentiles([])).toEqual({ p50: Number.NaN, p99: Number.NaN });
  });
});
