import { performance } from "node:perf_hooks";
import { NetworkingV1Api, type V1Ingress } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { kubeConfig, waitFor } from "../../harness/context.ts";
import {
  errorRateMetric,
  expectRouteAsBefore,
  FINISHED,
  givenControllerForFile,
  routedFields,
  withService,
  type ServiceScenario,
} from "./scenario.ts";

// Routing stages on the real stack (issue 17 items 2 and 3): a stage that sends only
// matching requests to the canary (match: a header or a cookie), and a stage that mirrors
// requests to it (mirror), before the weighted stages, on Gateway API and NGINX. The
// traffic simulator follows the HTTPRoute as a gateway would: 10% of its requests carry
// the internal users' header, and a RequestMirror filter copies its share to the canary
// (counted on the canary's metrics, answers thrown away). After each release, and after a
// rollback in each kind of stage, the route is field by field as before the release.

givenControllerForFile();

const INTERNAL = { "x-internal-user": "true" };
const MATCH = { headers: [{ name: "x-internal-user", value: "true" }], cookie: { name: "canary" } };

/** Routing stages held until a person promotes them (or a rollback), so each is looked at while it runs. */
function routedStages(mirrorPercent: number) {
  return [
    { name: "internal", weight: 0, hold: "600s", minMeasurements: 2, match: MATCH },
    { name: "shadow", weight: 0, hold: "600s", minMeasurements: 2, mirror: { percent: mirrorPercent } },
    { name: "canary", weight: 10, hold: "2s", minMeasurements: 1 },
    { name: "ga", weight: 100, hold: "0s" },
  ];
}

interface Rule {
  matches?: { path?: unknown; headers?: { type: string; name: string; value: string }[] }[];
  filters?: {
    type: string;
    requestMirror?: { backendRef: { name: string; port?: number }; percent?: number };
  }[];
  backendRefs?: { name: string; port?: number; weight?: number }[];
}

async function rules(scenario: ServiceScenario): Promise<Rule[]> {
  return ((await scenario.routeFields()).spec as { rules: Rule[] }).rules;
}

const carriesMatch = (route: Rule[]) =>
  route.some((rule) => rule.backendRefs?.every((ref) => ref.name === "checkout-canary"));
const carriesMirror = (route: Rule[]) =>
  route.some((rule) => rule.filters?.some((filter) => filter.type === "RequestMirror"));

/** When: a person promotes the release past the running stage, as `glidepath promote` does. */
function promote(scenario: ServiceScenario, name: string): Promise<void> {
  return scenario.control(name, { promote: { by: "integration-test", at: new Date().toISOString() } });
}

/** Waits for `passes` passing analysis rounds in the stage. */
function passesIn(scenario: ServiceScenario, name: string, stage: string, passes: number) {
  return scenario.waitForRelease(name, `${passes} passing round(s) in stage ${stage}`, (release) => {
    const record = release.status?.stages.find((candidate) => candidate.name === stage);
    return (record?.tallies[0]?.pass ?? 0) >= passes;
  });
}

/** Times from `trigger` until `restored` holds, polled every 20 ms (as baseline.test.ts does). */
async function timeUntil(
  trigger: () => Promise<unknown>,
  restored: () => Promise<boolean>,
  what: string,
): Promise<number> {
  await trigger();
  const start = performance.now();
  await waitFor(async () => ((await restored()) ? true : undefined), {
    timeoutMs: 120_000,
    intervalMs: 20,
    description: what,
  });
  return performance.now() - start;
}

