import { describe, expect, it } from "vitest";
import type { ReleaseRef } from "../../../src/api/workload-names.ts";
import { TargetError } from "../../../src/kube/errors.ts";
import {
  buildCanaryAutoscaler,
  findStableAutoscaler,
  type Autoscaler,
} from "../../../src/workload/canary-autoscaler.ts";

// The stable Deployment's HorizontalPodAutoscaler found among the namespace's, and the
// canary's copy of it (docs/autoscaling.md). Pure.

const release: ReleaseRef = {
  metadata: { name: "checkout-2-4-0", namespace: "shop", uid: "uid-1" },
  spec: {
    target: { deployment: "checkout", service: "checkout" },
    traffic: { gatewayAPI: { httpRoute: "checkout" } },
  },
} as ReleaseRef;

function anAutoscaler(name: string, target: string, extra: Record<string, unknown> = {}): Autoscaler {
  return {
    metadata: { name, namespace: "shop", uid: `${name}-uid` },
    spec: {
      scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: target },
      minReplicas: 2,
      maxReplicas: 10,
      metrics: [
        {
          type: "Resource",
          resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 70 } },
        },
      ],
      behavior: { scaleDown: { stabilizationWindowSeconds: 300 } },
      ...extra,
    },
    status: { currentReplicas: 4, desiredReplicas: 4 },
  };
}

describe("finding the stable Deployment's autoscaler", () => {
  it("takes the one whose scaleTargetRef names the Deployment, not others nor Glidepath's copies", () => {
    const copy = anAutoscaler("checkout-canary", "checkout");
    copy.metadata.labels = { "glidepath.dev/release": "earlier" };
    const found = findStableAutoscaler(release, [
      anAutoscaler("payments", "payments"),
      copy,
      anAutoscaler("checkout", "checkout"),
    ]);
    expect(found?.metadata.name).toBe("checkout");
    expect(findStableAutoscaler(release, [anAutoscaler("payments", "payments")])).toBeUndefined();
  });

  it("refuses two autoscalers of one Deployment, naming both", () => {
    expect(() =>
      findStableAutoscaler(release, [anAutoscaler("a", "checkout"), anAutoscaler("b", "checkout")]),
    ).toThrow(TargetError);
    expect(() =>
      findStableAutoscaler(release, [anAutoscaler("a", "checkout"), anAutoscaler("b", "checkout")]),
    ).toThrow(/2 HorizontalPodAutoscalers target Deployment shop\/checkout \(a, b\)/);
  });

  it("says which autoscaler cannot be read and where", () => {
    const broken = { metadata: { name: "odd" }, spec: { scaleTargetRef: { kind: "Deployment", name: "x" } } };
    expect(() => findStableAutoscaler(release, [broken])).toThrow(
      /HorizontalPodAutoscaler shop\/odd cannot be read: spec\.maxReplicas/,
    );
  });
});

describe("the canary's copy", () => {
  it("keeps metrics and behaviour, aims at the canary Deployment with the bounds given, owned by the Release", () => {
    const stable = anAutoscaler("checkout", "checkout");
    const before = structuredClone(stable);
    const copy = buildCanaryAutoscaler(release, stable, "autoscaling/v2beta2", {
      minReplicas: 1,
      maxReplicas: 5,
    });
    expect(copy).toMatchObject({
      apiVersion: "autoscaling/v2beta2",
      kind: "HorizontalPodAutoscaler",
      metadata: {
        name: "checkout-canary",
        namespace: "shop",
        labels: { "glidepath.dev/release": "checkout-2-4-0", "glidepath.dev/role": "canary" },
        annotations: { "glidepath.dev/source-autoscaler": "checkout" },
        ownerReferences: [{ kind: "Release", name: "checkout-2-4-0", uid: "uid-1", controller: true }],
      },
      spec: {
        scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "checkout-canary" },
        minReplicas: 1,
        maxReplicas: 5,
        metrics: stable.spec["metrics"],
        behavior: stable.spec["behavior"],
      },
    });
    // The user's autoscaler is read, never changed.
    expect(stable).toEqual(before);
  });
});
