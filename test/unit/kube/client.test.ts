import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { contextNamespace, loadKubeConfig, makeKubeClients } from "../../../src/kube/client.ts";

const dir = mkdtempSync(join(tmpdir(), "glidepath-kubeconfig-"));
const kubeconfig = join(dir, "config");
writeFileSync(
  kubeconfig,
  `apiVersion: v1
kind: Config
current-context: prod
clusters:
  - name: prod
    cluster: { server: "https://prod.example:6443", insecure-skip-tls-verify: true }
  - name: local
    cluster: { server: "http://127.0.0.1:8001" }
users:
  - name: admin
    user: { token: "secret" }
contexts:
  - name: prod
    context: { cluster: prod, user: admin, namespace: releases }
  - name: local
    context: { cluster: local, user: admin }
  - name: dangling
    context: { cluster: nowhere, user: admin }
`,
);
const savedKubeconfigEnv = process.env.KUBECONFIG;

afterEach(() => {
  if (savedKubeconfigEnv === undefined) delete process.env.KUBECONFIG;
  else process.env.KUBECONFIG = savedKubeconfigEnv;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("loading the client configuration", () => {
  it("reads the given file and its current context", () => {
    const config = loadKubeConfig({ kubeconfigPath: kubeconfig });
    expect(config.getCurrentContext()).toBe("prod");
    expect(config.getCurrentCluster()?.server).toBe("https://prod.example:6443");
    expect(contextNamespace(config)).toBe("releases");
  });

  it("switches to another context on request", () => {
    const config = loadKubeConfig({ kubeconfigPath: kubeconfig, context: "local" });
    expect(config.getCurrentCluster()?.name).toBe("local");
    expect(contextNamespace(config)).toBeUndefined();
  });

  it("lets a plain http:// server through (client-node demands skipTLSVerify for it)", () => {
    const config = loadKubeConfig({ kubeconfigPath: kubeconfig, context: "local" });
    expect(config.getCurrentCluster()?.skipTLSVerify).toBe(true);
    expect(config.getCluster("prod")?.server).toBe("https://prod.example:6443");
    expect(() => makeKubeClients(config)).not.toThrow();
  });

  it("falls back to $KUBECONFIG", () => {
    process.env.KUBECONFIG = kubeconfig;
    expect(loadKubeConfig().getCurrentContext()).toBe("prod");
  });

  it("explains what is wrong: a missing file, an unknown context, a context without a cluster", () => {
    expect(() => loadKubeConfig({ kubeconfigPath: join(dir, "missing") })).toThrow(/does not exist/);
    expect(() => loadKubeConfig({ kubeconfigPath: kubeconfig, context: "staging" })).toThrow(
      /context "staging" is not in .*; it has: prod, local, dangling/,
    );
    expect(() => loadKubeConfig({ kubeconfigPath: kubeconfig, context: "dangling" })).toThrow(
      /context "dangling" .* names no cluster/,
    );
  });

  it("builds every client of the bundle from one configuration", () => {
    const clients = makeKubeClients(loadKubeConfig({ kubeconfigPath: kubeconfig }));
    expect(Object.keys(clients).sort()).toEqual([
      "apps",
      "coordination",
      "core",
      "customObjects",
      "events",
      "kubeConfig",
      "networking",
      "registration",
    ]);
  });
});
