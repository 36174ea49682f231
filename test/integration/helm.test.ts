// The Helm chart (helm/glidepath) with the real helm 4 and the real control plane: lint,
// the rendered objects, and an install whose ServiceAccount, RBAC, ConfigMap and hooks
// Secret are what a controller then runs with — no image can run here (no container
// runtime; the fake kubelet only marks Pods Ready), so the controller runs as a process
// with the chart's ServiceAccount token and the files the Pod would see, and takes a
// release to GA.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { X509Certificate } from "node:crypto";
import { AdmissionregistrationV1Api, AuthorizationV1Api, CoordinationV1Api } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml, stringify } from "yaml";
import { parseControllerConfig, parseStrategyFile } from "../../src/api/index.ts";
import { startControllerProcess, type ControllerProcess } from "../harness/controller.ts";
import { createServiceAccountKubeconfig } from "../harness/control-plane.ts";
import { ProcessSupervisor } from "../harness/processes.ts";
import {
  deleteNamespace,
  helm,
  kubeClients,
  kubeConfig,
  kubectl,
  prometheus,
  stackInfo,
  waitFor,
} from "../harness/context.ts";
import {
  controllerContainer,
  dockerEntrypoint,
  findObject,
  parseObjects,
  readRepoFile,
  repoRoot,
  volumeSourceOf,
  withoutMetadataDecorations,
  type DeploymentObject,
  type KubeObject,
} from "../unit/install/objects.ts";
import { expectRouteAsBefore, givenService, type ServiceScenario } from "./controller/scenario.ts";

const CHART = join(repoRoot, "helm", "glidepath");

/** `helm template` → objects. Default: the release name and namespace of manifests/install. */
async function render(
  args: string[] = [],
  release = { name: "glidepath", namespace: "glidepath-system" },
): Promise<KubeObject[]> {
  const { stdout } = await helm(["template", release.name, CHART, "--namespace", release.namespace, ...args]);
  return parseObjects(stdout, "helm template");
}

type ConfigMapObject = KubeObject & { data: Record<string, string> };

function configOf(objects: KubeObject[], name = "glidepath-controller") {
  const configMap = findObject(objects, "ConfigMap", name) as ConfigMapObject;
  return { configMap, config: parseControllerConfig(parseYaml(configMap.data["config.yaml"] ?? "")) };
}

type WebhookConfigurationObject = KubeObject & {
  webhooks: {
    name: string;
    failurePolicy: string;
    clientConfig: { service?: unknown; caBundle?: string };
    namespaceSelector?: unknown;
  }[];
};

interface RuleObject {
  apiGroups: string[];
  resources: string[];
  resourceNames?: string[];
  verbs: string[];
}

function rulesOf(objects: KubeObject[], kind: string, name: string, namespace?: string): RuleObject[] {
  const matching = objects.filter(
    (o) =>
      o.kind === kind &&
      o.metadata.name === name &&
      (namespace === undefined || o.metadata.namespace === namespace),
  );
  if (matching.length !== 1)
    throw new Error(`expected one ${kind} ${name} in ${namespace ?? "any namespace"}`);
  return (matching[0] as KubeObject & { rules: RuleObject[] }).rules;
}

describe("helm lint", () => {
  it("passes in strict mode, with the defaults and with every optional object turned on", async () => {
    await helm(["lint", CHART, "--strict"]);
    await helm([
      "lint",
      CHART,
      "--strict",
      "--set",
      "serviceMonitor.enabled=true,grafanaDashboard.enabled=true,hooksToken.existingSecret=hooks",
    ]);
    await helm([
      "lint",
      CHART,
      "--strict",
      "--set",
      "admission.certificate.mode=certManager,config.namespaces={shop,payments}",
    ]);
  });
});

