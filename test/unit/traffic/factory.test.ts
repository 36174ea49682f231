import { AppsV1Api, CoreV1Api, CustomObjectsApi, KubeConfig, NetworkingV1Api } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import {
  GatewayApiRouter,
  NginxRouter,
  ReplicasRouter,
  createTrafficRouter,
} from "../../../src/traffic/index.ts";
import { WorkloadManager } from "../../../src/workload/index.ts";
import { release } from "../workload/objects.ts";

// Real clients for an address nothing listens on: constructing a router makes no call.
const config = new KubeConfig();
config.loadFromOptions({
  clusters: [{ name: "none", server: "https://127.0.0.1:1", skipTLSVerify: true }],
  users: [{ name: "nobody" }],
  contexts: [{ name: "none", cluster: "none", user: "nobody" }],
  currentContext: "none",
});
const clients = {
  custom: config.makeApiClient(CustomObjectsApi),
  networking: config.makeApiClient(NetworkingV1Api),
  workloads: new WorkloadManager({
    apps: config.makeApiClient(AppsV1Api),
    core: config.makeApiClient(CoreV1Api),
  }),
};

describe("choosing the router from spec.traffic", () => {
  it.each([
    [{ gatewayAPI: { httpRoute: "checkout" } }, GatewayApiRouter],
    [{ nginx: { ingress: "shop" } }, NginxRouter],
    [{ replicas: {} }, ReplicasRouter],
  ])("%o → %o", (traffic, expected) => {
    expect(createTrafficRouter(release(traffic), clients)).toBeInstanceOf(expected);
  });

  it("refuses a Release that names none", () => {
    expect(() => createTrafficRouter(release({}), clients)).toThrow(
      "Release shop/checkout-2-4-0: spec.traffic names no router (gatewayAPI, nginx or replicas)",
    );
  });

  it("refuses a weight outside 0–100 before any call", async () => {
    await expect(createTrafficRouter(release(), clients).setWeight(150)).rejects.toThrow(
      "Release shop/checkout-2-4-0: HTTPRoute shop/checkout: a canary weight is a whole percentage from 0 to 100, not 150",
    );
  });
});
