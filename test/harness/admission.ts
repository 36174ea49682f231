// The admission webhook in tests: a serving certificate signed by the cluster CA, a stamp
// key, the controller configuration that serves it on 127.0.0.1, and the
// MutatingWebhookConfiguration that points the API server at it (a `url` with its
// caBundle), limited by a namespaceSelector to the namespaces of the file that runs it, so
// the other files sharing the stack never depend on this controller. Also: real users as
// client certificates signed by the cluster CA. No vitest in here.
import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  AdmissionregistrationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  RbacAuthorizationV1Api,
  type V1MutatingWebhookConfiguration,
} from "@kubernetes/client-node";
import { loadKubeConfig, signCertificate, writeKubeconfig } from "./control-plane.ts";
import { freePort } from "./processes.ts";

/** The label a namespace carries to be covered by one test controller's webhook. */
export const ADMISSION_NAMESPACE_LABEL = "test.glidepath.dev/admission";

export interface ClusterCa {
  caCertPath: string;
  caKeyPath: string;
}

export interface PreparedAdmission {
  /** The webhook's name; namespaces labelled ADMISSION_NAMESPACE_LABEL=<name> are covered. */
  name: string;
  port: number;
  /** The controller configuration's `trust` section. */
  trust: {
    stampKey: { file: string };
    webhook: { port: number; certFile: string; keyFile: string; configurationName: string };
  };
}

/** The MutatingWebhookConfiguration registerAdmissionWebhook creates for a webhook of this name. */
export const admissionConfigurationName = (name: string): string => `glidepath-test-${name}`;

/** A serving certificate for 127.0.0.1 and a random stamp key, for one controller (or replicas sharing them). */
export async function prepareAdmission(
  options: ClusterCa & { runDir: string; name: string },
): Promise<PreparedAdmission> {
  const dir = join(options.runDir, "admission", options.name);
  const serving = await signCertificate({
    dir,
    caCert: options.caCertPath,
    caKey: options.caKeyPath,
    name: "webhook",
    subject: "/CN=glidepath-webhook",
    extensions: [
      "basicConstraints=CA:FALSE",
      "keyUsage=critical,digitalSignature,keyEncipherment",
      "extendedKeyUsage=serverAuth",
      "subjectAltName=IP:127.0.0.1",
    ],
  });
  const stampKeyFile = join(dir, "stamp-key");
  writeFileSync(stampKeyFile, randomBytes(32).toString("hex"), { mode: 0o600 });
  const port = await freePort();
  return {
    name: options.name,
    port,
    trust: {
      stampKey: { file: stampKeyFile },
      webhook: {
        port,
        certFile: serving.cert,
        keyFile: serving.key,
        configurationName: admissionConfigurationName(options.name),
      },
    },
  };
}

/**
 * The webhook on Release writes as the chart configures it (failurePolicy Fail), but reached
 * by a `url` on 127.0.0.1:`port` and covering only namespaces labelled
 * ADMISSION_NAMESPACE_LABEL=`covers`; without `caBundle` until the controller writes its own.
 */
