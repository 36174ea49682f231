import { ApiException } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { apiErrorStatus, apiStatusCode, describeApiError } from "../../../src/kube/errors.ts";

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

  it("copes with things that are not errors", () => {
    expect(apiStatusCode(undefined)).toBeUndefined();
    expect(describeApiError("boom")).toBe("boom");
  });
});
