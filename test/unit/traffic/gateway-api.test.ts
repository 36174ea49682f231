import { describe, expect, it } from "vitest";
import {
  parseHttpRoute,
  readCanaryWeight,
  routeAcceptance,
  rulesWithCanaryWeight,
  rulesWithoutCanary,
  rememberedStableWeights,
  stableWeightsOf,
  type HttpRoute,
  type RouteBackends,
} from "../../../src/traffic/index.ts";

const backends: RouteBackends = {
  namespace: "shop",
  stableService: "checkout",
  canaryService: "checkout-canary",
};

/** An HTTPRoute as the API server returns it, defaults filled in: a checkout rule and an unrelated one. */
function route(overrides: Partial<HttpRoute> = {}): HttpRoute {
  return parseHttpRoute(
    {
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "HTTPRoute",
      metadata: { name: "checkout", namespace: "shop", generation: 3, resourceVersion: "1234" },
      spec: {
        parentRefs: [{ name: "public", namespace: "gateways" }],
        hostnames: ["shop.example.com"],
        rules: [
          {
            matches: [{ path: { type: "PathPrefix", value: "/checkout" } }],
            filters: [
              {
                type: "RequestHeaderModifier",
                requestHeaderModifier: { add: [{ name: "x-via", value: "gw" }] },
              },
            ],
            backendRefs: [{ group: "", kind: "Service", name: "checkout", port: 8080, weight: 1 }],
            timeouts: { request: "10s" },
          },
          {
            matches: [{ path: { type: "PathPrefix", value: "/static" } }],
            backendRefs: [{ group: "", kind: "Service", name: "static", port: 80, weight: 1 }],
          },
        ],
      },
      ...overrides,
    },
    "shop/checkout",
  );
}

describe("setting canary weights on an HTTPRoute", () => {
  it("adds a canary backendRef on the stable one's port beside it and sets 99/1", () => {
    const rules = rulesWithCanaryWeight(route(), backends, 1);
    expect(rules[0]?.backendRefs).toEqual([
      { group: "", kind: "Service", name: "checkout", port: 8080, weight: 99 },
      { group: "", kind: "Service", name: "checkout-canary", port: 8080, weight: 1 },
    ]);
  });

  it("leaves the matches, filters and other fields of the rule, and the other rules, exactly as they were", () => {
    const original = route();
    const rules = rulesWithCanaryWeight(original, backends, 10);
    const { backendRefs: _changed, ...restOfRule } = rules[0] ?? {};
    const { backendRefs: _before, ...restBefore } = original.spec.rules?.[0] ?? {};
    expect(restOfRule).toEqual(restBefore);
    expect(rules[1]).toEqual(original.spec.rules?.[1]);
    expect(original.spec.rules?.[0]?.backendRefs).toHaveLength(1);
  });

  it("updates an existing canary backendRef in place: 90/10, then 0/100, then 100/0 with the canary kept at 0", () => {
    let current = route();
    for (const weight of [10, 100, 0]) {
      current = {
        ...current,
        spec: { ...current.spec, rules: rulesWithCanaryWeight(current, backends, weight) },
      };
      expect(current.spec.rules?.[0]?.backendRefs?.map((ref) => [ref.name, ref.weight])).toEqual([
        ["checkout", 100 - weight],
        ["checkout-canary", weight],
      ]);
      expect(readCanaryWeight(current, backends)).toMatchObject({ canaryWeight: weight, consistent: true });
    }
  });

  it("sets every rule that sends to stable, and takes a configured port for the canary", () => {
    const twoRules = route();
    twoRules.spec.rules?.[1]?.backendRefs?.push({ name: "checkout", port: 8081 });
    const rules = rulesWithCanaryWeight(twoRules, { ...backends, port: 9000 }, 50);
    expect(rules[1]?.backendRefs).toEqual([
      { group: "", kind: "Service", name: "static", port: 80, weight: 1 },
      { name: "checkout", port: 8081, weight: 50 },
      { name: "checkout-canary", port: 9000, weight: 50 },
    ]);
  });

  it("ignores a backendRef of the same name in another namespace or of another kind", () => {
    const other = route();
    other.spec.rules = [
      { backendRefs: [{ name: "checkout", namespace: "legacy", port: 80 }] },
      { backendRefs: [{ name: "checkout", group: "example.com", kind: "Bucket" }] },
    ];
    expect(() => rulesWithCanaryWeight(other, backends, 1)).toThrow(
      "HTTPRoute shop/checkout has no rule with a backendRef to Service checkout; expected at least one (rules: #0 → checkout; #1 → checkout)",
    );
  });
});

