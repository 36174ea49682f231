import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  installControllerRbac,
  startControllerProcess,
  type ControllerProcess,
} from "../../harness/controller.ts";
import { ProcessSupervisor } from "../../harness/processes.ts";
import { stackInfo, waitFor } from "../../harness/context.ts";
import { givenService, shortStages, STABLE_VERSION, type ServiceScenario } from "./scenario.ts";

let controller: ControllerProcess;

beforeAll(async () => {
  const info = stackInfo();
  const kubeconfigPath = await installControllerRbac({
    kubectlPath: info.kubectlPath,
    adminKubeconfigPath: info.kubeconfigPath,
  });
  controller = await startControllerProcess({
    supervisor: new ProcessSupervisor(info.runDir),
    kubeconfigPath,
    prometheusUrl: info.prometheus.url,
    runDir: info.runDir,
  });
});

afterAll(async () => {
  await controller?.stop();
});

describe("a good release", () => {
  let scenario: ServiceScenario;
  beforeAll(async () => {
    scenario = await givenService("good");
  });
  afterAll(async () => scenario?.tearDown());

  it("walks 1% → 10% → 50% → 100%, bakes and succeeds, with the route following every stage", async () => {
    await scenario.release("checkout-2-0-0", "2.0.0");
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
    const weights = await scenario.routeWeights();
    expect(weights.checkout).toBe(100);
    expect(weights["checkout-canary"] ?? 0).toBe(0);
  });
});

describe("a bad release", () => {
  let scenario: ServiceScenario;
  beforeAll(async () => {
    scenario = await givenService("bad");
    await scenario.simulator.client.configure({ versions: { "3.0.0": { errorRatio: 0.08 } } });
  });
  afterAll(async () => scenario?.tearDown());

  it("rolls back at the canary stage by itself, naming the metric, the value and the threshold", async () => {
    // At 1% of 400 requests a second, 8% errors are a few a second: the canary stage is
    // held long enough for rate() to see them, as a team would size it for its traffic.
    const stages = shortStages();
    stages[0] = { name: "canary", weight: 1, hold: "12s", minMeasurements: 8 };
    await scenario.release("checkout-3-0-0", "3.0.0", { stages });
    const release = await scenario.waitForPhase("checkout-3-0-0", ["RolledBack", "Failed", "Succeeded"]);
    expect(release.status?.phase, release.status?.message).toBe("RolledBack");
    expect(release.status?.stages.map((s) => s.name)).toEqual(["canary"]);
    expect(release.status?.rollback).toMatchObject({ trigger: "metric", metric: "error-rate" });
    expect(Number(release.status?.rollback?.value)).toBeGreaterThan(0.05);
    expect(release.status?.rollback?.threshold).toContain("0.05");

    const weights = await scenario.routeWeights();
    expect(weights.checkout).toBe(100);
    expect(weights["checkout-canary"] ?? 0).toBe(0);
    const canary = await scenario.deployment("checkout-canary");
    expect(canary?.spec?.replicas ?? 0).toBe(0);
    const stable = await scenario.deployment("checkout");
    expect(stable?.spec?.template.spec?.containers[0]?.image).toBe(
      `registry.example.com/checkout:${STABLE_VERSION}`,
    );
  });
});
