import { performance } from "node:perf_hooks";
import { describe, expect, it } from "vitest";
import { waitFor } from "../../harness/context.ts";
import {
  errorRateMetric,
  expectRouteAsBefore,
  FINISHED,
  givenControllerForFile,
  imageOf,
  STABLE_VERSION,
  withService,
} from "./scenario.ts";

// The baseline comparison on the real stack (issue 17 item 5): a release whose metric is
// compared with a baseline (the stable version started beside the canary, with the same
// share of the HTTPRoute). The traffic simulator follows the route: the baseline's share
// is served by the stable version, so its metrics are the stable version's.

givenControllerForFile();

/** The error rate, within its max 5% throughout, and compared with the baseline. */
function comparedErrorRate() {
  return {
    ...errorRateMetric("5s", 0.05),
    compare: { baseline: { minSamples: 5, confidence: 0.95, effectSize: 0.71 } },
  };
}

describe.concurrent("a release compared with a baseline", () => {
  it("rolls back a canary worse than the baseline, within its threshold, with the baseline's share and pods gone", () =>
    withService("baseline-worse", {}, async (scenario) => {
      const name = "checkout-2-1-0";
      const before = await scenario.routeFields();
      await scenario.release(name, "2.1.0", {
        stages: [
          { name: "canary", weight: 10, hold: "600s", minMeasurements: 1 },
          { name: "ga", weight: 100, hold: "0s" },
        ],
        analysis: { interval: "1s", metrics: [comparedErrorRate()] },
      });

      // Given: the baseline beside the canary, each with 10% of the route, the canary as good as it.
      const split = await waitFor(
        async () => {
          const weights = await scenario.routeWeights();
          return weights["checkout-baseline"] === 10 && weights["checkout-canary"] === 10
            ? weights
            : undefined;
        },
        { timeoutMs: 120_000, description: "the canary and the baseline at 10% each" },
      );
      expect(split).toEqual({ checkout: 80, "checkout-canary": 10, "checkout-baseline": 10 });
      const baseline = await scenario.deployment("checkout-baseline");
      expect(baseline?.spec?.replicas).toBe(2);
      expect(baseline?.spec?.template.spec?.containers[0]?.image).toBe(imageOf(STABLE_VERSION));
      expect(baseline?.spec?.template.metadata?.labels).toMatchObject({
        version: STABLE_VERSION,
        "glidepath.dev/role": "baseline",
      });
      const passing = await scenario.waitForRelease(
        name,
        "the comparison passing on clean canary data",
        (release) => release.status?.stages[0]?.comparisons?.[0]?.verdict === "pass",
      );
      const cleanSamples = passing.status?.stages[0]?.comparisons?.[0]?.canary.length ?? 0;

      // When: the new version fails 3% of its requests: under the 5% threshold, worse than the baseline.
      await scenario.simulator.client.configure({ versions: { "2.1.0": { errorRatio: 0.03 } } });
      const breachAt = performance.now();
      // Timed as bench/rollback-latency.ts does: until the route shows all traffic on stable.
      await waitFor(
        async () => {
          const weights = await scenario.routeWeights();
          return (weights["checkout-canary"] ?? 0) === 0 && weights["checkout-baseline"] === undefined;
        },
        { timeoutMs: 120_000, intervalMs: 20, description: "all traffic back on stable" },
      );
      const rollbackMs = performance.now() - breachAt;
      console.log(
        `baseline comparison: breach to all traffic on stable in ${Math.round(rollbackMs)} ms ` +
          `(analysis every 1 s, 5 s rate window, ${cleanSamples} clean canary samples before the breach)`,
      );

      const release = await scenario.waitForPhase(name, FINISHED);
      expect(release.status?.phase, release.status?.message).toBe("RolledBack");
      expect(release.status?.rollback).toMatchObject({
        trigger: "metric",
        metric: "error-rate",
        threshold: "not higher than the baseline (p < 0.05, effect ≥ 0.71)",
        verified: true,
      });
      expect(release.status?.rollback?.reason).toContain("error-rate compared with the baseline");
      const comparison = release.status?.stages[0]?.comparisons?.[0];
      expect(comparison?.verdict).toBe("fail");
      expect(comparison?.p).toBeLessThan(0.05);
      expect(comparison?.effect).toBeGreaterThanOrEqual(0.71);
      // Every threshold measurement passed: only the comparison saw it.
      expect(release.status?.stages[0]?.tallies[0]?.fail).toBe(0);

      // The route, field by field, as it was before the release: no baseline or canary
      // backendRef left, stable's weight as it was.
      await expectRouteAsBefore(scenario, before);
      const scaledDown = await waitFor(
        async () => {
          const current = await scenario.deployment("checkout-baseline");
          return current?.spec?.replicas === 0 ? current : undefined;
        },
        { description: "the baseline scaled to 0" },
      );
      expect(scaledDown.spec?.replicas).toBe(0);
    }));

  it("promotes a canary as good as the baseline through each stage the baseline can match", () =>
    withService("baseline-equal", {}, async (scenario) => {
      const name = "checkout-2-2-0";
      const before = await scenario.routeFields();
      await scenario.release(name, "2.2.0", {
        stages: [
          { name: "canary", weight: 10, hold: "2s", minMeasurements: 1 },
          { name: "half", weight: 50, hold: "2s", minMeasurements: 1 },
          { name: "ga", weight: 100, hold: "0s" },
        ],
        analysis: { interval: "1s", metrics: [comparedErrorRate()] },
      });
      const release = await scenario.waitForPhase(name, FINISHED, { timeoutMs: 240_000 });
      expect(release.status?.phase, release.status?.message).toBe("Succeeded");
      for (const stage of release.status?.stages.slice(0, 2) ?? []) {
        const comparison = stage.comparisons?.[0];
        expect(comparison?.verdict, `${stage.name}: ${comparison?.reason}`).toBe("pass");
        expect(comparison?.canary.length).toBeGreaterThanOrEqual(5);
        expect(comparison?.baseline.length).toBeGreaterThanOrEqual(5);
      }
      await expectRouteAsBefore(scenario, before);
      expect((await scenario.deployment("checkout-baseline"))?.spec?.replicas).toBe(0);
    }));
});
