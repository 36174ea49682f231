import { ApiException } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import {
  apiError,
  apiErrorStatus,
  apiStatusCode,
  describeApiError,
  describeApiFailure,
  findApiError,
  isIdleStreamTimeout,
} from "../../../src/kube/errors.ts";

// Bodies as kube-apiserver sends them; client-node 2.x keeps them as JSON strings.
const conflictBody = JSON.stringify({
  kind: "Status",
  apiVersion: "v1",
  status: "Failure",
  message: 'Operation cannot be fulfilled on releases.glidepath.dev "web": the object has been modified',
  reason: "Conflict",
  code: 409,
});

describe("reading client-node errors", () => {
  it("takes the code and the server's message out of an ApiException with a string body", () => {
    const error = new ApiException(409, "Unknown API Status Code!", conflictBody, {});
    expect(apiStatusCode(error)).toBe(409);
    expect(apiErrorStatus(error)?.reason).toBe("Conflict");
    expect(describeApiError(error)).toBe(
      '409 Conflict: Operation cannot be fulfilled on releases.glidepath.dev "web": the object has been modified',
    );
  });

  it("falls back to the HTTP status text when there is no body (401)", () => {
    expect(describeApiError(new ApiException(401, "Unauthorized", undefined, {}))).toBe("401: Unauthorized");
  });

  it("does not repeat the code of a plain-text body", () => {
    expect(describeApiError(new ApiException(404, "x", "404 page not found\n", {}))).toBe(
      "404 page not found",
    );
  });

  it("keeps a non-JSON body as the message", () => {
    expect(describeApiError(new ApiException(502, "x", "  upstream connect error  ", {}))).toBe(
      "502: upstream connect error",
    );
  });

  it("reads a watch's failed request (statusCode) and a watch ERROR event's Status", () => {
    const failedWatch = Object.assign(new Error("Gone"), { statusCode: 410 });
    expect(apiStatusCode(failedWatch)).toBe(410);
    const errorEvent = {
      kind: "Status",
      code: 410,
      reason: "Expired",
      message: "too old resource version: 5 (90)",
    };
    expect(describeApiError(errorEvent)).toBe("410 Expired: too old resource version: 5 (90)");
  });

  it("names the network cause of a fetch failure", () => {
    const cause = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:6443"), { code: "ECONNREFUSED" });
    expect(describeApiError(new TypeError("fetch failed", { cause }))).toBe(
      "fetch failed (connect ECONNREFUSED 127.0.0.1:6443)",
    );
    const reset = Object.assign(new Error("other side closed"), { code: "UND_ERR_SOCKET" });
    expect(describeApiError(new TypeError("fetch failed", { cause: reset }))).toBe(
      "fetch failed (UND_ERR_SOCKET other side closed)",
    );
  });

  it("tells a watch's quiet body timeout from a failure", () => {
    // As fetch reports undici's BodyTimeoutError over HTTP/2.
    const timeout = Object.assign(new Error('HTTP/2: "stream timeout after 300000"'), {
      name: "BodyTimeoutError",
      code: "UND_ERR_BODY_TIMEOUT",
    });
    expect(isIdleStreamTimeout(new TypeError("terminated", { cause: timeout }))).toBe(true);
    expect(isIdleStreamTimeout(new Error('HTTP/2: "stream timeout after 300000"'))).toBe(true);
    const reset = Object.assign(new Error("other side closed"), { code: "UND_ERR_SOCKET" });
    expect(isIdleStreamTimeout(new TypeError("terminated", { cause: reset }))).toBe(false);
    expect(isIdleStreamTimeout(undefined)).toBe(false);
  });

  it("copes with things that are not errors", () => {
    expect(apiStatusCode(undefined)).toBeUndefined();
    expect(describeApiError("boom")).toBe("boom");
  });
});

// Status bodies exactly as kube-apiserver 1.20 sends them for an RBAC denial.
function forbiddenBody(options: {
  resource: string;
  group: string;
  verb: string;
  namespace: string;
  name?: string;
}) {
  const qualified = options.group ? `${options.resource.split("/")[0]}.${options.group}` : options.resource;
  const subject = options.name ? `${qualified} "${options.name}"` : qualified;
  return JSON.stringify({
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message:
      `${subject} is forbidden: User "system:serviceaccount:glidepath-system:glidepath-controller" ` +
      `cannot ${options.verb} resource "${options.resource}" in API group "${options.group}" in the namespace "${options.namespace}"`,
    reason: "Forbidden",
    details: {
      ...(options.name ? { name: options.name } : {}),
      group: options.group,
      kind: options.resource.split("/")[0],
    },
    code: 403,
  });
}

const headers = { "content-type": "application/json", "x-kubernetes-pf-flowschema-uid": "6b1f" };

