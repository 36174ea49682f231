import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { ControllerProcess } from "../../harness/controller.ts";
import { runCommand } from "../../harness/processes.ts";
import { kubectl, kubeClients, stackInfo, waitFor } from "../../harness/context.ts";
import { releaseRecordSchema, type ReleaseRecord } from "../../../src/api/index.ts";
import type { DoraFigures } from "../../../src/record/dora.ts";
import {
  errorRateMetric,
  FINISHED,
  givenController,
  quickStages,
  withService,
  type ServiceScenario,
} from "./scenario.ts";

// A finished release leaves a ReleaseRecord that outlives the Release (kubectl delete, a
// GitOps prune), written once, and let go of only by retention.

// Retention keeps two records per target, so the third release lets the first go.
let controller: ControllerProcess;
beforeAll(async () => {
  controller = await givenController({ config: { records: { keepLast: 2 } } });
});
afterAll(async () => {
  await controller?.stop();
});

const glidepathBin = fileURLToPath(new URL("../../../bin/glidepath", import.meta.url));

/** `glidepath ARGS` as a person runs it, with the admin kubeconfig. */
function glidepath(args: string[]) {
  return runCommand(glidepathBin, [...args, "--kubeconfig", stackInfo().kubeconfigPath], {
    env: { PATH: `${join(glidepathBin, "..")}:${process.env.PATH ?? ""}`, HOME: process.env.HOME ?? "/tmp" },
    allowFailure: true,
    timeoutMs: 120_000,
  });
}

