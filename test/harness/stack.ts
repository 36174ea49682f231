// The whole test infrastructure in one call: a real control plane, a fake kubelet with a
// Ready node, Prometheus and Alertmanager, and the CRDs installed and Established.
// Used by the vitest globalSetup and by the one-command demo, so no vitest in here.
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  ApiextensionsV1Api,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
} from "@kubernetes/client-node";
import type { KubeConfig, KubernetesObject } from "@kubernetes/client-node";
import { parseAllDocuments } from "yaml";
import { startAlertmanager } from "./alertmanager.ts";
import type { AlertmanagerInfo, AlertmanagerServer } from "./alertmanager.ts";
import { ensureTools } from "./binaries.ts";
import type { Binaries } from "./binaries.ts";
import { startControlPlane } from "./control-plane.ts";
import type { ControlPlane, ControlPlaneTimings, Flags, KubernetesVersion } from "./control-plane.ts";
import { startFakeKubelet } from "./fake-kubelet.ts";
import type { FakeKubelet } from "./fake-kubelet.ts";
import { createRunDir, onShutdownSignal, ProcessSupervisor } from "./processes.ts";
import { startPrometheus } from "./prometheus.ts";
import type { PrometheusInfo, PrometheusServer } from "./prometheus.ts";

const repoRoot = fileURLToPath(new URL("../../", import.meta.url));

/** The project's CRDs (when generated) and the Gateway API CRDs the tests route with. */
export const DEFAULT_CRD_PATHS = [
  join(repoRoot, "manifests", "crds"),
  join(repoRoot, "test", "fixtures", "gateway-api", "v1.6.1"),
];

export interface StackOptions {
  /** Default: a new directory under .test-runs/ (or $GLIDEPATH_RUN_ROOT). */
  runDir?: string;
  /** CRD files or directories (every *.yaml/*.yml inside); a missing path, or a directory with none, is an error. */
  crdPaths?: string[];
  binaries?: Partial<Binaries>;
  apiServerFlags?: Flags;
  controllerManagerFlags?: Flags;
  schedulerFlags?: Flags;
  nodeName?: string;
  /** Keep etcd and Prometheus data after stop() (logs and configs are always kept). */
  keepState?: boolean;
  /** Progress lines; default console.log with a [stack] prefix. */
  log?: (message: string) => void;
}

export interface StackTimings {
  controlPlane: ControlPlaneTimings;
  /** From the start until the fake node is Ready and untainted. */
  nodeReadyMs: number;
  alertmanagerMs: number;
  prometheusMs: number;
  crdsMs: number;
  totalMs: number;
}

/** Serialisable description of a running stack: what tests in other processes need. */
export interface StackInfo {
  runDir: string;
  kubeconfigPath: string;
  /** The cluster CA (certificate and key), for users' client certificates and webhook serving certificates. */
  caCertPath: string;
  caKeyPath: string;
  apiServerUrl: string;
  kubernetesVersion: KubernetesVersion;
  nodeName: string;
  kubectlPath: string;
  helmPath: string;
  prometheus: PrometheusInfo;
  alertmanager: AlertmanagerInfo;
  /** Names of the CRDs installed (all Established). */
  crds: string[];
  timings: StackTimings;
}

export interface Stack {
  info: StackInfo;
  supervisor: ProcessSupervisor;
  controlPlane: ControlPlane;
  kubelet: FakeKubelet;
  prometheus: PrometheusServer;
  alertmanager: AlertmanagerServer;
  /** Admin client configuration. */
  kubeConfig(): KubeConfig;
  /** Stops everything (idempotent). */
  stop(): Promise<void>;
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const started = Date.now();
  const log = options.log ?? ((message: string) => console.log(`[stack] ${message}`));
  const elapsed = (): number => Date.now() - started;
  const runDir = options.runDir ?? createRunDir("stack");
  const supervisor = new ProcessSupervisor(runDir);
  log(`run directory ${runDir}`);
  let startedKubelet: FakeKubelet | undefined;
  // Everything started in parallel, so a failure can wait for the rest before stopping.
  const inFlight: Promise<unknown>[] = [];

