import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import type { Release } from "../../../src/api/index.ts";
import type { ControllerProcess } from "../../harness/controller.ts";
import { kubectl, stackInfo, waitFor } from "../../harness/context.ts";
import {
  FINISHED,
  givenController,
  imageOf,
  quickStages,
  withService,
  type ServiceScenario,
} from "./scenario.ts";

// allowedImages (issue 12, item 3): the controller runs with a strategy file whose policy
// admits registry.example.com/ everywhere and only registry.example.com/checkout (and what
// lies below it) for standard changes. The admission webhook refuses other images; where
// the webhook is off, the controller refuses them itself.

const STANDARD_LIST = "registry.example.com/checkout";

let controller: ControllerProcess | undefined;
beforeAll(async () => {
  const shipped = JSON.parse(
    readFileSync(new URL("../../../rollout/rollout-strategy.json", import.meta.url), "utf8"),
  ) as {
    presets: Record<string, object>;
  };
  const strategy = {
    ...shipped,
    allowedImages: ["registry.example.com/"],
    presets: {
      ...shipped.presets,
      standard: { ...shipped.presets.standard, allowedImages: [STANDARD_LIST] },
    },
  };
  const strategyFile = join(stackInfo().runDir, `strategy-images-${randomBytes(3).toString("hex")}.json`);
  writeFileSync(strategyFile, JSON.stringify(strategy, null, 2));
  controller = await givenController({ admission: true, config: { strategyFile } });
});
afterAll(async () => {
  await controller?.stop();
});

/** checkout-evil shares the first characters of the allowed repository, not its path. */
const refusedImage = "registry.example.com/checkout-evil:2.0.0";
const refusalText =
  `spec.images.checkout "${refusedImage}" is not allowed: it matches no entry of ` +
  `preset "standard"'s allowedImages ("${STANDARD_LIST}") in rollout-strategy.json`;

const condition = (release: Release, type: string) =>
  release.status?.conditions.find((candidate) => candidate.type === type);

/** The Release as a team writes it in a file, for kubectl. */
function releaseYaml(scenario: ServiceScenario, name: string, image: string): string {
  return stringify({
    apiVersion: "glidepath.dev/v1alpha1",
    kind: "Release",
    metadata: { name, namespace: scenario.namespace },
    spec: {
      target: { deployment: scenario.service, service: scenario.service },
      version: "2.0.0",
      images: { [scenario.service]: image },
      stages: quickStages(),
      traffic: { gatewayAPI: { httpRoute: scenario.service } },
      changeRequest: {
        id: `CHG-${name}`,
        type: "standard",
        title: "Release 2.0.0",
        why: "integration test",
        risk: "low",
        requestedBy: "integration-test",
        rollbackPlan: "Revert to 1.0.0",
      },
    },
  });
}

describe("allowedImages", () => {
  it("refuses at admission an image outside the lists (kubectl apply says which image, list and preset), and at an update that swaps the image in; an allowed image goes through", () =>
    withService("images", {}, async (scenario) => {
      const applied = await kubectl(["apply", "-f", "-"], {
        input: releaseYaml(scenario, "checkout-evil", refusedImage),
        allowFailure: true,
      });
      expect(applied.code, applied.stdout).not.toBe(0);
      expect(applied.stderr).toContain('admission webhook "');
      expect(applied.stderr).toContain("denied the request");
      expect(applied.stderr).toContain(`release ${scenario.namespace}/checkout-evil: ${refusalText}`);
      expect((await kubectl(["get", "releases", "-n", scenario.namespace, "-o", "name"])).stdout.trim()).toBe(
        "",
      );

      const name = "checkout-2-0-0";
      await scenario.release(name, "2.0.0", { stages: quickStages(), bake: "2s" });
      const swapped = await kubectl(
        [
          "patch",
          "release",
          name,
          "-n",
          scenario.namespace,
          "--type=merge",
          "-p",
          JSON.stringify({ spec: { images: { [scenario.service]: refusedImage } } }),
        ],
        { allowFailure: true },
      );
      expect(swapped.code).not.toBe(0);
      expect(swapped.stderr).toContain(`release ${scenario.namespace}/${name}: ${refusalText}`);

      const release = await scenario.waitForPhase(name, FINISHED);
      expect(release.status?.phase, release.status?.message).toBe("Succeeded");
      expect(release.spec.images).toEqual({ [scenario.service]: imageOf("2.0.0") });
      expect(condition(release, "Valid")).toMatchObject({ status: "True" });
    }));

  it("with the webhook off, the controller marks the Release Valid=False (ImageNotAllowed) with an Event and creates no canary", () =>
    withService("images-off", { admission: false }, async (scenario) => {
      const name = "checkout-evil";
      await scenario.release(name, "2.0.0", { images: { [scenario.service]: refusedImage } });
      const refused = await scenario.waitForRelease(
        name,
        "Valid=False",
        (release) => condition(release, "Valid")?.status === "False",
      );
      expect(condition(refused, "Valid")).toMatchObject({ reason: "ImageNotAllowed", message: refusalText });
      expect(condition(refused, "Progressing")).toMatchObject({ status: "False", reason: "ImageNotAllowed" });
      expect(refused.status?.phase).toBe("Pending");
      expect(refused.status?.startedAt).toBeUndefined();
      expect(refused.status?.message).toContain(`blocked: ${refusalText}`);

      // The Event is recorded after the status that decided it: wait for it, as a person would.
      const event = await waitFor(
        async () => (await scenario.events(name)).find((candidate) => candidate.reason === "ImageNotAllowed"),
        { timeoutMs: 30_000, description: "the ImageNotAllowed Event" },
      );
      expect([event.type, event.message]).toEqual(["Warning", refusalText]);
      expect(await scenario.deployment(`${scenario.service}-canary`)).toBeUndefined();
      expect(await scenario.routeWeights()).toEqual({ [scenario.service]: 1 });
    }));
});
