import type { V1Endpoints, V1Pod, V1StatefulSet } from "@kubernetes/client-node";
import { REVISION_LABEL } from "../../../src/api/workload-names.ts";
import { describe, expect, it } from "vitest";
import { trimEndpoints, trimPod, trimReplicaSet } from "../../../src/workload/cached-objects.ts";
import { findUnhealthyContainer, ownedPods } from "../../../src/workload/health.ts";
import { splitView } from "../../../src/workload/statefulset.ts";
import { NAMESPACE, pod, replicaSet, running, stableDeployment, waiting } from "./objects.ts";

// The Pod, ReplicaSet and Endpoints caches keep only what health and the canary Service's
// observation read: what the controller decides from a trimmed object must be what it
// decides from the full one.

function trimmed<T extends object>(object: T, trim: (object: T) => void): T {
  const copy = structuredClone(object);
  trim(copy);
  return copy;
}

/** A Pod as the API server sends it: spec, labels, managedFields, conditions and all. */
function fullPod(
  name: string,
  ownerUid: string,
  statuses: NonNullable<V1Pod["status"]>["containerStatuses"],
): V1Pod {
  const base = pod(name, ownerUid, statuses);
  return {
    apiVersion: "v1",
    kind: "Pod",
    ...base,
    metadata: {
      ...base.metadata,
      resourceVersion: "42",
      labels: { app: "checkout", "pod-template-hash": "abc" },
      annotations: { "kubectl.kubernetes.io/restartedAt": "2026-12-06T20:00:00Z" },
      managedFields: [{ manager: "kubelet", operation: "Update" }],
    },
    spec: { containers: [{ name: "checkout", image: "registry.example.com/checkout:2.4.0" }] },
    status: {
      ...base.status,
      podIP: "10.0.0.7",
      conditions: [
        { type: "Ready", status: "True" },
        { type: "PodScheduled", status: "True" },
      ],
      containerStatuses: statuses?.map((status) => ({ ...status, containerID: "containerd://abc" })),
    },
  };
}