describe("helm template with the default values", () => {
  let objects: KubeObject[];
  let deployment: DeploymentObject;
  beforeAll(async () => {
    objects = await render();
    deployment = findObject(objects, "Deployment", "glidepath-controller") as DeploymentObject;
  });

  it("renders the controller's objects and nothing optional", () => {
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual([
      "ClusterRole/glidepath-approve",
      "ClusterRole/glidepath-controller",
      "ClusterRole/glidepath-controller-webhook",
      "ClusterRole/glidepath-edit",
      "ClusterRole/glidepath-view",
      "ClusterRoleBinding/glidepath-controller",
      "ClusterRoleBinding/glidepath-controller-webhook",
      "ConfigMap/glidepath-controller",
      "Deployment/glidepath-controller",
      "MutatingWebhookConfiguration/glidepath-controller",
      "NetworkPolicy/glidepath-controller",
      "PodDisruptionBudget/glidepath-controller",
      "Role/glidepath-leader-election",
      "Role/glidepath-webhook-certificate",
      "RoleBinding/glidepath-leader-election",
      "RoleBinding/glidepath-webhook-certificate",
      "Secret/glidepath-stamp-key",
      "Service/glidepath-controller",
      "ServiceAccount/glidepath-controller",
    ]);
  });

  it("registers the webhook for Release writes, failing closed, with a certificate the controller manages (mode self)", () => {
    const configuration = findObject(objects, "MutatingWebhookConfiguration") as WebhookConfigurationObject;
    expect(configuration.metadata.annotations).toBeUndefined();
    expect(configuration.webhooks).toEqual([
      {
        name: "releases.glidepath.dev",
        admissionReviewVersions: ["v1"],
        sideEffects: "None",
        failurePolicy: "Fail",
        timeoutSeconds: 10,
        clientConfig: {
          service: {
            name: "glidepath-controller",
            namespace: "glidepath-system",
            path: "/admission/releases",
            port: 443,
          },
        },
        rules: [
          {
            apiGroups: ["glidepath.dev"],
            apiVersions: ["v1alpha1"],
            operations: ["CREATE", "UPDATE"],
            resources: ["releases"],
            scope: "Namespaced",
          },
        ],
      },
    ]);
    const { config } = configOf(objects);
    expect(config.trust.webhook).toEqual({
      port: 9443,
      maxBodyBytes: 3 * 1024 * 1024,
      selfManagedCertificate: {
        secret: { namespace: "glidepath-system", name: "glidepath-webhook-tls" },
        service: { namespace: "glidepath-system", name: "glidepath-controller" },
        dnsNames: [],
        ipAddresses: [],
        mutatingWebhookConfiguration: "glidepath-controller",
        validity: "2160h",
        renewBefore: "720h",
      },
    });
    expect(controllerContainer(deployment).ports).toContainEqual({
      name: "admission",
      containerPort: 9443,
      protocol: "TCP",
    });
    // The stamp key: generated (64 characters), mounted where the configuration reads it, kept on uninstall.
    const secret = findObject(objects, "Secret", "glidepath-stamp-key") as KubeObject & {
      data: Record<string, string>;
    };
    expect(secret.metadata.annotations).toEqual({ "helm.sh/resource-policy": "keep" });
    expect(Buffer.from(secret.data.key ?? "", "base64").toString()).toMatch(/^[A-Za-z0-9]{64}$/);
    const stampKey = config.trust.stampKey;
    expect(volumeSourceOf(deployment, stampKey && "file" in stampKey ? stampKey.file : "")).toMatchObject({
      volume: { secret: { secretName: "glidepath-stamp-key" } },
      key: "key",
    });
  });

  it("limits the Lease and the certificate Secret to their names, with create (which RBAC cannot limit by name) apart", () => {
    expect(rulesOf(objects, "Role", "glidepath-leader-election")).toEqual([
      {
        apiGroups: ["coordination.k8s.io"],
        resources: ["leases"],
        resourceNames: ["glidepath-controller"],
        verbs: ["get", "update"],
      },
      {
        // One Lease per shard when sharded (docs/sharding.md), by name as well.
        apiGroups: ["coordination.k8s.io"],
        resources: ["leases"],
        resourceNames: Array.from({ length: 16 }, (_, shard) => `glidepath-shard-${shard}`),
        verbs: ["get", "update"],
      },
      { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["create"] },
    ]);
    expect(rulesOf(objects, "Role", "glidepath-webhook-certificate")).toEqual([
      {
        apiGroups: [""],
        resources: ["secrets"],
        resourceNames: ["glidepath-webhook-tls"],
        verbs: ["get", "update"],
      },
      { apiGroups: [""], resources: ["secrets"], verbs: ["create"] },
    ]);
  });

  it("runs two replicas of the image's entry point, leader election by Pod name, probes on the HTTP port", () => {
    const container = controllerContainer(deployment);
    expect(deployment.spec.replicas).toBe(2);
    expect(container.command).toEqual(dockerEntrypoint());
    expect(container.env).toContainEqual({
      name: "POD_NAME",
      valueFrom: { fieldRef: { fieldPath: "metadata.name" } },
    });
    expect(container.ports).toEqual([
      { name: "http", containerPort: 8080, protocol: "TCP" },
      { name: "admission", containerPort: 9443, protocol: "TCP" },
    ]);
    expect(container.livenessProbe?.httpGet).toEqual({ path: "/healthz", port: "http" });
    expect(container.readinessProbe?.httpGet).toEqual({ path: "/readyz", port: "http" });
    expect(container.resources).toEqual({
      requests: { cpu: "100m", memory: "128Mi" },
      limits: { cpu: "1", memory: "512Mi" },
    });
  });

  it("locks the Pod and the container down", () => {
    expect(deployment.spec.template.spec.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 1000,
      seccompProfile: { type: "RuntimeDefault" },
    });
    expect(controllerContainer(deployment).securityContext).toEqual({
      runAsNonRoot: true,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      privileged: false,
      capabilities: { drop: ["ALL"] },
      seccompProfile: { type: "RuntimeDefault" },
    });
  });

  it("grants exactly the RBAC of manifests/install/rbac.yaml and user-roles.yaml", () => {
    const expected = [
      ...parseObjects(readRepoFile("manifests/install/rbac.yaml")),
      ...parseObjects(readRepoFile("manifests/install/user-roles.yaml")),
    ].map(withoutMetadataDecorations);
    const kinds = new Set(expected.map((o) => o.kind));
    const rendered = objects.filter((o) => kinds.has(o.kind)).map(withoutMetadataDecorations);
    const byName = (a: KubeObject, b: KubeObject) =>
      `${a.kind}/${a.metadata.name}`.localeCompare(`${b.kind}/${b.metadata.name}`);
    expect(rendered.sort(byName)).toEqual(expected.sort(byName));
  });

  it("ships rollout/rollout-strategy.json and a configuration that agrees with the Deployment", () => {
    const { configMap, config } = configOf(objects);
    expect(configMap.data["rollout-strategy.json"]).toBe(readRepoFile("rollout/rollout-strategy.json"));
    expect(volumeSourceOf(deployment, config.strategyFile)).toMatchObject({
      volume: { configMap: { name: "glidepath-controller" } },
      key: "rollout-strategy.json",
    });
    const container = controllerContainer(deployment);
    const configFile = container.args?.[container.args.indexOf("--config") + 1] ?? "";
    expect(volumeSourceOf(deployment, configFile)?.key).toBe("config.yaml");
    expect(config.port).toBe(container.ports?.[0]?.containerPort);
    expect(config.leaderElection).toMatchObject({
      enabled: true,
      leaseName: "glidepath-controller",
      leaseNamespace: "glidepath-system",
    });
    // Without a token Secret the webhook is not configured (and not served).
    expect(config.hooks.alertmanager).toBeUndefined();
  });

  it("selects the Pods from the Service (the http and admission ports) and the PodDisruptionBudget", () => {
    const podLabels = deployment.spec.template.metadata.labels;
    const service = findObject(objects, "Service") as KubeObject & {
      spec: { selector: Record<string, string>; ports: unknown[] };
    };
    const pdb = findObject(objects, "PodDisruptionBudget") as KubeObject & {
      spec: { minAvailable: number; selector: { matchLabels: Record<string, string> } };
    };
    expect(podLabels).toMatchObject(service.spec.selector);
    expect(podLabels).toMatchObject(pdb.spec.selector.matchLabels);
    expect(service.spec.ports).toEqual([
      { name: "http", port: 8080, targetPort: "http", protocol: "TCP" },
      { name: "admission", port: 443, targetPort: "admission", protocol: "TCP" },
    ]);
    expect(pdb.spec.minAvailable).toBe(1);
  });

  it("admits only Alertmanager and Prometheus Pods to the controller's http port, and anyone to the admission port", () => {
    const podLabels = deployment.spec.template.metadata.labels;
    const policy = findObject(objects, "NetworkPolicy") as KubeObject & {
      spec: {
        podSelector: { matchLabels: Record<string, string> };
        policyTypes: string[];
        ingress: { ports: unknown[]; from: unknown[] }[];
      };
    };
    expect(podLabels).toMatchObject(policy.spec.podSelector.matchLabels);
    expect(policy.spec.policyTypes).toEqual(["Ingress"]);
    expect(policy.spec.ingress).toEqual([
      {
        ports: [{ port: "http", protocol: "TCP" }],
        from: [
          {
            namespaceSelector: {},
            podSelector: { matchLabels: { "app.kubernetes.io/name": "alertmanager" } },
          },
          { namespaceSelector: {}, podSelector: { matchLabels: { "app.kubernetes.io/name": "prometheus" } } },
        ],
      },
      // The API server reaches the webhook from an address no podSelector names.
      { ports: [{ port: "admission", protocol: "TCP" }] },
    ]);
  });
});

