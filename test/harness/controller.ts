// Runs the real controller (src/main.ts) as its own process, under its own
// ServiceAccount's token, so the RBAC in manifests/install/rbac.yaml is what it gets.
// Used by the integration tests and the demo; no vitest in here.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { stringify } from "yaml";
import { createServiceAccountKubeconfig } from "./control-plane.ts";
import {
  freePort,
  runCommand,
  waitUntilReady,
  type ManagedProcess,
  type ProcessSupervisor,
} from "./processes.ts";

const repoRoot = fileURLToPath(new URL("../../", import.meta.url));
export const CONTROLLER_NAMESPACE = "glidepath-system";
export const CONTROLLER_SERVICE_ACCOUNT = "glidepath-controller";

/** Applies the namespace and RBAC from manifests/install with the real kubectl; returns the controller's kubeconfig. */
export async function installControllerRbac(options: {
  kubectlPath: string;
  adminKubeconfigPath: string;
}): Promise<string> {
  for (const file of ["namespace.yaml", "rbac.yaml", "user-roles.yaml"]) {
    await runCommand(options.kubectlPath, [
      "--kubeconfig",
      options.adminKubeconfigPath,
      "apply",
      "-f",
      join(repoRoot, "manifests", "install", file),
    ]);
  }
  const { path } = await createServiceAccountKubeconfig(options.adminKubeconfigPath, {
    namespace: CONTROLLER_NAMESPACE,
    name: CONTROLLER_SERVICE_ACCOUNT,
    create: false,
  });
  return path;
}

export interface ControllerProcessOptions {
  supervisor: ProcessSupervisor;
  /** The controller's own kubeconfig (installControllerRbac). */
  kubeconfigPath: string;
  prometheusUrl: string;
  /** Unique per replica: the Lease holder's identity and the process name. */
  identity?: string;
  /** Merged over the generated configuration (src/api/controller-config.ts). */
  config?: Record<string, unknown>;
  runDir: string;
}

export interface ControllerProcess {
  url: string;
  /** Where /metrics, /healthz and /readyz answer over plain HTTP (the main url unless metricsPort). */
  metricsUrl: string;
  identity: string;
  process: ManagedProcess;
  /** Graceful stop (SIGTERM): releases the Lease. */
  stop(): Promise<void>;
  /** SIGKILL: no goodbye, the Lease runs out by itself. */
  kill(): Promise<void>;
}

/** node's arguments for a controller on 127.0.0.1: Node flags, the entry point (src/main.ts unless told), its flags. */
export function controllerArgs(options: {
  configPath: string;
  kubeconfigPath: string;
  identity: string;
  entry?: string;
  nodeArgs?: string[];
}): string[] {
  return [
    ...(options.nodeArgs ?? []),
    options.entry ?? join(repoRoot, "src", "main.ts"),
    "--config",
    options.configPath,
    "--kubeconfig",
    options.kubeconfigPath,
    "--host",
    "127.0.0.1",
    "--identity",
    options.identity,
  ];
}

export async function startControllerProcess(options: ControllerProcessOptions): Promise<ControllerProcess> {
  const port = await freePort();
  const identity = options.identity ?? `controller-${port}`;
  const config = {
    strategyFile: join(repoRoot, "rollout", "rollout-strategy.json"),
    prometheus: { url: options.prometheusUrl, timeout: "5s" },
    port,
    leaderElection: {
      leaseNamespace: CONTROLLER_NAMESPACE,
      leaseDuration: "6s",
      renewDeadline: "4s",
      retryPeriod: "1s",
    },
    ...options.config,
  };
  const configPath = join(options.runDir, `${identity}.yaml`);
  writeFileSync(configPath, stringify(config));
  const proc = options.supervisor.start({
    name: identity,
    command: join(repoRoot, "node_modules", ".bin", "node"),
    args: controllerArgs({ configPath, kubeconfigPath: options.kubeconfigPath, identity }),
    env: { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? "info" },
  });
  // With TLS on the main port, readiness is asked on the metrics port (plain HTTP).
  const given = options.config as { tls?: unknown; metricsPort?: number } | undefined;
  const url = `${given?.tls ? "https" : "http"}://127.0.0.1:${port}`;
  const metricsUrl = given?.metricsPort ? `http://127.0.0.1:${given.metricsPort}` : url;
  await waitUntilReady(proc, async () => (await fetch(`${metricsUrl}/readyz`)).ok, 30_000);
  return {
    url,
    metricsUrl,
    identity,
    process: proc,
    stop: () => proc.stop(10_000),
    kill: async () => {
      if (proc.isRunning()) process.kill(proc.pid, "SIGKILL");
      await proc.exited;
    },
  };
}
