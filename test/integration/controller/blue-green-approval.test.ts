import { performance } from "node:perf_hooks";
import { describe, expect, it } from "vitest";
import { waitFor } from "../../harness/context.ts";
import {
  errorRateMetric,
  expectRouteAsBefore,
  FINISHED,
  givenControllerForFile,
  givenUser,
  grantDeployer,
  grantRole,
  imageOf,
  STABLE_VERSION,
  withService,
} from "./scenario.ts";

// Blue/green's approval before the switch (issue 17 item 1), with real users and the
// admission webhook verifying who approved: the preview waits at 0% until carol approves,
// then takes 100% at once; when the switched version then fails its analysis within
// scaleDownDelay, the rollback is the route back on stable (stable never written).

givenControllerForFile({ admission: true });

describe("a blue/green release with an approval before the switch", () => {
  it("waits at 0% for carol's approval, switches, and rolls back on a failed metric after the switch with the route as before", () =>
    withService("bg-approval", {}, async (scenario) => {
      const [alice, carol] = await Promise.all([
        givenUser("alice", ["developers"]),
        givenUser("carol", ["release-managers"]),
      ]);
      await grantRole(scenario.namespace, { kind: "Group", name: "developers" }, "glidepath-edit");
      await grantRole(scenario.namespace, { kind: "Group", name: "release-managers" }, "glidepath-approve");
      await grantDeployer(scenario.namespace, "alice");
      await scenario.simulator.client.configure({ previewRequestsPerSecond: 50 });
      const before = await scenario.routeFields();
      const generationBefore = await scenario.routeGeneration();
      const stableGeneration = (await scenario.deployment("checkout"))?.metadata?.generation;
      const name = "checkout-4-0-0";
      await scenario.release(
        name,
        "4.0.0",
        {
          stages: undefined,
          blueGreen: { preview: "2s", scaleDownDelay: "600s", requiresApproval: true, minMeasurements: 1 },
          analysis: { interval: "1s", metrics: [errorRateMetric("5s", 0.05)] },
          changeRequest: { requestedBy: "alice" },
        },
        alice.kubeConfig,
      );

      const waiting = await scenario.waitForPhase(name, ["AwaitingApproval"]);
      expect(waiting.status?.currentStage).toMatchObject({ name: "preview", weight: 0 });
      expect(await scenario.routeGeneration()).toBe(generationBefore);

      await scenario.control(
        name,
        { approvals: [{ by: "carol", at: new Date().toISOString(), comment: "preview looks good" }] },
        carol.kubeConfig,
      );
      const switched = await scenario.waitForRelease(
        name,
        "switched",
        (release) => release.status?.stages.find((stage) => stage.name === "switch")?.reachedWeight === 100,
      );
      expect(switched.status?.transitions.find((t) => t.from === "AwaitingApproval")?.reason).toContain(
        "approved by carol",
      );
      expect(await scenario.routeWeights()).toEqual({ checkout: 0, "checkout-canary": 100 });
      await scenario.waitForRelease(
        name,
        "the switched version analysed",
        (release) => (release.status?.stages[1]?.tallies[0]?.pass ?? 0) >= 1,
      );

      // When: the new version, now serving every user, fails half its requests.
      await scenario.simulator.client.configure({ versions: { "4.0.0": { errorRatio: 0.5 } } });
      const breachAt = performance.now();
      await waitFor(async () => ((await scenario.routeWeights())["checkout-canary"] ?? 0) === 0, {
        timeoutMs: 120_000,
        intervalMs: 20,
        description: "all traffic back on stable",
      });
      console.log(
        `blue/green (Gateway API): breach after the switch to all traffic on stable in ${Math.round(performance.now() - breachAt)} ms (analysis every 1 s, 5 s rate window)`,
      );

      const done = await scenario.waitForPhase(name, FINISHED);
      expect(done.status?.phase, done.status?.message).toBe("RolledBack");
      expect(done.status?.rollback).toMatchObject({
        trigger: "metric",
        metric: "error-rate",
        verified: true,
      });
      expect(done.status?.stages.map((stage) => [stage.name, stage.outcome])).toEqual([
        ["preview", "passed"],
        ["switch", "failed"],
      ]);
      await expectRouteAsBefore(scenario, before);
      const stable = await scenario.deployment("checkout");
      expect(stable?.metadata?.generation).toBe(stableGeneration);
      expect(stable?.spec?.template.spec?.containers[0]?.image).toBe(imageOf(STABLE_VERSION));
    }));
});
