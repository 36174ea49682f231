import { createHash } from "node:crypto";
import fc from "fast-check";
import type { V1Pod, V1StatefulSet, V1StatefulSetUpdateStrategy } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import {
  observeStatefulSet,
  podsToForceBack,
  readSplit,
  splitView,
  withCanaryPods,
  withCanarySplit,
  withPromotion,
  withReverted,
  withoutCanary,
} from "../../../src/workload/statefulset.ts";

// A StatefulSet target's desired states (docs/statefulsets.md), driven through a small
// model of what kube-controller-manager's StatefulSet controller does with them: the
// revision is the template's hash, and pods at or above the partition move to it.

const OLD = "registry.example.com/ledger:1.0.0";
const NEW = "registry.example.com/ledger:2.0.0";

function statefulSet(replicas = 4, updateStrategy?: V1StatefulSetUpdateStrategy): V1StatefulSet {
  const base: V1StatefulSet = {
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    metadata: {
      name: "ledger",
      namespace: "shop",
      uid: "sts-uid",
      generation: 1,
      annotations: { team: "ledger" },
    },
    spec: {
      replicas,
      serviceName: "ledger",
      selector: { matchLabels: { app: "ledger" } },
      ...(updateStrategy ? { updateStrategy } : {}),
      template: {
        metadata: { labels: { app: "ledger", version: "1.0.0" } },
        spec: {
          containers: [
            { name: "ledger", image: OLD, ports: [{ containerPort: 8080 }] },
            { name: "sidecar", image: "registry.example.com/proxy:7" },
          ],
        },
      },
    },
  };
  return settle(base, []).statefulSet;
}

function revisionOf(statefulSet: V1StatefulSet): string {
  return (
    "ledger-" +
    createHash("sha256").update(JSON.stringify(statefulSet.spec?.template)).digest("hex").slice(0, 8)
  );
}

function pod(ordinal: number, revision: string, ready = true): V1Pod {
  return {
    metadata: {
      name: `ledger-${ordinal}`,
      labels: { app: "ledger", "controller-revision-hash": revision },
      ownerReferences: [
        { apiVersion: "apps/v1", kind: "StatefulSet", name: "ledger", uid: "sts-uid", controller: true },
      ],
    },
    status: { conditions: [{ type: "Ready", status: ready ? "True" : "False" }] },
  };
}

/** The StatefulSet controller, converged: every pod at or above the partition on the template's revision. */
function settle(statefulSet: V1StatefulSet, pods: V1Pod[]): { statefulSet: V1StatefulSet; pods: V1Pod[] } {
  const revision = revisionOf(statefulSet);
  const replicas = statefulSet.spec?.replicas ?? 1;
  const strategy = statefulSet.spec?.updateStrategy;
  const partition = strategy?.type === "OnDelete" ? replicas : (strategy?.rollingUpdate?.partition ?? 0);
  const next: V1Pod[] = [];
  for (let ordinal = 0; ordinal < replicas; ordinal++) {
    const existing = pods.find((candidate) => candidate.metadata?.name === `ledger-${ordinal}`);
    const current = existing?.metadata?.labels?.["controller-revision-hash"];
    next.push(pod(ordinal, ordinal >= partition || current === undefined ? revision : current));
  }
  const generation = statefulSet.metadata?.generation ?? 1;
  return {
    statefulSet: {
      ...statefulSet,
      status: {
        replicas,
        observedGeneration: generation,
        updateRevision: revision,
        currentRevision: revision,
      },
    },
    pods: next,
  };
}

/** A write the API server takes: one more generation. */
function written(statefulSet: V1StatefulSet): V1StatefulSet {
  return {
    ...statefulSet,
    metadata: { ...statefulSet.metadata, generation: (statefulSet.metadata?.generation ?? 1) + 1 },
  };
}

function fieldsOf(statefulSet: V1StatefulSet): unknown {
  return JSON.parse(
    JSON.stringify({
      annotations: statefulSet.metadata?.annotations,
      replicas: statefulSet.spec?.replicas,
      updateStrategy: statefulSet.spec?.updateStrategy ?? null,
      template: statefulSet.spec?.template,
    }),
  );
}

