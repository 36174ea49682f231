import { describe, expect, it } from "vitest";
import { waitFor } from "../../harness/context.ts";
import type { Release } from "../../../src/api/index.ts";
import {
  expectOrderlyRecord,
  FINISHED,
  givenControllerForFile,
  imageOf,
  quickStages,
  withService,
} from "./scenario.ts";

// One active release per target, and a Release the controller cannot run is told so
// without holding anything up.

givenControllerForFile();

function validCondition(release: Release) {
  return release.status?.conditions.find((condition) => condition.type === "Valid");
}

/** A Release the API server of 1.20 (no CEL) accepts, with one mistake only zod sees. */
function releaseSpec(version: string, metric: Record<string, unknown>) {
  return {
    target: { deployment: "checkout", service: "checkout" },
    version,
    images: { checkout: imageOf(version) },
    stages: quickStages(),
    traffic: { gatewayAPI: { httpRoute: "checkout" } },
    analysis: { interval: "1s", metrics: [metric] },
    changeRequest: {
      id: `CHG-${version}`,
      type: "standard",
      title: `Release ${version}`,
      why: "integration test",
      risk: "low",
      requestedBy: "integration-test",
    },
  };
}

describe.concurrent("releases of one target", () => {
  it("refuses malformed Releases by field, and they hold up neither their target nor anyone else", () =>
    withService("invalid", {}, async (scenario) => {
      // Both are older than the good one, and of the same target.
      await scenario.applyRaw(
        "checkout-min-max",
        releaseSpec("2.0.1", { name: "error-rate", template: "http-error-ratio", min: 0.5, max: 0.1 }),
      );
      await scenario.applyRaw(
        "checkout-bad-query",
        releaseSpec("2.0.2", {
          name: "error-rate",
          query: 'sum(rate(http_requests_total{service="{{servce}}"}[1m]))',
          max: 1,
        }),
      );
      await scenario.release("checkout-2-0-0", "2.0.0", { stages: quickStages(), bake: "2s" });

      const minMax = await waitFor(async () => {
        const release = await scenario.read("checkout-min-max");
        return validCondition(release)?.status === "False" ? release : undefined;
      });
      expect(validCondition(minMax)?.message).toContain("$.spec.analysis.metrics[0].min");
      expect(validCondition(minMax)?.message).toContain("min (0.5) must not be greater than max (0.1)");

      const badQuery = await waitFor(async () => {
        const release = await scenario.read("checkout-bad-query");
        return validCondition(release)?.status === "False" ? release : undefined;
      });
      expect(validCondition(badQuery)?.message).toContain("$.spec.analysis.metrics[0].query");
      expect(validCondition(badQuery)?.message).toContain("servce");

      const good = await scenario.waitForPhase("checkout-2-0-0", FINISHED);
      expect(good.status?.phase, good.status?.message).toBe("Succeeded");
      expect(good.status?.waitingFor).toBeUndefined();
      for (const name of ["checkout-min-max", "checkout-bad-query"]) {
        const refused = await scenario.read(name);
        expect(refused.status?.startedAt).toBeUndefined();
        expect(refused.status?.phase).toBe("Pending");
        const events = await scenario.events(name);
        expect(events.map((event) => event.reason)).toEqual(["InvalidSpec"]);
      }
    }));

  it("runs a second Release of a busy target after the first, from where the first left stable", () =>
    withService("queue", {}, async (scenario) => {
      await scenario.release("checkout-2-0-0", "2.0.0", { stages: quickStages(), bake: "2s" });
      await scenario.waitForPhase("checkout-2-0-0", ["Progressing"]);
      await scenario.release("checkout-2-1-0", "2.1.0", { stages: quickStages(), bake: "2s" });

      const waiting = await scenario.waitForRelease("checkout-2-1-0", "waiting for the first", (release) =>
        Boolean(release.status?.waitingFor),
      );
      expect(waiting.status?.phase).toBe("Pending");
      expect(waiting.status?.waitingFor).toBe("checkout-2-0-0");
      expect(waiting.status?.message).toContain("waiting for release checkout-2-0-0");

      const first = await scenario.waitForPhase("checkout-2-0-0", FINISHED);
      expect(first.status?.phase, first.status?.message).toBe("Succeeded");
      const second = await scenario.waitForPhase("checkout-2-1-0", FINISHED);
      expect(second.status?.phase, second.status?.message).toBe("Succeeded");
      // It started when the first finished, not at its next retry.
      const gapMs = Date.parse(second.status?.startedAt ?? "") - Date.parse(first.status?.finishedAt ?? "");
      expect(gapMs).toBeGreaterThanOrEqual(0);
      expect(gapMs).toBeLessThan(5_000);
      expect(second.status?.waitingFor).toBeUndefined();
      // What stable ran when the second started: the first's version, its size and its template's hash.
      expect(second.status?.previous).toEqual({
        version: "2.0.0",
        images: { checkout: imageOf("2.0.0") },
        replicas: 2,
        template: expect.stringMatching(/^[0-9a-f]{32}$/),
      });
      await expectOrderlyRecord(scenario, "checkout-2-1-0", {
        stages: ["canary", "ga", "bake"],
        phases: ["Pending", "Progressing", "Baking", "Succeeded"],
      });
      const stable = await scenario.deployment("checkout");
      expect(stable?.spec?.template.spec?.containers[0]?.image).toBe(imageOf("2.1.0"));
    }));
});