describe("helm template with options", () => {
  it("mounts hooksToken.existingSecret where the configuration reads the webhook's token", async () => {
    const objects = await render([
      "--set",
      "hooksToken.existingSecret=alertmanager-token,hooksToken.key=bearer",
    ]);
    const deployment = findObject(objects, "Deployment");
    const token = configOf(objects).config.hooks.alertmanager?.token;
    if (!token || !("file" in token))
      throw new Error(`no token file in the configuration: ${JSON.stringify(token)}`);
    expect(volumeSourceOf(deployment, token.file)).toMatchObject({
      volume: { secret: { secretName: "alertmanager-token", defaultMode: 0o440 } },
      key: "bearer",
    });
  });

  it("adds a ServiceMonitor for the Service's http port when serviceMonitor.enabled", async () => {
    const objects = await render(["--set", "serviceMonitor.enabled=true,serviceMonitor.labels.release=prom"]);
    const monitor = findObject(objects, "ServiceMonitor") as KubeObject & {
      spec: {
        selector: { matchLabels: Record<string, string> };
        endpoints: { port: string; path: string }[];
      };
    };
    const service = findObject(objects, "Service");
    expect(monitor.apiVersion).toBe("monitoring.coreos.com/v1");
    expect(monitor.metadata.labels).toMatchObject({ release: "prom" });
    expect(service.metadata.labels).toMatchObject(monitor.spec.selector.matchLabels);
    expect(monitor.spec.endpoints).toMatchObject([{ port: "http", path: "/metrics" }]);
  });

  it("ships the Grafana dashboard for the sidecar when grafanaDashboard.enabled", async () => {
    const objects = await render(["--set", "grafanaDashboard.enabled=true"]);
    const configMap = findObject(objects, "ConfigMap", "glidepath-dashboard") as ConfigMapObject;
    expect(configMap.metadata.labels).toMatchObject({ grafana_dashboard: "1" });
    expect(JSON.parse(configMap.data["glidepath.json"] ?? "")).toEqual(
      JSON.parse(readRepoFile("helm/glidepath/dashboards/glidepath.json")),
    );
  });

  it("replaces the stage plans with `strategy` and keeps the user's configuration beside the chart's keys", async () => {
    // The repository's plans with a shorter standard plan, as a cluster might want.
    const strategy = JSON.parse(readRepoFile("rollout/rollout-strategy.json")) as {
      presets: { standard: { stages: unknown[] } };
    };
    strategy.presets.standard.stages = [
      { name: "canary", weight: 5, hold: "5m", minMeasurements: 3 },
      { name: "ga", weight: 100, hold: "0s" },
    ];
    const valuesFile = join(stackInfo().runDir, "helm-values-strategy.yaml");
    writeFileSync(
      valuesFile,
      stringify({
        strategy,
        config: { namespaces: ["shop"], workers: 8, leaderElection: { leaseName: "ignored" } },
      }),
    );
    const objects = await render(["--values", valuesFile], { name: "gp", namespace: "delivery" });
    const { configMap, config } = configOf(objects, "gp-glidepath-controller");
    expect(JSON.parse(configMap.data["rollout-strategy.json"] ?? "")).toEqual(strategy);
    const parsed = parseStrategyFile(configMap.data["rollout-strategy.json"] ?? "");
    expect(parsed.presets.standard?.stages.map((s) => s.weight)).toEqual([5, 100]);
    expect(config).toMatchObject({ namespaces: ["shop"], workers: 8 });
    // The Lease must be the one the Role allows, in the release's namespace.
    expect(config.leaderElection).toMatchObject({
      leaseName: "gp-glidepath-controller",
      leaseNamespace: "delivery",
    });
    expect(findObject(objects, "Role", "gp-glidepath-leader-election").metadata.namespace).toBe("delivery");
  });

  it("admission.certificate.mode=certManager: a Certificate for <service>.<namespace>.svc, its Secret mounted, caBundle injected by cert-manager, no certificate rights for the controller", async () => {
    const objects = await render(["--set", "admission.certificate.mode=certManager"]);
    const configuration = findObject(objects, "MutatingWebhookConfiguration") as WebhookConfigurationObject;
    expect(configuration.metadata.annotations).toEqual({
      "cert-manager.io/inject-ca-from": "glidepath-system/glidepath-webhook",
    });
    const certificate = findObject(objects, "Certificate", "glidepath-webhook") as KubeObject & {
      spec: {
        secretName: string;
        dnsNames: string[];
        issuerRef: unknown;
        duration: string;
        renewBefore: string;
      };
    };
    expect(certificate.apiVersion).toBe("cert-manager.io/v1");
    expect(certificate.spec).toMatchObject({
      secretName: "glidepath-webhook-tls",
      dnsNames: ["glidepath-controller.glidepath-system.svc"],
      duration: "2160h",
      renewBefore: "720h",
      issuerRef: { kind: "Issuer", name: "glidepath-webhook-selfsigned" },
    });
    expect(findObject(objects, "Issuer", "glidepath-webhook-selfsigned")).toMatchObject({
      spec: { selfSigned: {} },
    });
    const { config } = configOf(objects);
    const webhook = config.trust.webhook;
    expect(webhook?.selfManagedCertificate).toBeUndefined();
    const deployment = findObject(objects, "Deployment");
    expect(volumeSourceOf(deployment, webhook?.certFile ?? "")).toMatchObject({
      volume: { secret: { secretName: "glidepath-webhook-tls" } },
      key: "tls.crt",
    });
    expect(volumeSourceOf(deployment, webhook?.keyFile ?? "")).toMatchObject({
      volume: { secret: { secretName: "glidepath-webhook-tls" } },
      key: "tls.key",
    });
    // cert-manager writes the Secret and the caBundle: the controller needs neither right. It
    // still reads the configuration (named in its config) and Namespaces: stamps count only where it covers.
    expect(objects.filter((o) => o.metadata.name === "glidepath-webhook-certificate")).toEqual([]);
    expect(webhook?.configurationName).toBe(configuration.metadata.name);
    expect(rulesOf(objects, "ClusterRole", "glidepath-controller-webhook")).toEqual([
      { apiGroups: ["authorization.k8s.io"], resources: ["subjectaccessreviews"], verbs: ["create"] },
      {
        apiGroups: ["admissionregistration.k8s.io"],
        resources: ["mutatingwebhookconfigurations"],
        resourceNames: [configuration.metadata.name],
        verbs: ["get"],
      },
      { apiGroups: [""], resources: ["namespaces"], verbs: ["get"] },
    ]);

    const ownIssuer = await render([
      "--set",
      "admission.certificate.mode=certManager,admission.certificate.certManager.issuerRef.kind=ClusterIssuer,admission.certificate.certManager.issuerRef.name=corp-ca",
    ]);
    expect(ownIssuer.filter((o) => o.kind === "Issuer")).toEqual([]);
    expect(
      (findObject(ownIssuer, "Certificate") as KubeObject & { spec: { issuerRef: unknown } }).spec.issuerRef,
    ).toEqual({
      kind: "ClusterIssuer",
      name: "corp-ca",
    });
  });

  it("admission.enabled=false: no webhook configuration, port or webhook rights; the stamp key is still mounted", async () => {
    const objects = await render(["--set", "admission.enabled=false"]);
    const kinds = objects.map((o) => `${o.kind}/${o.metadata.name}`);
    expect(kinds).not.toContain("MutatingWebhookConfiguration/glidepath-controller");
    expect(kinds).not.toContain("ClusterRole/glidepath-controller-webhook");
    expect(kinds).not.toContain("Role/glidepath-webhook-certificate");
    const { config } = configOf(objects);
    expect(config.trust.webhook).toBeUndefined();
    expect(config.trust.stampKey).toEqual({ file: "/etc/glidepath/stamp-key/key" });
    const service = findObject(objects, "Service") as KubeObject & { spec: { ports: { name: string }[] } };
    expect(service.spec.ports.map((port) => port.name)).toEqual(["http"]);
  });

  it("config.namespaces: a Role and RoleBinding in each watched namespace instead of the ClusterRole, the webhook limited to them", async () => {
    const cluster = await render();
    const objects = await render(["--set", "config.namespaces={shop,payments}"]);
    const names = objects.map((o) => `${o.kind}/${o.metadata.namespace ?? ""}/${o.metadata.name}`);
    expect(names).not.toContain("ClusterRole//glidepath-controller");
    expect(names).not.toContain("ClusterRoleBinding//glidepath-controller");
    for (const namespace of ["shop", "payments"]) {
      // The same rules as the cluster install's ClusterRole, in that namespace only.
      expect(rulesOf(objects, "Role", "glidepath-controller", namespace)).toEqual(
        rulesOf(cluster, "ClusterRole", "glidepath-controller"),
      );
      const binding = objects.find(
        (o) => o.kind === "RoleBinding" && o.metadata.namespace === namespace,
      ) as KubeObject & { roleRef: unknown; subjects: unknown };
      expect(binding.roleRef).toEqual({
        apiGroup: "rbac.authorization.k8s.io",
        kind: "Role",
        name: "glidepath-controller",
      });
      expect(binding.subjects).toEqual([
        { kind: "ServiceAccount", name: "glidepath-controller", namespace: "glidepath-system" },
      ]);
    }
    // What stays cluster-wide: SubjectAccessReviews, the webhook's own configuration and the
    // watched Namespaces, by name.
    expect(
      objects
        .filter((o) => o.kind === "ClusterRole" && !o.metadata.name.match(/^glidepath-(view|edit|approve)$/))
        .map((o) => o.metadata.name),
    ).toEqual(["glidepath-controller-webhook"]);
    expect(rulesOf(objects, "ClusterRole", "glidepath-controller-webhook")).toEqual([
      { apiGroups: ["authorization.k8s.io"], resources: ["subjectaccessreviews"], verbs: ["create"] },
      {
        apiGroups: ["admissionregistration.k8s.io"],
        resources: ["mutatingwebhookconfigurations"],
        resourceNames: ["glidepath-controller"],
        verbs: ["get"],
      },
      {
        apiGroups: ["admissionregistration.k8s.io"],
        resources: ["mutatingwebhookconfigurations"],
        resourceNames: ["glidepath-controller"],
        verbs: ["update"],
      },
      { apiGroups: [""], resources: ["namespaces"], resourceNames: ["shop", "payments"], verbs: ["get"] },
    ]);
    const configuration = findObject(objects, "MutatingWebhookConfiguration") as WebhookConfigurationObject;
    expect(configuration.webhooks[0]?.namespaceSelector).toEqual({
      matchExpressions: [
        { key: "kubernetes.io/metadata.name", operator: "In", values: ["shop", "payments"] },
      ],
    });
    expect(configOf(objects).config.namespaces).toEqual(["shop", "payments"]);
    // With the webhook off too, the controller holds no cluster-wide right at all.
    const noWebhook = await render(["--set", "config.namespaces={shop},admission.enabled=false"]);
    expect(
      noWebhook.filter(
        (o) => o.kind.startsWith("Cluster") && !o.metadata.name.match(/^glidepath-(view|edit|approve)$/),
      ),
    ).toEqual([]);
  });

  it("names the Lease, the Secret and the webhook configuration in the rules after the release", async () => {
    const objects = await render([], { name: "gp", namespace: "delivery" });
    expect(rulesOf(objects, "Role", "gp-glidepath-leader-election")[0]?.resourceNames).toEqual([
      configOf(objects, "gp-glidepath-controller").config.leaderElection.leaseName,
    ]);
    const managed = configOf(objects, "gp-glidepath-controller").config.trust.webhook?.selfManagedCertificate;
    expect(rulesOf(objects, "Role", "gp-glidepath-webhook-certificate")[0]?.resourceNames).toEqual([
      managed?.secret.name,
    ]);
    expect(rulesOf(objects, "ClusterRole", "gp-glidepath-controller-webhook")[1]?.resourceNames).toEqual([
      managed?.mutatingWebhookConfiguration,
    ]);
    expect(findObject(objects, "MutatingWebhookConfiguration").metadata.name).toBe(
      managed?.mutatingWebhookConfiguration,
    );
  });

  it("serves the hook over HTTPS from hookTls and /metrics, the probes and the ServiceMonitor on metricsPort", async () => {
    const objects = await render([
      "--set",
      "hookTls.existingSecret=hook-tls,metricsPort=9090,serviceMonitor.enabled=true",
    ]);
    const { config } = configOf(objects);
    expect(config.metricsPort).toBe(9090);
    const tls = config.tls;
    if (!tls) throw new Error("no tls in the configuration");
    const deployment = findObject(objects, "Deployment") as DeploymentObject;
    for (const file of [tls.certFile, tls.keyFile])
      expect(volumeSourceOf(deployment, file)).toMatchObject({
        volume: { secret: { secretName: "hook-tls" } },
      });
    const container = controllerContainer(deployment);
    expect(container.ports).toContainEqual({ name: "metrics", containerPort: 9090, protocol: "TCP" });
    expect(container.livenessProbe?.httpGet).toEqual({ path: "/healthz", port: "metrics" });
    expect(container.readinessProbe?.httpGet).toEqual({ path: "/readyz", port: "metrics" });
    const service = findObject(objects, "Service") as KubeObject & { spec: { ports: unknown[] } };
    expect(service.spec.ports).toContainEqual({
      name: "metrics",
      port: 9090,
      targetPort: "metrics",
      protocol: "TCP",
    });
    const monitor = findObject(objects, "ServiceMonitor") as KubeObject & {
      spec: { endpoints: { port: string }[] };
    };
    expect(monitor.spec.endpoints.map((endpoint) => endpoint.port)).toEqual(["metrics"]);
    await expect(render(["--set", "hookTls.existingSecret=hook-tls"])).rejects.toThrow(
      /hookTls\.existingSecret makes the hook's port HTTPS: set metricsPort too/,
    );
  });

  it("refuses a NetworkPolicy with no senders, which would admit everyone, and drops it when disabled", async () => {
    await expect(render(["--set-json", "networkPolicy.from=[]"])).rejects.toThrow(
      /networkPolicy\.from is empty, which a NetworkPolicy reads as "from anywhere"/,
    );
    const objects = await render(["--set", "networkPolicy.enabled=false"]);
    expect(objects.filter((o) => o.kind === "NetworkPolicy")).toEqual([]);
  });

  it("drops the PodDisruptionBudget for a single replica, so it never blocks a node drain", async () => {
    const objects = await render(["--set", "replicaCount=1"]);
    expect(objects.filter((o) => o.kind === "PodDisruptionBudget")).toEqual([]);
  });

  it("equals manifests/install (as kubectl kustomize builds it) for release glidepath with the Secrets glidepath-hooks and glidepath-stamp-key", async () => {
    const normalise = (object: KubeObject): KubeObject => {
      const copy = withoutMetadataDecorations(object) as KubeObject & { data?: Record<string, unknown> };
      if (copy.kind === "ConfigMap" && copy.data) {
        copy.data["config.yaml"] = parseYaml(String(copy.data["config.yaml"]));
      }
      return copy;
    };
    const chart = await render([
      "--include-crds",
      "--set",
      "hooksToken.existingSecret=glidepath-hooks,admission.stampKey.existingSecret=glidepath-stamp-key",
    ]);
    const { stdout } = await kubectl(["kustomize", join(repoRoot, "manifests", "install")]);
    const plain = parseObjects(stdout, "kubectl kustomize manifests/install");
    // The chart leaves the namespace to `helm install --create-namespace` (or to you).
    expect(plain.filter((o) => o.kind === "Namespace").map((o) => o.metadata.name)).toEqual([
      "glidepath-system",
    ]);
    const key = (o: KubeObject) => `${o.kind}/${o.metadata.name}`;
    const plainByKey = new Map(plain.filter((o) => o.kind !== "Namespace").map((o) => [key(o), o]));
    expect(chart.map(key).sort()).toEqual([...plainByKey.keys()].sort());
    for (const object of chart) {
      expect(normalise(object), key(object)).toEqual(normalise(plainByKey.get(key(object)) as KubeObject));
    }
  });
});

