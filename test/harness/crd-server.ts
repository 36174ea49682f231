// The `crd` tier's API server: etcd 3.5 and crd-server (test/harness/crd-server/main.go,
// apiextensions-apiserver 0.36 without a core API), both on 127.0.0.1 and built or
// unpacked by scripts/install-infra.sh. It serves CRDs and custom resources with CEL
// validation, server-side apply and the status subresource, and nothing else: no
// namespaces, RBAC or webhooks. Clients authenticate with a certificate from the run's CA.
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { resolveCrdServerBinaries } from "./binaries.ts";
import { createPki, httpsGet, writeKubeconfig } from "./control-plane.ts";
import { freePorts, runCommand, waitUntilReady } from "./processes.ts";
import type { ProcessSupervisor } from "./processes.ts";

export interface CrdServer {
  url: string;
  /** Admin kubeconfig (client certificate, embedded). */
  kubeconfigPath: string;
  /** "v1.36.4"-like, from /version. */
  gitVersion: string;
  etcdVersion: string;
  logFile: string;
  stop(): Promise<void>;
}

export async function startCrdServer(
  supervisor: ProcessSupervisor,
  readyTimeoutMs = 120_000,
): Promise<CrdServer> {
  const binaries = resolveCrdServerBinaries();
  const dir = join(supervisor.runDir, "crd-server");
  mkdirSync(dir, { recursive: true });
  const [etcdPort, etcdPeerPort, serverPort] = (await freePorts(3)) as [number, number, number];
  const etcdUrl = `http://127.0.0.1:${etcdPort}`;
  const etcdPeerUrl = `http://127.0.0.1:${etcdPeerPort}`;
  const etcd = supervisor.start({
    name: "crd-etcd",
    command: binaries.etcd,
    args: [
      "--name=crd",
      `--data-dir=${join(dir, "etcd")}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=${etcdPeerUrl}`,
      `--initial-advertise-peer-urls=${etcdPeerUrl}`,
      `--initial-cluster=crd=${etcdPeerUrl}`,
      "--logger=zap",
    ],
  });
  const [pki, etcdVersion] = await Promise.all([
    createPki(join(dir, "pki")),
    runCommand(binaries.etcd, ["--version"]).then((r) => /etcd Version: (\S+)/.exec(r.stdout)?.[1] ?? "?"),
    waitUntilReady(etcd, async () => (await fetch(`${etcdUrl}/health`)).ok, readyTimeoutMs, 50),
  ]);
  const url = `https://127.0.0.1:${serverPort}`;
  const server = supervisor.start({
    name: "crd-server",
    command: binaries.crdServer,
    args: [
      `--etcd-servers=${etcdUrl}`,
      "--bind-address=127.0.0.1",
      `--secure-port=${serverPort}`,
      `--tls-cert-file=${pki.servingCert}`,
      `--tls-private-key-file=${pki.servingKey}`,
      `--client-ca-file=${pki.caCert}`,
      `--cert-dir=${join(pki.dir, "crd-server")}`,
    ],
  });
  const tls = {
    ca: readFileSync(pki.caCert),
    cert: readFileSync(pki.adminCert),
    key: readFileSync(pki.adminKey),
  };
  await waitUntilReady(
    server,
    async () => (await httpsGet(`${url}/readyz`, tls)).status === 200,
    readyTimeoutMs,
  );
  const version = JSON.parse((await httpsGet(`${url}/version`, tls)).body) as { gitVersion?: string };
  const kubeconfigPath = join(dir, "admin.kubeconfig");
  writeKubeconfig(kubeconfigPath, {
    server: url,
    caPem: readFileSync(pki.caCert, "utf8"),
    userName: "crd-admin",
    user: {
      clientCertPem: readFileSync(pki.adminCert, "utf8"),
      clientKeyPem: readFileSync(pki.adminKey, "utf8"),
    },
  });
  return {
    url,
    kubeconfigPath,
    gitVersion: version.gitVersion ?? "?",
    etcdVersion,
    logFile: server.logFile,
    async stop() {
      await server.stop();
      await etcd.stop();
    },
  };
}
