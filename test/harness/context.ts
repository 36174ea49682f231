// What an integration test imports: typed access to the stack that globalSetup started
// (tests run in worker processes, so they get its serialisable StackInfo through
// vitest's provide/inject), clients, and helpers that replace sleeps.
import { randomBytes } from "node:crypto";
import type { KubeConfig } from "@kubernetes/client-node";
import {
  ApiextensionsV1Api,
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
} from "@kubernetes/client-node";
import { inject } from "vitest";
import { alertmanagerControl } from "./alertmanager.ts";
import type { AlertmanagerControl } from "./alertmanager.ts";
import { createServiceAccountKubeconfig, loadKubeConfig } from "./control-plane.ts";
import { ProcessSupervisor, runCommand } from "./processes.ts";
import type { CommandResult } from "./processes.ts";
import { prometheusControl, startPrometheus } from "./prometheus.ts";
import type { PrometheusControl, PrometheusServer, StartPrometheusOptions } from "./prometheus.ts";
import type { StackInfo } from "./stack.ts";

declare module "vitest" {
  export interface ProvidedContext {
    stack: StackInfo;
  }
}

export type { StackInfo } from "./stack.ts";
export {
  READY_ANNOTATION,
  CRASH_LOOP_ANNOTATION,
  CRASH_LOOP_IMAGE_SUFFIX,
  NEVER_READY_IMAGE_SUFFIX,
} from "./fake-kubelet.ts";
export { serveMetrics, startWebhookRecorder } from "./http-fixtures.ts";

/** For merge patches: `api.patchX({...}, mergePatch)` (client-node defaults to JSON patch). */
export const mergePatch = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);

export function stackInfo(): StackInfo {
  const info = inject("stack");
  if (!info)
    throw new Error(
      "no stack provided: run with the vitest project 'integration' (test/harness/global-setup.ts)",
    );
  return info;
}

let adminKubeConfig: KubeConfig | undefined;

/** Admin (system:masters) client configuration for the shared control plane. */
export function kubeConfig(): KubeConfig {
  adminKubeConfig ??= loadKubeConfig(stackInfo().kubeconfigPath);
  return adminKubeConfig;
}

/** The API clients tests use most, made from kubeConfig() (or the one given). */
export function kubeClients(config: KubeConfig = kubeConfig()) {
  return {
    core: config.makeApiClient(CoreV1Api),
    apps: config.makeApiClient(AppsV1Api),
    custom: config.makeApiClient(CustomObjectsApi),
    extensions: config.makeApiClient(ApiextensionsV1Api),
  };
}

export function prometheus(): PrometheusControl {
  return prometheusControl(stackInfo().prometheus);
}

export function alertmanager(): AlertmanagerControl {
  return alertmanagerControl(stackInfo().alertmanager);
}

export interface WaitForOptions {
  /** Default 30 s. */
  timeoutMs?: number;
  /** Default 100 ms. */
  intervalMs?: number;
  /** What is awaited, for the timeout message ("deployment web Available"). */
  description?: string;
}

/**
 * Polls `condition` until it returns a truthy value, and returns that value. Errors
 * thrown by `condition` count as "not yet" (the last one is reported on timeout).
 */
export async function waitFor<T>(
  condition: () => T | false | null | undefined | Promise<T | false | null | undefined>,
  options: WaitForOptions = {},
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const intervalMs = options.intervalMs ?? 100;
  const started = Date.now();
  let lastError: unknown;
  let lastValue: unknown;
  for (;;) {
    try {
      const value = await condition();
      if (value) return value;
      lastValue = value;
      lastError = undefined;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() - started > timeoutMs) {
      const what = options.description ?? condition.toString().slice(0, 200);
      const last = lastError
        ? `last error: ${(lastError as Error).message ?? String(lastError)}`
        : `last value: ${String(lastValue)}`;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (${last})`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Creates a namespace named `<prefix>-<random>` for one test's isolation; returns its name. */
export async function createNamespace(prefix = "test"): Promise<string> {
  const name = `${prefix}-${randomBytes(3).toString("hex")}`.toLowerCase();
  await kubeClients().core.createNamespace({
    body: { metadata: { name, labels: { "glidepath.dev/test-namespace": "true" } } },
  });
  return name;
}

export async function deleteNamespace(name: string): Promise<void> {
  try {
    await kubeClients().core.deleteNamespace({ name });
  } catch (error) {
    if ((error as { code?: number }).code !== 404) throw error;
  }
}

export interface ToolOptions {
  input?: string;
  /** Default: the admin kubeconfig. */
  kubeconfig?: string;
  /** Return a non-zero exit instead of throwing. */
  allowFailure?: boolean;
}

/** Runs the pinned real kubectl against the stack. */
export function kubectl(args: string[], options: ToolOptions = {}): Promise<CommandResult> {
  const info = stackInfo();
  return runCommand(
    info.kubectlPath,
    ["--kubeconfig", options.kubeconfig ?? info.kubeconfigPath, ...args],
    options,
  );
}

/** Runs the pinned real helm against the stack. */
export function helm(args: string[], options: ToolOptions = {}): Promise<CommandResult> {
  const info = stackInfo();
  return runCommand(
    info.helmPath,
    ["--kubeconfig", options.kubeconfig ?? info.kubeconfigPath, ...args],
    options,
  );
}

/**
 * A kubeconfig that authenticates as ServiceAccount namespace/name (created if missing)
 * with a TokenRequest token: RBAC applies to it as to the controller in a cluster.
 */
export async function serviceAccountKubeconfig(
  namespace: string,
  name: string,
): Promise<{ path: string; token: string; kubeConfig: KubeConfig }> {
  const { path, token } = await createServiceAccountKubeconfig(stackInfo().kubeconfigPath, {
    namespace,
    name,
  });
  return { path, token, kubeConfig: loadKubeConfig(path) };
}

/**
 * Starts another Prometheus owned by this test file's process (stop it yourself; it is
 * killed anyway when the worker exits). Alerts go to the shared Alertmanager unless
 * `alertmanagerUrl` says otherwise.
 */
export function startPrivatePrometheus(
  options: Partial<Omit<StartPrometheusOptions, "supervisor">> = {},
): Promise<PrometheusServer> {
  const info = stackInfo();
  return startPrometheus({
    supervisor: new ProcessSupervisor(info.runDir),
    name: "prometheus-private",
    alertmanagerUrl: info.alertmanager.url,
    ...options,
  });
}
