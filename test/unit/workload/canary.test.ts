import { describe, expect, it } from "vitest";
import {
  buildCanary,
  canaryLabelRewrites,
  canarySelector,
  canaryServiceName,
  withCanarySuffix,
} from "../../../src/workload/index.ts";
import { NAMESPACE, release, stableDeployment, stableService } from "./objects.ts";

const images = { checkout: "registry.example.com/checkout:2.4.0" };

describe("the canary Deployment, with a traffic router", () => {
  const { deployment } = buildCanary({
    release: release(),
    stable: stableDeployment(),
    stableService: stableService(),
    images,
    replicas: 2,
  });

  it("is named <target>-canary in the Release's namespace and owned by the Release as controller", () => {
    expect(deployment.metadata?.name).toBe("checkout-canary");
    expect(deployment.metadata?.namespace).toBe(NAMESPACE);
    expect(deployment.metadata?.ownerReferences).toEqual([
      {
        apiVersion: "glidepath.dev/v1alpha1",
        kind: "Release",
        name: "checkout-2-4-0",
        uid: "release-uid-1",
        controller: true,
      },
    ]);
    expect(deployment.metadata?.labels).toMatchObject({
      "glidepath.dev/release": "checkout-2-4-0",
      "glidepath.dev/role": "canary",
    });
  });

  it("records its source: the stable Deployment, its generation and the version", () => {
    expect(deployment.metadata?.annotations).toEqual({
      "glidepath.dev/source-deployment": "checkout",
      "glidepath.dev/source-generation": "7",
      "glidepath.dev/version": "2.4.0",
    });
  });

  it("does not copy the stable Deployment's own labels (a GitOps tool would claim the canary)", () => {
    expect(deployment.metadata?.labels).not.toHaveProperty("app.kubernetes.io/instance");
  });

  it("runs the stable pod template with the new image, only for the named container", () => {
    const podSpec = deployment.spec?.template.spec;
    expect(podSpec?.containers.map((container) => [container.name, container.image])).toEqual([
      ["checkout", "registry.example.com/checkout:2.4.0"],
      ["envoy", "envoyproxy/envoy:v1.30.0"],
    ]);
    expect(podSpec?.containers[0]?.env).toEqual([{ name: "MODE", value: "prod" }]);
    expect(podSpec?.containers[0]?.ports).toEqual([{ containerPort: 8080, name: "http" }]);
    expect(podSpec?.initContainers?.[0]?.image).toBe("registry.example.com/checkout-migrate:2.3.1");
    expect(deployment.spec?.template.metadata?.annotations).toEqual({ "prometheus.io/scrape": "true" });
  });

  it("labels its pods with the new version, the release and the canary role, and moves them off the stable Service's selector", () => {
    expect(deployment.spec?.template.metadata?.labels).toEqual({
      app: "checkout-canary",
      tier: "web-canary",
      team: "payments",
      version: "2.4.0",
      "glidepath.dev/release": "checkout-2-4-0",
      "glidepath.dev/role": "canary",
    });
    expect(deployment.spec?.selector).toEqual({
      matchLabels: { app: "checkout-canary", tier: "web-canary", "glidepath.dev/role": "canary" },
    });
  });

  it("keeps the stable's rollout settings and takes the replicas it is given", () => {
    expect(deployment.spec).toMatchObject({
      replicas: 2,
      minReadySeconds: 5,
      progressDeadlineSeconds: 120,
      revisionHistoryLimit: 3,
      strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: "25%", maxUnavailable: 0 } },
    });
  });

  it("leaves the stable Deployment it was made from unchanged", () => {
    const stable = stableDeployment();
    buildCanary({ release: release(), stable, stableService: stableService(), images, replicas: 1 });
    expect(stable).toEqual(stableDeployment());
  });
});

describe("the canary Service", () => {
  const { deployment, service } = buildCanary({
    release: release(),
    stable: stableDeployment(),
    stableService: stableService(),
    images,
    replicas: 2,
  });

  it("copies the stable ports (without node ports) into a ClusterIP Service <service>-canary", () => {
    expect(service.metadata?.name).toBe("checkout-canary");
    expect(service.spec?.type).toBe("ClusterIP");
    expect(service.spec?.clusterIP).toBeUndefined();
    expect(service.spec?.ports).toEqual([
      { name: "http", port: 80, targetPort: "http", protocol: "TCP" },
      { name: "grpc", port: 9090, targetPort: 9090, protocol: "TCP", appProtocol: "grpc" },
    ]);
    expect(service.metadata?.ownerReferences?.[0]).toMatchObject({ kind: "Release", controller: true });
  });

  it("selects the canary pods and the stable Service's selector does not", () => {
    const podLabels = deployment.spec?.template.metadata?.labels ?? {};
    const selects = (selector: Record<string, string>) =>
      Object.entries(selector).every(([key, value]) => podLabels[key] === value);
    expect(selects(service.spec?.selector ?? {})).toBe(true);
    expect(selects(stableService().spec?.selector ?? {})).toBe(false);
    expect(service.spec?.selector).toEqual({
      app: "checkout-canary",
      tier: "web-canary",
      "glidepath.dev/role": "canary",
    });
  });
});

