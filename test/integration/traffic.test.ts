// The routers against a real API server: HTTPRoute weights written and read back
// exactly with the rest of the route untouched (also under concurrent edits), route
// status as a gateway would write it, the NGINX canary Ingress, and the replica split
// reaching the weight it reports.
import { NetworkingV1Api } from "@kubernetes/client-node";
import type { V1Deployment, V1Ingress } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HTTPROUTE, createTrafficRouter, type TrafficClients } from "../../src/traffic/index.ts";
import { WorkloadManager, type ReleaseRef } from "../../src/workload/index.ts";
import { exampleRelease } from "../fixtures/releases.ts";
import {
  createNamespace,
  deleteNamespace,
  kubeClients,
  kubeConfig,
  mergePatch,
  waitFor,
} from "../harness/context.ts";

const { core, apps, custom } = kubeClients();
const clients: TrafficClients = {
  custom,
  networking: kubeConfig().makeApiClient(NetworkingV1Api),
  workloads: new WorkloadManager({ apps, core }),
};
let namespace: string;

beforeAll(async () => {
  namespace = await createNamespace("traffic");
});
afterAll(async () => {
  await deleteNamespace(namespace);
});

async function createRelease(
  name: string,
  traffic: ReleaseRef["spec"]["traffic"],
  target = { deployment: "checkout", service: "checkout" },
): Promise<ReleaseRef> {
  const body = exampleRelease();
  body.metadata = { name, namespace };
  body.spec = { ...body.spec, traffic, target };
  return (await custom.createNamespacedCustomObject({
    group: "glidepath.dev",
    version: "v1alpha1",
    namespace,
    plural: "releases",
    body,
  })) as ReleaseRef;
}