// ---- helm install: the chart's objects in a real API server, and a controller run with them ----

interface PodFiles {
  /** Where the Pod's mounted files are written on this machine. */
  root: string;
  /** A path as the container sees it → the same file here. */
  local(path: string): string;
  mountPaths: string[];
}

/**
 * Writes what the kubelet would mount into the controller's container — its ConfigMap and
 * Secret volumes, read back from the API server — under `root`.
 */
async function materialisePodFiles(
  deployment: DeploymentObject,
  namespace: string,
  root: string,
): Promise<PodFiles> {
  const { core } = kubeClients();
  const pod = deployment.spec.template.spec;
  const mounts = controllerContainer(deployment).volumeMounts ?? [];
  for (const mount of mounts) {
    const volume = pod.volumes?.find((v) => v.name === mount.name);
    let files: Record<string, string> = {};
    let items: { key: string; path: string }[] | undefined;
    if (volume?.configMap) {
      const configMap = await core.readNamespacedConfigMap({ name: volume.configMap.name, namespace });
      files = configMap.data ?? {};
      items = volume.configMap.items;
    } else if (volume?.secret) {
      const secret = await core.readNamespacedSecret({ name: volume.secret.secretName, namespace });
      files = Object.fromEntries(
        Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, "base64").toString("utf8")]),
      );
      items = volume.secret.items;
    }
    const selected = items ?? Object.keys(files).map((key) => ({ key, path: key }));
    mkdirSync(join(root, mount.mountPath), { recursive: true });
    for (const { key, path } of selected) {
      const content = files[key];
      if (content === undefined) throw new Error(`volume ${mount.name} has no key ${key}`);
      const target = join(root, mount.mountPath, path);
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, content);
    }
  }
  const mountPaths = mounts.map((m) => m.mountPath);
  return {
    root,
    mountPaths,
    local: (path) => (mountPaths.some((m) => path.startsWith(`${m}/`)) ? join(root, path) : path),
  };
}

