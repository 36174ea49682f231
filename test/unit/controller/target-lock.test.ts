import { describe, expect, it } from "vitest";
import type { Release, ReleaseStatus } from "../../../src/api/index.ts";
import { findBlockingRelease, releasesWaitingOn } from "../../../src/controller/target-lock.ts";
import { TargetIndex } from "../../../src/controller/target-index.ts";

// One active release per target: who waits for whom, and who is woken when a target frees up.

function release(
  name: string,
  createdAt: string,
  status?: Partial<ReleaseStatus>,
  overrides: { deployment?: string; namespace?: string; traffic?: Release["spec"]["traffic"] } = {},
): Release {
  return {
    apiVersion: "glidepath.dev/v1alpha1",
    kind: "Release",
    metadata: {
      name,
      namespace: overrides.namespace ?? "shop",
      uid: `uid-${name}`,
      creationTimestamp: createdAt,
    },
    spec: {
      target: { deployment: overrides.deployment ?? "checkout", service: "checkout" },
      traffic: overrides.traffic ?? { gatewayAPI: { httpRoute: "checkout" } },
    },
    ...(status
      ? { status: { stages: [], approvals: [], transitions: [], conditions: [], ...status } as ReleaseStatus }
      : {}),
  } as unknown as Release;
}

const refused = {
  phase: "Pending" as const,
  conditions: [
    {
      type: "Valid",
      status: "False" as const,
      reason: "InvalidSpec",
      message: "bad",
      lastTransitionTime: "2026-01-01T00:00:00Z",
    },
  ],
};

describe("the one-active-release-per-target lock", () => {
  const first = release("checkout-2-0-0", "2026-01-01T10:00:00Z", {
    phase: "Progressing",
    startedAt: "2026-01-01T10:00:01Z",
  });
  const second = release("checkout-2-1-0", "2026-01-01T10:05:00Z");

  it("makes a newer Release wait for an older unfinished one of the same target", () => {
    expect(findBlockingRelease(second, [first, second])).toBe("checkout-2-0-0");
    expect(findBlockingRelease(first, [first, second])).toBeUndefined();
  });

  it("ignores other targets, other namespaces and finished Releases", () => {
    const otherTarget = release(
      "cart-1",
      "2026-01-01T09:00:00Z",
      { phase: "Progressing" },
      { deployment: "cart" },
    );
    const otherNamespace = release(
      "checkout-x",
      "2026-01-01T09:00:00Z",
      { phase: "Progressing" },
      { namespace: "other" },
    );
    const done = release("checkout-1-9-0", "2026-01-01T09:00:00Z", { phase: "Succeeded" });
    expect(findBlockingRelease(second, [otherTarget, otherNamespace, done, second])).toBeUndefined();
  });

  it("is not held by an older Release the controller refused before it started", () => {
    const invalid = release("checkout-broken", "2026-01-01T09:00:00Z", refused);
    expect(findBlockingRelease(second, [invalid, second])).toBeUndefined();
  });

  it("is still held by a started Release whose spec was made invalid later", () => {
    const editedInFlight = release("checkout-2-0-0", "2026-01-01T10:00:00Z", {
      ...refused,
      phase: "Progressing",
      startedAt: "2026-01-01T10:00:01Z",
    });
    expect(findBlockingRelease(second, [editedInFlight, second])).toBe("checkout-2-0-0");
  });

  it("wakes the Releases waiting for one that finished, was refused or is gone", () => {
    const waiting = release("checkout-2-1-0", "2026-01-01T10:05:00Z", {
      phase: "Pending",
      waitingFor: "checkout-2-0-0",
    });
    const unrelated = release("checkout-2-2-0", "2026-01-01T10:06:00Z", {
      phase: "Pending",
      waitingFor: "checkout-1-0-0",
    });
    const all = [first, waiting, unrelated];
    expect(releasesWaitingOn(first, false, all)).toEqual([]);
    const finished = release("checkout-2-0-0", "2026-01-01T10:00:00Z", { phase: "Succeeded" });
    expect(releasesWaitingOn(finished, false, [finished, waiting, unrelated])).toEqual([
      "shop/checkout-2-1-0",
    ]);
    expect(releasesWaitingOn(first, true, [waiting, unrelated])).toEqual(["shop/checkout-2-1-0"]);
  });
});

describe("the index of what each Release depends on", () => {
  it("maps Deployments, the HTTPRoute and the Ingresses back to their Releases", () => {
    const index = new TargetIndex();
    index.update("shop/checkout-2-0-0", release("checkout-2-0-0", "2026-01-01T10:00:00Z"));
    index.update(
      "shop/checkout-nginx",
      release("checkout-nginx", "2026-01-01T10:00:00Z", undefined, {
        traffic: { nginx: { ingress: "web" } },
      }),
    );
    const ref = (name: string, namespace = "shop") => ({ metadata: { name, namespace } });
    expect(index.releasesOf(ref("checkout"))).toEqual(["shop/checkout-2-0-0", "shop/checkout-nginx"]);
    expect(index.releasesOf(ref("checkout-canary"))).toEqual(["shop/checkout-2-0-0", "shop/checkout-nginx"]);
    expect(index.releasesWatching("httproute", ref("checkout"))).toEqual(["shop/checkout-2-0-0"]);
    expect(index.releasesWatching("ingress", ref("web"))).toEqual(["shop/checkout-nginx"]);
    expect(index.releasesWatching("ingress", ref("web-canary"))).toEqual(["shop/checkout-nginx"]);
    expect(index.releasesWatching("httproute", ref("checkout", "other"))).toEqual([]);
    // A Deployment and an HTTPRoute of the same name are different objects.
    expect(index.releasesWatching("httproute", ref("checkout-canary"))).toEqual([]);

    index.remove("shop/checkout-2-0-0");
    expect(index.releasesWatching("httproute", ref("checkout"))).toEqual([]);
    expect(index.releasesOf(ref("checkout"))).toEqual(["shop/checkout-nginx"]);
  });
});
