import { NetworkingV1Api } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { kubeClients, kubeConfig } from "../../harness/context.ts";
import {
  FINISHED,
  givenControllerForFile,
  quickStages,
  routedFields,
  withService,
  type ServiceOptions,
  type ServiceScenario,
} from "./scenario.ts";

// Issue 14 item 2: every router gives back what it changed when a release ends. Given a
// service routed through an HTTPRoute, an NGINX Ingress or the stable Service alone, when
// a release of it ends (succeeded or rolled back), then the route, the Ingress or the
// Service is field by field what it was before the release: labels, annotations, spec.

givenControllerForFile();

const networking = () => kubeConfig().makeApiClient(NetworkingV1Api);

/** One router's release, from the service before it to the service after it. */
interface RouterEnd {
  title: string;
  prefix: string;
  service: ServiceOptions;
  release: { name: string; version: string; spec: Parameters<ServiceScenario["release"]>[2] };
  /** The canary has its share: what the wait says, and when a stage's reached weight shows it. */
  split: { description: string; reached: (weight: number | undefined) => boolean };
  /** "Succeeded": the release runs to its end; "RolledBack": it is aborted at the split. */
  ending: "Succeeded" | "RolledBack";
  /** What the router may change, read before the release and after it: the same, field by field. */
  untouched(scenario: ServiceScenario): Promise<unknown>;
  /** Then, at the split. */
  atSplit?(scenario: ServiceScenario): Promise<void>;
  /** Then, once the release is gone, beyond `untouched`. */
  atEnd?(scenario: ServiceScenario): Promise<void>;
}

/** An object's routed fields and its resourceVersion: the same resourceVersion, never written. */
const unwritten = (
  object: { metadata?: { resourceVersion?: string } } & Parameters<typeof routedFields>[0],
) => ({
  fields: routedFields(object),
  resourceVersion: object.metadata?.resourceVersion,
});

const readIngress = (scenario: ServiceScenario, name: string) =>
  networking().readNamespacedIngress({ name, namespace: scenario.namespace });

const ROUTER_ENDS: RouterEnd[] = [
  {
    title: "Gateway API: the HTTPRoute, after a release that succeeded, is as it was before the release",
    prefix: "end-gw",
    service: {},
    release: {
      name: "checkout-2-0-0",
      version: "2.0.0",
      spec: { stages: quickStages(), analysis: { metrics: [] } },
    },
    // During the release the route carried the split (and its memory of the weights before).
    split: { description: "at the canary stage's 10%", reached: (weight) => weight === 10 },
    ending: "Succeeded",
    untouched: (scenario) => scenario.routeFields(),
  },
  {
    title: "NGINX: after a rollback, the canary Ingress is gone and the stable Ingress was never written",
    prefix: "end-nginx",
    service: { router: "nginx" },
    release: {
      name: "checkout-2-1-0",
      version: "2.1.0",
      spec: { stages: quickStages(600), analysis: { metrics: [] } },
    },
    split: { description: "at the canary stage's 10%", reached: (weight) => weight === 10 },
    ending: "RolledBack",
    untouched: async (scenario) => unwritten(await readIngress(scenario, "checkout")),
    atSplit: async (scenario) => {
      const canary = await readIngress(scenario, "checkout-canary");
      expect(canary.metadata?.annotations?.["nginx.ingress.kubernetes.io/canary-weight"]).toBe("10");
    },
    atEnd: async (scenario) => {
      await expect(readIngress(scenario, "checkout-canary")).rejects.toMatchObject({ code: 404 });
    },
  },
  {
    title: "replica split: the canary keeps no pods, the stable Service and the HTTPRoute are as before",
    prefix: "end-split",
    service: {},
    release: {
      name: "checkout-3-0-0",
      version: "3.0.0",
      spec: { stages: quickStages(600), traffic: { replicas: {} }, analysis: { metrics: [] } },
    },
    split: { description: "a canary pod beside stable", reached: (weight) => (weight ?? 0) > 0 },
    ending: "RolledBack",
    untouched: async (scenario) => ({
      service: unwritten(
        await kubeClients().core.readNamespacedService({ name: "checkout", namespace: scenario.namespace }),
      ),
      route: await scenario.routeFields(),
    }),
    atEnd: async (scenario) => {
      expect((await scenario.deployment("checkout-canary"))?.spec?.replicas ?? 0).toBe(0);
    },
  },
];

describe.concurrent("when a release ends, its router puts back what it changed", () => {
  for (const end of ROUTER_ENDS) {
    it(end.title, () =>
      withService(end.prefix, end.service, async (scenario) => {
        const before = await end.untouched(scenario);
        const { name, version, spec } = end.release;
        await scenario.release(name, version, spec);
        const split = await scenario.waitForRelease(
          name,
          end.split.description,
          (release) =>
            release.status?.stages.some((stage) => end.split.reached(stage.reachedWeight)) ?? false,
        );
        expect(split.status?.phase).not.toBe("Succeeded");
        await end.atSplit?.(scenario);
        if (end.ending === "RolledBack") {
          await scenario.control(name, { abort: { by: "integration-test", at: new Date().toISOString() } });
        }
        const done = await scenario.waitForPhase(name, FINISHED);
        expect(done.status?.phase, done.status?.message).toBe(end.ending);
        // The finalizer goes once the router has put back what it changed.
        await scenario.waitForRelease(
          name,
          "its finalizer removed",
          (release) => (release.metadata.finalizers ?? []).length === 0,
        );
        await end.atEnd?.(scenario);
        expect(await end.untouched(scenario)).toEqual(before);
      }),
    );
  }
});
