// A real Kubernetes control plane on 127.0.0.1: etcd, kube-apiserver,
// kube-controller-manager and kube-scheduler, with certificates made by openssl and all
// state in the run directory. There is no kubelet: see fake-kubelet.ts.
//
// Flags are plain records (flag name without "--" → value), so a test or the demo can
// add or override one (`apiServerFlags: { "feature-gates": "..." }`) or drop one
// (`{ "insecure-port": null }`) without touching this file.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { dirname, join } from "node:path";
import { CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import { stringify } from "yaml";
import { resolveBinaries } from "./binaries.ts";
import type { Binaries } from "./binaries.ts";
import { freePorts, runCommand, waitUntilReady } from "./processes.ts";
import type { ManagedProcess, ProcessSupervisor } from "./processes.ts";

/** Flag name (without "--") → value; null removes a default flag. */
export type Flags = Record<string, string | null>;

export interface ControlPlaneOptions {
  supervisor: ProcessSupervisor;
  /** Directory for pki/, etcd/ and kubeconfigs; default: the supervisor's run directory. */
  dir?: string;
  binaries?: Partial<Binaries>;
  etcdFlags?: Flags;
  apiServerFlags?: Flags;
  controllerManagerFlags?: Flags;
  schedulerFlags?: Flags;
  readyTimeoutMs?: number;
  log?: (message: string) => void;
  /**
   * Called as soon as kube-apiserver is ready, while controller-manager and scheduler
   * still start, so callers can overlap their own work (register a node, install CRDs).
   */
  onApiServerReady?: (adminKubeConfig: KubeConfig, version: KubernetesVersion) => void;
}

export interface KubernetesVersion {
  major: number;
  minor: number;
  gitVersion: string;
}

export interface ControlPlaneTimings {
  certificatesMs: number;
  etcdReadyMs: number;
  /** From the start of startControlPlane until kube-apiserver answers /readyz. */
  apiServerReadyMs: number;
  /** Until controller-manager and scheduler answer /healthz. */
  controllersReadyMs: number;
}

export interface ControlPlane {
  apiServerUrl: string;
  /** Admin (O=system:masters) kubeconfig with embedded certificates. */
  adminKubeconfigPath: string;
  caCertPath: string;
  /** The cluster CA's key: tests sign users' client certificates and webhook serving certificates with it. */
  caKeyPath: string;
  version: KubernetesVersion;
  timings: ControlPlaneTimings;
  processes: {
    etcd: ManagedProcess;
    apiServer: ManagedProcess;
    controllerManager: ManagedProcess;
    scheduler: ManagedProcess;
  };
  /** A client-node KubeConfig for the admin user. */
  kubeConfig(): KubeConfig;
  /** Stops scheduler, controller-manager, kube-apiserver, then etcd (in that order). */
  stop(): Promise<void>;
}

export interface Pki {
  dir: string;
  caCert: string;
  caKey: string;
  servingCert: string;
  servingKey: string;
  adminCert: string;
  adminKey: string;
  serviceAccountKey: string;
  serviceAccountPub: string;
}

const SERVICE_ACCOUNT_ISSUER = "https://kubernetes.default.svc";
const CONTROLLERS = "*,-nodeipam,-nodelifecycle,-cloud-node-lifecycle";

export async function startControlPlane(options: ControlPlaneOptions): Promise<ControlPlane> {
  const started = Date.now();
  const log = options.log ?? (() => {});
  const supervisor = options.supervisor;
  const dir = options.dir ?? supervisor.runDir;
  const binaries = { ...resolveBinaries(), ...options.binaries };
  const readyTimeoutMs = options.readyTimeoutMs ?? 90_000;

  const ports = await freePorts(5);
  const [etcdPort, etcdPeerPort, apiPort, controllerManagerPort, schedulerPort] = ports as [
    number,
    number,
    number,
    number,
    number,
  ];
  // etcd needs no certificates: it starts while openssl works.
  const etcdUrl = `http://127.0.0.1:${etcdPort}`;
  const etcdPeerUrl = `http://127.0.0.1:${etcdPeerPort}`;
  const etcd = supervisor.start({
    name: "etcd",
    command: binaries.etcd,
    args: toArgs(
      {
        name: "glidepath",
        "data-dir": join(dir, "etcd"),
        "listen-client-urls": etcdUrl,
        "advertise-client-urls": etcdUrl,
        "listen-peer-urls": etcdPeerUrl,
        "initial-advertise-peer-urls": etcdPeerUrl,
        "initial-cluster": `glidepath=${etcdPeerUrl}`,
        logger: "zap",
      },
      options.etcdFlags,
    ),
  });
  const etcdReady = waitUntilReady(
    etcd,
    async () => (await fetch(`${etcdUrl}/health`)).ok,
    readyTimeoutMs,
    50,
  ).then(() => Date.now() - started);
  const [pki, version] = await Promise.all([
    createPki(join(dir, "pki")),
    binaryVersion(binaries.kubeApiServer),
  ]);
  const certificatesMs = Date.now() - started;
  const apiServerUrl = `https://127.0.0.1:${apiPort}`;
  const kubeconfigDir = join(dir, "kubeconfigs");
  mkdirSync(kubeconfigDir, { recursive: true });
  const adminKubeconfigPath = join(kubeconfigDir, "admin.kubeconfig");
  writeKubeconfig(adminKubeconfigPath, {
    server: apiServerUrl,
    caPem: readFileSync(pki.caCert, "utf8"),
    user: {
      clientCertPem: readFileSync(pki.adminCert, "utf8"),
      clientKeyPem: readFileSync(pki.adminKey, "utf8"),
    },
    userName: "admin",
  });
  const etcdReadyMs = await etcdReady;
  log(`etcd ready on ${etcdUrl} (${etcdReadyMs} ms)`);

  // Flags that newer releases removed (insecure serving) are only passed to old ones.
  const legacyInsecurePort = version.major === 1 && version.minor < 24;
  const apiServer = supervisor.start({
    name: "kube-apiserver",
    command: binaries.kubeApiServer,
    args: toArgs(
      {
        "etcd-servers": etcdUrl,
        "bind-address": "127.0.0.1",
        "advertise-address": "127.0.0.1",
        "secure-port": String(apiPort),
        "insecure-port": legacyInsecurePort ? "0" : null,
        "tls-cert-file": pki.servingCert,
        "tls-private-key-file": pki.servingKey,
        "client-ca-file": pki.caCert,
        "service-account-issuer": SERVICE_ACCOUNT_ISSUER,
        "service-account-key-file": pki.serviceAccountPub,
        "service-account-signing-key-file": pki.serviceAccountKey,
        "service-cluster-ip-range": "10.0.0.0/24",
        "authorization-mode": "RBAC",
        "allow-privileged": "true",
        // No kubelet mounts tokens, and pods need not wait for the default ServiceAccount.
        "disable-admission-plugins": "ServiceAccount",
        // Endpoints may not hold 127.0.0.1; the default reconciler logs an error every 10 s.
        "endpoint-reconciler-type": "none",
        "requestheader-client-ca-file": pki.caCert,
        "requestheader-allowed-names": "front-proxy-client",
        "requestheader-username-headers": "X-Remote-User",
        "requestheader-group-headers": "X-Remote-Group",
        "requestheader-extra-headers-prefix": "X-Remote-Extra-",
        "cert-dir": join(pki.dir, "apiserver"),
        profiling: "false",
      },
      options.apiServerFlags,
    ),
  });
  const tls = {
    ca: readFileSync(pki.caCert),
    cert: readFileSync(pki.adminCert),
    key: readFileSync(pki.adminKey),
  };
  await waitUntilReady(
    apiServer,
    async () => (await httpsGet(`${apiServerUrl}/readyz`, tls)).status === 200,
    readyTimeoutMs,
  );
  const apiServerReadyMs = Date.now() - started;
  log(`kube-apiserver ${version.gitVersion} ready on ${apiServerUrl} (${apiServerReadyMs} ms)`);
  options.onApiServerReady?.(loadKubeConfig(adminKubeconfigPath), version);

  const componentKubeconfig = {
    kubeconfig: adminKubeconfigPath,
    "authentication-kubeconfig": adminKubeconfigPath,
    "authorization-kubeconfig": adminKubeconfigPath,
    "leader-elect": "false",
    "bind-address": "127.0.0.1",
    "kube-api-qps": "100",
    "kube-api-burst": "200",
  };
  const controllerManager = supervisor.start({
    name: "kube-controller-manager",
    command: binaries.kubeControllerManager,
    args: toArgs(
      {
        ...componentKubeconfig,
        "secure-port": String(controllerManagerPort),
        port: legacyInsecurePort ? "0" : null,
        "service-account-private-key-file": pki.serviceAccountKey,
        "root-ca-file": pki.caCert,
        "cluster-signing-cert-file": pki.caCert,
        "cluster-signing-key-file": pki.caKey,
        controllers: CONTROLLERS,
        "cert-dir": join(pki.dir, "controller-manager"),
      },
      options.controllerManagerFlags,
    ),
  });
  const scheduler = supervisor.start({
    name: "kube-scheduler",
    command: binaries.kubeScheduler,
    args: toArgs(
      {
        ...componentKubeconfig,
        "secure-port": String(schedulerPort),
        port: version.major === 1 && version.minor < 23 ? "0" : null,
        "cert-dir": join(pki.dir, "scheduler"),
      },
      options.schedulerFlags,
    ),
  });
  const insecureTls = { rejectUnauthorized: false };
  await Promise.all([
    waitUntilReady(
      controllerManager,
      async () =>
        (await httpsGet(`https://127.0.0.1:${controllerManagerPort}/healthz`, insecureTls)).status === 200,
      readyTimeoutMs,
    ),
    waitUntilReady(
      scheduler,
      async () => (await httpsGet(`https://127.0.0.1:${schedulerPort}/healthz`, insecureTls)).status === 200,
      readyTimeoutMs,
    ),
  ]);
  const controllersReadyMs = Date.now() - started;
  log(`kube-controller-manager and kube-scheduler healthy (${controllersReadyMs} ms)`);

  return {
    apiServerUrl,
    adminKubeconfigPath,
    caCertPath: pki.caCert,
    caKeyPath: pki.caKey,
    version,
    timings: { certificatesMs, etcdReadyMs, apiServerReadyMs, controllersReadyMs },
    processes: { etcd, apiServer, controllerManager, scheduler },
    kubeConfig: () => loadKubeConfig(adminKubeconfigPath),
    async stop() {
      await Promise.all([scheduler.stop(), controllerManager.stop()]);
      // kube-apiserver before etcd: without etcd it ignores SIGTERM for 15 s.
      await apiServer.stop();
      await etcd.stop();
    },
  };
}

export function loadKubeConfig(path: string): KubeConfig {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(path);
  return kubeConfig;
}

export interface KubeconfigSpec {
  server: string;
  caPem: string;
  userName: string;
  user: { clientCertPem: string; clientKeyPem: string } | { token: string };
  namespace?: string;
}

/** Writes a self-contained kubeconfig (certificates embedded) usable by client-node, kubectl and helm. */
export function writeKubeconfig(path: string, spec: KubeconfigSpec): void {
  const base64 = (text: string): string => Buffer.from(text).toString("base64");
  const user =
    "token" in spec.user
      ? { token: spec.user.token }
      : {
          "client-certificate-data": base64(spec.user.clientCertPem),
          "client-key-data": base64(spec.user.clientKeyPem),
        };
  const kubeconfig = {
    apiVersion: "v1",
    kind: "Config",
    clusters: [
      {
        name: "glidepath-test",
        cluster: { server: spec.server, "certificate-authority-data": base64(spec.caPem) },
      },
    ],
    users: [{ name: spec.userName, user }],
    contexts: [
      {
        name: spec.userName,
        context: {
          cluster: "glidepath-test",
          user: spec.userName,
          ...(spec.namespace ? { namespace: spec.namespace } : {}),
        },
      },
    ],
    "current-context": spec.userName,
  };
  writeFileSync(path, stringify(kubeconfig), { mode: 0o600 });
}

export interface ServiceAccountKubeconfigOptions {
  namespace: string;
  name: string;
  /** Where to write it; default next to the admin kubeconfig as sa-<namespace>-<name>.kubeconfig. */
  path?: string;
  /** Create the ServiceAccount when it does not exist (default true). */
  create?: boolean;
  expirationSeconds?: number;
}

/**
 * Mints a token for a ServiceAccount with the TokenRequest API and writes a kubeconfig
 * that authenticates with it, so a process (the controller) runs under real RBAC.
 * Works in any process: it only needs the admin kubeconfig's path.
 */
export async function createServiceAccountKubeconfig(
  adminKubeconfigPath: string,
  options: ServiceAccountKubeconfigOptions,
): Promise<{ path: string; token: string }> {
  const admin = loadKubeConfig(adminKubeconfigPath);
  const core = admin.makeApiClient(CoreV1Api);
  const { namespace, name } = options;
  if (options.create ?? true) {
    try {
      await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name, namespace } } });
    } catch (error) {
      if ((error as { code?: number }).code !== 409) throw error;
    }
  }
  const tokenRequest = await core.createNamespacedServiceAccountToken({
    name,
    namespace,
    body: { spec: { audiences: [], expirationSeconds: options.expirationSeconds ?? 86_400 } },
  });
  const token = tokenRequest.status?.token;
  if (!token) throw new Error(`TokenRequest for ServiceAccount ${namespace}/${name} returned no token`);
  const cluster = admin.getCurrentCluster();
  if (!cluster?.caData)
    throw new Error(`${adminKubeconfigPath} has no cluster with certificate-authority-data`);
  const path = options.path ?? join(dirname(adminKubeconfigPath), `sa-${namespace}-${name}.kubeconfig`);
  writeKubeconfig(path, {
    server: cluster.server,
    caPem: Buffer.from(cluster.caData, "base64").toString("utf8"),
    userName: `system:serviceaccount:${namespace}:${name}`,
    user: { token },
    namespace,
  });
  return { path, token };
}