interface BackendRef {
  name: string;
  port?: number;
  weight?: number;
  group?: string;
  kind?: string;
}
interface Rule {
  matches?: unknown[];
  filters?: unknown[];
  backendRefs?: BackendRef[];
}
interface Route {
  metadata: {
    generation: number;
    resourceVersion: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec: { rules: Rule[]; hostnames?: string[] };
}

/** What a router may change on an object it routes through, compared field by field with an earlier copy. */
const routedFields = (object: {
  metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: unknown;
}) => ({
  labels: object.metadata?.labels ?? {},
  annotations: object.metadata?.annotations ?? {},
  spec: object.spec,
});

const readRoute = async (name: string): Promise<Route> =>
  (await custom.getNamespacedCustomObject({ ...HTTPROUTE, namespace, name })) as Route;

const weights = (rule: Rule | undefined) => (rule?.backendRefs ?? []).map((ref) => [ref.name, ref.weight]);

describe("Gateway API HTTPRoute", () => {
  const checkoutRule = {
    matches: [{ path: { type: "PathPrefix", value: "/checkout" } }],
    filters: [
      {
        type: "RequestHeaderModifier",
        requestHeaderModifier: { set: [{ name: "x-shop", value: "checkout" }] },
      },
    ],
    backendRefs: [{ name: "checkout", port: 8080 }],
  };
  const staticRule = {
    matches: [{ path: { type: "PathPrefix", value: "/static" } }],
    filters: [{ type: "URLRewrite", urlRewrite: { hostname: "cdn.example.com" } }],
    backendRefs: [{ name: "static", port: 80 }],
  };
  let release: ReleaseRef;
  /** The route before any router wrote it. */
  let original: Route;

  beforeAll(async () => {
    await custom.createNamespacedCustomObject({
      ...HTTPROUTE,
      namespace,
      body: {
        apiVersion: "gateway.networking.k8s.io/v1",
        kind: "HTTPRoute",
        metadata: { name: "checkout", namespace },
        spec: {
          parentRefs: [{ name: "public" }],
          hostnames: ["shop.example.com"],
          rules: [checkoutRule, staticRule],
        },
      },
    });
    original = await readRoute("checkout");
    release = await createRelease("checkout-2-4-0", { gatewayAPI: { httpRoute: "checkout" } });
  });

  it("sets 99/1 → 90/10 → 0/100 → 100/0 and reads each back exactly; the other rule never changes", async () => {
    const router = createTrafficRouter(release, clients);
    const untouched = (await readRoute("checkout")).spec.rules[1];
    for (const canaryWeight of [1, 10, 50, 100, 0]) {
      await router.setWeight(canaryWeight);
      const route = await readRoute("checkout");
      expect(weights(route.spec.rules[0])).toEqual([
        ["checkout", 100 - canaryWeight],
        ["checkout-canary", canaryWeight],
      ]);
      expect(route.spec.rules[0]?.backendRefs?.[1]).toMatchObject({ kind: "Service", port: 8080 });
      expect(route.spec.rules[0]?.matches).toEqual(checkoutRule.matches);
      expect(route.spec.rules[0]?.filters).toEqual(checkoutRule.filters);
      expect(route.spec.rules[1]).toEqual(untouched);
      expect(route.spec.hostnames).toEqual(["shop.example.com"]);

      const observed = await router.observe();
      expect(observed).toMatchObject({ canaryWeight, verified: true });
      // No gateway runs here, so nobody writes status.parents, and the observation says so.
      expect(observed.detail).toContain("status.parents is empty");
    }
  });

  it("does not write when the weight is already set", async () => {
    const router = createTrafficRouter(release, clients);
    await router.setWeight(0);
    const before = await readRoute("checkout");
    await router.setWeight(0);
    expect((await readRoute("checkout")).metadata.resourceVersion).toBe(before.metadata.resourceVersion);
  });

  it("loses no concurrent edit of the rules: writes carry the resourceVersion and retry on 409", async () => {
    const router = createTrafficRouter(release, clients);
    /** Another client doing its own read-modify-write of the rules, as careful clients do. */
    const addRule = async (path: string): Promise<void> => {
      for (;;) {
        const route = await readRoute("checkout");
        const rules = [
          ...route.spec.rules,
          {
            matches: [{ path: { type: "PathPrefix", value: path } }],
            backendRefs: [{ name: "static", port: 80 }],
          },
        ];
        try {
          await custom.patchNamespacedCustomObject(
            {
              ...HTTPROUTE,
              namespace,
              name: "checkout",
              body: { metadata: { resourceVersion: route.metadata.resourceVersion }, spec: { rules } },
            },
            mergePatch,
          );
          return;
        } catch (error) {
          if ((error as { code?: number }).code !== 409) throw error;
        }
      }
    };
    await Promise.all([
      router.setWeight(10),
      addRule("/a"),
      addRule("/b"),
      router.setWeight(10),
      addRule("/c"),
    ]);
    const route = await readRoute("checkout");
    expect(
      route.spec.rules.map((rule) => (rule.matches?.[0] as { path: { value: string } }).path.value).sort(),
    ).toEqual(["/a", "/b", "/c", "/checkout", "/static"]);
    expect(weights(route.spec.rules[0])).toEqual([
      ["checkout", 90],
      ["checkout-canary", 10],
    ]);
    // Put the two rules of the other tests back.
    const { rules } = route.spec;
    await custom.patchNamespacedCustomObject(
      { ...HTTPROUTE, namespace, name: "checkout", body: { spec: { rules: rules.slice(0, 2) } } },
      mergePatch,
    );
  });

  it("reads the route status a gateway writes: unverified until its parents accept the current generation", async () => {
    const router = createTrafficRouter(release, clients);
    const writeStatus = async (resolved: "True" | "False", observedGeneration: number) => {
      const now = new Date().toISOString();
      const condition = (type: string, status: string, reason: string) => ({
        type,
        status,
        reason,
        message: `${type} by the test's gateway`,
        observedGeneration,
        lastTransitionTime: now,
      });
      await custom.patchNamespacedCustomObjectStatus(
        {
          ...HTTPROUTE,
          namespace,
          name: "checkout",
          body: {
            status: {
              parents: [
                {
                  parentRef: { name: "public" },
                  controllerName: "example.com/test-gateway",
                  conditions: [
                    condition("Accepted", "True", "Accepted"),
                    condition(
                      "ResolvedRefs",
                      resolved,
                      resolved === "True" ? "ResolvedRefs" : "BackendNotFound",
                    ),
                  ],
                },
              ],
            },
          },
        },
        mergePatch,
      );
    };
    await router.setWeight(10);
    const generation = (await readRoute("checkout")).metadata.generation;

    await writeStatus("False", generation);
    let observed = await router.observe();
    expect(observed).toMatchObject({ canaryWeight: 10, verified: false });
    expect(observed.detail).toContain("ResolvedRefs=False (BackendNotFound");

    await writeStatus("True", generation);
    observed = await router.observe();
    expect(observed).toMatchObject({ canaryWeight: 10, verified: true });

    // A new weight is a new generation, which the gateway has not seen yet.
    await router.setWeight(50);
    observed = await router.observe();
    expect(observed).toMatchObject({ canaryWeight: 50, verified: false });
    expect(observed.detail).toContain(`is for generation ${generation}, the route is at ${generation + 1}`);
  });

  it("cleanup removes the canary backendRefs and puts the route back field by field as it was before any weight", async () => {
    const router = createTrafficRouter(release, clients);
    const before = await readRoute("checkout");
    expect(weights(before.spec.rules[0])).toContainEqual(["checkout-canary", expect.any(Number)]);
    await router.cleanup();
    const route = await readRoute("checkout");
    expect(weights(route.spec.rules[0])).toEqual(weights(original.spec.rules[0]));
    expect(route.spec.rules[1]).toEqual(before.spec.rules[1]);
    expect(routedFields(route)).toEqual(routedFields(original));
    expect(await router.observe()).toMatchObject({ canaryWeight: 0 });
    // Again: nothing left to put back, nothing written.
    await router.cleanup();
    expect((await readRoute("checkout")).metadata.resourceVersion).toBe(route.metadata.resourceVersion);
  });

  it("cleanup puts back the stable weight each rule had, one someone wrote included", async () => {
    const body = (name: string, weight?: number) => ({
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "HTTPRoute",
      metadata: {
        name,
        namespace,
        labels: { team: "shop" },
        // A release of another target on the same route remembers its own weights: they stay.
        annotations: {
          "example.com/owner": "shop",
          "glidepath.dev/stable-weights": '{"legacy-cart":{"0":1}}',
        },
      },
      spec: {
        parentRefs: [{ name: "public" }],
        rules: [
          {
            backendRefs: [
              { name: "cart", port: 80, ...(weight === undefined ? {} : { weight }) },
              { name: "legacy-cart", port: 80, weight: 1 },
            ],
          },
          { backendRefs: [{ name: "cart", port: 80 }] },
        ],
      },
    });
    await custom.createNamespacedCustomObject({ ...HTTPROUTE, namespace, body: body("cart", 3) });
    const before = await readRoute("cart");
    const cart = await createRelease(
      "cart-route-1-1-0",
      { gatewayAPI: { httpRoute: "cart" } },
      { deployment: "cart", service: "cart" },
    );
    const router = createTrafficRouter(cart, clients);
    await router.setWeight(10);
    await router.setWeight(50);
    const split = await readRoute("cart");
    expect(weights(split.spec.rules[0])).toEqual([
      ["cart", 50],
      ["cart-canary", 50],
      ["legacy-cart", 1],
    ]);
    expect(JSON.parse(split.metadata.annotations?.["glidepath.dev/stable-weights"] ?? "{}")).toEqual({
      "legacy-cart": { "0": 1 },
      cart: { "0": 3, "1": 1 },
    });
    await router.cleanup();
    expect(routedFields(await readRoute("cart"))).toEqual(routedFields(before));
  });

  it("says which route is missing", async () => {
    const missing = await createRelease("nowhere-1", { gatewayAPI: { httpRoute: "nowhere" } });
    await expect(createTrafficRouter(missing, clients).setWeight(1)).rejects.toThrow(
      `Release ${namespace}/nowhere-1: HTTPRoute ${namespace}/nowhere (spec.traffic.gatewayAPI.httpRoute) does not exist`,
    );
  });
});

describe("NGINX canary Ingress", () => {
  it("is created beside the stable Ingress with the canary annotations, updated, read back and removed", async () => {
    const networking = clients.networking;
    const stable: V1Ingress = {
      metadata: { name: "shop", namespace },
      spec: {
        ingressClassName: "nginx",
        rules: [
          {
            host: "shop.example.com",
            http: {
              paths: [
                {
                  path: "/checkout",
                  pathType: "Prefix",
                  backend: { service: { name: "checkout", port: { number: 80 } } },
                },
                {
                  path: "/static",
                  pathType: "Prefix",
                  backend: { service: { name: "static", port: { number: 80 } } },
                },
              ],
            },
          },
        ],
      },
    };
    const stableBefore = await networking.createNamespacedIngress({ namespace, body: stable });
    const release = await createRelease("checkout-nginx", { nginx: { ingress: "shop" } });
    const router = createTrafficRouter(release, clients);

    await router.setWeight(10);
    const canary = await networking.readNamespacedIngress({ name: "shop-canary", namespace });
    expect(canary.metadata?.annotations).toMatchObject({
      "nginx.ingress.kubernetes.io/canary": "true",
      "nginx.ingress.kubernetes.io/canary-weight": "10",
    });
    expect(canary.metadata?.ownerReferences?.[0]).toMatchObject({
      kind: "Release",
      uid: release.metadata.uid,
    });
    expect(canary.spec?.ingressClassName).toBe("nginx");
    expect(canary.spec?.rules).toEqual([
      {
        host: "shop.example.com",
        http: {
          paths: [
            {
              path: "/checkout",
              pathType: "Prefix",
              backend: { service: { name: "checkout-canary", port: { number: 80 } } },
            },
          ],
        },
      },
    ]);
    expect(await router.observe()).toMatchObject({ canaryWeight: 10, verified: true });

    await router.setWeight(50);
    expect(await router.observe()).toMatchObject({ canaryWeight: 50, verified: true });
    const resourceVersion = (await networking.readNamespacedIngress({ name: "shop-canary", namespace }))
      .metadata?.resourceVersion;
    await router.setWeight(50);
    expect(
      (await networking.readNamespacedIngress({ name: "shop-canary", namespace })).metadata?.resourceVersion,
    ).toBe(resourceVersion);

    await router.setWeight(0);
    expect(await router.observe()).toMatchObject({ canaryWeight: 0, verified: true });
    const stableAfter = await networking.readNamespacedIngress({ name: "shop", namespace });
    expect(stableAfter.metadata?.annotations ?? {}).toEqual({});

    await router.cleanup();
    await expect(networking.readNamespacedIngress({ name: "shop-canary", namespace })).rejects.toMatchObject({
      code: 404,
    });
    expect(await router.observe()).toMatchObject({ canaryWeight: 0, verified: true });
    await router.cleanup();
    // The stable Ingress, field by field as before the release: never written at all.
    const stableAtEnd = await networking.readNamespacedIngress({ name: "shop", namespace });
    expect(routedFields(stableAtEnd)).toEqual(routedFields(stableBefore));
    expect(stableAtEnd.metadata?.resourceVersion).toBe(stableBefore.metadata?.resourceVersion);
  });
});

describe("replicas (no router)", () => {
  it("gives the canary the share of pods closest to the weight and reports the weight reached", async () => {
    const labels = { app: "cart", version: "1.0.0" };
    const stable: V1Deployment = {
      metadata: { name: "cart", namespace },
      spec: {
        replicas: 3,
        selector: { matchLabels: { app: "cart" } },
        template: { metadata: { labels }, spec: { containers: [{ name: "cart", image: "cart:1.0.0" }] } },
      },
    };
    await apps.createNamespacedDeployment({ namespace, body: stable });
    const serviceBefore = await core.createNamespacedService({
      namespace,
      body: {
        metadata: { name: "cart", namespace },
        spec: { selector: { app: "cart" }, ports: [{ port: 80 }] },
      },
    });
    const release = await createRelease(
      "cart-1-1-0",
      { replicas: {} },
      { deployment: "cart", service: "cart" },
    );
    await new WorkloadManager({ apps, core }).ensureCanary(release, { cart: "cart:1.1.0" }, 0);
    const router = createTrafficRouter(release, clients);

    // [asked, canary replicas beside 3 stable, weight reached]
    for (const [asked, replicas, reached] of [
      [10, 1, 25],
      [50, 3, 50],
      [90, 3, 50],
      [0, 0, 0],
    ] as const) {
      await router.setWeight(asked);
      const observed = await waitFor(
        async () => {
          const observation = await router.observe();
          return observation.verified && observation.canaryWeight === reached && observation;
        },
        { description: `replica split for ${asked}% settled at ${reached}%`, timeoutMs: 60_000 },
      );
      expect(observed.requestedWeight).toBe(asked);
      expect(observed.detail).toContain(`${replicas} of ${3 + replicas} ready pods`);
      const canary = await apps.readNamespacedDeployment({ name: "cart-canary", namespace });
      expect(canary.spec?.replicas).toBe(replicas);
    }

    // Cleanup: the canary keeps no pods; what the split routes through (the stable Service
    // and Deployment) is field by field as before, since the split never writes them.
    const stableBefore = await apps.readNamespacedDeployment({ name: "cart", namespace });
    await router.setWeight(50);
    await router.cleanup();
    expect((await apps.readNamespacedDeployment({ name: "cart-canary", namespace })).spec?.replicas).toBe(0);
    await waitFor(
      async () => {
        const observation = await router.observe();
        return observation.verified && observation.canaryWeight === 0 && observation.requestedWeight === 0;
      },
      { description: "the replica split back at 0% once the canary pods are gone", timeoutMs: 60_000 },
    );
    const serviceAtEnd = await core.readNamespacedService({ name: "cart", namespace });
    expect(routedFields(serviceAtEnd)).toEqual(routedFields(serviceBefore));
    expect(serviceAtEnd.metadata?.resourceVersion).toBe(serviceBefore.metadata?.resourceVersion);
    const stableAtEnd = await apps.readNamespacedDeployment({ name: "cart", namespace });
    expect(routedFields(stableAtEnd)).toEqual(routedFields(stableBefore));
    expect(stableAtEnd.metadata?.generation).toBe(stableBefore.metadata?.generation);
  });
});