  try {
    const monitoring = (async () => {
      const alertmanager = await startAlertmanager({ supervisor });
      log(`Alertmanager ready on ${alertmanager.url} (${alertmanager.startupMs} ms)`);
      const prometheus = await startPrometheus({ supervisor, alertmanagerUrl: alertmanager.url });
      log(`Prometheus ready on ${prometheus.url} (${prometheus.startupMs} ms)`);
      return { alertmanager, prometheus };
    })();
    const tools = ensureTools();
    inFlight.push(monitoring, tools);
    // Awaited below; until then a failure must not surface as an unhandled rejection.
    for (const pending of [monitoring, tools]) pending.catch(() => {});
    // The node and the CRDs need only kube-apiserver: they overlap controller start-up.
    let apiServerWork: Promise<
      [{ kubelet: FakeKubelet; nodeReadyMs: number }, { crds: string[]; crdsMs: number }]
    > = Promise.reject(new Error("kube-apiserver never became ready"));
    apiServerWork.catch(() => {});
    const controlPlane = await startControlPlane({
      supervisor,
      binaries: options.binaries,
      apiServerFlags: options.apiServerFlags,
      controllerManagerFlags: options.controllerManagerFlags,
      schedulerFlags: options.schedulerFlags,
      log,
      onApiServerReady(kubeConfig, version) {
        const nodeReady = (async () => {
          const kubelet = await startFakeKubelet({ kubeConfig, nodeName: options.nodeName, log });
          startedKubelet = kubelet;
          await kubelet.ready;
          const nodeReadyMs = elapsed();
          log(`fake node ${kubelet.nodeName} Ready (${nodeReadyMs} ms)`);
          return { kubelet, nodeReadyMs };
        })();
        const crdsInstalled = (async () => {
          const crdStarted = Date.now();
          const crds = await installCrds(kubeConfig, options.crdPaths ?? DEFAULT_CRD_PATHS, version);
          const crdsMs = Date.now() - crdStarted;
          log(`${crds.length} CRDs Established (${crdsMs} ms)`);
          return { crds, crdsMs };
        })();
        apiServerWork = Promise.all([nodeReady, crdsInstalled]);
        apiServerWork.catch(() => {});
        inFlight.push(nodeReady, crdsInstalled);
      },
    });
    const [[{ kubelet, nodeReadyMs }, { crds, crdsMs }], { alertmanager, prometheus }, { kubectl, helm }] =
      await Promise.all([apiServerWork, monitoring, tools]);

    const info: StackInfo = {
      runDir,
      kubeconfigPath: controlPlane.adminKubeconfigPath,
      caCertPath: controlPlane.caCertPath,
      caKeyPath: controlPlane.caKeyPath,
      apiServerUrl: controlPlane.apiServerUrl,
      kubernetesVersion: controlPlane.version,
      nodeName: kubelet.nodeName,
      kubectlPath: kubectl,
      helmPath: helm,
      prometheus: prometheus.info,
      alertmanager: alertmanager.info,
      crds,
      timings: {
        controlPlane: controlPlane.timings,
        nodeReadyMs,
        alertmanagerMs: alertmanager.startupMs,
        prometheusMs: prometheus.startupMs,
        crdsMs,
        totalMs: elapsed(),
      },
    };
    writeFileSync(join(runDir, "stack.json"), JSON.stringify(info, null, 2) + "\n");
    log(`stack ready in ${info.timings.totalMs} ms; kubeconfig ${info.kubeconfigPath}`);

    let stopping: Promise<void> | undefined;
    const stack: Stack = {
      info,
      supervisor,
      controlPlane,
      kubelet,
      prometheus,
      alertmanager,
      kubeConfig: () => controlPlane.kubeConfig(),
      stop() {
        stopping ??= (async () => {
          unregisterShutdown();
          const stopStarted = Date.now();
          await kubelet.stop();
          await Promise.all([controlPlane.stop(), prometheus.stop(), alertmanager.stop()]);
          await supervisor.stopAll();
          if (!options.keepState) rmSync(join(runDir, "etcd"), { recursive: true, force: true });
          log(`stack stopped in ${Date.now() - stopStarted} ms (logs in ${join(runDir, "logs")})`);
        })();
        return stopping;
      },
    };
    const unregisterShutdown = onShutdownSignal(() => stack.stop());
    return stack;
  } catch (error) {
    log(`start-up failed; stopping what was started (logs in ${join(runDir, "logs")})`);
    await Promise.allSettled(inFlight);
    await startedKubelet?.stop();
    await supervisor.stopAll();
    throw error;
  }
}

