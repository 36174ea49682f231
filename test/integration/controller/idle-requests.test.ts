// A reconcile with nothing to do makes no API request at all (issue 18 item 2), counted
// with the controller's own glidepath_kube_requests_total: a Release holds its canary
// stage, is reconciled again and again (each poke a watch event that queues it), and no
// read (every one from a cache) and no write (status, patch, create) leaves the
// controller meanwhile.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parsePrometheusText, sumOf, type Sample } from "../../../bench/lib/prometheus-text.ts";
import { kubeClients, mergePatch, waitFor } from "../../harness/context.ts";
import type { ControllerProcess } from "../../harness/controller.ts";
import { givenController, imageOf, withService } from "./scenario.ts";
import { NAME, withStatefulSet } from "./statefulset-scenario.ts";

let controller: ControllerProcess;
beforeAll(async () => {
  controller = await givenController();
});
afterAll(async () => {
  await controller?.stop();
});

async function scrape(): Promise<Sample[]> {
  const response = await fetch(`${controller.metricsUrl}/metrics`);
  return parsePrometheusText(await response.text());
}

const WRITE_VERBS = ["create", "update", "patch", "delete", "deletecollection"];
const ALL_VERBS = ["get", "list", ...WRITE_VERBS];

/** The controller's requests of these verbs, the Lease's renewals aside (they are the elector's, not a reconcile's). */
function requests(samples: readonly Sample[], verbs: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const sample of samples) {
    if (sample.name !== "glidepath_kube_requests_total" || sample.labels.resource === "leases") continue;
    if (!verbs.includes(sample.labels.verb ?? "")) continue;
    const key = `${sample.labels.verb} ${sample.labels.resource} ${sample.labels.code}`;
    counts[key] = (counts[key] ?? 0) + sample.value;
  }
  return counts;
}

function difference(after: Record<string, number>, before: Record<string, number>): Record<string, number> {
  const changed: Record<string, number> = {};
  for (const [key, value] of Object.entries(after)) {
    const delta = value - (before[key] ?? 0);
    if (delta !== 0) changed[key] = delta;
  }
  return changed;
}

const reconciles = (samples: readonly Sample[]) =>
  sumOf(samples, "glidepath_reconcile_duration_seconds_count");

/**
 * Given the controller has said all it had to say about this Release and its caches hold
 * what it reads (no request for three scrapes in a row), when the Release is reconciled
 * three more times (each poke a watch event that queues it): the reconciles and the
 * requests of any verb made meanwhile.
 */
async function reconcileIdle(
  namespace: string,
  name: string,
): Promise<{ reconciled: number; requested: Record<string, number> }> {
  const requestsSeen: string[] = [];
  await waitFor(
    async () => {
      requestsSeen.push(JSON.stringify(requests(await scrape(), ALL_VERBS)));
      return requestsSeen.length >= 3 && new Set(requestsSeen.slice(-3)).size === 1;
    },
    { timeoutMs: 60_000, intervalMs: 1_000, description: "the controller's requests to settle" },
  );
  const before = await scrape();
  const { custom } = kubeClients();
  for (let poke = 1; poke <= 3; poke++) {
    const reconciled = reconciles(await scrape());
    await custom.patchNamespacedCustomObject(
      {
        group: "glidepath.dev",
        version: "v1alpha1",
        namespace,
        plural: "releases",
        name,
        body: { metadata: { annotations: { "example.com/poke": String(poke) } } },
      },
      mergePatch,
    );
    await waitFor(async () => reconciles(await scrape()) > reconciled, {
      timeoutMs: 30_000,
      description: `reconcile after poke ${poke}`,
    });
  }
  const after = await scrape();
  return {
    reconciled: reconciles(after) - reconciles(before),
    requested: difference(requests(after, ALL_VERBS), requests(before, ALL_VERBS)),
  };
}

describe("a Release with nothing to do", () => {
  it("is reconciled without a single request to the API server, read or write", () =>
    withService("idle", {}, async (scenario) => {
      await scenario.release("checkout-2-0-0", "2.0.0", {
        stages: [
          { name: "canary", weight: 10, hold: "10m", minMeasurements: 1 },
          { name: "ga", weight: 100, hold: "0s" },
        ],
        // No analysis round falls in the test: its result would be a status write with something to say.
        analysis: {
          interval: "10m",
          metrics: [{ name: "error-rate", template: "http-error-ratio", max: 0.05, inconclusiveLimit: 30 }],
        },
      });
      await scenario.waitForRelease(
        "checkout-2-0-0",
        "the canary stage holding 10% of the traffic",
        (release) => release.status?.currentStage?.name === "canary",
      );
      await waitFor(async () => (await scenario.routeWeights())["checkout-canary"] === 10, {
        timeoutMs: 60_000,
        description: "the route at 10% to the canary",
      });
      const { reconciled, requested } = await reconcileIdle(scenario.namespace, "checkout-2-0-0");

      // Then: nothing was read or written: no Pod or ReplicaSet list, no Service, Endpoints
      // or route read, no status, no route, no Deployment, no Event.
      expect(reconciled).toBeGreaterThanOrEqual(3);
      expect(requested).toEqual({});
      const release = await scenario.read("checkout-2-0-0");
      expect(release.status?.phase).toBe("Progressing");
    }));
  it("of a StatefulSet target (the replica split) is reconciled without a single request either", () =>
    withStatefulSet("idle-sts", async (scenario) => {
      const { custom } = kubeClients();
      const name = "ledger-2-0-0";
      await custom.createNamespacedCustomObject({
        group: "glidepath.dev",
        version: "v1alpha1",
        namespace: scenario.namespace,
        plural: "releases",
        body: {
          apiVersion: "glidepath.dev/v1alpha1",
          kind: "Release",
          metadata: { name },
          spec: {
            target: { kind: "StatefulSet", deployment: NAME, service: NAME },
            version: "2.0.0",
            images: { [NAME]: imageOf("2.0.0") },
            stages: [
              { name: "canary", weight: 25, hold: "10m", minMeasurements: 1 },
              { name: "ga", weight: 100, hold: "0s" },
            ],
            traffic: { replicas: {} },
            // No analysis round falls in the test (its result would be a status write).
            analysis: { interval: "10m", metrics: [{ name: "always-fine", query: "vector(0)", max: 0.05 }] },
            changeRequest: {
              id: `CHG-${name}`,
              type: "standard",
              title: "Release 2.0.0",
              why: "integration test",
              risk: "low",
              requestedBy: "integration-test",
              rollbackPlan: "Revert",
            },
          },
        },
      });
      // 1 of the 4 pods on the new revision: the canary stage at 25%.
      await scenario.waitFor(
        name,
        "the canary stage at 25%",
        (release) => release.status?.stages[0]?.reachedWeight === 25,
      );

      const { reconciled, requested } = await reconcileIdle(scenario.namespace, name);

      // Then: no StatefulSet read, no Pod list, no status write.
      expect(reconciled).toBeGreaterThanOrEqual(3);
      expect(requested).toEqual({});
      expect((await scenario.read(name)).status?.phase).toBe("Progressing");
    }));
});
