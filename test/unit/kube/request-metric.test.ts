// The labels of glidepath_kube_requests_total: Kubernetes' verb and the resource's plural,
// never an object's name, so the metric stays bounded however many Releases there are.
import { describe, expect, it } from "vitest";
import { describeKubeRequest } from "../../../src/kube/index.ts";

const server = "https://127.0.0.1:6443";

describe("describeKubeRequest", () => {
  it.each([
    ["GET", "/api/v1/namespaces/shop/pods?labelSelector=app%3Dcheckout", "list", "pods"],
    ["GET", "/apis/apps/v1/namespaces/shop/deployments/checkout", "get", "deployments"],
    ["GET", "/apis/apps/v1/deployments", "list", "deployments"],
    [
      "PUT",
      "/apis/glidepath.dev/v1alpha1/namespaces/shop/releases/checkout-2-4-0/status",
      "update",
      "releases/status",
    ],
    [
      "PATCH",
      "/apis/gateway.networking.k8s.io/v1/namespaces/shop/httproutes/checkout",
      "patch",
      "httproutes",
    ],
    ["POST", "/api/v1/namespaces/shop/events", "create", "events"],
    ["DELETE", "/apis/apps/v1/namespaces/shop/deployments/checkout-canary", "delete", "deployments"],
    ["DELETE", "/api/v1/namespaces/shop/pods", "deletecollection", "pods"],
    ["GET", "/api/v1/namespaces/shop", "get", "namespaces"],
    ["GET", "/api/v1/namespaces", "list", "namespaces"],
    ["PUT", "/apis/coordination.k8s.io/v1/namespaces/glidepath-system/leases/glidepath", "update", "leases"],
  ])("%s %s is %s %s", (method, path, verb, resource) => {
    expect(describeKubeRequest(method, `${server}${path}`)).toEqual({ verb, resource });
  });

  it("calls a path that names no resource other", () => {
    expect(describeKubeRequest("GET", `${server}/version`)).toEqual({ verb: "get", resource: "other" });
    expect(describeKubeRequest("GET", `${server}/apis/apps/v1`)).toEqual({ verb: "get", resource: "other" });
  });
});
