import { ApiException } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import {
  BlockTracker,
  classifyFailure,
  TRANSIENT_FAILURES_BEFORE_BLOCK,
} from "../../../src/controller/blocked.ts";
import { TargetError, apiError } from "../../../src/kube/errors.ts";

// Which failures of the controller's reads and writes stop a release until a person
// acts, and the line the Release then carries.

const forbidden = new ApiException(
  403,
  "Unknown API Status Code!",
  JSON.stringify({
    kind: "Status",
    status: "Failure",
    message:
      'deployments.apps is forbidden: User "system:serviceaccount:glidepath-system:glidepath-controller" cannot create resource "deployments" in API group "apps" in the namespace "shop"',
    reason: "Forbidden",
    details: { group: "apps", kind: "deployments" },
    code: 403,
  }),
  {},
);

const unavailable = new ApiException(
  503,
  "Unknown API Status Code!",
  JSON.stringify({ kind: "Status", status: "Failure", message: "etcdserver: leader changed", code: 503 }),
  {},
);

describe("classifying a failure", () => {
  it("says a permission the controller lacks at once, inside the controller's own wrapper", () => {
    const wrapped = apiError(
      "Release shop/checkout-2-4-0: writing the canary Deployment shop/checkout-canary",
      forbidden,
    );
    expect(classifyFailure(wrapped, 1)).toEqual({
      reason: "Forbidden",
      message: expect.stringMatching(
        /^the controller may not create deployments\.apps in namespace shop: grant create on deployments\.apps to ServiceAccount glidepath-system\/glidepath-controller \(403 Forbidden: /,
      ) as unknown as string,
    });
  });

  it("says a missing or unfitting object with its own reason, without the Release's name in front", () => {
    const missing = new TargetError(
      "RouteNotFound",
      "Release shop/checkout-2-4-0: HTTPRoute shop/storefront (spec.traffic.gatewayAPI.httpRoute) does not exist",
    );
    expect(classifyFailure(missing, 1)).toEqual({
      reason: "RouteNotFound",
      message: "HTTPRoute shop/storefront (spec.traffic.gatewayAPI.httpRoute) does not exist",
    });
  });

  it("retries what usually passes by itself quietly, and says it once it keeps coming", () => {
    const wrapped = apiError("Release shop/checkout-2-4-0: reading the HTTPRoute shop/checkout", unavailable);
    expect(classifyFailure(wrapped, TRANSIENT_FAILURES_BEFORE_BLOCK - 1)).toBeUndefined();
    expect(classifyFailure(wrapped, TRANSIENT_FAILURES_BEFORE_BLOCK)).toEqual({
      reason: "ApiError",
      message: `reading the HTTPRoute shop/checkout: 503: etcdserver: leader changed (${TRANSIENT_FAILURES_BEFORE_BLOCK} attempts in a row)`,
    });
  });
});

describe("tracking the blocks of a release", () => {
  it("takes the block the stored status records until an attempt succeeds, and says a block only when it is new", () => {
    const tracker = new BlockTracker();
    const stored = {
      conditions: [
        {
          type: "Progressing",
          status: "False" as const,
          reason: "Forbidden",
          message: "the controller may not patch httproutes",
          lastTransitionTime: "2026-03-02T10:00:00.000Z",
        },
      ],
    };
    expect(tracker.current("shop/a", stored)).toEqual({
      reason: "Forbidden",
      message: "the controller may not patch httproutes",
    });
    const first = tracker.failed("shop/a", forbidden);
    expect(first.isNew).toBe(true);
    expect(tracker.failed("shop/a", forbidden).isNew).toBe(false);
    tracker.succeeded("shop/a");
    expect(tracker.current("shop/a", stored)).toBeUndefined();
  });
});