describe("reading the weight back", () => {
  it("reads 0 from a route without a canary backendRef, and the default weight 1 when none is written", () => {
    expect(readCanaryWeight(route(), backends).canaryWeight).toBe(0);
    const unweighted = route();
    unweighted.spec.rules![0]!.backendRefs = [{ name: "checkout" }, { name: "checkout-canary" }];
    expect(readCanaryWeight(unweighted, backends).canaryWeight).toBe(50);
  });

  it("says when the rules disagree", () => {
    const split = route();
    split.spec.rules = [
      {
        backendRefs: [
          { name: "checkout", weight: 90 },
          { name: "checkout-canary", weight: 10 },
        ],
      },
      {
        backendRefs: [
          { name: "checkout", weight: 99 },
          { name: "checkout-canary", weight: 1 },
        ],
      },
    ];
    expect(readCanaryWeight(split, backends)).toEqual({
      canaryWeight: 10,
      consistent: false,
      baselineWeight: 0,
      detail: "the rules disagree on the canary weight: 10%, 1%",
    });
  });
});

describe("cleanup", () => {
  it("removes the canary backendRefs and gives stable the whole rule again", () => {
    const withCanary = route();
    withCanary.spec.rules = rulesWithCanaryWeight(withCanary, backends, 10);
    const rules = rulesWithoutCanary(withCanary, backends);
    expect(rules[0]?.backendRefs).toEqual([
      { group: "", kind: "Service", name: "checkout", port: 8080, weight: 100 },
    ]);
    expect(rules[1]).toEqual(route().spec.rules?.[1]);
  });

  it("changes nothing on a route that has no canary", () => {
    expect(rulesWithoutCanary(route(), backends)).toEqual(route().spec.rules);
  });

  it("puts back each stable weight remembered from before the canary, none where none was written", () => {
    const original = route();
    original.spec.rules = [
      {
        backendRefs: [
          { name: "checkout", port: 8080, weight: 3 },
          { name: "legacy", weight: 1 },
        ],
      },
      { backendRefs: [{ name: "checkout", port: 8080 }] },
      { backendRefs: [{ name: "static", port: 80 }] },
    ];
    const before = stableWeightsOf(original, backends);
    expect(before).toEqual({ "0": 3, "1": null });
    const withCanary = structuredClone(original);
    withCanary.spec.rules = rulesWithCanaryWeight(withCanary, backends, 10);
    expect(rulesWithoutCanary(withCanary, backends, before)).toEqual(original.spec.rules);
  });

  it("reads the stable Service's remembered weights from the route's annotation, and none it cannot trust", () => {
    const remembering = (text: string) =>
      route({
        metadata: {
          name: "checkout",
          namespace: "shop",
          annotations: { "glidepath.dev/stable-weights": text },
        },
      });
    const both = remembering('{"checkout":{"0":1,"2":null},"static":{"1":5}}');
    expect(rememberedStableWeights(both, backends)).toEqual({ "0": 1, "2": null });
    expect(rememberedStableWeights(both, { ...backends, stableService: "cart" })).toBeUndefined();
    expect(rememberedStableWeights(remembering("not json"), backends)).toBeUndefined();
    expect(rememberedStableWeights(remembering('{"checkout":{"first":1}}'), backends)).toBeUndefined();
    expect(rememberedStableWeights(route(), backends)).toBeUndefined();
  });
});