function toArgs(defaults: Flags, overrides: Flags = {}): string[] {
  const merged: Flags = { ...defaults, ...overrides };
  return Object.entries(merged)
    .filter((entry): entry is [string, string] => entry[1] !== null)
    .map(([flag, value]) => `--${flag}=${value}`);
}

async function binaryVersion(binary: string): Promise<KubernetesVersion> {
  const { stdout } = await runCommand(binary, ["--version"]);
  const match = /v(\d+)\.(\d+)\.\S*/.exec(stdout);
  if (!match) throw new Error(`cannot read the version of ${binary} from "${stdout.trim()}"`);
  return { major: Number(match[1]), minor: Number(match[2]), gitVersion: match[0] };
}

/** CA, serving and admin certificates and the service-account key pair, made by openssl. */
export async function createPki(dir: string): Promise<Pki> {
  mkdirSync(dir, { recursive: true });
  const file = (name: string): string => join(dir, name);
  const pki: Pki = {
    dir,
    caCert: file("ca.crt"),
    caKey: file("ca.key"),
    servingCert: file("apiserver.crt"),
    servingKey: file("apiserver.key"),
    adminCert: file("admin.crt"),
    adminKey: file("admin.key"),
    serviceAccountKey: file("sa.key"),
    serviceAccountPub: file("sa.pub"),
  };
  const openssl = (args: string[]): Promise<unknown> => runCommand("openssl", args, { cwd: dir });
  const days = "30";
  const serviceAccountKeys = openssl([
    "genpkey",
    "-algorithm",
    "RSA",
    "-pkeyopt",
    "rsa_keygen_bits:2048",
    "-out",
    pki.serviceAccountKey,
  ]).then(() => openssl(["pkey", "-in", pki.serviceAccountKey, "-pubout", "-out", pki.serviceAccountPub]));
  await openssl([
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    pki.caKey,
    "-out",
    pki.caCert,
    "-days",
    days,
    "-subj",
    "/CN=glidepath-test-ca",
  ]);
  const signed = (name: string, subject: string, extensions: string[]): Promise<unknown> =>
    signCertificate({ dir, caCert: pki.caCert, caKey: pki.caKey, name, subject, extensions });
  await Promise.all([
    serviceAccountKeys,
    signed("apiserver", "/CN=kube-apiserver", [
      "basicConstraints=CA:FALSE",
      "keyUsage=critical,digitalSignature,keyEncipherment",
      "extendedKeyUsage=serverAuth",
      "subjectAltName=IP:127.0.0.1,IP:10.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default," +
        "DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local",
    ]),
    signed("admin", "/O=system:masters/CN=glidepath-admin", [
      "basicConstraints=CA:FALSE",
      "keyUsage=critical,digitalSignature,keyEncipherment",
      "extendedKeyUsage=clientAuth",
    ]),
  ]);
  return pki;
}