describe("a cached Pod", () => {
  it("tells the same unhealthy container as the full Pod: crash loops, restarts and why they ended", () => {
    const oomKilled = {
      ...running("checkout", 5),
      lastState: { terminated: { exitCode: 137, reason: "OOMKilled" } },
    };
    const cases: V1Pod[][] = [
      [fullPod("a", "rs", [running("checkout"), waiting("envoy", "CrashLoopBackOff", 2)])],
      [fullPod("a", "rs", [running("checkout", 4)]), fullPod("b", "rs", [oomKilled])],
      [fullPod("a", "rs", [waiting("checkout", "ContainerCreating")])],
      [fullPod("a", "rs", [running("checkout")])],
    ];
    for (const pods of cases) {
      const cached = pods.map((full) => trimmed(full, trimPod));
      expect(findUnhealthyContainer(cached)).toEqual(findUnhealthyContainer(pods));
    }
  });

  it("keeps its failing init containers and its deletion", () => {
    const full = fullPod("a", "rs", []);
    full.status = { initContainerStatuses: [waiting("migrate", "CrashLoopBackOff", 4)] };
    expect(findUnhealthyContainer([trimmed(full, trimPod)])).toMatchObject({ container: "migrate" });
    full.metadata = { ...full.metadata, deletionTimestamp: new Date() };
    expect(findUnhealthyContainer([trimmed(full, trimPod)])).toBeUndefined();
  });

  it("keeps its key, version, controller owner and Ready condition, and drops spec, labels, managedFields and other conditions", () => {
    const cached = trimmed(fullPod("a", "rs", [running("checkout")]), trimPod);
    expect(cached.metadata).toEqual({
      name: "a",
      namespace: NAMESPACE,
      uid: "a-uid",
      resourceVersion: "42",
      ownerReferences: [
        { apiVersion: "apps/v1", kind: "ReplicaSet", name: "rs", uid: "rs", controller: true },
      ],
    });
    expect(cached.spec).toBeUndefined();
    expect(cached.status?.conditions).toEqual([{ type: "Ready", status: "True" }]);
    expect(JSON.stringify(cached).length).toBeLessThan(
      JSON.stringify(fullPod("a", "rs", [running("checkout")])).length / 2,
    );
  });

  it("of a StatefulSet keeps its controller-revision-hash label: the split counts the same as from the full Pods", () => {
    const statefulSet: V1StatefulSet = {
      metadata: { name: "ledger", namespace: NAMESPACE, uid: "sts-uid", generation: 2 },
      spec: {
        replicas: 2,
        serviceName: "ledger",
        selector: { matchLabels: { app: "ledger" } },
        updateStrategy: { type: "RollingUpdate", rollingUpdate: { partition: 1 } },
        template: { spec: { containers: [{ name: "ledger", image: "ledger:2" }] } },
      },
      status: {
        replicas: 2,
        observedGeneration: 2,
        updateRevision: "ledger-new",
        currentRevision: "ledger-old",
      },
    };
    const statefulSetPod = (name: string, revision: string, ready: boolean): V1Pod => {
      const full = fullPod(name, "sts-uid", [running("ledger")]);
      full.metadata = {
        ...full.metadata,
        labels: { app: "ledger", [REVISION_LABEL]: revision, "apps.kubernetes.io/pod-index": "0" },
        ownerReferences: [
          { apiVersion: "apps/v1", kind: "StatefulSet", name: "ledger", uid: "sts-uid", controller: true },
        ],
      };
      full.status = { ...full.status, conditions: [{ type: "Ready", status: ready ? "True" : "False" }] };
      return full;
    };
    const pods = [
      statefulSetPod("ledger-0", "ledger-old", true),
      statefulSetPod("ledger-1", "ledger-new", false),
    ];
    const cached = pods.map((full) => trimmed(full, trimPod));
    expect(cached.map((p) => p.metadata?.labels)).toEqual([
      { [REVISION_LABEL]: "ledger-old" },
      { [REVISION_LABEL]: "ledger-new" },
    ]);
    expect(splitView(statefulSet, cached)).toEqual(splitView(statefulSet, pods));
    expect(splitView(statefulSet, cached)).toMatchObject({
      onUpdate: 1,
      onUpdateReady: 0,
      offUpdateReady: 1,
    });
  });

  it("of no controller keeps its key alone (health never reads it)", () => {
    const bare = fullPod("debug", "rs", [running("shell")]);
    bare.metadata = { ...bare.metadata, ownerReferences: [] };
    const cached = trimmed(bare, trimPod);
    expect(cached).toEqual({
      metadata: { name: "debug", namespace: NAMESPACE, uid: "debug-uid", resourceVersion: "42" },
    });
  });

  it("is still found through its ReplicaSet, itself trimmed", () => {
    const sets = [
      replicaSet("checkout-1", "rs-stable", "deployment-uid-1"),
      replicaSet("canary-1", "rs-canary", "other"),
    ];
    const pods = [fullPod("stable-pod", "rs-stable", []), fullPod("canary-pod", "rs-canary", [])];
    const owned = ownedPods(
      stableDeployment(),
      sets.map((set) => trimmed(set, trimReplicaSet)),
      pods.map((full) => trimmed(full, trimPod)),
    );
    expect(owned.map((p) => p.metadata?.name)).toEqual(["stable-pod"]);
  });
});

describe("cached Endpoints", () => {
  it("keep each subset's ready addresses, so the count of ready endpoints is the same", () => {
    const endpoints: V1Endpoints = {
      metadata: { name: "checkout-canary", namespace: NAMESPACE, resourceVersion: "9", managedFields: [{}] },
      subsets: [
        {
          addresses: [
            { ip: "10.0.0.1", nodeName: "n1", targetRef: { kind: "Pod", name: "p1" } },
            { ip: "10.0.0.2" },
          ],
          notReadyAddresses: [{ ip: "10.0.0.3" }],
          ports: [{ port: 8080, protocol: "TCP" }],
        },
        { notReadyAddresses: [{ ip: "10.0.0.4" }] },
      ],
    };
    const cached = trimmed(endpoints, trimEndpoints);
    expect(cached.subsets).toEqual([
      { addresses: [{ ip: "10.0.0.1" }, { ip: "10.0.0.2" }] },
      { addresses: [] },
    ]);
    expect(cached.metadata).toEqual({ name: "checkout-canary", namespace: NAMESPACE, resourceVersion: "9" });
  });
});
