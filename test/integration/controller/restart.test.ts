import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ControllerProcess } from "../../harness/controller.ts";
import { waitFor } from "../../harness/context.ts";
import type { V1Deployment } from "@kubernetes/client-node";
import type { Release } from "../../../src/api/index.ts";
import {
  errorRateMetric,
  expectOrderlyRecord,
  FINISHED,
  givenController,
  givenService,
  imageOf,
  lastAnnouncements,
  quickStages,
  shortStages,
  type ServiceScenario,
} from "./scenario.ts";

// The controller is killed with SIGKILL in every phase of a release and started again,
// as the kubelet restarts a crashed container (same pod, same identity, so it takes its
// Lease back at once). Every decision lives in the Release's status, so each release
// must carry on where it was: no stage repeated or skipped, no action done twice.

const IDENTITY = `glidepath-restarted-${process.pid}`;
let controller: ControllerProcess;

beforeAll(async () => {
  controller = await givenController({ identity: IDENTITY });
});

afterAll(async () => {
  await controller?.stop();
});

interface KillPoint {
  label: string;
  scenario: ServiceScenario;
  /** True when the release (and its stable Deployment) are where the controller should die. */
  when(release: Release, stable: V1Deployment | undefined): boolean;
  /** Checked on the status as the dead controller left it. */
  expectAtDeath(release: Release): void;
}

const stageIs = (release: Release, stage: string) =>
  release.status?.phase === "Progressing" && release.status.currentStage?.name === stage;

/** The stable template has the image and its pods are not all updated yet: a rollout is under way. */
const rollingTo = (stable: V1Deployment | undefined, image: string) =>
  stable?.spec?.template.spec?.containers[0]?.image === image && stable.status?.updatedReplicas !== 2;

