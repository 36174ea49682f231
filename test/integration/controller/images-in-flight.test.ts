import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { Release } from "../../../src/api/index.ts";
import type { ControllerProcess } from "../../harness/controller.ts";
import { stackInfo, waitFor } from "../../harness/context.ts";
import { expectRouteAsBefore, givenController, imageOf, withService } from "./scenario.ts";

// The image policy tightened while a release is in flight (issue 12, item 3): the
// controller restarts with a strategy file whose allowedImages no longer admits the
// release's image. The release is held where it is (never rolled back by the edit, never
// taken further), says why, and a person's abort still rolls it back.

const IDENTITY = `glidepath-images-in-flight-${process.pid}`;
let controller: ControllerProcess | undefined;

afterAll(async () => {
  await controller?.stop();
});

/** The shipped strategy file with a global allowedImages list. */
function strategyAllowing(entries: string[]): string {
  const shipped = JSON.parse(
    readFileSync(new URL("../../../rollout/rollout-strategy.json", import.meta.url), "utf8"),
  ) as object;
  const path = join(stackInfo().runDir, `strategy-in-flight-${randomBytes(3).toString("hex")}.json`);
  writeFileSync(path, JSON.stringify({ ...shipped, allowedImages: entries }, null, 2));
  return path;
}

const condition = (release: Release, type: string) =>
  release.status?.conditions.find((candidate) => candidate.type === type);

describe("the image policy tightened while a release is in flight", () => {
  it("holds it at its stage (Paused, Valid=False/ImageNotAllowed, the canary and its share kept); abort still rolls it back", () =>
    withService("img-flight", {}, async (scenario) => {
      const routeBefore = await scenario.routeFields();
      controller = await givenController({ identity: IDENTITY });
      const name = "checkout-3-0-0";
      await scenario.release(name, "3.0.0", {
        stages: [
          { name: "canary", weight: 10, hold: "10m" },
          { name: "ga", weight: 100, hold: "0s" },
        ],
      });
      await scenario.waitForRelease(
        name,
        "in stage canary at 10%",
        (release) => release.status?.stages.at(-1)?.reachedWeight === 10,
      );

      // When: the policy moves to another registry, and the controller restarts with it.
      await controller.stop();
      controller = await givenController({
        identity: IDENTITY,
        config: { strategyFile: strategyAllowing(["registry.internal.example.com/"]) },
      });

      const held = await scenario.waitForRelease(name, "held by the image policy", (release) =>
        Boolean(release.status?.phase === "Paused" && condition(release, "Valid")?.status === "False"),
      );
      const refusal =
        `spec.images.checkout "${imageOf("3.0.0")}" is not allowed: it matches no entry of ` +
        `the global allowedImages ("registry.internal.example.com/") in rollout-strategy.json`;
      expect(condition(held, "Valid")).toMatchObject({ reason: "ImageNotAllowed", message: refusal });
      expect(condition(held, "Progressing")).toMatchObject({ status: "False", reason: "ImageNotAllowed" });
      expect(held.status?.message).toContain(
        "held: the image policy (allowedImages) does not allow spec.images",
      );
      expect(held.status?.currentStage).toMatchObject({ index: 0, name: "canary" });
      // Events are recorded after the status that decided them: wait for them, as a person would.
      const events = await waitFor(
        async () => {
          const seen = (await scenario.events(name)).map((event) => [
            event.type,
            event.reason,
            event.message,
          ]);
          return seen.some(([, reason]) => reason === "ImageNotAllowed") &&
            seen.some(([, reason]) => reason === "Paused")
            ? seen
            : undefined;
        },
        { timeoutMs: 30_000, description: "the ImageNotAllowed and Paused Events" },
      );
      expect(events).toContainEqual(["Warning", "ImageNotAllowed", refusal]);
      // Held, not rolled back: the canary keeps its image and its share, stable is untouched.
      expect(await scenario.routeWeights()).toEqual({ checkout: 90, "checkout-canary": 10 });
      const canary = await scenario.deployment("checkout-canary");
      expect(canary?.spec?.template.spec?.containers[0]?.image).toBe(imageOf("3.0.0"));
      const stable = await scenario.deployment("checkout");
      expect(stable?.spec?.template.spec?.containers[0]?.image).toBe(imageOf("1.0.0"));

      // Then: a person aborts, and the release rolls back as any other.
      await scenario.control(name, { abort: { by: "integration-test", at: new Date().toISOString() } });
      const rolledBack = await scenario.waitForPhase(name, ["RolledBack", "Failed", "Succeeded"]);
      expect(rolledBack.status?.phase, rolledBack.status?.message).toBe("RolledBack");
      expect(rolledBack.status?.rollback?.trigger).toBe("manual");
      // All traffic on stable: the route field by field as before the release.
      await expectRouteAsBefore(scenario, routeBefore);
    }));
});
