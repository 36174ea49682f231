import type { KubernetesObject } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import type { ReleaseStatus } from "../../../src/api/index.ts";
import { StatusEchoFilter } from "../../../src/controller/status-echo.ts";

// The watch event of the controller's own status write needs no reconcile; every other
// change of a Release does, so an alert annotated by a follower, a spec edit or a deletion
// is never mistaken for the echo.

const KEY = "shop/checkout-2-4-0";

const read = {
  metadata: {
    name: "checkout-2-4-0",
    namespace: "shop",
    resourceVersion: "41",
    generation: 3,
    labels: { team: "payments" },
    annotations: { "glidepath.dev/created-by": "ana" },
  },
};

const written: ReleaseStatus = {
  phase: "Progressing",
  observedGeneration: 3,
  currentStage: { index: 0, name: "canary", weight: 1, startedAt: "2026-12-06T17:00:00.000Z" },
  stages: [],
  transitions: [{ at: "2026-12-06T17:00:00.000Z", from: "Pending", to: "Progressing", reason: "started" }],
  conditions: [],
  signOff: { actions: [] },
} as unknown as ReleaseStatus;

/** The Release as the watch delivers it after a write: stored JSON, a new resourceVersion. */
function stored(
  status: unknown,
  metadata: Record<string, unknown> = {},
): KubernetesObject & { status?: unknown } {
  return {
    apiVersion: "glidepath.dev/v1alpha1",
    kind: "Release",
    metadata: { ...read.metadata, resourceVersion: "42", ...metadata },
    spec: { target: { deployment: "checkout" } },
    status: JSON.parse(JSON.stringify(status)),
  } as KubernetesObject & { status?: unknown };
}

function filterExpectingWrite(): StatusEchoFilter {
  const filter = new StatusEchoFilter();
  filter.expect(KEY, read, written);
  return filter;
}

describe("the echo of the controller's own status write", () => {
  it("is recognised once: the same status written again later by someone is a change", () => {
    const filter = filterExpectingWrite();
    expect(filter.isEcho({ type: "updated", key: KEY, object: stored(written) })).toBe(true);
    expect(filter.isEcho({ type: "updated", key: KEY, object: stored(written) })).toBe(false);
  });

  it("matches the stored object, which has no undefined fields", () => {
    const filter = new StatusEchoFilter();
    filter.expect(KEY, read, { ...written, message: undefined, waitingFor: undefined } as ReleaseStatus);
    expect(filter.isEcho({ type: "updated", key: KEY, object: stored(written) })).toBe(true);
  });

  it("is the status as it was written, even if the writer changes its object afterwards", () => {
    const status = structuredClone(written);
    const filter = new StatusEchoFilter();
    filter.expect(KEY, read, status);
    status.phase = "RollingBack";
    expect(filter.isEcho({ type: "updated", key: KEY, object: stored(written) })).toBe(true);
  });

  it("is not an update that carries another status", () => {
    const filter = filterExpectingWrite();
    const other = { ...written, phase: "Paused" };
    expect(filter.isEcho({ type: "updated", key: KEY, object: stored(other) })).toBe(false);
  });

  it("is not an update that also changed the spec, labels or annotations (an alert handed over by a follower)", () => {
    const changes: Record<string, unknown>[] = [
      { generation: 4 },
      { labels: { team: "payments", tier: "gold" } },
      { annotations: { ...read.metadata.annotations, "glidepath.dev/firing-alerts": "[]" } },
      { deletionTimestamp: "2026-12-06T17:01:00Z" },
    ];
    for (const metadata of changes) {
      const filter = filterExpectingWrite();
      expect(
        filter.isEcho({ type: "updated", key: KEY, object: stored(written, metadata) }),
        String(Object.keys(metadata)),
      ).toBe(false);
    }
  });

  it("is still recognised after someone else's update came first", () => {
    const filter = filterExpectingWrite();
    expect(
      filter.isEcho({ type: "updated", key: KEY, object: stored({ phase: "Pending" }, { generation: 4 }) }),
    ).toBe(false);
    expect(filter.isEcho({ type: "updated", key: KEY, object: stored(written) })).toBe(true);
  });

  it("is never expected again once the Release was deleted or listed afresh", () => {
    for (const type of ["deleted", "added"] as const) {
      const filter = filterExpectingWrite();
      expect(filter.isEcho({ type, key: KEY, object: stored(written) })).toBe(false);
      expect(filter.isEcho({ type: "updated", key: KEY, object: stored(written) })).toBe(false);
    }
  });

  it("is not expected after a write that did not land", () => {
    const filter = filterExpectingWrite();
    filter.forget(KEY);
    expect(filter.isEcho({ type: "updated", key: KEY, object: stored(written) })).toBe(false);
  });

  it("belongs to its own Release only", () => {
    const filter = filterExpectingWrite();
    expect(filter.isEcho({ type: "updated", key: "shop/checkout-2-5-0", object: stored(written) })).toBe(
      false,
    );
    expect(filter.isEcho({ type: "updated", key: KEY, object: stored(written) })).toBe(true);
  });
});
