import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "../../harness/context.ts";
import type { ControllerProcess } from "../../harness/controller.ts";
import type { Release } from "../../../src/api/index.ts";
import { givenController, withService } from "./scenario.ts";

// Issue 11, item 4: the longest hold a Release may ask for does not spin the controller
// (Node fired any timer above 2^31−1 ms after 1 ms: 129 reconciles a second), and a
// longer one is refused naming the field and the limit (an absurd one failed every
// reconcile with "Invalid time value", in the log only).

let controller: ControllerProcess;
beforeAll(async () => {
  controller = await givenController();
});
afterAll(async () => {
  await controller?.stop();
});

/** Reconciles so far, all outcomes, from the controller's own /metrics. */
async function reconcileCount(): Promise<number> {
  const text = await (await fetch(`${controller.url}/metrics`)).text();
  let total = 0;
  for (const line of text.split("\n")) {
    if (line.startsWith("glidepath_reconcile_duration_seconds_count"))
      total += Number(line.split(" ").at(-1));
  }
  return total;
}

function validCondition(release: Release) {
  return release.status?.conditions.find((condition) => condition.type === "Valid");
}

describe("extreme durations", () => {
  it("a stage held for the longest allowed hold (720h) waits quietly: a handful of reconciles, not hundreds a second", () =>
    withService("long-hold", {}, async (scenario) => {
      // No metrics, so no analysis round comes sooner: only the hold's end is ahead.
      await scenario.release("checkout-long-hold", "2.0.0", {
        stages: [
          { name: "canary", weight: 10, hold: "720h" },
          { name: "ga", weight: 100, hold: "0s" },
        ],
        analysis: { metrics: [] },
      });
      const holding = await scenario.waitForRelease(
        "checkout-long-hold",
        "holding in the canary stage",
        (release) =>
          release.status?.currentStage?.name === "canary" &&
          /holding until/.test(release.status.message ?? ""),
      );
      expect(holding.status?.phase).toBe("Progressing");

      // Let the entry into the stage settle, then count over five seconds.
      await waitFor(async () => (await scenario.routeWeights())["checkout-canary"] === 10, {
        timeoutMs: 30_000,
        description: "10% on the canary",
      });
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      const before = await reconcileCount();
      const started = Date.now();
      await new Promise((resolve) => setTimeout(resolve, 5_000));
      const reconciles = (await reconcileCount()) - before;
      const seconds = (Date.now() - started) / 1000;
      console.log(`long hold: ${reconciles} reconciles in ${seconds.toFixed(1)} s`);
      expect(reconciles, `${reconciles} reconciles in ${seconds} s`).toBeLessThanOrEqual(5);
      expect(controller.process.logTail(100_000)).not.toContain("TimeoutOverflowWarning");
      expect((await scenario.read("checkout-long-hold")).status?.currentStage?.name).toBe("canary");
    }));

  it("a hold beyond the limit, or absurdly long, is refused naming the field and the limit", () =>
    withService("over-hold", {}, async (scenario) => {
      for (const [name, hold] of [
        ["checkout-721h", "721h"],
        ["checkout-absurd", "9999999999999999h"],
      ] as const) {
        await scenario.release(name, "2.0.0", {
          stages: [
            { name: "canary", weight: 10, hold },
            { name: "ga", weight: 100, hold: "0s" },
          ],
        });
      }
      for (const [name, hold] of [
        ["checkout-721h", "721h"],
        ["checkout-absurd", "9999999999999999h"],
      ] as const) {
        const refused = await waitFor(
          async () => {
            const release = await scenario.read(name);
            return validCondition(release)?.status === "False" ? release : undefined;
          },
          { timeoutMs: 60_000, description: `${name} marked Valid=False` },
        );
        expect(validCondition(refused)?.message).toBe(
          `$.spec.stages[0].hold: hold must be at most 720h, not ${hold}`,
        );
        expect(refused.status?.startedAt).toBeUndefined();
        const events = await scenario.events(name);
        expect(events.map((event) => `${event.type} ${event.reason}`)).toContain("Warning InvalidSpec");
      }
      expect(controller.process.logTail(100_000)).not.toContain("Invalid time value");
    }));
});