/** The configuration with every path inside a mount pointed at the materialised file. */
function withLocalPaths(value: unknown, files: PodFiles): unknown {
  if (typeof value === "string") return files.local(value);
  if (Array.isArray(value)) return value.map((item) => withLocalPaths(item, files));
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withLocalPaths(v, files)]));
  }
  return value;
}

/** A dashboard query made concrete: Grafana's variables replaced as Grafana would for this job. */
function concreteQuery(expr: string, job: string): string {
  return expr
    .replaceAll("$__rate_interval", "10s")
    .replaceAll("$__range", "10m")
    .replaceAll("$job", job)
    .replaceAll("$namespace", ".*");
}

describe("helm install into the control plane", () => {
  const suffix = Math.random().toString(16).slice(2, 8);
  const namespace = `helm-${suffix}`;
  // Contains "glidepath", so objects are <release>-controller: no clash with manifests/install's.
  const releaseName = `glidepath-${suffix}`;
  const controllerName = `${releaseName}-controller`;
  const hooksToken = `token-${Math.random().toString(36).slice(2)}`;
  const scrapeJob = `glidepath-helm-${suffix}`;
  let controller: ControllerProcess | undefined;
  let scenario: ServiceScenario | undefined;

  beforeAll(async () => {
    const info = stackInfo();
    await kubectl(["create", "namespace", namespace]);
    await kubectl([
      "-n",
      namespace,
      "create",
      "secret",
      "generic",
      "glidepath-hooks",
      `--from-literal=token=${hooksToken}`,
    ]);
    // The chart's webhook fails closed and the API server cannot reach this chart's Pods (the
    // fake kubelet runs nothing): it is limited to a label no namespace carries, so the other
    // tests' Releases never depend on it. The controller run below still sets its caBundle.
    const valuesFile = join(info.runDir, `helm-values-${suffix}.yaml`);
    writeFileSync(
      valuesFile,
      stringify({
        admission: { namespaceSelector: { matchLabels: { "test.glidepath.dev/helm-webhook": suffix } } },
      }),
    );
    // --skip-crds: the CRD is installed already (by the harness, as docs/install.md says to on
    // clusters before 1.25: Helm 4 applies crds/ server-side, which 1.20 refuses for CEL rules).
    await helm([
      "install",
      releaseName,
      CHART,
      "--namespace",
      namespace,
      "--skip-crds",
      "--wait",
      "--timeout",
      "150s",
      "--values",
      valuesFile,
      "--set",
      // The people's ClusterRoles have fixed names and exist already (the harness applied
      // manifests/install/user-roles.yaml): a second install leaves them to the first.
      `config.prometheus.url=${info.prometheus.url},hooksToken.existingSecret=glidepath-hooks,rbac.userRoles=false`,
    ]);
  });

  afterAll(async () => {
    await controller?.stop();
    await scenario?.tearDown();
    prometheus().removeScrapeTargets(scrapeJob);
    await helm(["uninstall", releaseName, "--namespace", namespace, "--wait", "--timeout", "120s"], {
      allowFailure: true,
    });
    await deleteNamespace(namespace);
  });

  it("creates the Deployment (2 replicas Available), Service, PodDisruptionBudget, ConfigMap and RBAC", async () => {
    const { apps } = kubeClients();
    const deployment = await waitFor(
      async () => {
        const read = await apps.readNamespacedDeployment({ name: controllerName, namespace });
        return read.status?.availableReplicas === 2 ? read : undefined;
      },
      { timeoutMs: 60_000, description: `Deployment ${controllerName} with 2 available replicas` },
    );
    expect(deployment.spec?.template.spec?.serviceAccountName).toBe(controllerName);
    // policy/v1 where the API server has it, policy/v1beta1 on 1.20.
    const { stdout } = await kubectl([
      "-n",
      namespace,
      "get",
      "service,poddisruptionbudget,configmap,serviceaccount,role,rolebinding",
      "-o",
      "name",
    ]);
    const names = stdout.trim().split("\n").sort();
    for (const expected of [
      `service/${controllerName}`,
      `poddisruptionbudget.policy/${controllerName}`,
      `configmap/${controllerName}`,
      `serviceaccount/${controllerName}`,
      `role.rbac.authorization.k8s.io/${releaseName}-leader-election`,
      `rolebinding.rbac.authorization.k8s.io/${releaseName}-leader-election`,
    ]) {
      expect(names).toContain(expected);
    }
    await kubectl(["get", "clusterrole", controllerName]);
    await kubectl(["get", "clusterrolebinding", controllerName]);
    await kubectl(["get", "mutatingwebhookconfiguration", controllerName]);
    await kubectl(["-n", namespace, "get", "secret", `${releaseName}-stamp-key`]);
  });

  it("keeps the generated stamp key across an upgrade (a new key would unverify every stamp)", async () => {
    const { core } = kubeClients();
    const read = async () =>
      (await core.readNamespacedSecret({ name: `${releaseName}-stamp-key`, namespace })).data?.key;
    const before = await read();
    expect(Buffer.from(before ?? "", "base64").toString()).toMatch(/^[A-Za-z0-9]{64}$/);
    await helm([
      "upgrade",
      releaseName,
      CHART,
      "--namespace",
      namespace,
      "--skip-crds",
      "--reuse-values",
      "--timeout",
      "150s",
    ]);
    expect(await read()).toBe(before);
  });

  it("runs a controller with the chart's ServiceAccount, configuration and token Secret that takes a release to GA", async () => {
    const info = stackInfo();
    const { apps, core } = kubeClients();
    const deployment = (await apps.readNamespacedDeployment({
      name: controllerName,
      namespace,
    })) as unknown as DeploymentObject;
    const container = controllerContainer(deployment);
    expect(container.command).toEqual(dockerEntrypoint());

    // What one of the chart's Pods would see: its name (POD_NAME), its mounted files, its token.
    const pods = await core.listNamespacedPod({
      namespace,
      labelSelector: Object.entries(deployment.spec.selector.matchLabels)
        .map(([k, v]) => `${k}=${v}`)
        .join(","),
    });
    const podName = pods.items[0]?.metadata?.name;
    if (!podName) throw new Error(`no Pod of ${controllerName}`);
    const files = await materialisePodFiles(
      deployment,
      namespace,
      join(info.runDir, `helm-${suffix}`, "pod"),
    );
    const configPath = container.args?.[container.args.indexOf("--config") + 1] ?? "";
    const podConfig = parseYaml(readFileSync(files.local(configPath), "utf8")) as Record<string, unknown>;
    // The harness picks a free port on 127.0.0.1 (the Pod's own port is the chart's 8080);
    // the webhook takes any free port (the Pod's is 9443).
    const { port: _port, ...config } = withLocalPaths(podConfig, files) as Record<string, unknown> & {
      trust: { webhook: { port: number } };
    };
    config.trust.webhook.port = 0;
    const { path: kubeconfigPath } = await createServiceAccountKubeconfig(info.kubeconfigPath, {
      namespace,
      name: deployment.spec.template.spec.serviceAccountName ?? "",
      create: false,
      path: join(files.root, "..", "serviceaccount.kubeconfig"),
    });
    controller = await startControllerProcess({
      supervisor: new ProcessSupervisor(info.runDir),
      kubeconfigPath,
      prometheusUrl: info.prometheus.url,
      identity: podName,
      config,
      runDir: files.root,
    });

    // It leads on the chart's Lease, which the chart's Role lets it take.
    const coordination = kubeConfig().makeApiClient(CoordinationV1Api);
    await waitFor(
      async () =>
        (await coordination.readNamespacedLease({ name: controllerName, namespace })).spec?.holderIdentity ===
        podName,
      { timeoutMs: 30_000, description: `Lease ${namespace}/${controllerName} held by ${podName}` },
    );

    // Mode self, with the chart's RBAC: the controller made its CA and serving certificate,
    // kept them in the chart's Secret and wrote the CA into the chart's webhook configuration.
    const tls = await waitFor(
      async () => {
        try {
          return await core.readNamespacedSecret({ name: `${releaseName}-webhook-tls`, namespace });
        } catch {
          return undefined;
        }
      },
      { timeoutMs: 30_000, description: `Secret ${namespace}/${releaseName}-webhook-tls` },
    );
    const stored = (key: string) => Buffer.from(tls.data?.[key] ?? "", "base64").toString("utf8");
    const serving = new X509Certificate(stored("tls.crt"));
    expect(serving.checkHost(`${controllerName}.${namespace}.svc`)).toBe(
      `${controllerName}.${namespace}.svc`,
    );
    expect(serving.checkIssued(new X509Certificate(stored("ca.crt")))).toBe(true);
    const registration = kubeConfig().makeApiClient(AdmissionregistrationV1Api);
    const configuration = await registration.readMutatingWebhookConfiguration({ name: controllerName });
    expect(configuration.webhooks?.map((webhook) => webhook.clientConfig.caBundle)).toEqual([
      Buffer.from(stored("ca-bundle.crt")).toString("base64"),
    ]);

    // The webhook reads the token from the chart's Secret.
    const hook = (token: string) =>
      fetch(`${controller?.url}/hooks/alertmanager`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({ version: "4", status: "resolved", receiver: "glidepath", alerts: [] }),
      });
    expect((await hook("not-the-token")).status).toBe(401);
    expect((await hook(hooksToken)).status).toBe(200);

    prometheus().setScrapeTargets(scrapeJob, [new URL(controller.url).host]);
    scenario = await givenService("helm");
    const routeBefore = await scenario.routeFields();
    // committedAt from "CI": the release's lead time is one of the DORA figures exported.
    await scenario.release("checkout-2-0-0", "2.0.0", {
      changeRequest: { committedAt: new Date(Date.now() - 3_600_000).toISOString() },
    });
    const release = await scenario.waitForPhase("checkout-2-0-0", ["Succeeded", "RolledBack", "Failed"], {
      timeoutMs: 150_000,
    });
    expect(release.status?.phase, release.status?.message).toBe("Succeeded");
    expect(release.status?.stages.map((s) => [s.name, s.outcome])).toEqual([
      ["canary", "passed"],
      ["early-adopter", "passed"],
      ["expansion", "passed"],
      ["ga", "passed"],
      ["bake", "passed"],
    ]);
    expect((await scenario.routeWeights())["checkout-canary"] ?? 0).toBe(0);
    // All traffic on stable: the route field by field as before the release.
    await expectRouteAsBefore(scenario, routeBefore);
  });

  it("answers every query of the Grafana dashboard from the metrics that controller exported", async () => {
    if (!controller) throw new Error("the controller did not start (see the previous test)");
    const job = `job="${scrapeJob}"`;
    await prometheus().waitForQuery(`glidepath_releases{${job}, phase="Succeeded"} >= 1`, () => true, {
      timeoutMs: 30_000,
    });
    const dashboard = JSON.parse(readRepoFile("helm/glidepath/dashboards/glidepath.json")) as {
      panels: { title: string; targets?: { expr: string }[] }[];
    };
    for (const panel of dashboard.panels) {
      for (const target of panel.targets ?? []) {
        // Throws on a query Prometheus refuses.
        await prometheus().query(concreteQuery(target.expr, scrapeJob));
      }
    }
    // The DORA panels have the release's record to show: one deployment, no failure, its
    // lead time. (Time to restore needs a rollback: none here, so its panel rightly has no
    // series; records.test.ts checks that figure on /metrics.)
    const ns = `namespace="${scenario?.namespace ?? ""}"`;
    const dora = async (figure: string) => {
      const [sample] = await prometheus().waitForQuery(
        `glidepath_dora{${job}, ${ns}, target="checkout", figure="${figure}"}`,
        (result) => result.length === 1,
        { timeoutMs: 60_000 },
      );
      return Number(sample?.value[1]);
    };
    expect(await dora("deployments")).toBe(1);
    expect(await dora("change_failure_ratio")).toBe(0);
    expect(await dora("lead_time_seconds")).toBeGreaterThanOrEqual(3600);
    const doraPanels = dashboard.panels.filter((panel) =>
      /glidepath_dora/.test(panel.targets?.[0]?.expr ?? ""),
    );
    expect(doraPanels.length).toBeGreaterThanOrEqual(4);
    for (const panel of doraPanels.filter((p) => !/Time to restore/.test(p.title))) {
      const answered = await prometheus().query(concreteQuery(panel.targets?.[0]?.expr ?? "", scrapeJob));
      expect(answered.length, panel.title).toBeGreaterThanOrEqual(1);
    }
    const highest = await prometheus().query(`max_over_time(glidepath_canary_weight_percent{${job}}[10m])`);
    expect(Number(highest[0]?.value[1])).toBeGreaterThanOrEqual(50);
    const passes = await prometheus().query(`sum(glidepath_measurements_total{${job}, verdict="pass"})`);
    expect(Number(passes[0]?.value[1])).toBeGreaterThan(0);
  });
});