export function releaseWebhookConfiguration(options: {
  name: string;
  port: number;
  covers: string;
  caBundle?: string;
}): V1MutatingWebhookConfiguration {
  return {
    metadata: { name: options.name },
    webhooks: [
      {
        name: "releases.glidepath.dev",
        admissionReviewVersions: ["v1"],
        sideEffects: "None",
        failurePolicy: "Fail",
        timeoutSeconds: 10,
        clientConfig: {
          url: `https://127.0.0.1:${options.port}/admission/releases`,
          ...(options.caBundle === undefined ? {} : { caBundle: options.caBundle }),
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
        namespaceSelector: { matchLabels: { [ADMISSION_NAMESPACE_LABEL]: options.covers } },
      },
    ],
  };
}

/**
 * Registers the webhook with the API server (failurePolicy Fail) and waits until a dry-run
 * Release in a covered namespace comes back stamped. Returns how to remove it again.
 */
export async function registerAdmissionWebhook(options: {
  adminKubeconfigPath: string;
  caCertPath: string;
  admission: PreparedAdmission;
  /** Waits for the stamp on a dry-run create in this (covered) namespace. */
  probeNamespace: string;
  probeRelease: Record<string, unknown>;
}): Promise<{ unregister(): Promise<void> }> {
  const admin = loadKubeConfig(options.adminKubeconfigPath);
  const registration = admin.makeApiClient(AdmissionregistrationV1Api);
  const { name, port } = options.admission;
  const configName = admissionConfigurationName(name);
  await registration.createMutatingWebhookConfiguration({
    body: releaseWebhookConfiguration({
      name: configName,
      port,
      covers: name,
      caBundle: Buffer.from(readFileSync(options.caCertPath)).toString("base64"),
    }),
  });
  // The controller reads its webhook configuration to know where stamps count; the installed
  // RBAC names the installed one (glidepath-controller), so grant it this one by name too.
  const rbac = admin.makeApiClient(RbacAuthorizationV1Api);
  await rbac.createClusterRole({
    body: {
      metadata: { name: configName },
      rules: [
        {
          apiGroups: ["admissionregistration.k8s.io"],
          resources: ["mutatingwebhookconfigurations"],
          resourceNames: [configName],
          verbs: ["get"],
        },
      ],
    },
  });
  await rbac.createClusterRoleBinding({
    body: {
      metadata: { name: configName },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: configName },
      subjects: [{ kind: "ServiceAccount", name: "glidepath-controller", namespace: "glidepath-system" }],
    },
  });
  const custom = admin.makeApiClient(CustomObjectsApi);
  const deadline = Date.now() + 30_000;
  for (;;) {
    const dryRun = (await custom.createNamespacedCustomObject({
      group: "glidepath.dev",
      version: "v1alpha1",
      namespace: options.probeNamespace,
      plural: "releases",
      body: options.probeRelease,
      dryRun: "All",
    })) as { metadata?: { annotations?: Record<string, string> } };
    if (dryRun.metadata?.annotations?.["glidepath.dev/created-by"]) break;
    if (Date.now() > deadline)
      throw new Error(`the webhook ${configName} did not stamp a dry-run Release within 30 s`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return {
    unregister: async () => {
      const ignoreGone = (error: unknown) => {
        if ((error as { code?: number }).code !== 404) throw error;
      };
      await registration.deleteMutatingWebhookConfiguration({ name: configName }).catch(ignoreGone);
      await rbac.deleteClusterRoleBinding({ name: configName }).catch(ignoreGone);
      await rbac.deleteClusterRole({ name: configName }).catch(ignoreGone);
    },
  };
}

/** Labels a namespace so the named webhook covers it. */
export async function coverNamespace(
  adminKubeconfigPath: string,
  namespace: string,
  name: string,
): Promise<void> {
  const core = loadKubeConfig(adminKubeconfigPath).makeApiClient(CoreV1Api);
  const current = await core.readNamespace({ name: namespace });
  await core.replaceNamespace({
    name: namespace,
    body: {
      ...current,
      metadata: {
        ...current.metadata,
        labels: { ...current.metadata?.labels, [ADMISSION_NAMESPACE_LABEL]: name },
      },
    },
  });
}

/**
 * A kubeconfig for a person: a client certificate with CN=user and O=each group, signed
 * by the cluster CA, so the API server authenticates them as that user with those groups.
 */
export async function userKubeconfig(
  options: ClusterCa & { runDir: string; adminKubeconfigPath: string; user: string; groups: string[] },
): Promise<string> {
  const dir = join(options.runDir, "users");
  const subject = [...options.groups.map((group) => `/O=${group}`), `/CN=${options.user}`].join("");
  const issued = await signCertificate({
    dir,
    caCert: options.caCertPath,
    caKey: options.caKeyPath,
    name: `${options.user}-${randomBytes(3).toString("hex")}`,
    subject,
    extensions: [
      "basicConstraints=CA:FALSE",
      "keyUsage=critical,digitalSignature,keyEncipherment",
      "extendedKeyUsage=clientAuth",
    ],
  });
  const cluster = loadKubeConfig(options.adminKubeconfigPath).getCurrentCluster();
  if (!cluster) throw new Error(`${options.adminKubeconfigPath} has no cluster`);
  const path = join(dir, `${options.user}.kubeconfig`);
  writeKubeconfig(path, {
    server: cluster.server,
    caPem: readFileSync(options.caCertPath, "utf8"),
    userName: options.user,
    user: {
      clientCertPem: readFileSync(issued.cert, "utf8"),
      clientKeyPem: readFileSync(issued.key, "utf8"),
    },
  });
  return path;
}