const request = (pods: number, requestedWeight?: number) => ({
  release: "ledger-2-0-0",
  images: { ledger: NEW },
  version: "2.0.0",
  pods,
  ...(requestedWeight === undefined ? {} : { requestedWeight }),
});

describe("the canary split of a StatefulSet", () => {
  it("puts the new template on it with the partition leaving that many pods new, and records what to put back", () => {
    const before = statefulSet(4, { type: "RollingUpdate", rollingUpdate: { partition: 0 } });
    const split = withCanarySplit(before, request(1));
    expect(split.spec?.template.spec?.containers.map((c) => c.image)).toEqual([
      NEW,
      "registry.example.com/proxy:7",
    ]);
    expect(split.spec?.template.metadata?.labels).toEqual({ app: "ledger", version: "2.0.0" });
    expect(split.spec?.updateStrategy).toEqual({ type: "RollingUpdate", rollingUpdate: { partition: 3 } });
    expect(readSplit(split)).toEqual({
      release: "ledger-2-0-0",
      state: "canary",
      pods: 1,
      stable: { images: { ledger: OLD, sidecar: "registry.example.com/proxy:7" }, version: "1.0.0" },
      updateStrategy: { type: "RollingUpdate", rollingUpdate: { partition: 0 } },
    });
    // Safe to repeat: the same request changes nothing more.
    expect(withCanarySplit(split, request(1))).toEqual(split);
    // A weight moves only the partition.
    const half = withCanaryPods(split, 2, 50);
    expect(half.spec?.updateStrategy).toEqual({ type: "RollingUpdate", rollingUpdate: { partition: 2 } });
    expect(readSplit(half)).toMatchObject({ pods: 2, requestedWeight: 50, state: "canary" });
    expect(half.spec?.template).toEqual(split.spec?.template);
  });

  it("shows the engine the old pods as stable and the new ones as the canary", () => {
    const split = settle(
      written(withCanaryPods(withCanarySplit(statefulSet(), request(1)), 2, 50)),
      settle(statefulSet(), []).pods,
    );
    const stable = observeStatefulSet(split.statefulSet, split.pods, "stable");
    const canary = observeStatefulSet(split.statefulSet, split.pods, "canary");
    expect(stable).toMatchObject({
      exists: true,
      images: { ledger: OLD },
      version: "1.0.0",
      desiredReplicas: 4,
      readyReplicas: 2,
      ready: true,
    });
    expect(canary).toMatchObject({
      exists: true,
      images: { ledger: NEW },
      version: "2.0.0",
      desiredReplicas: 2,
      readyReplicas: 2,
      ready: true,
    });
    // Outside a split the whole StatefulSet is stable and there is no canary.
    const plain = settle(statefulSet(), []);
    expect(observeStatefulSet(plain.statefulSet, plain.pods, "canary").exists).toBe(false);
    expect(observeStatefulSet(plain.statefulSet, plain.pods, "stable")).toMatchObject({
      images: { ledger: OLD },
      ready: true,
    });
  });

  it("ends a promotion only once every pod runs the new template, then puts the user's updateStrategy back", () => {
    const original = statefulSet(3, { type: "OnDelete" });
    let state = settle(written(withCanarySplit(original, request(1))), settle(original, []).pods);
    state = { ...state, statefulSet: written(withPromotion(state.statefulSet, { ledger: NEW }, "2.0.0")) };
    expect(state.statefulSet.spec?.updateStrategy).toEqual({
      type: "RollingUpdate",
      rollingUpdate: { partition: 0 },
    });
    // Not rolled yet (the pods are as before): nothing ends.
    expect(withoutCanary(state.statefulSet, state.pods)).toEqual(state.statefulSet);
    state = settle(state.statefulSet, state.pods);
    const ended = withoutCanary(state.statefulSet, state.pods);
    expect(ended.spec?.updateStrategy).toEqual({ type: "OnDelete" });
    expect(readSplit(ended)).toBeUndefined();
    expect(ended.metadata?.annotations).toEqual({ team: "ledger" });
    expect(ended.spec?.template.spec?.containers[0]?.image).toBe(NEW);
  });

  it("restores the StatefulSet field by field after a rollback from any stage, whatever its updateStrategy was (property)", () => {
    const strategies: (V1StatefulSetUpdateStrategy | undefined)[] = [
      undefined,
      { type: "OnDelete" },
      { type: "RollingUpdate" },
      { type: "RollingUpdate", rollingUpdate: { partition: 0 } },
      { type: "RollingUpdate", rollingUpdate: { partition: 1, maxUnavailable: 1 } },
    ];
    fc.assert(
      fc.property(
        fc.constantFrom(...strategies),
        fc.integer({ min: 1, max: 8 }),
        fc.array(fc.integer({ min: 1, max: 8 }), { minLength: 1, maxLength: 5 }),
        fc.boolean(),
        fc.boolean(),
        (strategy, replicas, stagePods, promoted, settledBeforeRollback) => {
          const before = statefulSet(replicas, strategy);
          let state = settle(before, []);
          const beforeFields = fieldsOf(state.statefulSet);
          const oldRevision = state.statefulSet.status?.updateRevision;
          const step = (next: V1StatefulSet, roll = true) => {
            const changed = next === state.statefulSet ? next : written(next);
            state = roll ? settle(changed, state.pods) : { ...state, statefulSet: changed };
          };
          step(withCanarySplit(state.statefulSet, request(Math.min(stagePods[0] ?? 1, replicas))));
          for (const pods of stagePods) step(withCanaryPods(state.statefulSet, Math.min(pods, replicas), 10));
          if (promoted)
            step(withPromotion(state.statefulSet, { ledger: NEW }, "2.0.0"), settledBeforeRollback);
          // The rollback: the engine asks for no canary (and, after the promotion, the old version back).
          if (promoted)
            step(
              withReverted(
                state.statefulSet,
                { ledger: OLD, sidecar: "registry.example.com/proxy:7" },
                "1.0.0",
                "ledger-2-0-0",
              ),
            );
          for (let round = 0; round < 3; round++) step(withoutCanary(state.statefulSet, state.pods));
          expect(fieldsOf(state.statefulSet)).toEqual(beforeFields);
          expect(state.statefulSet.status?.updateRevision).toBe(oldRevision);
          expect(
            state.pods.every((p) => p.metadata?.labels?.["controller-revision-hash"] === oldRevision),
          ).toBe(true);
        },
      ),
    );
  });

  it("while restoring, deletes only the not-Ready pods still on the release's revision (the forced rollback)", () => {
    const original = statefulSet(4);
    let state = settle(written(withCanarySplit(original, request(2))), settle(original, []).pods);
    const newRevision = state.statefulSet.status?.updateRevision ?? "";
    state = { ...state, pods: state.pods.map((p, i) => (i === 3 ? pod(3, newRevision, false) : p)) };
    // In the canary split nothing is deleted: a broken canary pod is the engine's to judge.
    expect(podsToForceBack(state.statefulSet, state.pods)).toEqual([]);
    const restoring = written(withoutCanary(state.statefulSet, state.pods));
    // Before the StatefulSet controller has seen the restored template, nothing either.
    expect(podsToForceBack(restoring, state.pods)).toEqual([]);
    const seen = {
      ...restoring,
      status: {
        ...restoring.status,
        replicas: 4,
        observedGeneration: restoring.metadata?.generation,
        updateRevision: revisionOf(restoring),
      },
    };
    expect(podsToForceBack(seen, state.pods)).toEqual(["ledger-3"]);
    expect(splitView(seen, state.pods)).toMatchObject({
      onUpdate: 2,
      offUpdate: 2,
      offUpdateReady: 1,
      pendingUpdate: 2,
    });
  });

  it("says what is wrong with a split annotation it cannot read, and where", () => {
    const broken = statefulSet();
    broken.metadata = {
      ...broken.metadata,
      annotations: { "glidepath.dev/statefulset-split": '{"state":"sideways"}' },
    };
    expect(() => readSplit(broken)).toThrow(
      /statefulset-split on StatefulSet shop\/ledger: release: .*; state: /,
    );
    broken.metadata.annotations = { "glidepath.dev/statefulset-split": "{" };
    expect(() => readSplit(broken)).toThrow(/is not JSON/);
  });

  it("refuses images for a container the StatefulSet does not have", () => {
    expect(() => withCanarySplit(statefulSet(), { ...request(1), images: { web: NEW } })).toThrow(
      /StatefulSet shop\/ledger has no container "web" \(its containers: ledger, sidecar\)/,
    );
  });
});
