import { describe, expect, it } from "vitest";
import { waitFor } from "../../harness/context.ts";
import {
  expectRouteAsBefore,
  givenControllerForFile,
  shortStages,
  STABLE_VERSION,
  withService,
} from "./scenario.ts";

givenControllerForFile();

describe.concurrent("a release on its own", () => {
  it("walks 1% → 10% → 50% → 100%, bakes and succeeds, with the route following every stage", () =>
    withService("good", {}, async (scenario) => {
      const routeBefore = await scenario.routeFields();
      await scenario.release("checkout-2-0-0", "2.0.0", { stages: shortStages(3) });
      const seen = new Map<string, Record<string, number>>();
      await waitFor(
        async () => {
          const release = await scenario.read("checkout-2-0-0");
          const stage = release.status?.currentStage;
          if (stage && !seen.has(stage.name) && stage.weight < 100) {
            // The weight the stage asked for must be on the route while the stage runs.
            const weights = await waitFor(async () => {
              const now = await scenario.routeWeights();
              return now["checkout-canary"] === stage.weight ? now : undefined;
            });
            seen.set(stage.name, weights);
          }
          return release.status?.phase === "Succeeded" || release.status?.phase === "RolledBack"
            ? release
            : undefined;
        },
        { timeoutMs: 150_000, intervalMs: 100, description: "the release to finish" },
      );

      const release = await scenario.read("checkout-2-0-0");
      expect(release.status?.phase, release.status?.message).toBe("Succeeded");
      expect([...seen.entries()]).toEqual([
        ["canary", { checkout: 99, "checkout-canary": 1 }],
        ["early-adopter", { checkout: 90, "checkout-canary": 10 }],
        ["expansion", { checkout: 50, "checkout-canary": 50 }],
      ]);
      expect(release.status?.stages.map((s) => [s.name, s.outcome])).toEqual([
        ["canary", "passed"],
        ["early-adopter", "passed"],
        ["expansion", "passed"],
        ["ga", "passed"],
        ["bake", "passed"],
      ]);
      expect(release.status?.previous).toMatchObject({
        version: STABLE_VERSION,
        images: { checkout: `registry.example.com/checkout:${STABLE_VERSION}` },
      });

      const stable = await scenario.deployment("checkout");
      expect(stable?.spec?.template.spec?.containers[0]?.image).toBe("registry.example.com/checkout:2.0.0");
      expect(stable?.spec?.template.metadata?.labels?.version).toBe("2.0.0");
      const canary = await scenario.deployment("checkout-canary");
      expect(canary?.spec?.replicas ?? 0).toBe(0);
      // All traffic on stable: the route field by field as before the release.
      await expectRouteAsBefore(scenario, routeBefore);
    }));

  it("without a router, splits by replicas: records the share each stage reached and leaves the route alone", () =>
    withService("split", {}, async (scenario) => {
      const routeGeneration = await scenario.routeGeneration();
      // Canary pods sit behind the stable Service, so a team measures the Service as a whole.
      const selector = `namespace="{{namespace}}", service="{{service}}"`;
      await scenario.release("checkout-4-0-0", "4.0.0", {
        stages: shortStages(3),
        traffic: { replicas: {} },
        analysis: {
          interval: "1s",
          metrics: [
            {
              name: "error-rate",
              query:
                `(sum(rate(http_requests_total{${selector}, code=~"5.."}[5s])) or vector(0))` +
                ` / sum(rate(http_requests_total{${selector}}[5s]))`,
              max: 0.05,
              inconclusiveLimit: 30,
            },
          ],
        },
      });
      const release = await scenario.waitForPhase("checkout-4-0-0", ["Succeeded", "RolledBack", "Failed"], {
        timeoutMs: 150_000,
      });
      expect(release.status?.phase, release.status?.message).toBe("Succeeded");
      // Beside 2 stable pods: 1 canary pod is 33% (asked 1% and 10%), 2 are 50% (asked 50% and 100%).
      expect(release.status?.stages.map((s) => [s.name, s.weight, s.reachedWeight])).toEqual([
        ["canary", 1, 33],
        ["early-adopter", 10, 33],
        ["expansion", 50, 50],
        ["ga", 100, 50],
        ["bake", 100, undefined],
      ]);
      const stable = await scenario.deployment("checkout");
      expect(stable?.spec?.template.spec?.containers[0]?.image).toBe("registry.example.com/checkout:4.0.0");
      const canary = await scenario.deployment("checkout-canary");
      expect(canary?.spec?.replicas ?? 0).toBe(0);
      // The canary pods keep the stable labels: that is the split.
      expect(canary?.spec?.template.metadata?.labels?.app).toBe("checkout");
      expect(await scenario.routeGeneration()).toBe(routeGeneration);
    }));

  it("rolls back at the canary stage by itself, naming the metric, the value and the threshold", () =>
    withService("bad", {}, async (scenario) => {
      const routeBefore = await scenario.routeFields();
      await scenario.simulator.client.configure({ versions: { "3.0.0": { errorRatio: 0.08 } } });
      // 8% errors at 5% of 400 requests a second are a few errors a second: the canary
      // stage is sized so rate() sees them within its hold, as a team would size it.
      const stages = shortStages();
      stages[0] = { name: "canary", weight: 5, hold: "12s", minMeasurements: 8 };
      await scenario.release("checkout-3-0-0", "3.0.0", { stages });
      const release = await scenario.waitForPhase("checkout-3-0-0", ["RolledBack", "Failed", "Succeeded"]);
      expect(release.status?.phase, release.status?.message).toBe("RolledBack");
      expect(release.status?.stages.map((s) => s.name)).toEqual(["canary"]);
      expect(release.status?.rollback).toMatchObject({ trigger: "metric", metric: "error-rate" });
      expect(Number(release.status?.rollback?.value)).toBeGreaterThan(0.05);
      expect(release.status?.rollback?.threshold).toBe("max 5%");

      expect((await scenario.routeWeights())["checkout-canary"] ?? 0).toBe(0);
      await expectRouteAsBefore(scenario, routeBefore);
      const canary = await scenario.deployment("checkout-canary");
      expect(canary?.spec?.replicas ?? 0).toBe(0);
      const stable = await scenario.deployment("checkout");
      expect(stable?.spec?.template.spec?.containers[0]?.image).toBe(
        `registry.example.com/checkout:${STABLE_VERSION}`,
      );
    }));
});
