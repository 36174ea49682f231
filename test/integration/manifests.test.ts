// The plain install (manifests/install) and the examples (manifests/examples) with the real
// kubectl against the real API server, following docs/install.md for the server's version.
import { randomBytes } from "node:crypto";
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { kubeClients, kubectl, stackInfo, waitFor } from "../harness/context.ts";
import { parseObjects, readRepoFile, repoRoot, type KubeObject } from "../unit/install/objects.ts";

const NAMESPACE = "glidepath-system";
const INSTALL = join(repoRoot, "manifests", "install");
const EXAMPLES = join(repoRoot, "manifests", "examples");

/** The label a namespace would need for this install's webhook to see its Releases: none has it. */
const WEBHOOK_TEST_LABEL = "test.glidepath.dev/manifests-webhook";

/**
 * What docs/install.md says to apply on this server: manifests/install, with an overlay that
 * turns the PodDisruptionBudget into policy/v1beta1 on 1.20. The test adds one patch of its
 * own: the webhook fails closed and nothing here serves it (the fake kubelet runs no
 * container), so it is limited to a namespace label nobody carries, and the other tests'
 * Releases never depend on it.
 */
function installFolder(): string {
  const { minor } = stackInfo().kubernetesVersion;
  const overlay = join(stackInfo().runDir, `manifests-overlay-${minor}`);
  mkdirSync(overlay, { recursive: true });
  const webhookPatch = {
    target: { group: "admissionregistration.k8s.io", kind: "MutatingWebhookConfiguration" },
    patch: stringify([
      {
        op: "add",
        path: "/webhooks/0/namespaceSelector",
        value: { matchLabels: { [WEBHOOK_TEST_LABEL]: "never" } },
      },
    ]),
  };
  const pdbPatch = {
    target: { group: "policy", version: "v1", kind: "PodDisruptionBudget" },
    patch: stringify([{ op: "replace", path: "/apiVersion", value: "policy/v1beta1" }]),
  };
  writeFileSync(
    join(overlay, "kustomization.yaml"),
    stringify({
      resources: [relative(overlay, INSTALL)],
      patches: minor >= 21 ? [webhookPatch] : [pdbPatch, webhookPatch],
    }),
  );
  return overlay;
}

/** The flags docs/install.md gives for applying the CRD on this server. */
function applyFlags(): string[] {
  const { minor } = stackInfo().kubernetesVersion;
  return minor >= 25 ? ["--server-side"] : ["--validate=false"];
}

/** Example files holding Releases or HTTPRoutes (the folder also has Prometheus and Alertmanager configuration). */
function exampleFiles(): { file: string; objects: KubeObject[] }[] {
  return readdirSync(EXAMPLES)
    .filter((file) => file.endsWith(".yaml"))
    .map((file) => ({ file, objects: parseObjects(readRepoFile(`manifests/examples/${file}`), file) }))
    .filter(({ objects }) => objects.some((o) => o.kind === "Release" || o.kind === "HTTPRoute"));
}

