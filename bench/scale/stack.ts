// The stack the scale benchmark runs on: the harness's stack with an audit log of the
// controller's requests, a Service range for thousands of Services and faster
// controller-manager and scheduler clients; extra fake nodes for every Pod; and the
// controller compiled as the Dockerfile compiles it.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { KubeConfig } from "@kubernetes/client-node";
import { installControllerRbac } from "../../test/harness/controller.ts";
import { startFakeKubelet, type FakeKubelet } from "../../test/harness/fake-kubelet.ts";
import { runCommand } from "../../test/harness/processes.ts";
import { startStack, type Stack } from "../../test/harness/stack.ts";
import { AuditLog } from "../lib/audit-log.ts";
import { kubeApis } from "../lib/fixtures.ts";
import { ProcessSampler } from "../lib/process-stats.ts";
import type { Context } from "./context.ts";

const repoRoot = fileURLToPath(new URL("../../", import.meta.url));

/** The controller's API requests are what the audit log keeps. */
export const CONTROLLER_USER = "system:serviceaccount:glidepath-system:glidepath-controller";

/**
 * The entry point the controllers run: the compiled JavaScript (dist/main.js) as the image
 * runs it, unless BENCH_FROM_SOURCE=1 (src/main.ts with Node's type stripping, as the tests run it).
 */
export function controllerEntry(runDir: string): Promise<string> {
  return process.env.BENCH_FROM_SOURCE
    ? Promise.resolve(join(repoRoot, "src", "main.ts"))
    : buildController(join(runDir, "dist"));
}

/** Compiles src/ as the Dockerfile does; returns dist/main.js. */
async function buildController(outDir: string): Promise<string> {
  const main = join(outDir, "main.js");
  // Type errors elsewhere in a working tree do not stop tsc from emitting.
  const result = await runCommand(
    join(repoRoot, "node_modules", ".bin", "node"),
    [
      join(repoRoot, "node_modules", "typescript", "bin", "tsc"),
      "-p",
      join(repoRoot, "tsconfig.build.json"),
      "--outDir",
      outDir,
    ],
    { allowFailure: true },
  );
  if (!existsSync(main)) throw new Error(`tsc did not produce ${main}: ${result.stdout}${result.stderr}`);
  return main;
}

export function startScaleStack(runDir: string, auditFlags: Record<string, string>): Promise<Stack> {
  return startStack({
    runDir,
    log: () => undefined,
    // A /24 holds 254 Services; a thousand services and their canaries need more.
    apiServerFlags: { ...auditFlags, "service-cluster-ip-range": "10.0.0.0/16" },
    // The defaults (100/200) make creating a thousand services crawl; the controller is not affected.
    controllerManagerFlags: { "kube-api-qps": "300", "kube-api-burst": "600" },
    schedulerFlags: { "kube-api-qps": "300", "kube-api-burst": "600" },
  });
}

/** Fake nodes beside the harness's for `serviceCount` stable Pods, their canaries and room to spare. */
export function extraNodesFor(serviceCount: number): number {
  // The harness's node holds 500.
  return Math.max(1, Math.ceil((2 * serviceCount + 10 - 400) / 1_500));
}

/** Starts the extra nodes one by one, pushing each to `kubelets` as it is ready (so a failure stops those started). */
export async function startExtraKubelets(
  kubeConfig: KubeConfig,
  count: number,
  kubelets: FakeKubelet[],
): Promise<void> {
  for (let index = 1; index <= count; index++) {
    const kubelet = await startFakeKubelet({
      kubeConfig,
      nodeName: `scale-node-${index}`,
      capacity: { pods: "1500", cpu: "1000", memory: "4Ti" },
      concurrency: 8,
    });
    await kubelet.ready;
    kubelets.push(kubelet);
  }
}

export async function createContext(
  stack: Stack,
  kubeConfig: KubeConfig,
  entry: string,
  auditPath: string,
): Promise<Context> {
  return {
    stack,
    apis: kubeApis(kubeConfig),
    audit: new AuditLog(auditPath),
    entry,
    kubeconfigPath: await installControllerRbac({
      kubectlPath: stack.info.kubectlPath,
      adminKubeconfigPath: stack.info.kubeconfigPath,
    }),
    apiServer: new ProcessSampler(stack.controlPlane.processes.apiServer.pid, 1_000),
    etcd: new ProcessSampler(stack.controlPlane.processes.etcd.pid, 1_000),
  };
}
