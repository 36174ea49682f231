// The Helm chart (helm/glidepath) with the real helm 4 and the real control plane: lint,
// the rendered objects, and an install whose ServiceAccount, RBAC, ConfigMap and hooks
// Secret are what a controller then runs with — no image can run here (no container
// runtime; the fake kubelet only marks Pods Ready), so the controller runs as a process
// with the chart's ServiceAccount token and the files the Pod would see, and takes a
// release to GA.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { CoordinationV1Api } from "@kubernetes/client-node";
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
import { givenService, type ServiceScenario } from "./controller/scenario.ts";

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
      "ClusterRole/glidepath-edit",
      "ClusterRole/glidepath-view",
      "ClusterRoleBinding/glidepath-controller",
      "ConfigMap/glidepath-controller",
      "Deployment/glidepath-controller",
      "NetworkPolicy/glidepath-controller",
      "PodDisruptionBudget/glidepath-controller",
      "Role/glidepath-leader-election",
      "RoleBinding/glidepath-leader-election",
      "Service/glidepath-controller",
      "ServiceAccount/glidepath-controller",
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
    expect(container.ports).toEqual([{ name: "http", containerPort: 8080, protocol: "TCP" }]);
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

  it("selects the Pods from the Service (one http port) and the PodDisruptionBudget", () => {
    const podLabels = deployment.spec.template.metadata.labels;
    const service = findObject(objects, "Service") as KubeObject & {
      spec: { selector: Record<string, string>; ports: unknown[] };
    };
    const pdb = findObject(objects, "PodDisruptionBudget") as KubeObject & {
      spec: { minAvailable: number; selector: { matchLabels: Record<string, string> } };
    };
    expect(podLabels).toMatchObject(service.spec.selector);
    expect(podLabels).toMatchObject(pdb.spec.selector.matchLabels);
    expect(service.spec.ports).toEqual([{ name: "http", port: 8080, targetPort: "http", protocol: "TCP" }]);
    expect(pdb.spec.minAvailable).toBe(1);
  });

  it("admits only Alertmanager and Prometheus Pods to the controller's http port", () => {
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
    expect(findObject(objects, "Role").metadata.namespace).toBe("delivery");
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

  it("equals manifests/install (as kubectl kustomize builds it) for release glidepath with the Secret glidepath-hooks", async () => {
    const normalise = (object: KubeObject): KubeObject => {
      const copy = withoutMetadataDecorations(object) as KubeObject & { data?: Record<string, unknown> };
      if (copy.kind === "ConfigMap" && copy.data) {
        copy.data["config.yaml"] = parseYaml(String(copy.data["config.yaml"]));
      }
      return copy;
    };
    const chart = await render(["--include-crds", "--set", "hooksToken.existingSecret=glidepath-hooks"]);
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
    // The harness picks a free port on 127.0.0.1 (the Pod's own port is the chart's 8080).
    const { port: _port, ...config } = withLocalPaths(podConfig, files) as Record<string, unknown>;
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
    await scenario.release("checkout-2-0-0", "2.0.0");
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
    const weights = await scenario.routeWeights();
    expect(weights.checkout).toBe(100);
    expect(weights["checkout-canary"] ?? 0).toBe(0);
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
    const highest = await prometheus().query(`max_over_time(glidepath_canary_weight_percent{${job}}[10m])`);
    expect(Number(highest[0]?.value[1])).toBeGreaterThanOrEqual(50);
    const passes = await prometheus().query(`sum(glidepath_measurements_total{${job}, verdict="pass"})`);
    expect(Number(passes[0]?.value[1])).toBeGreaterThan(0);
  });
});