describe("with the replicas router (no traffic router)", () => {
  const { deployment, service } = buildCanary({
    release: release({ replicas: {} }),
    stable: stableDeployment(),
    stableService: stableService(),
    images,
    replicas: 1,
  });

  it("keeps the stable labels on the canary pods, so the stable Service spreads traffic over both", () => {
    const podLabels = deployment.spec?.template.metadata?.labels ?? {};
    expect(podLabels).toMatchObject({ app: "checkout", tier: "web", version: "2.4.0" });
    for (const [key, value] of Object.entries(stableService().spec?.selector ?? {})) {
      expect(podLabels[key]).toBe(value);
    }
  });

  it("still selects only canary pods in its own Deployment and Service, by the role label", () => {
    expect(deployment.spec?.selector?.matchLabels).toEqual({
      app: "checkout",
      tier: "web",
      "glidepath.dev/role": "canary",
    });
    expect(service.spec?.selector).toEqual({ app: "checkout", tier: "web", "glidepath.dev/role": "canary" });
  });
});

describe("errors a person can act on", () => {
  const input = () => ({
    release: release(),
    stable: stableDeployment(),
    stableService: stableService(),
    images,
    replicas: 1,
  });

  it("names an image's container that the Deployment does not have, and the ones it has", () => {
    expect(() => buildCanary({ ...input(), images: { chekout: "x:1", checkout: "x:2" } })).toThrow(
      'Release shop/checkout-2-4-0: spec.images names container "chekout", which Deployment shop/checkout does not have (its containers: checkout, envoy, migrate)',
    );
  });

  it("sets an init container's image by name too", () => {
    const { deployment } = buildCanary({ ...input(), images: { migrate: "migrate:2.4.0" } });
    expect(deployment.spec?.template.spec?.initContainers?.[0]?.image).toBe("migrate:2.4.0");
  });

  it("refuses a Service that does not select the Deployment's pods", () => {
    const service = stableService();
    service.spec = { ...service.spec, selector: { app: "payments" } };
    expect(() => buildCanary({ ...input(), stableService: service })).toThrow(
      /Service shop\/checkout selects \{app=payments\}, but the pods of Deployment shop\/checkout are labelled/,
    );
  });

  it("refuses a Service that selects on the version label, which promotion changes", () => {
    const service = stableService();
    const deployment = stableDeployment();
    service.spec = { ...service.spec, selector: { app: "checkout", version: "2.3.1" } };
    expect(() => buildCanary({ ...input(), stable: deployment, stableService: service })).toThrow(
      /selects on the "version" label/,
    );
  });

  it("refuses a Service without a selector", () => {
    const service = stableService();
    service.spec = { ...service.spec, selector: {} };
    expect(() => buildCanary({ ...input(), stableService: service })).toThrow(/has no selector/);
  });

  it("needs the Release's uid for the owner reference", () => {
    const withoutUid = release();
    withoutUid.metadata = { name: "checkout-2-4-0", namespace: NAMESPACE };
    expect(() => buildCanary({ ...input(), release: withoutUid })).toThrow(/has no metadata.uid/);
  });

  it("refuses a negative or fractional replica count", () => {
    expect(() => buildCanary({ ...input(), replicas: -1 })).toThrow(/whole number ≥ 0, not -1/);
    expect(() => buildCanary({ ...input(), replicas: 1.5 })).toThrow(/not 1.5/);
  });
});

describe("canary names and label values stay within 63 characters", () => {
  it("appends -canary when it fits", () => {
    expect(withCanarySuffix("checkout")).toBe("checkout-canary");
    expect(canaryServiceName("checkout")).toBe("checkout-canary");
    expect(withCanarySuffix("")).toBe("canary");
  });

  it("cuts a long value and keeps two long values with the same prefix apart", () => {
    const a = `${"a".repeat(60)}-one`;
    const b = `${"a".repeat(60)}-two`;
    expect(withCanarySuffix(a)).toHaveLength(63);
    expect(withCanarySuffix(a)).toMatch(/^a+-[0-9a-f]{8}-canary$/);
    expect(withCanarySuffix(a)).not.toBe(withCanarySuffix(b));
    expect(withCanarySuffix(a)).toBe(withCanarySuffix(a));
  });

  it("rewrites a long app label consistently in pods, selector and Service", () => {
    const long = "x".repeat(63);
    const stable = stableDeployment();
    const labels = { ...stable.spec?.template.metadata?.labels, app: long };
    stable.spec = {
      ...stable.spec!,
      selector: { matchLabels: { app: long } },
      template: { ...stable.spec!.template, metadata: { labels } },
    };
    const service = stableService();
    service.spec = { ...service.spec, selector: { app: long } };
    const objects = buildCanary({ release: release(), stable, stableService: service, images, replicas: 1 });
    const canaryApp = objects.deployment.spec?.template.metadata?.labels?.app;
    expect(canaryApp).toHaveLength(63);
    expect(objects.deployment.spec?.selector?.matchLabels?.app).toBe(canaryApp);
    expect(objects.service.spec?.selector?.app).toBe(canaryApp);
  });
});

describe("selectors with expressions", () => {
  it("rewrites the values of expressions on the rewritten keys only", () => {
    const rewrites = canaryLabelRewrites(release(), stableDeployment(), stableService());
    expect(rewrites).toEqual({ app: "checkout-canary", tier: "web-canary" });
    expect(
      canarySelector(
        {
          matchLabels: { app: "checkout" },
          matchExpressions: [
            { key: "tier", operator: "In", values: ["web", "edge"] },
            { key: "zone", operator: "NotIn", values: ["eu"] },
            { key: "tier", operator: "Exists" },
          ],
        },
        rewrites,
      ),
    ).toEqual({
      matchLabels: { app: "checkout-canary", "glidepath.dev/role": "canary" },
      matchExpressions: [
        { key: "tier", operator: "In", values: ["web-canary", "edge-canary"] },
        { key: "zone", operator: "NotIn", values: ["eu"] },
        { key: "tier", operator: "Exists" },
      ],
    });
  });
});