describe("a baseline beside the canary (issue 17 item 5)", () => {
  const withBaseline: RouteBackends = { ...backends, baselineService: "checkout-baseline" };

  it("gives the baseline the canary's share out of stable's, right after the canary, and reads the canary's share back", () => {
    let current = route();
    for (const weight of [1, 10, 50]) {
      current = {
        ...current,
        spec: { ...current.spec, rules: rulesWithCanaryWeight(current, withBaseline, weight, weight) },
      };
      expect(current.spec.rules?.[0]?.backendRefs).toEqual([
        { group: "", kind: "Service", name: "checkout", port: 8080, weight: 100 - 2 * weight },
        { group: "", kind: "Service", name: "checkout-canary", port: 8080, weight },
        { group: "", kind: "Service", name: "checkout-baseline", port: 8080, weight },
      ]);
      expect(readCanaryWeight(current, withBaseline)).toMatchObject({
        canaryWeight: weight,
        consistent: true,
      });
      expect(current.spec.rules?.[1]).toEqual(route().spec.rules?.[1]);
    }
  });

  it("removes the baseline's backendRef at baseline weight 0 (a stage above 50%, a rollback)", () => {
    const current = route();
    current.spec.rules = rulesWithCanaryWeight(current, withBaseline, 10, 10);
    for (const weight of [100, 0]) {
      const rules = rulesWithCanaryWeight({ ...current, spec: { ...current.spec } }, withBaseline, weight, 0);
      expect(rules[0]?.backendRefs?.map((ref) => [ref.name, ref.weight])).toEqual([
        ["checkout", 100 - weight],
        ["checkout-canary", weight],
      ]);
    }
  });

  it("cleanup removes the baseline's backendRef with the canary's", () => {
    const current = route();
    current.spec.rules = rulesWithCanaryWeight(current, withBaseline, 10, 10);
    expect(rulesWithoutCanary(current, withBaseline)[0]?.backendRefs).toEqual([
      { group: "", kind: "Service", name: "checkout", port: 8080, weight: 100 },
    ]);
  });
});

describe("route status", () => {
  const parent = (
    conditions: { type: string; status: string; reason?: string; observedGeneration?: number }[],
  ) => ({
    parentRef: { name: "public", namespace: "gateways" },
    controllerName: "example.com/gateway",
    conditions,
  });

  it("is verified with no parents to read, and says so", () => {
    expect(routeAcceptance(route())).toEqual({
      verified: true,
      detail:
        "no gateway reports status on HTTPRoute shop/checkout (status.parents is empty); verified from the spec alone",
    });
  });

  it("is verified when every parent accepted and resolved the current generation", () => {
    const accepted = route({
      status: {
        parents: [
          parent([
            { type: "Accepted", status: "True", observedGeneration: 3 },
            { type: "ResolvedRefs", status: "True", observedGeneration: 3 },
          ]),
        ],
      },
    });
    expect(routeAcceptance(accepted).verified).toBe(true);
  });

  it("is not verified while a parent reports an older generation", () => {
    const stale = route({
      status: {
        parents: [
          parent([
            { type: "Accepted", status: "True", observedGeneration: 2 },
            { type: "ResolvedRefs", status: "True", observedGeneration: 2 },
          ]),
        ],
      },
    });
    expect(routeAcceptance(stale)).toEqual({
      verified: false,
      detail:
        "parent gateways/public (example.com/gateway): Accepted is for generation 2, the route is at 3; " +
        "parent gateways/public (example.com/gateway): ResolvedRefs is for generation 2, the route is at 3",
    });
  });

  it("is not verified when a backendRef does not resolve, and names the reason", () => {
    const unresolved = route({
      status: {
        parents: [
          parent([
            { type: "Accepted", status: "True", observedGeneration: 3 },
            { type: "ResolvedRefs", status: "False", reason: "BackendNotFound", observedGeneration: 3 },
          ]),
        ],
      },
    });
    expect(routeAcceptance(unresolved)).toEqual({
      verified: false,
      detail: "parent gateways/public (example.com/gateway): ResolvedRefs=False (BackendNotFound)",
    });
  });
});

describe("parsing", () => {
  it("keeps fields it does not know", () => {
    const parsed = parseHttpRoute(
      {
        metadata: { name: "r" },
        spec: { rules: [{ backendRefs: [{ name: "a", extra: 1 }], future: true }] },
      },
      "r",
    );
    expect(parsed.spec.rules?.[0]).toEqual({ backendRefs: [{ name: "a", extra: 1 }], future: true });
  });

  it("says what is wrong with a malformed route", () => {
    expect(() => parseHttpRoute({ metadata: { name: "r" }, spec: { rules: "all" } }, "shop/r")).toThrow(
      /HTTPRoute shop\/r does not have the expected shape/,
    );
  });
});
