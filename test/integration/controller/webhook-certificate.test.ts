// The admission webhook's certificate made by the controller itself (issue 12.1, mode self)
// and the webhook failing closed (issue 12.6), on the real API server: the controller runs
// under its ServiceAccount with manifests/install/rbac.yaml, creates the Secret
// glidepath-webhook-tls and writes its CA into the caBundle of the MutatingWebhookConfiguration
// glidepath-controller; the API server then calls it over TLS. Here the webhook's `url` is
// 127.0.0.1 (the certificate names that address), limited by a namespaceSelector to this
// file's namespace so no other test depends on it.
import { randomBytes, X509Certificate } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { connect } from "node:tls";
import { AdmissionregistrationV1Api } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CREATED_BY_ANNOTATION } from "../../../src/api/index.ts";
import { coverNamespace, releaseWebhookConfiguration } from "../../harness/admission.ts";
import type { ControllerProcess } from "../../harness/controller.ts";
import { freePort } from "../../harness/processes.ts";
import {
  createNamespace,
  deleteNamespace,
  kubeClients,
  kubeConfig,
  mergePatch,
  stackInfo,
  waitFor,
} from "../../harness/context.ts";
import { exampleRelease } from "../../fixtures/releases.ts";
import { givenController } from "./scenario.ts";
import { refusal } from "./trust-scenario.ts";

// The names manifests/install/rbac.yaml lets the controller's ServiceAccount write.
const SECRET = { namespace: "glidepath-system", name: "glidepath-webhook-tls" };
const CONFIGURATION = "glidepath-controller";
const RELEASES = { group: "glidepath.dev", version: "v1alpha1", plural: "releases" };

const registration = () => kubeConfig().makeApiClient(AdmissionregistrationV1Api);

async function readSecret(): Promise<Record<string, string> | undefined> {
  try {
    const secret = await kubeClients().core.readNamespacedSecret(SECRET);
    return Object.fromEntries(
      Object.entries(secret.data ?? {}).map(([key, value]) => [key, Buffer.from(value, "base64").toString()]),
    );
  } catch (error) {
    if ((error as { code?: number }).code === 404) return undefined;
    throw error;
  }
}

async function deleteSecret(): Promise<void> {
  try {
    await kubeClients().core.deleteNamespacedSecret(SECRET);
  } catch (error) {
    if ((error as { code?: number }).code !== 404) throw error;
  }
}

/** The certificate the webhook presents on a TLS handshake right now. */
function presentedCertificate(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port, rejectUnauthorized: false }, () => {
      const fingerprint = socket.getPeerCertificate().fingerprint256;
      socket.end();
      resolve(fingerprint);
    });
    socket.on("error", reject);
  });
}