describe.concurrent("Gateway API: routing stages", () => {
  it("takes a release through a match stage and a mirror stage to success, analysed on the canary's own requests", () =>
    withService("routing-gw", {}, async (scenario) => {
      const before = await scenario.routeFields();
      await scenario.simulator.client.configure({ tagged: { percent: 10, headers: INTERNAL } });
      const name = "checkout-2-0-0";
      await scenario.release(name, "2.0.0", {
        stages: routedStages(50),
        analysis: { interval: "1s", metrics: [errorRateMetric("5s", 0.05)] },
      });

      // The match stage: one rule before the route's own, sending the internal users' header
      // (or the cookie) to the canary; the route's own rule keeps all the rest on stable.
      await scenario.waitForRelease(
        name,
        "in the match stage with the route holding it",
        (release) =>
          release.status?.stages.some((stage) => stage.name === "internal" && stage.reachedWeight === 0) ??
          false,
      );
      const matched = await rules(scenario);
      expect(matched).toHaveLength(2);
      expect(matched[0]).toEqual({
        matches: [
          {
            path: { type: "PathPrefix", value: "/" },
            headers: [{ type: "Exact", name: "x-internal-user", value: "true" }],
          },
          {
            path: { type: "PathPrefix", value: "/" },
            headers: [{ type: "RegularExpression", name: "Cookie", value: "(^|;\\s*)canary=always(;|$)" }],
          },
        ],
        backendRefs: [{ group: "", kind: "Service", name: "checkout-canary", port: 80, weight: 1 }],
      });
      expect(matched[1]?.backendRefs).toEqual([
        { group: "", kind: "Service", name: "checkout", port: 80, weight: 100 },
        { group: "", kind: "Service", name: "checkout-canary", port: 80, weight: 0 },
      ]);
      const inMatch = await waitFor(
        async () => {
          const state = await scenario.simulator.client.state();
          return state.canaryWeight === 10 ? state : undefined;
        },
        { description: "the simulator sending the tagged 10% to the canary" },
      );
      expect(inMatch.mirrorWeight).toBe(0);
      await passesIn(scenario, name, "internal", 2);
      await promote(scenario, name);

      // The mirror stage: the match rule gone, a RequestMirror filter to the canary on the route's rule.
      await scenario.waitForRelease(
        name,
        "in the mirror stage with the route holding it",
        (release) =>
          release.status?.stages.some((stage) => stage.name === "shadow" && stage.reachedWeight === 0) ??
          false,
      );
      const mirrored = await rules(scenario);
      expect(mirrored).toHaveLength(1);
      expect(mirrored[0]?.filters).toEqual([
        {
          type: "RequestMirror",
          requestMirror: {
            backendRef: { group: "", kind: "Service", name: "checkout-canary", port: 80 },
            percent: 50,
          },
        },
      ]);
      const inMirror = await waitFor(
        async () => {
          const state = await scenario.simulator.client.state();
          return state.mirrorWeight === 50 && state.canaryWeight === 0 ? state : undefined;
        },
        { description: "the simulator mirroring 50% to the canary and serving none from it" },
      );
      // The canary's copies count on its metrics (the stage passes on them), its answers serve no one.
      await passesIn(scenario, name, "shadow", 2);
      const later = await waitFor(
        async () => {
          const state = await scenario.simulator.client.state();
          return state.totals.canary.mirrored > inMirror.totals.canary.mirrored + 100 ? state : undefined;
        },
        { description: "more requests mirrored to the canary" },
      );
      expect(later.totals.canary.requests).toBe(inMirror.totals.canary.requests);
      expect((await scenario.read(name)).status?.currentStage?.name).toBe("shadow");
      await promote(scenario, name);

      const release = await scenario.waitForPhase(name, FINISHED, { timeoutMs: 240_000 });
      expect(release.status?.phase, release.status?.message).toBe("Succeeded");
      const stages = release.status?.stages ?? [];
      expect(stages.map((stage) => [stage.name, stage.weight, stage.match, stage.mirror])).toEqual([
        ["internal", 0, MATCH, undefined],
        ["shadow", 0, undefined, { percent: 50 }],
        ["canary", 10, undefined, undefined],
        ["ga", 100, undefined, undefined],
        ["bake", 100, undefined, undefined],
      ]);
      // Both routing stages were judged on the canary's own requests: passing rounds with data.
      for (const stage of stages.slice(0, 2)) {
        expect(
          stage.tallies[0]?.pass,
          `${stage.name}: ${JSON.stringify(stage.tallies)}`,
        ).toBeGreaterThanOrEqual(2);
      }
      await expectRouteAsBefore(scenario, before);
    }));

  it("rolls back during a match stage: the match rule goes and the route is as before", () =>
    withService("routing-gw-match-rb", {}, async (scenario) => {
      const before = await scenario.routeFields();
      await scenario.simulator.client.configure({ tagged: { percent: 10, headers: INTERNAL } });
      const name = "checkout-2-1-0";
      await scenario.release(name, "2.1.0", {
        stages: routedStages(100),
        analysis: { interval: "1s", metrics: [errorRateMetric("5s", 0.05)] },
      });
      await scenario.waitForRelease(name, "a passing round in the match stage", (release) => {
        const stage = release.status?.stages.find((candidate) => candidate.name === "internal");
        return (stage?.tallies[0]?.pass ?? 0) >= 1;
      });
      expect(carriesMatch(await rules(scenario))).toBe(true);

      // When: the new version fails half of the internal users' requests.
      const rollbackMs = await timeUntil(
        () => scenario.simulator.client.configure({ versions: { "2.1.0": { errorRatio: 0.5 } } }),
        async () => !carriesMatch(await rules(scenario)),
        "the match rule gone",
      );
      console.log(
        `match stage: breach to the match rule gone in ${Math.round(rollbackMs)} ms (analysis every 1 s, 5 s window)`,
      );

      const release = await scenario.waitForPhase(name, FINISHED);
      expect(release.status?.phase, release.status?.message).toBe("RolledBack");
      expect(release.status?.rollback).toMatchObject({
        trigger: "metric",
        metric: "error-rate",
        verified: true,
      });
      expect(release.status?.stages.map((stage) => stage.name)).toEqual(["internal"]);
      await expectRouteAsBefore(scenario, before);
    }));

  it("rolls back during a mirror stage: the mirror filter goes and the route is as before", () =>
    withService("routing-gw-mirror-rb", {}, async (scenario) => {
      const before = await scenario.routeFields();
      await scenario.simulator.client.configure({ tagged: { percent: 10, headers: INTERNAL } });
      const name = "checkout-2-2-0";
      await scenario.release(name, "2.2.0", {
        stages: [
          { name: "internal", weight: 0, hold: "2s", minMeasurements: 1, match: MATCH },
          { name: "shadow", weight: 0, hold: "600s", minMeasurements: 1, mirror: { percent: 30 } },
          { name: "ga", weight: 100, hold: "0s" },
        ],
        analysis: { interval: "1s", metrics: [errorRateMetric("5s", 0.05)] },
      });
      await scenario.waitForRelease(name, "a passing round in the mirror stage", (release) => {
        const stage = release.status?.stages.find((candidate) => candidate.name === "shadow");
        return (stage?.tallies[0]?.pass ?? 0) >= 1;
      });
      const route = await rules(scenario);
      expect(carriesMirror(route)).toBe(true);
      expect(carriesMatch(route)).toBe(false);

      // When: the new version fails half of the mirrored copies (no user sees those answers).
      const rollbackMs = await timeUntil(
        () => scenario.simulator.client.configure({ versions: { "2.2.0": { errorRatio: 0.5 } } }),
        async () => !carriesMirror(await rules(scenario)),
        "the mirror filter gone",
      );
      console.log(
        `mirror stage: breach to the mirror filter gone in ${Math.round(rollbackMs)} ms (analysis every 1 s, 5 s window)`,
      );

      const release = await scenario.waitForPhase(name, FINISHED);
      expect(release.status?.phase, release.status?.message).toBe("RolledBack");
      expect(release.status?.rollback).toMatchObject({
        trigger: "metric",
        metric: "error-rate",
        verified: true,
      });
      expect(release.status?.stages.map((stage) => stage.name)).toEqual(["internal", "shadow"]);
      await expectRouteAsBefore(scenario, before);
    }));
});

