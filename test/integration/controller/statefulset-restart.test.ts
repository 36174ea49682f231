import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ControllerProcess } from "../../harness/controller.ts";
import { waitFor } from "../../harness/context.ts";
import type { Release } from "../../../src/api/index.ts";
import { FINISHED, givenController } from "./scenario.ts";
import {
  REPLICAS,
  podsOn,
  releasedFields,
  withStatefulSet,
  type StatefulSetScenario,
} from "./statefulset-scenario.ts";

// A StatefulSet release survives SIGKILLs of the controller (docs/statefulsets.md: the split
// and what to put back ride on the StatefulSet with the partition; the rest is in status):
// killed in a canary stage, during the promotion's roll and during a rollback's restore,
// each release carries on where it was, no stage repeated or skipped.

const IDENTITY = `glidepath-sts-restarted-${process.pid}`;
let controller: ControllerProcess;

beforeAll(async () => {
  controller = await givenController({ identity: IDENTITY });
});

afterAll(async () => {
  await controller?.stop();
});

const SPLIT = "glidepath.dev/statefulset-split";

/** Kills the controller once `when` holds for the Release and its StatefulSet's split, then starts it again. */
async function killWhen(
  scenario: StatefulSetScenario,
  name: string,
  label: string,
  when: (release: Release, split: { state?: string } | undefined) => boolean,
): Promise<void> {
  await waitFor(
    async () => {
      const [release, statefulSet] = await Promise.all([scenario.read(name), scenario.statefulSet()]);
      if (FINISHED.includes(release.status?.phase ?? "Pending"))
        throw new Error(`Release ${name} finished (${release.status?.message}) before the kill in ${label}`);
      const raw = statefulSet.metadata?.annotations?.[SPLIT];
      const split = raw === undefined ? undefined : (JSON.parse(raw) as { state?: string });
      return when(release, split);
    },
    { timeoutMs: 180_000, intervalMs: 100, description: `Release ${name}: ${label}` },
  );
  await controller.kill();
  controller = await givenController({ identity: IDENTITY });
}

function finished(scenario: StatefulSetScenario, name: string): Promise<Release> {
  return waitFor(
    async () => {
      const release = await scenario.read(name);
      return FINISHED.includes(release.status?.phase ?? "Pending") ? release : undefined;
    },
    { timeoutMs: 240_000, intervalMs: 200, description: `Release ${name} finished` },
  );
}

describe("a StatefulSet release with the controller killed and restarted", () => {
  it("goes on from a canary stage and from the promotion's roll, to success with every stage once", () =>
    withStatefulSet("sts-restart", async (scenario) => {
      const before = await scenario.statefulSet();
      const name = "ledger-6-0-0";
      await scenario.release(name, "6.0.0", [
        { name: "canary", weight: 25, hold: "3s" },
        { name: "half", weight: 50, hold: "3s" },
        { name: "ga", weight: 100, hold: "0s" },
      ]);
      await killWhen(
        scenario,
        name,
        "the canary stage",
        (release) => release.status?.stages[0]?.reachedWeight === 25,
      );
      await killWhen(
        scenario,
        name,
        "the promotion's roll",
        (_release, split) => split?.state === "promoted",
      );
      const release = await finished(scenario, name);
      expect(release.status?.phase, release.status?.message).toBe("Succeeded");
      expect(release.status?.stages.map((s) => [s.name, s.outcome, s.partition])).toEqual([
        ["canary", "passed", 3],
        ["half", "passed", 2],
        ["ga", "passed", 0],
        ["bake", "passed", undefined],
      ]);
      const after = await scenario.statefulSet();
      expect(after.spec?.updateStrategy).toEqual(before.spec?.updateStrategy);
      expect(after.metadata?.annotations?.[SPLIT]).toBeUndefined();
    }));

  it("goes on from a rollback's restore, to the StatefulSet as it was, field by field", () =>
    withStatefulSet("sts-restart-back", async (scenario) => {
      const before = await scenario.statefulSet();
      const oldRevision = before.status?.updateRevision;
      const name = "ledger-7-0-0";
      await scenario.release(name, "7.0.0", [
        { name: "canary", weight: 50, hold: "600s" },
        { name: "ga", weight: 100, hold: "0s" },
      ]);
      await scenario.waitFor(
        name,
        "the canary stage at 50%",
        (release) => release.status?.stages[0]?.reachedWeight === 50,
      );
      await scenario.control(name, {
        abort: { by: "integration-test", at: new Date().toISOString(), reason: "restart during the restore" },
      });
      await killWhen(
        scenario,
        name,
        "the rollback's restore",
        (_release, split) => split?.state === "restoring",
      );
      const release = await finished(scenario, name);
      expect(release.status?.phase, release.status?.message).toBe("RolledBack");
      expect(release.status?.rollback).toMatchObject({ trigger: "manual", verified: true });
      expect(release.status?.stages.map((s) => s.name)).toEqual(["canary"]);
      expect(releasedFields(await scenario.statefulSet())).toEqual(releasedFields(before));
      expect(podsOn(await scenario.pods(), oldRevision)).toEqual({
        old: REPLICAS,
        oldReady: REPLICAS,
        other: 0,
      });
    }));
});
