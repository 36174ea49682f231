import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AuthorizationV1Api, KubeConfig } from "@kubernetes/client-node";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  issueCa,
  issueServing,
  startAdmissionWebhook,
  type AdmissionWebhook,
} from "../../../src/admission/index.ts";
import { parseControllerConfig, parseStrategyFile } from "../../../src/api/index.ts";
import { signCertificate } from "../../harness/control-plane.ts";

// trust.webhook.clientCAFile (issue 12, the webhook's port answers anyone): with it, only a
// client presenting a certificate signed by that CA (the API server, configured with
// --admission-control-config-file) gets past the TLS handshake. A real HTTPS server on
// 127.0.0.1 with real certificates; nothing is stood in for.

const HOUR = 3_600_000;

describe("the admission webhook with a client CA", () => {
  let dir = "";
  let webhook: AdmissionWebhook | undefined;
  let servingCa = "";
  let client = { cert: "", key: "" };
  let stranger = { cert: "", key: "" };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "glidepath-client-ca-"));
    const now = new Date();
    const ca = await issueCa(now, HOUR, "webhook serving CA");
    servingCa = ca.cert;
    const serving = await issueServing(ca, { dnsNames: [], ipAddresses: ["127.0.0.1"] }, now, HOUR);
    // The CA that signs the API server's client certificate, and another that does not count.
    const clientCa = await issueCa(now, HOUR, "apiserver client CA");
    const otherCa = await issueCa(now, HOUR, "someone else's CA");
    for (const [name, pair] of Object.entries({ clientCa, otherCa })) {
      writeFileSync(join(dir, `${name}.crt`), pair.cert);
      writeFileSync(join(dir, `${name}.key`), pair.key);
    }
    const issue = async (caName: string, name: string) => {
      const files = await signCertificate({
        dir,
        caCert: join(dir, `${caName}.crt`),
        caKey: join(dir, `${caName}.key`),
        name,
        subject: "/CN=kube-apiserver",
        extensions: ["basicConstraints=CA:FALSE", "extendedKeyUsage=clientAuth"],
      });
      return { cert: readFileSync(files.cert, "utf8"), key: readFileSync(files.key, "utf8") };
    };
    client = await issue("clientCa", "apiserver");
    stranger = await issue("otherCa", "stranger");
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromOptions({
      clusters: [{ name: "none", server: "https://127.0.0.1:1" }],
      users: [{ name: "none" }],
      contexts: [{ name: "none", cluster: "none", user: "none" }],
      currentContext: "none",
    });
    webhook = await startAdmissionWebhook({
      port: 0,
      host: "127.0.0.1",
      certificate: { pair: serving },
      clientCaFile: join(dir, "clientCa.crt"),
      maxBodyBytes: 1024 * 1024,
      stampKey: async () => Buffer.alloc(32, 1),
      strategy: parseStrategyFile(readFileSync("rollout/rollout-strategy.json", "utf8")),
      // Never called here: no request reaches a review that asks RBAC.
      authorization: kubeConfig.makeApiClient(AuthorizationV1Api),
      logger: pino({ level: "silent" }),
    });
  });

  afterAll(async () => {
    await webhook?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The HTTP status, or the error the TLS handshake ended with. */
  const call = (pair?: { cert: string; key: string }) =>
    new Promise<{ status?: number; error?: string }>((resolve) => {
      const sent = request(
        webhook?.url ?? "",
        { method: "POST", ca: servingCa, ...(pair ?? {}), headers: { "Content-Type": "application/json" } },
        (response) => {
          response.resume();
          response.on("end", () => resolve({ status: response.statusCode ?? 0 }));
        },
      );
      sent.on("error", (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message }));
      sent.end("{}");
    });

  it("answers a client whose certificate the CA signed (here: 400, the body is no AdmissionReview)", async () => {
    expect(await call(client)).toEqual({ status: 400 });
  });

  it("ends the handshake with a client that has no certificate, or one another CA signed", async () => {
    const anonymous = await call();
    expect(anonymous.status).toBeUndefined();
    expect(anonymous.error).toBeDefined();
    const foreign = await call(stranger);
    expect(foreign.status).toBeUndefined();
    expect(foreign.error).toBeDefined();
  });

  it("keeps asking for the client certificate after the serving certificate is replaced", async () => {
    const now = new Date();
    const ca = await issueCa(now, HOUR, "webhook serving CA 2");
    webhook?.setCertificate(await issueServing(ca, { dnsNames: [], ipAddresses: ["127.0.0.1"] }, now, HOUR));
    servingCa = ca.cert;
    // The swap is asynchronous (the client CA is read again): wait until the new certificate serves.
    const deadline = Date.now() + 10_000;
    let answered = await call(client);
    while (answered.status === undefined && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      answered = await call(client);
    }
    expect(answered).toEqual({ status: 400 });
    expect((await call()).status).toBeUndefined();
  });

  it("is a configuration key of trust.webhook", () => {
    const config = parseControllerConfig({
      trust: {
        stampKey: { file: "/k" },
        webhook: {
          certFile: "/c",
          keyFile: "/k",
          configurationName: "glidepath-controller",
          clientCAFile: "/ca.crt",
        },
      },
    });
    expect(config.trust.webhook?.clientCAFile).toBe("/ca.crt");
  });
});
