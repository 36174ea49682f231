import { describe, expect, it } from "vitest";
import type { StageRouting } from "../../../src/api/index.ts";
import {
  matchAnnotations,
  mirrorTarget,
  parseHttpRoute,
  readCanaryWeight,
  readMatchAnnotations,
  readRouting,
  rulesWithCanaryWeight,
  rulesWithoutCanary,
  rulesWithoutRouting,
  rulesWithRouting,
  STAGE_ROUTING_ANNOTATION,
  type HttpRoute,
  type RouteBackends,
} from "../../../src/traffic/index.ts";
import { aRelease } from "../engine/builders.ts";

// How the routers build a routing stage's route (issue 17 items 2 and 3), and take it
// away again without a trace: pure parts of gateway-api.ts and nginx.ts.

const backends: RouteBackends = {
  namespace: "shop",
  stableService: "checkout",
  canaryService: "checkout-canary",
};

const MATCH: StageRouting = {
  match: { headers: [{ name: "x-internal-user", value: "true" }], cookie: { name: "canary" } },
};

/** A route as the API server returns it: a checkout rule with a method match and a filter, and an unrelated one. */
function route(rules?: unknown[], annotations?: Record<string, string>): HttpRoute {
  return parseHttpRoute(
    {
      metadata: { name: "checkout", namespace: "shop", ...(annotations ? { annotations } : {}) },
      spec: {
        rules: rules ?? [
          {
            matches: [
              {
                path: { type: "PathPrefix", value: "/checkout" },
                method: "POST",
                headers: [{ type: "Exact", name: "x-tenant", value: "eu" }],
              },
            ],
            filters: [
              {
                type: "RequestHeaderModifier",
                requestHeaderModifier: { add: [{ name: "x-via", value: "gw" }] },
              },
            ],
            backendRefs: [{ group: "", kind: "Service", name: "checkout", port: 8080, weight: 1 }],
          },
          {
            matches: [{ path: { type: "PathPrefix", value: "/static" } }],
            backendRefs: [{ group: "", kind: "Service", name: "static", port: 80, weight: 1 }],
          },
        ],
      },
    },
    "shop/checkout",
  );
}

describe("a match stage on an HTTPRoute", () => {
  it("puts a canary-only rule first, each of the rule's matches narrowed by the headers and, apart, by the cookie", () => {
    const rules = rulesWithRouting(rulesWithCanaryWeight(route(), backends, 0), backends, MATCH);
    expect(rules).toHaveLength(3);
    expect(rules[0]).toEqual({
      matches: [
        {
          path: { type: "PathPrefix", value: "/checkout" },
          method: "POST",
          headers: [
            { type: "Exact", name: "x-tenant", value: "eu" },
            { type: "Exact", name: "x-internal-user", value: "true" },
          ],
        },
        {
          path: { type: "PathPrefix", value: "/checkout" },
          method: "POST",
          headers: [
            { type: "Exact", name: "x-tenant", value: "eu" },
            { type: "RegularExpression", name: "Cookie", value: "(^|;\\s*)canary=always(;|$)" },
          ],
        },
      ],
      // The rule's own filters, so the canary is served as stable is.
      filters: [
        { type: "RequestHeaderModifier", requestHeaderModifier: { add: [{ name: "x-via", value: "gw" }] } },
      ],
      backendRefs: [{ group: "", kind: "Service", name: "checkout-canary", port: 8080 }],
    });
    // The route's own rules as they were, but for the canary's weight 0 beside stable.
    expect(rules[1]?.backendRefs).toEqual([
      { group: "", kind: "Service", name: "checkout", port: 8080, weight: 100 },
      { group: "", kind: "Service", name: "checkout-canary", port: 8080, weight: 0 },
    ]);
    expect(rules[2]).toEqual(route().spec.rules?.[1]);
    expect(new RegExp("(^|;\\s*)canary=always(;|$)").test("theme=dark; canary=always")).toBe(true);
    expect(new RegExp("(^|;\\s*)canary=always(;|$)").test("notcanary=always")).toBe(false);
  });

  it("gives a rule without matches Gateway API's default match, narrowed", () => {
    const bare = route([{ backendRefs: [{ name: "checkout", port: 80 }] }]);
    const rules = rulesWithRouting(bare.spec.rules ?? [], backends, {
      match: { headers: [{ name: "x-beta", pattern: "^(1|yes)$" }] },
    });
    expect(rules[0]?.matches).toEqual([
      {
        path: { type: "PathPrefix", value: "/" },
        headers: [{ type: "RegularExpression", name: "x-beta", value: "^(1|yes)$" }],
      },
    ]);
  });

  it("is read back as held when the remembered match and the rules agree, and as no stage's when they do not", () => {
    const rules = rulesWithRouting(rulesWithCanaryWeight(route(), backends, 0), backends, MATCH);
    const annotations = { [STAGE_ROUTING_ANNOTATION]: JSON.stringify({ checkout: MATCH }) };
    expect(readRouting(route(rules, annotations), backends)).toEqual({ routing: MATCH, consistent: true });
    // Someone deleted the added rule: the engine is told the route holds no stage's routing.
    const edited = readRouting(route(rules.slice(1), annotations), backends);
    expect(edited.routing).toEqual({});
    expect(edited.consistent).toBe(false);
    // The weight is read from the route's own rules only.
    expect(readCanaryWeight(route(rules, annotations), backends).canaryWeight).toBe(0);
  });

  it("goes without a trace: without the routing and the canary backendRef the route is as it was", () => {
    const before = route();
    const withMatch = route(rulesWithRouting(rulesWithCanaryWeight(before, backends, 0), backends, MATCH));
    const stripped = route(rulesWithoutRouting(withMatch.spec.rules ?? [], backends));
    expect(rulesWithoutCanary(stripped, backends, { "0": 1 })).toEqual(before.spec.rules);
  });
});