describe("saying a failed API call as a person reads it", () => {
  it("says which permission the controller lacks and whom to grant it to, with the server's own words", () => {
    const error = new ApiException(
      403,
      "Unknown API Status Code!",
      forbiddenBody({
        resource: "httproutes",
        group: "gateway.networking.k8s.io",
        verb: "patch",
        namespace: "s06-a",
        name: "checkout",
      }),
      headers,
    );
    expect(describeApiFailure(error)).toBe(
      'the controller may not patch httproutes.gateway.networking.k8s.io "checkout" in namespace s06-a: ' +
        "grant patch on httproutes.gateway.networking.k8s.io to ServiceAccount glidepath-system/glidepath-controller " +
        '(403 Forbidden: httproutes.gateway.networking.k8s.io "checkout" is forbidden: User ' +
        '"system:serviceaccount:glidepath-system:glidepath-controller" cannot patch resource "httproutes" ' +
        'in API group "gateway.networking.k8s.io" in the namespace "s06-a")',
    );
  });

  it("names a subresource and the core group as RBAC rules name them", () => {
    const status = new ApiException(
      403,
      "Unknown API Status Code!",
      forbiddenBody({
        resource: "releases/status",
        group: "glidepath.dev",
        verb: "update",
        namespace: "shop",
        name: "checkout-2-4-0",
      }),
      headers,
    );
    expect(describeApiFailure(status)).toMatch(
      /^the controller may not update releases\.glidepath\.dev\/status "checkout-2-4-0" in namespace shop: grant update on releases\.glidepath\.dev\/status to ServiceAccount glidepath-system\/glidepath-controller \(403 Forbidden: /,
    );
    const services = new ApiException(
      403,
      "Unknown API Status Code!",
      forbiddenBody({ resource: "services", group: "", verb: "create", namespace: "shop" }),
      headers,
    );
    expect(describeApiFailure(services)).toMatch(
      /^the controller may not create services in namespace shop: grant create on services to ServiceAccount glidepath-system\/glidepath-controller \(403 Forbidden: /,
    );
  });

  it("reads the ApiException inside the wrapper the controller adds, and never repeats client-node's dump", () => {
    const forbidden = new ApiException(
      403,
      "Unknown API Status Code!",
      forbiddenBody({ resource: "deployments", group: "apps", verb: "create", namespace: "shop" }),
      headers,
    );
    const wrapped = apiError(
      "Release shop/checkout-2-4-0: writing the canary Deployment shop/checkout-canary",
      forbidden,
    );
    expect(findApiError(wrapped)).toBe(forbidden);
    const sentence = describeApiFailure(wrapped);
    expect(sentence).toMatch(
      /^the controller may not create deployments\.apps in namespace shop: grant create on deployments\.apps/,
    );
    for (const text of [sentence, describeApiError(wrapped)]) {
      expect(text).not.toContain("HTTP-Code");
      expect(text).not.toContain("Unknown API Status Code");
      expect(text).not.toContain("x-kubernetes-pf-flowschema-uid");
      expect(text).not.toContain("\n");
    }
  });

  it("uses what the controller asked where the server's answer does not say it", () => {
    const invalid = new ApiException(
      422,
      "Unknown API Status Code!",
      JSON.stringify({
        kind: "Status",
        status: "Failure",
        message:
          'Deployment.apps "checkout-canary" is invalid: spec.template.spec.containers[0].image: Required value',
        reason: "Invalid",
        details: { name: "checkout-canary", group: "apps", kind: "Deployment" },
        code: 422,
      }),
      headers,
    );
    expect(
      describeApiFailure(invalid, {
        verb: "create",
        resource: "deployments",
        group: "apps",
        namespace: "shop",
      }),
    ).toBe(
      'create deployments.apps "checkout-canary" in namespace shop failed: 422 Invalid: Deployment.apps "checkout-canary" is invalid: spec.template.spec.containers[0].image: Required value',
    );
    const full = new ApiException(
      500,
      "Unknown API Status Code!",
      JSON.stringify({
        kind: "Status",
        status: "Failure",
        message: "Internal error occurred: range is full",
        reason: "InternalError",
        code: 500,
      }),
      headers,
    );
    expect(describeApiFailure(full, { verb: "create", resource: "services", namespace: "shop" })).toBe(
      "create services in namespace shop failed: 500 InternalError: Internal error occurred: range is full",
    );
  });

  it("says a missing object and refused credentials plainly", () => {
    const missing = new ApiException(
      404,
      "Unknown API Status Code!",
      JSON.stringify({
        kind: "Status",
        status: "Failure",
        message: 'httproutes.gateway.networking.k8s.io "storefront" not found',
        reason: "NotFound",
        details: { name: "storefront", group: "gateway.networking.k8s.io", kind: "httproutes" },
        code: 404,
      }),
      headers,
    );
    expect(describeApiFailure(missing, { verb: "get", resource: "httproutes", namespace: "shop" })).toBe(
      'httproutes.gateway.networking.k8s.io "storefront" in namespace shop does not exist (404 NotFound: httproutes.gateway.networking.k8s.io "storefront" not found)',
    );
    expect(describeApiFailure(new ApiException(401, "Unauthorized", undefined, headers))).toBe(
      "the API server did not accept the controller's credentials (401: Unauthorized): check the token of its ServiceAccount",
    );
  });

  it("says a network failure as describeApiError does", () => {
    const cause = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:6443"), { code: "ECONNREFUSED" });
    expect(describeApiFailure(new TypeError("fetch failed", { cause }))).toBe(
      "fetch failed (connect ECONNREFUSED 127.0.0.1:6443)",
    );
  });
});