/** The controller's glidepath_dora samples for one namespace, by figure. */
async function doraOnMetrics(namespace: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${controller.url}/metrics`)).text();
  const figures: Record<string, number> = {};
  for (const line of text.split("\n")) {
    const match = /^glidepath_dora\{(.*)\} (\S+)$/.exec(line);
    if (!match || !match[1]?.includes(`namespace="${namespace}"`)) continue;
    const figure = /figure="([^"]+)"/.exec(match[1])?.[1];
    if (figure) figures[figure] = Number(match[2]);
  }
  return figures;
}

async function recordsOf(scenario: ServiceScenario): Promise<ReleaseRecord[]> {
  const { custom } = kubeClients();
  const listed = (await custom.listNamespacedCustomObject({
    group: "glidepath.dev",
    version: "v1alpha1",
    namespace: scenario.namespace,
    plural: "releaserecords",
  })) as { items: unknown[] };
  return listed.items.map((item) => releaseRecordSchema.parse(item));
}

async function recordNamed(scenario: ServiceScenario, name: string): Promise<ReleaseRecord> {
  return waitFor(async () => (await recordsOf(scenario)).find((record) => record.metadata.name === name), {
    timeoutMs: 30_000,
    description: `ReleaseRecord ${name}`,
  });
}

describe("ReleaseRecords", () => {
  it("keep a succeeded and a rolled-back release after their Releases are deleted, and retention lets the oldest go", () =>
    withService("records", {}, async (scenario) => {
      const run = async (name: string, version: string) => {
        await scenario.release(name, version, {
          stages: quickStages(),
          analysis: { interval: "1s", metrics: [errorRateMetric()] },
          bake: "0s",
          changeRequest: { committedAt: "2026-12-01T10:00:00Z" },
        });
        const finished = await scenario.waitForPhase(name, FINISHED);
        const recorded = await scenario.waitForRelease(name, "status.record set", (release) =>
          Boolean(release.status?.record),
        );
        return { finished, recorded };
      };

      // Given: a good release to GA.
      const good = await run("checkout-2-1-0", "2.1.0");
      expect(good.finished.status?.phase, good.finished.status?.message).toBe("Succeeded");
      const goodName = good.recorded.status?.record?.name ?? "";
      expect(goodName).toMatch(/^checkout-2-1-0-[a-z0-9]{8}$/);
      const goodRecord = await recordNamed(scenario, goodName);
      expect(goodRecord.spec).toMatchObject({
        release: { name: "checkout-2-1-0", uid: good.recorded.metadata.uid },
        target: "checkout",
        version: "2.1.0",
        outcome: "Succeeded",
        changeType: "standard",
        changeId: "CHG-checkout-2-1-0",
        committedAt: "2026-12-01T10:00:00Z",
        finishedAt: good.finished.status?.finishedAt,
      });
      // The whole record of the stages, as the Release had it when it finished.
      expect(goodRecord.spec.releaseStatus.stages).toEqual(good.finished.status?.stages);
      expect(goodRecord.spec.releaseStatus.stages.map((stage) => stage.name)).toEqual([
        "canary",
        "ga",
        "bake",
      ]);
      expect(goodRecord.metadata.ownerReferences).toBeUndefined();

      // kubectl shows the record with its columns.
      const table = await kubectl(["-n", scenario.namespace, "get", "releaserecords"]);
      expect(table.stdout.split("\n")[0]).toMatch(
        /^NAME\s+TARGET\s+VERSION\s+OUTCOME\s+TYPE\s+CHANGE\s+STARTED\s+DURATION$/,
      );
      expect(table.stdout).toMatch(
        new RegExp(`${goodName}\\s+checkout\\s+2\\.1\\.0\\s+Succeeded\\s+standard`),
      );

      // When: the Release is deleted (a GitOps prune).
      await kubectl(["-n", scenario.namespace, "delete", "release", "checkout-2-1-0", "--wait=true"]);
      // Then: its record is still there, unchanged.
      expect((await recordNamed(scenario, goodName)).spec).toEqual(goodRecord.spec);
      // And the CLI still shows it: history from the record, the change record itself.
      const history = await glidepath(["history", "checkout", "-n", scenario.namespace]);
      expect(history.code, history.stderr).toBe(0);
      expect(history.stdout).toMatch(/checkout-2-1-0\s+2\.1\.0\s+Succeeded/);
      const shown = await glidepath(["record", "checkout-2-1-0", "-n", scenario.namespace]);
      expect(shown.code, shown.stderr).toBe(0);
      expect(shown.stderr).toContain(`release checkout-2-1-0 is gone: this is its ReleaseRecord ${goodName}`);
      expect(shown.stdout).toContain("CHG-checkout-2-1-0");

      // Given: a bad version, rolled back by its error rate.
      await scenario.simulator.client.configure({ versions: { "2.2.0": { errorRatio: 0.5 } } });
      const bad = await run("checkout-2-2-0", "2.2.0");
      expect(bad.finished.status?.phase, bad.finished.status?.message).toBe("RolledBack");
      const badRecord = await recordNamed(scenario, bad.recorded.status?.record?.name ?? "");
      expect(badRecord.spec.outcome).toBe("RolledBack");
      expect(badRecord.spec.releaseStatus.rollback).toMatchObject({
        trigger: "metric",
        metric: "error-rate",
      });

      // When: a third release finishes, retention (keepLast 2) lets the oldest record go.
      const third = await run("checkout-2-3-0", "2.3.0");
      expect(third.finished.status?.phase, third.finished.status?.message).toBe("Succeeded");
      await waitFor(
        async () => {
          const names = (await recordsOf(scenario)).map((record) => record.metadata.name).sort();
          return names.length === 2 && !names.includes(goodName) ? names : undefined;
        },
        { timeoutMs: 30_000, description: "two records left, the first one gone" },
      );
      // The Release whose record retention let go does not bring it back.
      const badNow = await scenario.read("checkout-2-2-0");
      expect(badNow.status?.record?.name).toBe(badRecord.metadata.name);

      // /metrics gives the DORA figures of the records left: one success, one rollback.
      const rollback = badRecord.spec.releaseStatus.rollback;
      const thirdRecord = await recordNamed(scenario, third.recorded.status?.record?.name ?? "");
      const figures = await waitFor(
        async () => {
          const exported = await doraOnMetrics(scenario.namespace);
          return exported.deployments === 1 ? exported : undefined;
        },
        { timeoutMs: 30_000, description: "glidepath_dora for the namespace" },
      );
      expect(figures.change_failure_ratio).toBe(0.5);
      expect(figures.lead_time_seconds).toBe(
        (Date.parse(thirdRecord.spec.finishedAt) - Date.parse("2026-12-01T10:00:00Z")) / 1000,
      );
      expect(figures.time_to_restore_seconds).toBe(
        (Date.parse(rollback?.completedAt ?? "") - Date.parse(rollback?.at ?? "")) / 1000,
      );
      // glidepath dora gives the same figures.
      const dora = await glidepath(["dora", "checkout", "-n", scenario.namespace, "-o", "json"]);
      expect(dora.code, dora.stderr).toBe(0);
      const [row] = (JSON.parse(dora.stdout) as { groups: { group: string; figures: DoraFigures }[] }).groups;
      expect(row?.group).toBe(`${scenario.namespace}/checkout`);
      expect(row?.figures.changeFailureRate).toEqual({ ratio: 0.5, failures: 1, finished: 2 });
      expect(row?.figures.deploymentFrequency.deployments).toBe(1);
      expect((row?.figures.leadTime.medianMs ?? NaN) / 1000).toBe(figures.lead_time_seconds);
      expect((row?.figures.timeToRestore.toStable.medianMs ?? NaN) / 1000).toBe(
        figures.time_to_restore_seconds,
      );
    }));
});
