import { performance } from "node:perf_hooks";
import { isDeepStrictEqual } from "node:util";
import { describe, expect, it } from "vitest";
import { waitFor } from "../../harness/context.ts";
import { FINISHED, givenControllerForFile, imageOf, STABLE_VERSION } from "./scenario.ts";
import { NAME, REPLICAS, podsOn, releasedFields, withStatefulSet } from "./statefulset-scenario.ts";

// A StatefulSet as the release target (issue 17 item 6, docs/statefulsets.md): no canary
// Deployment; the release sets the new template on the StatefulSet and its update partition,
// and kube-controller-manager's StatefulSet controller moves the highest ordinals over.

givenControllerForFile();

describe.concurrent("a StatefulSet as the release target", () => {
  it("releases through its stages with the replica split, each stage's partition recorded, and ends with the user's updateStrategy", () =>
    withStatefulSet("sts-success", async (scenario) => {
      const before = await scenario.statefulSet();
      const name = "ledger-2-0-0";
      await scenario.release(name, "2.0.0", [
        { name: "canary", weight: 25, hold: "3s" },
        { name: "half", weight: 50, hold: "3s" },
        { name: "ga", weight: 100, hold: "0s" },
      ]);
      const release = await waitFor(
        async () => {
          const current = await scenario.read(name);
          return FINISHED.includes(current.status?.phase ?? "Pending") ? current : undefined;
        },
        { timeoutMs: 300_000, intervalMs: 500, description: `Release ${name} finished` },
      );
      expect(release.status?.phase, release.status?.message).toBe("Succeeded");
      // 4 pods: 1 on the new revision is 25% (partition 3), 2 are 50% (partition 2), all at GA.
      expect(release.status?.stages.map((s) => [s.name, s.weight, s.reachedWeight, s.partition])).toEqual([
        ["canary", 25, 25, 3],
        ["half", 50, 50, 2],
        ["ga", 100, 100, 0],
        ["bake", 100, undefined, undefined],
      ]);
      expect(release.status?.previous).toMatchObject({
        version: STABLE_VERSION,
        images: { [NAME]: imageOf(STABLE_VERSION) },
      });

      const after = await scenario.statefulSet();
      expect(after.spec?.template.spec?.containers[0]?.image).toBe(imageOf("2.0.0"));
      expect(after.spec?.template.metadata?.labels?.version).toBe("2.0.0");
      // The user's updateStrategy and replicas as they were, no annotation of the release left.
      expect(after.spec?.updateStrategy).toEqual(before.spec?.updateStrategy);
      expect(after.spec?.replicas).toBe(REPLICAS);
      expect(after.metadata?.annotations?.["glidepath.dev/statefulset-split"]).toBeUndefined();
      const pods = podsOn(await scenario.pods(), after.status?.updateRevision);
      expect(pods).toEqual({ old: REPLICAS, oldReady: REPLICAS, other: 0 });
    }));

  it("rolls back mid-stage: every pod back on the old revision and the StatefulSet as it was, field by field", () =>
    withStatefulSet("sts-rollback", async (scenario) => {
      const before = await scenario.statefulSet();
      const oldRevision = before.status?.updateRevision;
      const name = "ledger-3-0-0";
      await scenario.release(name, "3.0.0", [
        { name: "canary", weight: 50, hold: "600s" },
        { name: "ga", weight: 100, hold: "0s" },
      ]);
      // Given: mid-stage, 2 of the 4 pods on the new revision (partition 2).
      await scenario.waitFor(
        name,
        "the canary stage at 50%",
        (release) => release.status?.stages[0]?.reachedWeight === 50,
      );
      const split = await scenario.statefulSet();
      expect(split.spec?.updateStrategy).toEqual({ type: "RollingUpdate", rollingUpdate: { partition: 2 } });
      expect(split.spec?.template.spec?.containers[0]?.image).toBe(imageOf("3.0.0"));
      expect(podsOn(await scenario.pods(), oldRevision)).toEqual({ old: 2, oldReady: 2, other: 2 });

      // When: a person aborts.
      const abortedAt = performance.now();
      await scenario.control(name, {
        abort: { by: "integration-test", at: new Date().toISOString(), reason: "StatefulSet rollback test" },
      });
      // Timed: the abort written → every pod Ready on the old revision (all traffic on it).
      await waitFor(
        async () => {
          const pods = podsOn(await scenario.pods(), oldRevision);
          return pods.oldReady === REPLICAS && pods.other === 0;
        },
        { timeoutMs: 180_000, intervalMs: 50, description: "every pod Ready on the old revision" },
      );
      const podsBackMs = performance.now() - abortedAt;
      const release = await waitFor(
        async () => {
          const current = await scenario.read(name);
          return FINISHED.includes(current.status?.phase ?? "Pending") ? current : undefined;
        },
        { timeoutMs: 180_000, intervalMs: 200, description: `Release ${name} finished` },
      );
      expect(release.status?.phase, release.status?.message).toBe("RolledBack");
      expect(release.status?.rollback).toMatchObject({ trigger: "manual", verified: true });
      const rollback = release.status?.rollback;
      const statusMs =
        rollback?.completedAt && rollback.at
          ? Date.parse(rollback.completedAt) - Date.parse(rollback.at)
          : NaN;
      console.log(
        `StatefulSet rollback: abort to all ${REPLICAS} pods Ready on the old revision in ${Math.round(podsBackMs)} ms ` +
          `(2 pods replaced; status rollback.at → completedAt ${statusMs} ms)`,
      );

      // The StatefulSet field by field as before: template, updateStrategy, partition, replicas, annotations.
      const after = await scenario.statefulSet();
      expect(releasedFields(after)).toEqual(releasedFields(before));
      expect(after.status?.updateRevision).toBe(oldRevision);
      expect(after.status?.currentRevision).toBe(oldRevision);
    }));

  it("a Release deleted mid-stage puts the StatefulSet back as it was before it goes", () =>
    withStatefulSet("sts-delete", async (scenario) => {
      const before = await scenario.statefulSet();
      const oldRevision = before.status?.updateRevision;
      const name = "ledger-5-0-0";
      await scenario.release(name, "5.0.0", [
        { name: "canary", weight: 25, hold: "600s" },
        { name: "ga", weight: 100, hold: "0s" },
      ]);
      await scenario.waitFor(
        name,
        "the canary stage at 25%",
        (release) => release.status?.stages[0]?.reachedWeight === 25,
      );
      await scenario.remove(name);
      // The finalizer holds the Release until the pods are back; then it goes.
      await waitFor(
        async () => {
          try {
            await scenario.read(name);
            return false;
          } catch {
            return true;
          }
        },
        { timeoutMs: 180_000, intervalMs: 200, description: `Release ${name} gone` },
      );
      const after = await waitFor(
        async () => {
          const current = await scenario.statefulSet();
          return isDeepStrictEqual(releasedFields(current), releasedFields(before)) ? current : undefined;
        },
        { timeoutMs: 60_000, description: "the StatefulSet as before the release" },
      );
      expect(releasedFields(after)).toEqual(releasedFields(before));
      expect(podsOn(await scenario.pods(), oldRevision)).toEqual({
        old: REPLICAS,
        oldReady: REPLICAS,
        other: 0,
      });
    }));

  it("rolls back a crash-looping canary pod, which the StatefulSet controller alone would never replace", () =>
    withStatefulSet("sts-crash", async (scenario) => {
      const before = await scenario.statefulSet();
      const oldRevision = before.status?.updateRevision;
      const name = "ledger-4-0-0";
      // The fake kubelet crash-loops a container whose image tag ends in -crash-loop.
      await scenario.release(name, "4.0.0-crash-loop", [
        { name: "canary", weight: 25, hold: "600s" },
        { name: "ga", weight: 100, hold: "0s" },
      ]);
      const release = await waitFor(
        async () => {
          const current = await scenario.read(name);
          return FINISHED.includes(current.status?.phase ?? "Pending") ? current : undefined;
        },
        { timeoutMs: 240_000, intervalMs: 200, description: `Release ${name} finished` },
      );
      expect(release.status?.phase, release.status?.message).toBe("RolledBack");
      expect(release.status?.rollback?.trigger).toBe("health");
      expect(release.status?.rollback?.reason).toContain("CrashLoopBackOff");
      // Its pod never became Ready, so the StatefulSet controller would wait on it forever
      // ("forced rollback" in the Kubernetes docs): the release deleted it, and it came back old.
      const pods = podsOn(await scenario.pods(), oldRevision);
      expect(pods).toEqual({ old: REPLICAS, oldReady: REPLICAS, other: 0 });
      const after = await scenario.statefulSet();
      expect(releasedFields(after)).toEqual(releasedFields(before));
      expect(after.status?.updateRevision).toBe(oldRevision);
    }));
});