describe("a mirror stage on an HTTPRoute", () => {
  it("adds a RequestMirror filter to the canary with the percentage, after the rule's own filters", () => {
    const rules = rulesWithRouting(rulesWithCanaryWeight(route(), backends, 0), backends, {
      mirror: { percent: 20 },
    });
    expect(rules).toHaveLength(2);
    expect(rules[0]?.filters).toEqual([
      { type: "RequestHeaderModifier", requestHeaderModifier: { add: [{ name: "x-via", value: "gw" }] } },
      {
        type: "RequestMirror",
        requestMirror: { backendRef: { name: "checkout-canary", port: 8080 }, percent: 20 },
      },
    ]);
    expect(rules[1]?.filters).toBeUndefined();
  });

  it("goes without a trace, also from a rule that had no filters (no empty list left)", () => {
    const before = route([{ backendRefs: [{ name: "checkout", port: 80, weight: 1 }] }]);
    const mirrored = rulesWithRouting(rulesWithCanaryWeight(before, backends, 0), backends, {
      mirror: { percent: 100 },
    });
    const annotations = {
      [STAGE_ROUTING_ANNOTATION]: JSON.stringify({ checkout: { mirror: { percent: 100 } } }),
    };
    expect(readRouting(route(mirrored, annotations), backends)).toEqual({
      routing: { mirror: { percent: 100 } },
      consistent: true,
    });
    const stripped = route(rulesWithoutRouting(mirrored, backends));
    expect(rulesWithoutCanary(stripped, backends, { "0": 1 })).toEqual(before.spec.rules);
  });
});

describe("a match stage on NGINX", () => {
  it("is ingress-nginx's canary-by-header (value or pattern) and canary-by-cookie, read back as the same match", () => {
    expect(matchAnnotations(MATCH.match)).toEqual({
      "nginx.ingress.kubernetes.io/canary-by-header": "x-internal-user",
      "nginx.ingress.kubernetes.io/canary-by-header-value": "true",
      "nginx.ingress.kubernetes.io/canary-by-cookie": "canary",
    });
    expect(readMatchAnnotations(matchAnnotations(MATCH.match))).toEqual(MATCH.match);
    const pattern = { headers: [{ name: "x-beta", pattern: "^(1|yes)$" }] };
    expect(readMatchAnnotations(matchAnnotations(pattern))).toEqual(pattern);
    expect(matchAnnotations(undefined)).toEqual({});
  });

  it("mirrors to the canary Service by its cluster name and the stable backend's port", () => {
    const release = aRelease({ traffic: { nginx: { ingress: "checkout" } } });
    const stable = {
      metadata: { name: "checkout" },
      spec: {
        rules: [
          {
            http: {
              paths: [
                {
                  path: "/",
                  pathType: "Prefix",
                  backend: { service: { name: "checkout", port: { number: 8080 } } },
                },
              ],
            },
          },
        ],
      },
    };
    expect(mirrorTarget(release, stable)).toBe(
      "http://checkout-canary.shop.svc.cluster.local:8080$request_uri",
    );
  });
});
