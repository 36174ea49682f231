import { copyFileSync, readFileSync } from "node:fs";
import { request } from "node:https";
import { join } from "node:path";
import { pino } from "pino";
import { Registry } from "prom-client";
import { afterAll, describe, expect, it } from "vitest";
import { startHttpServer, type HttpServer } from "../../../src/http/server.ts";
import { startControllerProcess, type ControllerProcess } from "../../harness/controller.ts";
import { signCertificate } from "../../harness/control-plane.ts";
import { stackInfo, waitFor } from "../../harness/context.ts";
import { freePort, ProcessSupervisor } from "../../harness/processes.ts";
import { controllerKubeconfigPath } from "../controller/scenario.ts";

// The hook's port over HTTPS (a certificate from a Secret, reloaded when it is rotated) and
// /metrics on a plain port of its own, so Prometheus never needs the hook's port.

interface Answer {
  status: number;
  body: string;
  /** The serving certificate's subject CN. */
  servedBy: string;
}

/** GET over HTTPS trusting only the cluster CA (the test CA that signed the serving certificates). */
function httpsGet(url: string): Promise<Answer> {
  const ca = readFileSync(stackInfo().caCertPath);
  return new Promise((resolve, reject) => {
    const req = request(url, { ca, agent: false }, (response) => {
      const chunks: Buffer[] = [];
      const peer = (
        response.socket as { getPeerCertificate?: () => { subject?: { CN?: string } } }
      ).getPeerCertificate?.();
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () =>
        resolve({
          status: response.statusCode ?? 0,
          body: Buffer.concat(chunks).toString("utf8"),
          servedBy: peer?.subject?.CN ?? "",
        }),
      );
    });
    req.on("error", reject);
    req.end();
  });
}

async function servingCertificate(name: string, cn: string): Promise<{ cert: string; key: string }> {
  const info = stackInfo();
  return signCertificate({
    dir: join(info.runDir, "hook-tls"),
    caCert: info.caCertPath,
    caKey: info.caKeyPath,
    name,
    subject: `/CN=${cn}`,
    extensions: [
      "basicConstraints=CA:FALSE",
      "keyUsage=critical,digitalSignature,keyEncipherment",
      "extendedKeyUsage=serverAuth",
      "subjectAltName=IP:127.0.0.1",
    ],
  });
}

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

describe("the HTTP server over TLS", () => {
  it("serves with the certificate in its files, and a rotated one without a restart", async () => {
    const first = await servingCertificate("first", "hook-first");
    const second = await servingCertificate("second", "hook-second");
    const live = await servingCertificate("live", "hook-first");
    copyFileSync(first.cert, live.cert);
    copyFileSync(first.key, live.key);
    const server: HttpServer = await startHttpServer({
      port: 0,
      host: "127.0.0.1",
      registry: new Registry(),
      isHealthy: () => true,
      isReady: () => true,
      tls: { certFile: live.cert, keyFile: live.key, reloadMs: 200 },
      logger: pino({ level: "silent" }),
    });
    cleanups.push(() => server.close());
    expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(await httpsGet(`${server.url}/healthz`)).toMatchObject({ status: 200, servedBy: "hook-first" });

    // When: the Secret is rotated (the mounted files change).
    copyFileSync(second.key, live.key);
    copyFileSync(second.cert, live.cert);
    // Then: new handshakes get the new certificate.
    await waitFor(async () => (await httpsGet(`${server.url}/healthz`)).servedBy === "hook-second", {
      timeoutMs: 30_000,
      description: "the rotated certificate served",
    });
    // Plain HTTP is not spoken on that port.
    await expect(fetch(`${server.url.replace("https", "http")}/healthz`)).rejects.toThrow();
  });
});

describe("a controller with tls and metricsPort", () => {
  it("serves the hook over HTTPS only, and /metrics only on its own plain port", async () => {
    const info = stackInfo();
    const serving = await servingCertificate("controller", "glidepath-hook");
    const supervisor = new ProcessSupervisor(info.runDir);
    const metricsPort = await freePort();
    const controller: ControllerProcess = await startControllerProcess({
      supervisor,
      runDir: info.runDir,
      kubeconfigPath: await controllerKubeconfigPath(),
      prometheusUrl: info.prometheus.url,
      identity: "https-hook",
      config: { tls: { certFile: serving.cert, keyFile: serving.key }, metricsPort },
    });
    cleanups.push(() => controller.stop());
    expect(controller.url).toMatch(/^https:/);
    expect(await httpsGet(`${controller.url}/healthz`)).toMatchObject({
      status: 200,
      servedBy: "glidepath-hook",
    });
    expect((await httpsGet(`${controller.url}/metrics`)).status).toBe(404);
    const scraped = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    expect(scraped.status).toBe(200);
    expect(await scraped.text()).toContain("glidepath_reconcile_duration_seconds");
    await expect(fetch(`${controller.url.replace("https", "http")}/healthz`)).rejects.toThrow();
  });
});