export interface CertificateRequest {
  /** Where <name>.key, <name>.csr and <name>.crt are written. */
  dir: string;
  caCert: string;
  caKey: string;
  name: string;
  /** "/O=group/CN=user" for a client, "/CN=host" for a server. */
  subject: string;
  /** openssl x509 extensions, one a line. */
  extensions: string[];
  days?: number;
}

/** A key and a certificate signed by the CA, made by openssl; returns the paths. */
export async function signCertificate(request: CertificateRequest): Promise<{ cert: string; key: string }> {
  const { dir, name } = request;
  mkdirSync(dir, { recursive: true });
  const file = (suffix: string): string => join(dir, `${name}.${suffix}`);
  const openssl = (args: string[]): Promise<unknown> => runCommand("openssl", args, { cwd: dir });
  writeFileSync(file("ext"), request.extensions.join("\n") + "\n");
  await openssl([
    "req",
    "-new",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    file("key"),
    "-out",
    file("csr"),
    "-subj",
    request.subject,
  ]);
  await openssl([
    "x509",
    "-req",
    "-in",
    file("csr"),
    "-CA",
    request.caCert,
    "-CAkey",
    request.caKey,
    // An explicit serial: -CAcreateserial would race on ca.srl between parallel calls.
    "-set_serial",
    `0x${Date.now().toString(16)}${Math.floor(Math.random() * 0xffff).toString(16)}`,
    "-days",
    String(request.days ?? 30),
    "-extfile",
    file("ext"),
    "-out",
    file("crt"),
  ]);
  return { cert: file("crt"), key: file("key") };
}

interface TlsOptions {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  rejectUnauthorized?: boolean;
}

/** A GET over TLS with explicit CA/client certificates (fetch cannot take them). */
export function httpsGet(
  url: string,
  tls: TlsOptions,
  timeoutMs = 5_000,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: "GET", ...tls, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () =>
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }),
      );
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`GET ${url} timed out after ${timeoutMs} ms`)));
    req.on("error", reject);
    req.end();
  });
}
