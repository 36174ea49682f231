import type { V1Ingress } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { buildCanaryIngress, readCanaryIngress } from "../../../src/traffic/index.ts";
import { release } from "../workload/objects.ts";

const nginxRelease = release({ nginx: { ingress: "shop" } });

function stableIngress(): V1Ingress {
  return {
    metadata: {
      name: "shop",
      namespace: "shop",
      annotations: {
        "nginx.ingress.kubernetes.io/rewrite-target": "/",
        "kubernetes.io/ingress.class": "nginx",
      },
    },
    spec: {
      ingressClassName: "nginx",
      tls: [{ hosts: ["shop.example.com"], secretName: "shop-tls" }],
      rules: [
        {
          host: "shop.example.com",
          http: {
            paths: [
              {
                path: "/checkout",
                pathType: "Prefix",
                backend: { service: { name: "checkout", port: { name: "http" } } },
              },
              {
                path: "/static",
                pathType: "Prefix",
                backend: { service: { name: "static", port: { number: 80 } } },
              },
            ],
          },
        },
        {
          host: "admin.example.com",
          http: {
            paths: [
              {
                path: "/",
                pathType: "Prefix",
                backend: { service: { name: "admin", port: { number: 80 } } },
              },
            ],
          },
        },
      ],
    },
  };
}

describe("the canary Ingress", () => {
  const canary = buildCanaryIngress(nginxRelease, stableIngress(), 10);

  it("is <ingress>-canary with ingress-nginx's canary annotations and the same ingress class", () => {
    expect(canary.metadata?.name).toBe("shop-canary");
    expect(canary.metadata?.annotations).toEqual({
      "kubernetes.io/ingress.class": "nginx",
      "nginx.ingress.kubernetes.io/canary": "true",
      "nginx.ingress.kubernetes.io/canary-weight": "10",
      "glidepath.dev/source-ingress": "shop",
    });
    expect(canary.spec?.ingressClassName).toBe("nginx");
    expect(canary.metadata?.ownerReferences?.[0]).toMatchObject({
      kind: "Release",
      name: "checkout-2-4-0",
      controller: true,
    });
  });

  it("keeps only the paths to the stable Service, pointed at the canary Service on the same port", () => {
    expect(canary.spec?.rules).toEqual([
      {
        host: "shop.example.com",
        http: {
          paths: [
            {
              path: "/checkout",
              pathType: "Prefix",
              backend: { service: { name: "checkout-canary", port: { name: "http" } } },
            },
          ],
        },
      },
    ]);
    expect(canary.spec?.tls).toEqual(stableIngress().spec?.tls);
  });

  it("refuses an Ingress with no path to the stable Service", () => {
    const unrelated = stableIngress();
    unrelated.spec!.rules = unrelated.spec!.rules!.slice(1);
    expect(() => buildCanaryIngress(nginxRelease, unrelated, 1)).toThrow(
      "Release shop/checkout-2-4-0: Ingress shop/shop (spec.traffic.nginx.ingress) has no path or default backend that leads to Service checkout",
    );
  });

  it("takes over a default backend to the stable Service", () => {
    const defaultOnly: V1Ingress = {
      metadata: { name: "shop" },
      spec: { defaultBackend: { service: { name: "checkout", port: { number: 80 } } } },
    };
    expect(buildCanaryIngress(nginxRelease, defaultOnly, 5).spec).toEqual({
      defaultBackend: { service: { name: "checkout-canary", port: { number: 80 } } },
    });
  });
});

describe("reading the canary Ingress back", () => {
  it("reads its weight and verifies annotations and backends", () => {
    const canary = buildCanaryIngress(nginxRelease, stableIngress(), 10);
    expect(
      readCanaryIngress(
        { ...canary, metadata: { ...canary.metadata, namespace: "shop" } },
        "checkout-canary",
      ),
    ).toEqual({
      canaryWeight: 10,
      requestedWeight: 10,
      verified: true,
      detail:
        "canary Ingress shop/shop-canary holds 10% (read from its annotations; ingress-nginx reports no per-Ingress status)",
    });
  });

  it("reads a missing canary Ingress as 0%", () => {
    expect(readCanaryIngress(undefined, "checkout-canary")).toMatchObject({
      canaryWeight: 0,
      verified: true,
    });
  });

  it("scales by canary-weight-total", () => {
    const canary = buildCanaryIngress(nginxRelease, stableIngress(), 10);
    canary.metadata!.annotations!["nginx.ingress.kubernetes.io/canary-weight"] = "250";
    canary.metadata!.annotations!["nginx.ingress.kubernetes.io/canary-weight-total"] = "1000";
    expect(readCanaryIngress(canary, "checkout-canary").canaryWeight).toBe(25);
  });

  it("does not verify a canary Ingress whose canary annotation is off or whose weight is not a number", () => {
    const canary = buildCanaryIngress(nginxRelease, stableIngress(), 10);
    canary.metadata!.annotations!["nginx.ingress.kubernetes.io/canary"] = "false";
    canary.metadata!.annotations!["nginx.ingress.kubernetes.io/canary-weight"] = "ten";
    const observed = readCanaryIngress(canary, "checkout-canary");
    expect(observed.verified).toBe(false);
    expect(observed.detail).toMatch(
      /canary is "false", not "true"; .*canary-weight="ten" .* is not a weight/,
    );
  });
});