describe("kubectl apply -k manifests/install", () => {
  const created: string[] = [];

  beforeAll(async () => {
    // docs/install.md: the namespace, then the webhook's token Secret, then the rest.
    await kubectl(["apply", "-f", join(INSTALL, "namespace.yaml")]);
    const secret = await kubectl(
      ["-n", NAMESPACE, "create", "secret", "generic", "glidepath-hooks", "--from-literal=token=test-token"],
      { allowFailure: true },
    );
    if (secret.code === 0) created.push("secret/glidepath-hooks");
    else expect(secret.stderr).toContain("AlreadyExists");
    const stampKey = await kubectl(
      [
        "-n",
        NAMESPACE,
        "create",
        "secret",
        "generic",
        "glidepath-stamp-key",
        `--from-literal=key=${randomBytes(32).toString("hex")}`,
      ],
      { allowFailure: true },
    );
    if (stampKey.code === 0) created.push("secret/glidepath-stamp-key");
    else expect(stampKey.stderr).toContain("AlreadyExists");
  });

  afterAll(async () => {
    // The namespace, the CRD and the RBAC stay: other test files share them (and apply the same).
    // The webhook configuration goes: a test controller that writes its caBundle makes its own.
    await kubectl(["delete", "mutatingwebhookconfiguration", "glidepath-controller", "--ignore-not-found"], {
      allowFailure: true,
    });
    await kubectl(
      [
        "-n",
        NAMESPACE,
        "delete",
        "deployment/glidepath-controller",
        "service/glidepath-controller",
        "poddisruptionbudget/glidepath-controller",
        "configmap/glidepath-controller",
        ...created,
        "--ignore-not-found",
        "--wait=false",
      ],
      { allowFailure: true },
    );
  });

  it("is refused by client-side validation before Kubernetes 1.25, for the CRD's CEL rules (docs/install.md)", async () => {
    const { minor } = stackInfo().kubernetesVersion;
    const plain = await kubectl(["apply", "--dry-run=server", "-k", installFolder()], { allowFailure: true });
    if (minor >= 25) {
      expect(plain.code, plain.stderr).toBe(0);
    } else {
      expect(plain.code).not.toBe(0);
      expect(plain.stderr).toContain('unknown field "x-kubernetes-validations"');
    }
  });

  it("installs every object with the documented flags, and the controller's Deployment becomes Available", async () => {
    const folder = installFolder();
    await kubectl(["apply", ...applyFlags(), "-k", folder]);
    const { stdout } = await kubectl(["get", "-k", folder, "-o", "name"]);
    expect(stdout.trim().split("\n").sort()).toEqual(
      [
        "clusterrole.rbac.authorization.k8s.io/glidepath-approve",
        "clusterrole.rbac.authorization.k8s.io/glidepath-controller",
        "clusterrole.rbac.authorization.k8s.io/glidepath-controller-webhook",
        "clusterrole.rbac.authorization.k8s.io/glidepath-edit",
        "clusterrole.rbac.authorization.k8s.io/glidepath-view",
        "clusterrolebinding.rbac.authorization.k8s.io/glidepath-controller",
        "clusterrolebinding.rbac.authorization.k8s.io/glidepath-controller-webhook",
        "configmap/glidepath-controller",
        "customresourcedefinition.apiextensions.k8s.io/releases.glidepath.dev",
        "customresourcedefinition.apiextensions.k8s.io/releaserecords.glidepath.dev",
        "deployment.apps/glidepath-controller",
        "mutatingwebhookconfiguration.admissionregistration.k8s.io/glidepath-controller",
        "networkpolicy.networking.k8s.io/glidepath-controller",
        "namespace/glidepath-system",
        "poddisruptionbudget.policy/glidepath-controller",
        "role.rbac.authorization.k8s.io/glidepath-leader-election",
        "role.rbac.authorization.k8s.io/glidepath-webhook-certificate",
        "rolebinding.rbac.authorization.k8s.io/glidepath-leader-election",
        "rolebinding.rbac.authorization.k8s.io/glidepath-webhook-certificate",
        "service/glidepath-controller",
        "serviceaccount/glidepath-controller",
      ].sort(),
    );
    const { apps } = kubeClients();
    const deployment = await waitFor(
      async () => {
        const read = await apps.readNamespacedDeployment({
          name: "glidepath-controller",
          namespace: NAMESPACE,
        });
        return read.status?.availableReplicas === 2 ? read : undefined;
      },
      { timeoutMs: 60_000, description: "Deployment glidepath-controller with 2 available replicas" },
    );
    // The Pods mount the ConfigMap and the Secret; the ConfigMap holds the strategy file.
    const { core } = kubeClients();
    const configMap = await core.readNamespacedConfigMap({
      name: "glidepath-controller",
      namespace: NAMESPACE,
    });
    expect(configMap.data?.["rollout-strategy.json"]).toBe(readRepoFile("rollout/rollout-strategy.json"));
    expect(deployment.spec?.template.spec?.volumes?.map((v) => v.name).sort()).toEqual([
      "config",
      "hooks-token",
      "stamp-key",
      "tmp",
    ]);
  });

  it("can be applied again without changing anything but, before 1.25, the CRD", async () => {
    const { stdout } = await kubectl(["apply", ...applyFlags(), "-k", installFolder()]);
    // Before 1.25 the API server drops x-kubernetes-validations, so kubectl always finds the
    // CRD different from what it last applied and patches it again (a no-op on the server).
    const crdChurns = stackInfo().kubernetesVersion.minor < 25;
    for (const line of stdout.trim().split("\n")) {
      if (crdChurns && line.startsWith("customresourcedefinition")) continue;
      expect(line).toMatch(/ (unchanged|serverside-applied)$/);
    }
  });
});

describe("manifests/examples", () => {
  let createdShop = false;

  beforeAll(async () => {
    const shop = await kubectl(["create", "namespace", "shop"], { allowFailure: true });
    createdShop = shop.code === 0;
  });

  afterAll(async () => {
    if (createdShop) await kubectl(["delete", "namespace", "shop", "--wait=false"], { allowFailure: true });
  });

  it("holds a Release of each change type and an HTTPRoute", () => {
    const kinds = exampleFiles().flatMap(({ objects }) => objects.map((o) => o.kind));
    expect(kinds.filter((k) => k === "Release")).toHaveLength(3);
    expect(kinds).toContain("HTTPRoute");
  });

  it.each(exampleFiles().map(({ file }) => file))(
    "kubectl apply --dry-run=server accepts %s",
    async (file) => {
      const { stdout } = await kubectl(["apply", "--dry-run=server", "-f", join(EXAMPLES, file)]);
      expect(stdout).toMatch(/\(server dry run\)/);
    },
  );

  it("and the same dry run refuses a Release the schema forbids, so the check is real", async () => {
    const broken = parseObjects(readRepoFile("manifests/examples/release.yaml"))[0] as KubeObject & {
      spec: { changeRequest: { risk: string } };
    };
    broken.spec.changeRequest.risk = "catastrophic";
    const result = await kubectl(["apply", "--dry-run=server", "--validate=false", "-f", "-"], {
      input: stringify(broken),
      allowFailure: true,
    });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/spec\.changeRequest\.risk/);
  });
});
