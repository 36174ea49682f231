// What every rollback run needs on top of the harness's stack: the sample service (2
// stable replicas), a traffic simulator following its HTTPRoute and canary Deployment and
// scraped by Prometheus, the controller as its own process with an Alertmanager hook
// token, and a watch on the route. A benchmark of another path to stable (a different
// trigger, a different fault) starts here too.
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { AppsV1Api, CustomObjectsApi, type KubeConfig } from "@kubernetes/client-node";
import {
  installControllerRbac,
  startControllerProcess,
  type ControllerProcess,
} from "../../test/harness/controller.ts";
import { createSampleService } from "../../test/harness/sample-service.ts";
import type { Stack } from "../../test/harness/stack.ts";
import { spawnTrafficSimulator, type SpawnedSimulator } from "../../test/harness/traffic-simulator-client.ts";
import { waitUntil } from "../lib/wait.ts";
import { watchRoute, type RouteWatch } from "./route-watch.ts";
import { NAMESPACE, REQUESTS_PER_SECOND, SERVICE } from "./settings.ts";

export interface RollbackStack {
  stack: Stack;
  namespace: string;
  /** The service released: its Deployment, Service and HTTPRoute share this name. */
  service: string;
  kubeConfig: KubeConfig;
  custom: CustomObjectsApi;
  simulator: SpawnedSimulator;
  controller: ControllerProcess;
  /** The bearer token of the controller's /hooks/alertmanager. */
  hookToken: string;
  route: RouteWatch;
  /** Stops the route watch and the controller (the stack is the caller's). */
  stop(): Promise<void>;
}

export interface RollbackStackOptions {
  /** Merged over the controller's configuration (beside the hook token), e.g. `{ prometheus: … }`. */
  controllerConfig?: Record<string, unknown>;
}

export async function prepareRollbackStack(
  stack: Stack,
  options: RollbackStackOptions = {},
): Promise<RollbackStack> {
  const kubeConfig = stack.kubeConfig();
  const custom = kubeConfig.makeApiClient(CustomObjectsApi);
  const apps = kubeConfig.makeApiClient(AppsV1Api);
  await createSampleService(kubeConfig, {
    namespace: NAMESPACE,
    name: SERVICE,
    version: "1.0.0",
    replicas: 2,
  });
  await waitUntil("the stable Deployment Ready", async () => {
    const deployment = await apps.readNamespacedDeployment({ name: SERVICE, namespace: NAMESPACE });
    return (deployment.status?.readyReplicas ?? 0) >= 2 ? true : undefined;
  });

  // Weights from the HTTPRoute, and each role's version from the `version` label of its
  // Deployment (checkout, checkout-canary): each Release's canary version gets its traffic.
  const simulator = await spawnTrafficSimulator(stack.supervisor, {
    namespace: NAMESPACE,
    service: SERVICE,
    requestsPerSecond: REQUESTS_PER_SECOND,
    stable: { version: "1.0.0" },
    canary: { version: "none" },
    route: { name: SERVICE, kubeconfigPath: stack.info.kubeconfigPath, deployment: SERVICE, pollMs: 200 },
  });
  const scrapeTarget = new URL(simulator.client.url).host;
  stack.prometheus.setScrapeTargets("bench-gateway", [scrapeTarget]);
  await stack.prometheus.waitForTarget("bench-gateway", scrapeTarget);

  const hookToken = randomBytes(24).toString("base64url");
  const tokenFile = join(stack.info.runDir, "bench-hook-token");
  writeFileSync(tokenFile, hookToken, { mode: 0o600 });
  const controller = await startControllerProcess({
    supervisor: stack.supervisor,
    kubeconfigPath: await installControllerRbac({
      kubectlPath: stack.info.kubectlPath,
      adminKubeconfigPath: stack.info.kubeconfigPath,
    }),
    prometheusUrl: stack.info.prometheus.url,
    runDir: stack.info.runDir,
    identity: "bench-controller",
    config: {
      hooks: { alertmanager: { token: { file: tokenFile } } },
      ...options.controllerConfig,
    },
  });

  const route = await watchRoute(kubeConfig, NAMESPACE, SERVICE);
  return {
    stack,
    namespace: NAMESPACE,
    service: SERVICE,
    kubeConfig,
    custom,
    simulator,
    controller,
    hookToken,
    route,
    stop: async () => {
      route.stop();
      await controller.stop();
    },
  };
}
