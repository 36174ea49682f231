import { afterAll, describe, expect, it } from "vitest";
import type { ControllerProcess } from "../../harness/controller.ts";
import { kubeClients, kubectl, waitFor } from "../../harness/context.ts";
import { givenController, withService } from "./scenario.ts";

// A Release deleted while no controller runs (killed, or not restarted yet): the
// finalizer keeps the Release, and with it the canary the route still points at, until
// a controller is back to send the traffic to stable first.

const IDENTITY = `glidepath-deletion-restart-${process.pid}`;
let controller: ControllerProcess | undefined;

afterAll(async () => {
  await controller?.stop();
});

describe("a Release deleted while the controller is down", () => {
  it("keeps its canary serving until a controller is back, which restores stable first", () =>
    withService("del-restart", {}, async (scenario) => {
      controller = await givenController({ identity: IDENTITY });
      const routeBefore = await scenario.routeFields();
      const name = "checkout-3-0-0";
      await scenario.release(name, "3.0.0", {
        stages: [
          { name: "canary", weight: 10, hold: "10m" },
          { name: "ga", weight: 100, hold: "0s" },
        ],
        analysis: { metrics: [] },
      });
      await scenario.waitForRelease(
        name,
        "in stage canary at 10%",
        (release) => release.status?.stages.at(-1)?.reachedWeight === 10,
      );

      // When: the controller dies, and the Release is deleted meanwhile.
      await controller.kill();
      await kubectl(["-n", scenario.namespace, "delete", "release", name, "--wait=false"]);
      const pending = await scenario.read(name);
      expect(pending.metadata.deletionTimestamp).toBeDefined();
      // Nothing removed the canary under the route: the Release still owns it.
      expect(await scenario.routeWeights()).toEqual({ checkout: 90, "checkout-canary": 10 });
      const service = await kubeClients().core.readNamespacedService({
        name: "checkout-canary",
        namespace: scenario.namespace,
      });
      expect(service.metadata?.deletionTimestamp).toBeUndefined();

      // Then: the controller back (same pod, same identity) restores stable, then lets it go.
      controller = await givenController({ identity: IDENTITY });
      await waitFor(
        async () => {
          try {
            await scenario.read(name);
            return false;
          } catch (error) {
            return (error as { code?: number }).code === 404;
          }
        },
        { timeoutMs: 60_000, description: `Release ${name} gone` },
      );
      // All traffic on stable: the route field by field as before the release.
      expect(await scenario.routeFields()).toEqual(routeBefore);
      const reasons = (await scenario.events(name)).map((event) => event.reason);
      expect(reasons).toContain("Deleting");
      expect(reasons).toContain("TrafficRestored");
    }));
});