const networking = () => kubeConfig().makeApiClient(NetworkingV1Api);

async function ingress(scenario: ServiceScenario, name: string): Promise<V1Ingress | undefined> {
  try {
    return await networking().readNamespacedIngress({ name, namespace: scenario.namespace });
  } catch {
    return undefined;
  }
}

const MIRROR_TARGET = "nginx.ingress.kubernetes.io/mirror-target";

describe.concurrent("NGINX: routing stages", () => {
  it("takes a release through a match stage and a mirror stage to success; the Ingresses end as before", () =>
    withService("routing-nginx", { router: "nginx" }, async (scenario) => {
      const stableBefore = await ingress(scenario, "checkout");
      const name = "checkout-2-0-0";
      await scenario.release(name, "2.0.0", {
        stages: [
          { name: "internal", weight: 0, hold: "600s", match: MATCH },
          { name: "shadow", weight: 0, hold: "600s", mirror: { percent: 100 } },
          { name: "ga", weight: 100, hold: "0s" },
        ],
        analysis: { metrics: [] },
      });
      await scenario.waitForRelease(
        name,
        "in the match stage with the route holding it",
        (release) =>
          release.status?.stages.some((stage) => stage.name === "internal" && stage.reachedWeight === 0) ??
          false,
      );
      const canary = await ingress(scenario, "checkout-canary");
      expect(canary?.metadata?.annotations).toMatchObject({
        "nginx.ingress.kubernetes.io/canary": "true",
        "nginx.ingress.kubernetes.io/canary-weight": "0",
        "nginx.ingress.kubernetes.io/canary-by-header": "x-internal-user",
        "nginx.ingress.kubernetes.io/canary-by-header-value": "true",
        "nginx.ingress.kubernetes.io/canary-by-cookie": "canary",
      });
      await promote(scenario, name);

      await scenario.waitForRelease(
        name,
        "in the mirror stage with the route holding it",
        (release) =>
          release.status?.stages.some((stage) => stage.name === "shadow" && stage.reachedWeight === 0) ??
          false,
      );
      const inMirror = await ingress(scenario, "checkout-canary");
      expect(
        Object.keys(inMirror?.metadata?.annotations ?? {}).filter((key) => key.includes("canary-by")),
      ).toEqual([]);
      const stableMirroring = await ingress(scenario, "checkout");
      expect(stableMirroring?.metadata?.annotations?.[MIRROR_TARGET]).toBe(
        `http://checkout-canary.${scenario.namespace}.svc.cluster.local:80$request_uri`,
      );
      await promote(scenario, name);

      const release = await scenario.waitForPhase(name, FINISHED, { timeoutMs: 240_000 });
      expect(release.status?.phase, release.status?.message).toBe("Succeeded");
      await scenario.waitForRelease(
        name,
        "its finalizer removed",
        (current) => (current.metadata.finalizers ?? []).length === 0,
      );
      expect(await ingress(scenario, "checkout-canary")).toBeUndefined();
      const stableAfter = await ingress(scenario, "checkout");
      expect(stableAfter && routedFields(stableAfter)).toEqual(stableBefore && routedFields(stableBefore));
    }));

  for (const stage of ["internal", "shadow"] as const) {
    it(`rolls back (abort) during the ${stage === "internal" ? "match" : "mirror"} stage; the Ingresses end as before`, () =>
      withService(`routing-nginx-${stage}`, { router: "nginx" }, async (scenario) => {
        const stableBefore = await ingress(scenario, "checkout");
        const name = "checkout-2-1-0";
        await scenario.release(name, "2.1.0", {
          stages: [
            {
              name: "internal",
              weight: 0,
              hold: stage === "internal" ? "600s" : "1s",
              match: { headers: [{ name: "x-internal-user", pattern: "^(true|yes)$" }] },
            },
            { name: "shadow", weight: 0, hold: "600s", mirror: { percent: 100 } },
            { name: "ga", weight: 100, hold: "0s" },
          ],
          analysis: { metrics: [] },
        });
        await scenario.waitForRelease(
          name,
          `in the ${stage} stage with the route holding it`,
          (release) =>
            release.status?.stages.some(
              (candidate) => candidate.name === stage && candidate.reachedWeight === 0,
            ) ?? false,
        );
        const held = async () =>
          stage === "internal"
            ? (await ingress(scenario, "checkout-canary"))?.metadata?.annotations?.[
                "nginx.ingress.kubernetes.io/canary-by-header-pattern"
              ] === "^(true|yes)$"
            : (await ingress(scenario, "checkout"))?.metadata?.annotations?.[MIRROR_TARGET] !== undefined;
        expect(await held()).toBe(true);

        const rollbackMs = await timeUntil(
          () => scenario.control(name, { abort: { by: "integration-test", at: new Date().toISOString() } }),
          async () => !(await held()),
          `the ${stage} stage's routing gone`,
        );
        console.log(
          `NGINX ${stage === "internal" ? "match" : "mirror"} stage: abort to routing gone in ${Math.round(rollbackMs)} ms`,
        );

        const release = await scenario.waitForPhase(name, FINISHED);
        expect(release.status?.phase, release.status?.message).toBe("RolledBack");
        await scenario.waitForRelease(
          name,
          "its finalizer removed",
          (current) => (current.metadata.finalizers ?? []).length === 0,
        );
        expect(await ingress(scenario, "checkout-canary")).toBeUndefined();
        const stableAfter = await ingress(scenario, "checkout");
        expect(stableAfter && routedFields(stableAfter)).toEqual(stableBefore && routedFields(stableBefore));
      }));
  }
});