describe("the webhook's self-managed certificate and failurePolicy Fail on the real API server", () => {
  const name = `self-cert-${randomBytes(3).toString("hex")}`;
  let namespace = "";
  let port = 0;
  let stampKeyFile = "";
  let controller: ControllerProcess | undefined;

  const start = (certificate: Record<string, unknown> = {}) =>
    givenController({
      config: {
        trust: {
          stampKey: { file: stampKeyFile },
          webhook: {
            port,
            selfManagedCertificate: {
              secret: SECRET,
              ipAddresses: ["127.0.0.1"],
              mutatingWebhookConfiguration: CONFIGURATION,
              ...certificate,
            },
          },
        },
      },
    });

  const release = (releaseName: string) => ({
    ...exampleRelease(),
    metadata: { name: releaseName, namespace },
  });
  const createRelease = (releaseName: string, dryRun = false) =>
    kubeClients().custom.createNamespacedCustomObject({
      ...RELEASES,
      namespace,
      body: release(releaseName),
      ...(dryRun ? { dryRun: "All" } : {}),
    }) as Promise<{ metadata?: { annotations?: Record<string, string> } }>;

  beforeAll(async () => {
    const dir = join(stackInfo().runDir, "admission", name);
    mkdirSync(dir, { recursive: true });
    stampKeyFile = join(dir, "stamp-key");
    writeFileSync(stampKeyFile, randomBytes(32).toString("hex"), { mode: 0o600 });
    port = await freePort();
    await deleteSecret();
    await registration()
      .deleteMutatingWebhookConfiguration({ name: CONFIGURATION })
      .catch(() => undefined);
    // As the chart makes it, but with a url: no caBundle until the controller writes one.
    await registration().createMutatingWebhookConfiguration({
      body: releaseWebhookConfiguration({ name: CONFIGURATION, port, covers: name }),
    });
    namespace = await createNamespace("self-cert");
    await coverNamespace(stackInfo().kubeconfigPath, namespace, name);
  });

  afterAll(async () => {
    await controller?.stop();
    // The webhook goes first, so the namespace's Releases can be cleaned up without it.
    await registration()
      .deleteMutatingWebhookConfiguration({ name: CONFIGURATION })
      .catch(() => undefined);
    await deleteSecret();
    if (namespace) await deleteNamespace(namespace);
  });

  it("creates the CA and serving certificate, writes the CA into caBundle, and the API server calls the webhook over TLS", async () => {
    controller = await start();
    // Ready means the certificate is stored and trusted (it is made before the webhook serves).
    const stored = await readSecret();
    if (!stored) throw new Error(`the controller did not create Secret ${SECRET.namespace}/${SECRET.name}`);
    expect(Object.keys(stored).sort()).toEqual(["ca-bundle.crt", "ca.crt", "ca.key", "tls.crt", "tls.key"]);
    const ca = new X509Certificate(stored["ca.crt"] ?? "");
    const serving = new X509Certificate(stored["tls.crt"] ?? "");
    expect(ca.ca).toBe(true);
    expect(serving.checkIssued(ca) && serving.verify(ca.publicKey)).toBe(true);
    expect(serving.checkIP("127.0.0.1")).toBe("127.0.0.1");
    // About 90 days (the default validity), starting a few minutes back for clock skew.
    const days = (Date.parse(serving.validTo) - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(89);
    expect(days).toBeLessThanOrEqual(90);

    const configuration = await registration().readMutatingWebhookConfiguration({ name: CONFIGURATION });
    expect(configuration.webhooks?.[0]?.clientConfig.caBundle).toBe(
      Buffer.from(stored["ca-bundle.crt"] ?? "").toString("base64"),
    );
    expect(stored["ca-bundle.crt"]?.trim()).toBe(stored["ca.crt"]?.trim());

    // The API server trusts the controller's CA: a Release written now comes back stamped.
    const created = await createRelease("checkout-2-0-0");
    expect(JSON.parse(created.metadata?.annotations?.[CREATED_BY_ANNOTATION] ?? "{}")).toMatchObject({
      user: "glidepath-admin",
    });
  });

  it("keeps the stored certificate across a restart (nothing re-issued while it is valid)", async () => {
    const before = await kubeClients().core.readNamespacedSecret(SECRET);
    await controller?.stop();
    controller = await start();
    const after = await kubeClients().core.readNamespacedSecret(SECRET);
    expect(after.metadata?.resourceVersion).toBe(before.metadata?.resourceVersion);
    const dryRun = await createRelease("checkout-2-0-1", true);
    expect(dryRun.metadata?.annotations?.[CREATED_BY_ANNOTATION]).toBeDefined();
  });

  it("with the webhook down, refuses every Release create and update with a message naming the webhook (failurePolicy Fail)", async () => {
    await controller?.stop();
    controller = undefined;
    const { custom } = kubeClients();

    const create = await refusal(createRelease("checkout-2-0-2"));
    expect(create.code).toBe(500);
    expect(create.message).toContain('failed calling webhook "releases.glidepath.dev"');
    expect(create.message).toContain("connection refused");

    const pause = await refusal(
      custom.patchNamespacedCustomObject(
        { ...RELEASES, namespace, name: "checkout-2-0-0", body: { spec: { control: { paused: true } } } },
        mergePatch,
      ),
    );
    expect(pause.code).toBe(500);
    expect(pause.message).toContain('failed calling webhook "releases.glidepath.dev"');

    // Nothing got in; reading still works.
    const stored = (await custom.getNamespacedCustomObject({
      ...RELEASES,
      namespace,
      name: "checkout-2-0-0",
    })) as { spec: { control?: { paused?: boolean } } };
    expect(stored.spec.control?.paused ?? false).toBe(false);
    const list = (await custom.listNamespacedCustomObject({ ...RELEASES, namespace })) as {
      items: { metadata: { name: string } }[];
    };
    expect(list.items.map((item) => item.metadata.name)).toEqual(["checkout-2-0-0"]);
  });

  it("renews the serving certificate before it ends and serves the new one without a restart", async () => {
    // A fresh start with a certificate due for renewal 30 s after it is made.
    await deleteSecret();
    controller = await start({ validity: "1h", renewBefore: "59m30s" });
    const first = await readSecret();
    const firstFingerprint = new X509Certificate(first?.["tls.crt"] ?? "").fingerprint256;
    expect(await presentedCertificate(port)).toBe(firstFingerprint);
    const pid = controller.process.pid;

    const renewed = await waitFor(
      async () => {
        const current = await readSecret();
        return current?.["tls.crt"] && current["tls.crt"] !== first?.["tls.crt"] ? current : undefined;
      },
      { timeoutMs: 150_000, intervalMs: 1_000, description: "a renewed serving certificate in the Secret" },
    );
    // The same CA signs it; the new certificate is what the running process presents.
    expect(renewed["ca.crt"]).toBe(first?.["ca.crt"]);
    const renewedFingerprint = new X509Certificate(renewed["tls.crt"] ?? "").fingerprint256;
    await waitFor(async () => (await presentedCertificate(port)) === renewedFingerprint, {
      timeoutMs: 30_000,
      description: "the webhook presenting the renewed certificate",
    });
    expect(controller.process.pid).toBe(pid);
    expect(controller.process.isRunning()).toBe(true);
    const dryRun = await createRelease("checkout-2-0-3", true);
    expect(dryRun.metadata?.annotations?.[CREATED_BY_ANNOTATION]).toBeDefined();
  });
});