describe("a controller killed and restarted", () => {
  it("resumes a release in every phase: canary, a later stage, promotion, bake and rollback", async () => {
    const GOOD = "checkout-2-0-0";
    const BAD = "checkout-2-1-0";
    // New pods count as available only some seconds after they are Ready, so a promotion
    // or a revert of stable takes a while: long enough to die in the middle of one, even
    // on a loaded machine.
    const [good, bad] = await Promise.all([
      givenService("restart-good", { minReadySeconds: 3 }),
      givenService("restart-bad", { minReadySeconds: 4 }),
    ]);
    const names = new Map([
      [good, GOOD],
      [bad, BAD],
    ]);
    try {
      await good.release(GOOD, "2.0.0", { stages: shortStages(3), bake: "4s" });
      await bad.release(BAD, "2.1.0", {
        stages: quickStages(),
        analysis: { interval: "1s", metrics: [errorRateMetric()] },
        bake: "60s",
      });

      const points: KillPoint[] = [
        {
          label: "the canary stage",
          scenario: good,
          when: (release) => stageIs(release, "canary"),
          expectAtDeath: (release) => expect(release.status?.currentStage?.name).toBe("canary"),
        },
        {
          label: "a later stage",
          scenario: good,
          when: (release) => stageIs(release, "expansion"),
          expectAtDeath: (release) => expect(release.status?.currentStage?.name).toBe("expansion"),
        },
        {
          label: "the promotion of stable",
          scenario: good,
          when: (release, stable) =>
            stageIs(release, "ga") &&
            release.status?.promotedAt === undefined &&
            rollingTo(stable, imageOf("2.0.0")),
          expectAtDeath: (release) => {
            expect(release.status?.currentStage?.name).toBe("ga");
            expect(release.status?.promotedAt).toBeUndefined();
          },
        },
        {
          label: "the bake",
          scenario: good,
          when: (release) => release.status?.phase === "Baking",
          expectAtDeath: (release) => expect(release.status?.phase).toBe("Baking"),
        },
        {
          label: "the rollback",
          scenario: bad,
          when: (release, stable) =>
            release.status?.phase === "RollingBack" && rollingTo(stable, imageOf("1.0.0")),
          expectAtDeath: (release) => expect(release.status?.phase).toBe("RollingBack"),
        },
      ];

      const firstCanaryUid = new Map<ServiceScenario, string>();
      let badVersionBroken = false;
      const done = new Set<KillPoint>();
      let missed: string | undefined;
      // Events are said at most once: those of the decision stored just before a death may be lost.
      const lostAtDeath = new Map<ServiceScenario, string[]>([
        [good, []],
        [bad, []],
      ]);
      await waitFor(
        async () => {
          // One look at both releases and their Deployments, all at once.
          const seen = new Map(
            await Promise.all(
              [good, bad].map(async (scenario) => {
                const [release, stable, canary] = await Promise.all([
                  scenario.read(names.get(scenario) ?? ""),
                  scenario.deployment("checkout"),
                  scenario.deployment("checkout-canary"),
                ]);
                const uid = canary?.metadata?.uid;
                if (uid && !firstCanaryUid.has(scenario)) firstCanaryUid.set(scenario, uid);
                return [scenario, { release, stable }] as const;
              }),
            ),
          );
          if (!badVersionBroken && seen.get(bad)?.release.status?.phase === "Baking") {
            // The bad version starts failing once it is promoted: the bake must catch it.
            await bad.simulator.client.configure({ versions: { "2.1.0": { errorRatio: 0.08 } } });
            badVersionBroken = true;
          }
          const pending = points.filter((point) => !done.has(point));
          for (const point of pending) {
            const { release } = seen.get(point.scenario) ?? {};
            if (release && FINISHED.includes(release.status?.phase ?? "Pending")) {
              missed = `${release.metadata.name} finished (${release.status?.message}) before the kill in ${point.label}`;
              return true;
            }
          }
          // One death may land in the phases of both releases at once.
          const due = pending.filter((point) => {
            const { release, stable } = seen.get(point.scenario) ?? {};
            return release !== undefined && point.when(release, stable);
          });
          if (due.length > 0) {
            await controller.kill();
            for (const scenario of [good, bad]) {
              // The dead controller's last word is the stored status.
              const atDeath = await scenario.read(names.get(scenario) ?? "");
              for (const point of due.filter((candidate) => candidate.scenario === scenario)) {
                point.expectAtDeath(atDeath);
                done.add(point);
              }
              lostAtDeath.get(scenario)?.push(...lastAnnouncements(atDeath));
            }
            controller = await givenController({ identity: IDENTITY });
          }
          return done.size === points.length;
        },
        { timeoutMs: 180_000, intervalMs: 100, description: "the controller killed in every phase" },
      );
      if (missed) throw new Error(missed);

      const [goodRelease, badRelease] = await Promise.all([
        good.waitForPhase(GOOD, FINISHED),
        bad.waitForPhase(BAD, FINISHED),
      ]);

      expect(goodRelease.status?.phase, goodRelease.status?.message).toBe("Succeeded");
      await expectOrderlyRecord(good, GOOD, {
        stages: ["canary", "early-adopter", "expansion", "ga", "bake"],
        phases: ["Pending", "Progressing", "Baking", "Succeeded"],
        mayBeLost: lostAtDeath.get(good) ?? [],
      });
      expect(goodRelease.status?.stages.map((stage) => stage.outcome)).toEqual([
        "passed",
        "passed",
        "passed",
        "passed",
        "passed",
      ]);

      expect(badRelease.status?.phase, badRelease.status?.message).toBe("RolledBack");
      expect(badRelease.status?.rollback).toMatchObject({
        trigger: "metric",
        metric: "error-rate",
        verified: true,
      });
      await expectOrderlyRecord(bad, BAD, {
        stages: ["canary", "ga", "bake"],
        phases: ["Pending", "Progressing", "Baking", "RollingBack", "RolledBack"],
        mayBeLost: lostAtDeath.get(bad) ?? [],
      });

      // No action done twice: each spec change of a Deployment or the route is one action.
      for (const [scenario, stableChanges, routeChanges] of [
        // The router's cleanup() puts the route back as it was once the release ends: one more.
        [good, 1, 6], // promoted; canary weights 1, 10, 50, 100, 0, then the route as before
        [bad, 2, 4], // promoted and reverted; canary weights 10, 100, 0, then the route as before
      ] as const) {
        const stable = await scenario.deployment("checkout");
        expect(stable?.metadata?.generation, `${scenario.namespace}: stable spec changes`).toBe(
          1 + stableChanges,
        );
        // One rollout to the new version (and back to the old ReplicaSet for the rollback).
        expect(
          await scenario.replicaSets("checkout"),
          `${scenario.namespace}: stable ReplicaSets`,
        ).toHaveLength(2);
        const canary = await scenario.deployment("checkout-canary");
        expect(canary?.metadata?.uid, `${scenario.namespace}: the canary was made once`).toBe(
          firstCanaryUid.get(scenario),
        );
        // Created at its size, scaled to zero once.
        expect(canary?.metadata?.generation, `${scenario.namespace}: canary spec changes`).toBe(2);
        expect(canary?.spec?.replicas).toBe(0);
        expect(await scenario.routeGeneration(), `${scenario.namespace}: route spec changes`).toBe(
          1 + routeChanges,
        );
      }
    } finally {
      await Promise.all([good.tearDown(), bad.tearDown()]);
    }
  });
});