// ---- namespaced install: the chart's RBAC in the real API server, asked with SubjectAccessReviews ----

describe("the namespaced install's RBAC (config.namespaces) in the control plane", () => {
  const suffix = Math.random().toString(16).slice(2, 8);
  const home = `gp-home-${suffix}`;
  let watched = "";
  let scenario: ServiceScenario | undefined;
  let controller: ControllerProcess | undefined;
  let rendered: KubeObject[] = [];
  const unwatched = `gp-unwatched-${suffix}`;
  const releaseName = `glidepath-ns-${suffix}`;
  const controllerName = `${releaseName}-controller`;
  const user = `system:serviceaccount:${home}:${controllerName}`;
  let applied: KubeObject[] = [];

  beforeAll(async () => {
    // The watched namespace is the scenario's (its Deployment, route and traffic).
    scenario = await givenService("gp-watched");
    watched = scenario.namespace;
    for (const namespace of [home, unwatched]) await kubectl(["create", "namespace", namespace]);
    const objects = await render(["--set", `config.namespaces={${watched}},rbac.userRoles=false`], {
      name: releaseName,
      namespace: home,
    });
    applied = objects.filter((o) =>
      ["ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"].includes(o.kind),
    );
    await kubectl(["apply", "-f", "-"], { input: applied.map((o) => stringify(o)).join("---\n") });
    rendered = objects;
  });

  afterAll(async () => {
    await controller?.stop();
    await scenario?.tearDown();
    for (const object of applied.filter((o) => o.kind.startsWith("Cluster")))
      await kubectl(["delete", object.kind.toLowerCase(), object.metadata.name, "--ignore-not-found"], {
        allowFailure: true,
      });
    for (const namespace of [home, unwatched]) await deleteNamespace(namespace);
  });

  /** RBAC's answer for the controller's ServiceAccount (its groups as the API server gives them). */
  async function may(
    verb: string,
    resource: string,
    options: { group?: string; namespace?: string; name?: string; subresource?: string } = {},
  ): Promise<boolean> {
    const authorization = kubeConfig().makeApiClient(AuthorizationV1Api);
    const review = await authorization.createSubjectAccessReview({
      body: {
        apiVersion: "authorization.k8s.io/v1",
        kind: "SubjectAccessReview",
        spec: {
          user,
          groups: ["system:serviceaccounts", `system:serviceaccounts:${home}`, "system:authenticated"],
          resourceAttributes: { verb, resource, group: options.group ?? "", ...options },
        },
      },
    });
    return review.status?.allowed === true;
  }

  /** Everything the controller's code does in a namespace it watches (the rules of files/rbac.yaml). */
  const needs: [string, string, { group?: string; subresource?: string }][] = [
    ["list", "releases", { group: "glidepath.dev" }],
    ["watch", "releases", { group: "glidepath.dev" }],
    ["patch", "releases", { group: "glidepath.dev" }],
    ["update", "releases", { group: "glidepath.dev", subresource: "status" }],
    ["watch", "deployments", { group: "apps" }],
    ["create", "deployments", { group: "apps" }],
    ["update", "deployments", { group: "apps" }],
    ["delete", "deployments", { group: "apps" }],
    ["list", "statefulsets", { group: "apps" }],
    ["watch", "statefulsets", { group: "apps" }],
    ["update", "statefulsets", { group: "apps" }],
    ["list", "replicasets", { group: "apps" }],
    ["watch", "replicasets", { group: "apps" }],
    ["list", "pods", {}],
    ["watch", "pods", {}],
    ["create", "services", {}],
    ["delete", "services", {}],
    ["get", "endpoints", {}],
    ["list", "endpoints", {}],
    ["watch", "endpoints", {}],
    ["list", "horizontalpodautoscalers", { group: "autoscaling" }],
    ["watch", "horizontalpodautoscalers", { group: "autoscaling" }],
    ["create", "horizontalpodautoscalers", { group: "autoscaling" }],
    ["patch", "horizontalpodautoscalers", { group: "autoscaling" }],
    ["delete", "horizontalpodautoscalers", { group: "autoscaling" }],
    ["create", "events", {}],
    ["watch", "httproutes", { group: "gateway.networking.k8s.io" }],
    ["patch", "httproutes", { group: "gateway.networking.k8s.io" }],
    ["update", "ingresses", { group: "networking.k8s.io" }],
  ];

  it("lets the controller do all it needs in the watched namespace, and none of it in another or across all namespaces", async () => {
    const answers = await Promise.all(
      needs.map(async ([verb, resource, options]) => {
        const label = `${verb} ${resource}${options.subresource ? `/${options.subresource}` : ""}`;
        return {
          label,
          watched: await may(verb, resource, { ...options, namespace: watched }),
          unwatched: await may(verb, resource, { ...options, namespace: unwatched }),
          // No namespace: a list or watch across the cluster.
          cluster: await may(verb, resource, options),
        };
      }),
    );
    expect(answers).toEqual(
      needs.map((_, index) => ({
        label: answers[index]?.label,
        watched: true,
        unwatched: false,
        cluster: false,
      })),
    );
  });

  it("keeps only SubjectAccessReviews and its own webhook configuration cluster-wide, its own Lease and certificate Secret at home", async () => {
    expect(await may("create", "subjectaccessreviews", { group: "authorization.k8s.io" })).toBe(true);
    const registration = { group: "admissionregistration.k8s.io" };
    expect(
      await may("update", "mutatingwebhookconfigurations", { ...registration, name: controllerName }),
    ).toBe(true);
    expect(
      await may("update", "mutatingwebhookconfigurations", { ...registration, name: "someone-elses" }),
    ).toBe(false);
    expect(await may("list", "mutatingwebhookconfigurations", registration)).toBe(false);
    // The watched Namespace's labels (does the webhook cover it?), and no other's.
    expect(await may("get", "namespaces", { name: watched })).toBe(true);
    expect(await may("get", "namespaces", { name: unwatched })).toBe(false);
    expect(await may("list", "namespaces")).toBe(false);

    const leases = { group: "coordination.k8s.io", namespace: home };
    expect(await may("update", "leases", { ...leases, name: controllerName })).toBe(true);
    expect(await may("get", "leases", { ...leases, name: "another-controllers-lease" })).toBe(false);
    expect(await may("update", "leases", { ...leases, name: "another-controllers-lease" })).toBe(false);
    // RBAC cannot limit create by name: the controller may create a Lease in its own namespace.
    expect(await may("create", "leases", leases)).toBe(true);
    expect(await may("create", "leases", { ...leases, namespace: watched })).toBe(false);

    expect(await may("get", "secrets", { namespace: home, name: `${releaseName}-webhook-tls` })).toBe(true);
    expect(await may("get", "secrets", { namespace: home, name: `${releaseName}-stamp-key` })).toBe(false);
    expect(await may("list", "secrets", { namespace: home })).toBe(false);
    expect(await may("get", "secrets", { namespace: watched, name: "anything" })).toBe(false);
  });

  it("runs a controller with only those rights that watches the watched namespace alone and takes a release there to GA", async () => {
    const info = stackInfo();
    const { path: kubeconfigPath } = await createServiceAccountKubeconfig(info.kubeconfigPath, {
      namespace: home,
      name: controllerName,
      create: false,
      path: join(info.runDir, `${releaseName}.kubeconfig`),
    });
    const { config } = configOf(rendered, controllerName);
    expect(config.namespaces).toEqual([watched]);
    controller = await startControllerProcess({
      supervisor: new ProcessSupervisor(info.runDir),
      kubeconfigPath,
      prometheusUrl: info.prometheus.url,
      identity: `${releaseName}-0`,
      // The chart's namespaces and Lease; no webhook (its configuration is not registered here).
      config: {
        namespaces: config.namespaces,
        leaderElection: {
          leaseName: config.leaderElection.leaseName,
          leaseNamespace: config.leaderElection.leaseNamespace,
          leaseDuration: "6s",
          renewDeadline: "4s",
          retryPeriod: "1s",
        },
      },
      runDir: info.runDir,
    });
    if (!scenario) throw new Error("no scenario");
    // committedAt from "CI": the release's lead time is one of the DORA figures exported.
    await scenario.release("checkout-2-0-0", "2.0.0", {
      changeRequest: { committedAt: new Date(Date.now() - 3_600_000).toISOString() },
    });
    const release = await scenario.waitForPhase("checkout-2-0-0", ["Succeeded", "RolledBack", "Failed"], {
      timeoutMs: 150_000,
    });
    expect(release.status?.phase, release.status?.message).toBe("Succeeded");
    // Had it listed or watched anything across the cluster, RBAC would have refused it.
    const forbidden = controller.process
      .logTail(200_000)
      .split("\n")
      .filter((line) => line.includes("forbidden") || line.includes('"code":403'));
    expect(forbidden).toEqual([]);
  });
});
