import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { parseControllerConfig, parseStrategyFile } from "../../../src/api/index.ts";
import {
  controllerContainer,
  dockerEntrypoint,
  findObject,
  kustomizationFiles,
  kustomizationObjects,
  readRepoFile,
  repoRoot,
  volumeSourceOf,
  type DeploymentObject,
  type KubeObject,
} from "./objects.ts";

const objects = kustomizationObjects("manifests/install");
const deployment = findObject(objects, "Deployment", "glidepath-controller") as DeploymentObject;
const container = controllerContainer(deployment);
const configMap = findObject(objects, "ConfigMap", "glidepath-controller") as KubeObject & {
  data: Record<string, string>;
};
const configPath = container.args?.[container.args.indexOf("--config") + 1] ?? "";
const config = parseControllerConfig(parseYaml(configMap.data["config.yaml"] ?? ""), "config.yaml");

describe("manifests/install as kustomize assembles it", () => {
  it("lists every file in the folder, the CRDs through ../crds, and nothing else", () => {
    const listed = kustomizationFiles("manifests/install");
    const inFolder = readdirSync(join(repoRoot, "manifests/install"))
      .filter((file) => file.endsWith(".yaml") && file !== "kustomization.yaml")
      .map((file) => `manifests/install/${file}`);
    expect(listed.filter((file) => file.startsWith("manifests/install/")).sort()).toEqual(inFolder.sort());
    expect(listed).toContain("manifests/crds/glidepath.dev_releases.yaml");
    expect(listed).toContain("manifests/crds/glidepath.dev_releaserecords.yaml");
    expect(objects.map((o) => o.kind).sort()).toEqual(
      [
        // rbac.yaml: glidepath-controller and glidepath-controller-webhook
        "ClusterRole",
        "ClusterRole",
        // user-roles.yaml: glidepath-view, glidepath-edit, glidepath-approve
        "ClusterRole",
        "ClusterRole",
        "ClusterRole",
        "ClusterRoleBinding",
        "ClusterRoleBinding",
        "ConfigMap",
        // Release and ReleaseRecord
        "CustomResourceDefinition",
        "CustomResourceDefinition",
        "Deployment",
        "MutatingWebhookConfiguration",
        "Namespace",
        "NetworkPolicy",
        "PodDisruptionBudget",
        // glidepath-leader-election and glidepath-webhook-certificate
        "Role",
        "Role",
        "RoleBinding",
        "RoleBinding",
        "Service",
        "ServiceAccount",
      ].sort(),
    );
  });

  it("puts every namespaced object in glidepath-system", () => {
    const clusterScoped = [
      "Namespace",
      "CustomResourceDefinition",
      "ClusterRole",
      "ClusterRoleBinding",
      "MutatingWebhookConfiguration",
    ];
    for (const object of objects.filter((o) => !clusterScoped.includes(o.kind))) {
      expect(object.metadata.namespace, `${object.kind}/${object.metadata.name}`).toBe("glidepath-system");
    }
  });

  it("runs the image's entry point with the ConfigMap's config.yaml, under the ServiceAccount rbac.yaml binds", () => {
    expect(container.command).toEqual(dockerEntrypoint());
    expect(volumeSourceOf(deployment, configPath)).toMatchObject({
      volume: { configMap: { name: "glidepath-controller" } },
      key: "config.yaml",
    });
    const serviceAccount = findObject(objects, "ServiceAccount").metadata.name;
    expect(deployment.spec.template.spec.serviceAccountName).toBe(serviceAccount);
    for (const kind of ["ClusterRoleBinding", "RoleBinding"])
      for (const binding of objects.filter((o) => o.kind === kind) as (KubeObject & {
        subjects: { name: string; namespace: string }[];
      })[])
        expect(binding.subjects, `${kind}/${binding.metadata.name}`).toEqual([
          { kind: "ServiceAccount", name: serviceAccount, namespace: "glidepath-system" },
        ]);
  });

  it("gives the controller a configuration that parses and agrees with the Deployment and the Role", () => {
    const strategySource = volumeSourceOf(deployment, config.strategyFile);
    expect(strategySource?.volume.configMap?.name).toBe("glidepath-controller");
    expect(configMap.data[strategySource?.key ?? ""]).toBe(readRepoFile("rollout/rollout-strategy.json"));
    expect(() => parseStrategyFile(configMap.data["rollout-strategy.json"] ?? "")).not.toThrow();
    expect(container.ports).toEqual([
      { name: "http", containerPort: config.port, protocol: "TCP" },
      { name: "admission", containerPort: config.trust.webhook?.port, protocol: "TCP" },
    ]);
    expect(config.leaderElection).toMatchObject({
      enabled: true,
      leaseName: "glidepath-controller",
      leaseNamespace: "glidepath-system",
    });
    // The Role lets the controller read and renew exactly that Lease.
    const role = findObject(objects, "Role", "glidepath-leader-election") as KubeObject & {
      rules: { resourceNames?: string[]; verbs: string[] }[];
    };
    expect(role.metadata.namespace).toBe(config.leaderElection.leaseNamespace);
    expect(role.rules).toContainEqual(
      expect.objectContaining({ resourceNames: [config.leaderElection.leaseName], verbs: ["get", "update"] }),
    );
  });

  it("serves the admission webhook with a certificate it manages itself, named for the Service the webhook configuration calls", () => {
    const webhook = config.trust.webhook;
    const managed = webhook?.selfManagedCertificate;
    if (!managed) throw new Error("config.yaml has no trust.webhook.selfManagedCertificate");
    const configuration = findObject(objects, "MutatingWebhookConfiguration") as KubeObject & {
      webhooks: {
        failurePolicy: string;
        sideEffects: string;
        clientConfig: { service: { name: string; namespace: string; port: number; path: string } };
      }[];
    };
    expect(managed.mutatingWebhookConfiguration).toBe(configuration.metadata.name);
    const [hook] = configuration.webhooks;
    expect(hook).toMatchObject({ failurePolicy: "Fail", sideEffects: "None" });
    expect(hook?.clientConfig.service).toEqual({
      ...managed.service,
      path: "/admission/releases",
      port: 443,
    });
    const service = findObject(objects, "Service", managed.service?.name) as KubeObject & {
      spec: { ports: { name: string; port: number; targetPort: string }[] };
    };
    expect(service.spec.ports).toContainEqual(
      expect.objectContaining({ port: 443, targetPort: "admission" }),
    );
    // The Roles name the Secret and the webhook configuration the controller writes.
    const certificateRole = findObject(objects, "Role", "glidepath-webhook-certificate") as KubeObject & {
      rules: { resourceNames?: string[] }[];
    };
    expect(certificateRole.metadata.namespace).toBe(managed.secret.namespace);
    expect(certificateRole.rules[0]?.resourceNames).toEqual([managed.secret.name]);
    const webhookRole = findObject(objects, "ClusterRole", "glidepath-controller-webhook") as KubeObject & {
      rules: { resources: string[]; resourceNames?: string[] }[];
    };
    expect(
      webhookRole.rules.find((rule) => rule.resources.includes("mutatingwebhookconfigurations"))
        ?.resourceNames,
    ).toEqual([configuration.metadata.name]);
    const stampKey = config.trust.stampKey;
    expect(volumeSourceOf(deployment, stampKey && "file" in stampKey ? stampKey.file : "")).toMatchObject({
      volume: { secret: { secretName: "glidepath-stamp-key" } },
      key: "key",
    });
  });

  it("mounts the Secret glidepath-hooks where the configuration reads the webhook's token", () => {
    const token = config.hooks.alertmanager?.token;
    expect(token && "file" in token).toBe(true);
    const source = volumeSourceOf(deployment, token && "file" in token ? token.file : "");
    expect(source).toMatchObject({ volume: { secret: { secretName: "glidepath-hooks" } }, key: "token" });
  });

  it("runs two replicas with leader election by Pod name, probes, limits and a locked-down container", () => {
    expect(deployment.spec.replicas).toBe(2);
    expect(container.env).toContainEqual({
      name: "POD_NAME",
      valueFrom: { fieldRef: { fieldPath: "metadata.name" } },
    });
    expect(container.livenessProbe?.httpGet).toEqual({ path: "/healthz", port: "http" });
    expect(container.readinessProbe?.httpGet).toEqual({ path: "/readyz", port: "http" });
    expect(Object.keys(container.resources?.requests ?? {}).sort()).toEqual(["cpu", "memory"]);
    expect(Object.keys(container.resources?.limits ?? {}).sort()).toEqual(["cpu", "memory"]);
    expect(container.securityContext).toMatchObject({
      runAsNonRoot: true,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"] },
      seccompProfile: { type: "RuntimeDefault" },
    });
    expect(deployment.spec.template.spec.securityContext).toMatchObject({
      runAsNonRoot: true,
      seccompProfile: { type: "RuntimeDefault" },
    });
  });

  it("selects the controller's Pods from the Service and the PodDisruptionBudget", () => {
    const podLabels = deployment.spec.template.metadata.labels;
    const service = findObject(objects, "Service") as KubeObject & {
      spec: { selector: Record<string, string>; ports: { name: string; targetPort: string }[] };
    };
    const pdb = findObject(objects, "PodDisruptionBudget") as KubeObject & {
      spec: { minAvailable: number; selector: { matchLabels: Record<string, string> } };
    };
    expect(podLabels).toMatchObject(deployment.spec.selector.matchLabels);
    expect(podLabels).toMatchObject(service.spec.selector);
    expect(podLabels).toMatchObject(pdb.spec.selector.matchLabels);
    expect(service.spec.ports).toEqual([
      { name: "http", port: 8080, targetPort: "http", protocol: "TCP" },
      { name: "admission", port: 443, targetPort: "admission", protocol: "TCP" },
    ]);
    expect(pdb.spec.minAvailable).toBeLessThan(deployment.spec.replicas);
  });
});