/**
 * Applies every object in the given CRD files (server-side apply) and waits until each
 * CRD is Established. Before 1.25 the apiserver has no CEL: x-kubernetes-validations is
 * stripped (the server would drop it anyway, but apply rejects unknown fields).
 */
export async function installCrds(
  kubeConfig: KubeConfig,
  paths: string[],
  version: KubernetesVersion,
  timeoutMs = 60_000,
): Promise<string[]> {
  const objects = collectYamlFiles(paths).flatMap((file) =>
    parseAllDocuments(readFileSync(file, "utf8"))
      .map((document) => {
        if (document.errors.length > 0) throw new Error(`${file}: ${document.errors[0]?.message}`);
        return document.toJS() as KubernetesObject | null;
      })
      .filter((object): object is KubernetesObject => Boolean(object?.kind)),
  );
  const supportsCel = version.major > 1 || version.minor >= 25;
  // Sent through the untyped custom-objects client: client-node's typed serializer
  // (KubernetesObjectApi) silently drops JSONSchemaProps' `enum` and `default`
  // (their TypeScript names are _enum/_default) everywhere but under `items`.
  const client = kubeConfig.makeApiClient(CustomObjectsApi);
  const serverSideApply = setHeaderOptions("Content-Type", PatchStrategy.ServerSideApply);
  const crdNames: string[] = [];
  await Promise.all(
    objects.map(async (object) => {
      if (object.kind !== "CustomResourceDefinition" || !object.metadata?.name) {
        throw new Error(`installCrds installs CustomResourceDefinitions only, not ${object.kind}`);
      }
      const { status: _status, ...withoutStatus } = object as KubernetesObject & { status?: unknown };
      const body = supportsCel ? withoutStatus : stripKey(withoutStatus, "x-kubernetes-validations");
      await client.patchClusterCustomObject(
        {
          group: "apiextensions.k8s.io",
          version: "v1",
          plural: "customresourcedefinitions",
          name: object.metadata.name,
          body,
          fieldManager: "glidepath-harness",
          force: true,
        },
        serverSideApply,
      );
      crdNames.push(object.metadata.name);
    }),
  );
  const extensions = kubeConfig.makeApiClient(ApiextensionsV1Api);
  const deadline = Date.now() + timeoutMs;
  for (const name of crdNames) {
    for (;;) {
      const crd = await extensions.readCustomResourceDefinition({ name });
      const established = crd.status?.conditions?.find((condition) => condition.type === "Established");
      if (established?.status === "True") break;
      if (Date.now() > deadline) {
        throw new Error(
          `CRD ${name} not Established after ${timeoutMs} ms: ${JSON.stringify(crd.status?.conditions)}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  return crdNames.sort();
}

function collectYamlFiles(paths: string[]): string[] {
  return paths.flatMap((path) => {
    if (!existsSync(path))
      throw new Error(`CRD path ${path} does not exist (the stack was told to install the CRDs in it)`);
    if (!statSync(path).isDirectory()) return [path];
    const files = readdirSync(path)
      .filter((name) => name.endsWith(".yaml") || name.endsWith(".yml"))
      .sort()
      .map((name) => join(path, name));
    if (files.length === 0) throw new Error(`CRD directory ${path} holds no *.yaml or *.yml file`);
    return files;
  });
}

function stripKey<T>(value: T, key: string): T {
  if (Array.isArray(value)) return value.map((item: unknown) => stripKey(item, key)) as T;
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([name]) => name !== key)
        .map(([name, inner]) => [name, stripKey(inner, key)]),
    ) as T;
  }
  return value;
}
