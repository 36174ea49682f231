// The Glidepath demo (README command 1, via scripts/demo.sh): a real control plane,
// Prometheus and Alertmanager on 127.0.0.1, a traffic simulator standing in for a
// gateway, and the controller. A good release goes to GA; a bad one rolls back by
// itself. Progress is shown live; each release's change record is printed at the end.
// Ctrl-C stops every process it started.
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { CustomObjectsApi } from "@kubernetes/client-node";
import { parse } from "yaml";
import type { Release } from "../src/api/index.ts";
import { renderChangeRecord } from "../src/record/change-record.ts";
import { installControllerRbac, startControllerProcess } from "../test/harness/controller.ts";
import { createSampleService } from "../test/harness/sample-service.ts";
import { startStack } from "../test/harness/stack.ts";
import { spawnTrafficSimulator } from "../test/harness/traffic-simulator-client.ts";
import { renderProgress } from "./progress.ts";

const started = Date.now();
const say = (text: string) => console.log(`\x1b[1m▸ ${text}\x1b[0m`);
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)} s`;

say("starting etcd, kube-apiserver, controller-manager, scheduler, a fake kubelet, Prometheus, Alertmanager");
const stack = await startStack({ log: () => undefined });
const kubeConfig = stack.kubeConfig();
const custom = kubeConfig.makeApiClient(CustomObjectsApi);
console.log(
  `  control plane ${stack.info.apiServerUrl} (Kubernetes ${stack.info.kubernetesVersion.gitVersion})`,
);
console.log(`  Prometheus ${stack.info.prometheus.url}   Alertmanager ${stack.info.alertmanager.url}`);

say("deploying checkout 2.3.1 (4 replicas), its Service and HTTPRoute in namespace shop");
const service = await createSampleService(kubeConfig, {
  namespace: "shop",
  name: "checkout",
  version: "2.3.1",
  replicas: 4,
});

say("starting the traffic simulator: 1000 requests/s split by the HTTPRoute's weights");
const simulator = await spawnTrafficSimulator(stack.supervisor, {
  namespace: service.namespace,
  service: service.name,
  requestsPerSecond: 1000,
  stable: { version: "2.3.1", latencyMs: 80 },
  canary: { version: "none", latencyMs: 80 },
  route: {
    name: service.name,
    kubeconfigPath: stack.info.kubeconfigPath,
    deployment: service.name,
    pollMs: 200,
  },
});
// 2.5.0 is the bad build: 8% of its requests fail.
await simulator.client.configure({ versions: { "2.5.0": { errorRatio: 0.08 } } });
const target = new URL(simulator.client.url).host;
stack.prometheus.setScrapeTargets("gateway", [target]);
await stack.prometheus.waitForTarget("gateway", target);

say("starting the Glidepath controller under its own ServiceAccount (manifests/install/rbac.yaml)");
const controllerKubeconfig = await installControllerRbac({
  kubectlPath: stack.info.kubectlPath,
  adminKubeconfigPath: stack.info.kubeconfigPath,
});
const controller = await startControllerProcess({
  supervisor: stack.supervisor,
  kubeconfigPath: controllerKubeconfig,
  prometheusUrl: stack.info.prometheus.url,
  runDir: stack.info.runDir,
  identity: "glidepath-demo",
});
console.log(`  controller ${controller.url}/metrics, logs in ${controller.process.logFile}`);

async function apply(file: string): Promise<string> {
  const body = parse(readFileSync(new URL(file, import.meta.url), "utf8")) as Release;
  await custom.createNamespacedCustomObject({
    group: "glidepath.dev",
    version: "v1alpha1",
    namespace: body.metadata.namespace ?? "shop",
    plural: "releases",
    body,
  });
  return body.metadata.name;
}

async function read(name: string): Promise<Release> {
  return (await custom.getNamespacedCustomObject({
    group: "glidepath.dev",
    version: "v1alpha1",
    namespace: "shop",
    plural: "releases",
    name,
  })) as Release;
}

/** Follows a release live until it finishes; returns it and when its canary first took traffic. */
async function follow(
  name: string,
): Promise<{ release: Release; canaryTrafficAt?: number; stableOnlyAt?: number }> {
  let canaryTrafficAt: number | undefined;
  let previousFrame = "";
  const tty = process.stdout.isTTY;
  for (;;) {
    const release = await read(name);
    const state = await simulator.client.state();
    if (canaryTrafficAt === undefined && state.canaryWeight > 0) canaryTrafficAt = Date.now();
    const frame = renderProgress(release, state);
    if (frame !== previousFrame) {
      if (tty && previousFrame) process.stdout.write(`\x1b[${previousFrame.split("\n").length}A\x1b[J`);
      process.stdout.write(`${frame}\n`);
      previousFrame = frame;
    }
    const phase = release.status?.phase;
    if (phase === "Succeeded" || phase === "RolledBack" || phase === "Failed") {
      return { release, ...(canaryTrafficAt ? { canaryTrafficAt } : {}), stableOnlyAt: Date.now() };
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

say("applying checkout 2.4.0 — a good build (demo/good-release.yaml)");
const good = await follow(await apply("./good-release.yaml"));

say("applying checkout 2.5.0 — a bad build: 8% of its requests fail (demo/bad-release.yaml)");
const bad = await follow(await apply("./bad-release.yaml"));
const rollbackAt = bad.release.status?.rollback?.at ? Date.parse(bad.release.status.rollback.at) : undefined;

for (const { release } of [good, bad]) {
  say(`change record of ${release.metadata.name}`);
  console.log(renderChangeRecord(release, "md"));
}

const rss = await controllerPeakRss(controller.process.pid);
say("summary");
console.log(`  ${good.release.metadata.name}: ${good.release.status?.phase}`);
console.log(
  `  ${bad.release.metadata.name}: ${bad.release.status?.phase} (${bad.release.status?.rollback?.reason ?? "no rollback"})`,
);
if (bad.canaryTrafficAt && rollbackAt) {
  console.log(
    `  bad canary: first errors → rollback decided: ${((rollbackAt - bad.canaryTrafficAt) / 1000).toFixed(1)} s`,
  );
}
if (bad.canaryTrafficAt && bad.stableOnlyAt) {
  console.log(
    `  bad canary: first errors → weights 100/0 and canary at 0: ${((bad.stableOnlyAt - bad.canaryTrafficAt) / 1000).toFixed(1)} s`,
  );
}
console.log(`  controller peak RSS: ${rss}`);
console.log(`  demo wall time: ${elapsed()}`);
await stack.stop();

// The demo promises both outcomes; anything else is a failure the caller (CI) must see.
const unexpected = [
  { release: good.release, expected: "Succeeded" },
  { release: bad.release, expected: "RolledBack" },
].filter(({ release, expected }) => release.status?.phase !== expected);
for (const { release, expected } of unexpected) {
  console.error(
    `demo: ${release.metadata.name} ended ${release.status?.phase ?? "without a phase"}, expected ${expected}`,
  );
}
if (unexpected.length > 0) process.exit(1);

async function controllerPeakRss(pid: number): Promise<string> {
  try {
    const status = await readFile(`/proc/${pid}/status`, "utf8");
    const peak = /VmHWM:\s+(\d+) kB/.exec(status)?.[1];
    return peak ? `${(Number(peak) / 1024).toFixed(0)} MiB` : "unknown";
  } catch {
    return "unknown";
  }
}
