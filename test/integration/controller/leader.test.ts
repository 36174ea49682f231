import { CoordinationV1Api } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CONTROLLER_NAMESPACE, type ControllerProcess } from "../../harness/controller.ts";
import { kubeConfig, waitFor } from "../../harness/context.ts";
import {
  expectOrderlyRecord,
  FINISHED,
  givenController,
  lastAnnouncements,
  releaseLogLines,
  shortStages,
  withService,
} from "./scenario.ts";

// Two replicas, as the install manifests run them: one leads and reconciles, the other
// keeps its caches warm. When the leader dies without a word (SIGKILL), the other takes
// the Lease once it has run out and finishes what the leader started.

const LEASE = "glidepath-controller";
const LEASE_DURATION_MS = 6_000; // test/harness/controller.ts
let replicas: ControllerProcess[] = [];

beforeAll(async () => {
  replicas = await Promise.all([
    givenController({ identity: `glidepath-a-${process.pid}` }),
    givenController({ identity: `glidepath-b-${process.pid}` }),
  ]);
});

afterAll(async () => {
  await Promise.all(replicas.map((replica) => replica.stop()));
});

async function leaseHolder(): Promise<string | undefined> {
  const coordination = kubeConfig().makeApiClient(CoordinationV1Api);
  const lease = await coordination.readNamespacedLease({ name: LEASE, namespace: CONTROLLER_NAMESPACE });
  return lease.spec?.holderIdentity || undefined;
}

async function leaderGauge(replica: ControllerProcess): Promise<number> {
  const exported = await (await fetch(`${replica.url}/metrics`)).text();
  return Number(/^glidepath_leader (\S+)$/m.exec(exported)?.[1]);
}

describe("two replicas", () => {
  it("have one leader that alone reconciles; when it is killed the other finishes the release", () =>
    withService("leader", {}, async (scenario) => {
      const identities = replicas.map((replica) => replica.identity);
      const holder = await waitFor(async () => {
        const current = await leaseHolder();
        return current && identities.includes(current) ? current : undefined;
      });
      const leader = replicas.find((replica) => replica.identity === holder);
      const follower = replicas.find((replica) => replica.identity !== holder);
      if (!leader || !follower) throw new Error(`no replica holds the Lease (holder ${holder})`);

      const name = "checkout-2-0-0";
      await scenario.release(name, "2.0.0", { stages: shortStages(2), bake: "2s" });
      await scenario.waitForRelease(
        name,
        "in stage early-adopter",
        (release) => release.status?.currentStage?.name === "early-adopter",
      );
      expect(await leaseHolder()).toBe(leader.identity);
      expect(releaseLogLines(leader, scenario.namespace).length).toBeGreaterThan(0);
      expect(releaseLogLines(follower, scenario.namespace)).toEqual([]);
      // Each replica says on /metrics which one it is.
      expect(await leaderGauge(leader)).toBe(1);
      expect(await leaderGauge(follower)).toBe(0);

      // When: the leader dies without releasing the Lease.
      await leader.kill();
      const killedAt = Date.now();
      // Nobody leads for a while: this is the status the leader left.
      const atDeath = await scenario.read(name);
      await waitFor(async () => (await leaseHolder()) === follower.identity, {
        timeoutMs: 30_000,
        intervalMs: 100,
        description: "the follower to take the Lease",
      });
      const takeoverMs = Date.now() - killedAt;
      // It must wait out the Lease (measured on its own clock), and not much longer.
      expect(takeoverMs).toBeLessThan(LEASE_DURATION_MS + 4_000);
      await scenario.waitForRelease(
        name,
        "to move on under the new leader",
        (release) => release.status?.currentStage?.name !== atDeath.status?.currentStage?.name,
        { timeoutMs: 20_000 },
      );

      const release = await scenario.waitForPhase(name, FINISHED);
      expect(release.status?.phase, release.status?.message).toBe("Succeeded");
      await expectOrderlyRecord(scenario, name, {
        stages: ["canary", "early-adopter", "expansion", "ga", "bake"],
        phases: ["Pending", "Progressing", "Baking", "Succeeded"],
        mayBeLost: lastAnnouncements(atDeath),
      });
      expect(releaseLogLines(follower, scenario.namespace).join("\n")).toContain('"to":"Succeeded"');
      expect(await leaderGauge(follower)).toBe(1);
    }));
});
