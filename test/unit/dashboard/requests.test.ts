import { describe, expect, it } from "vitest";
import { commandFor } from "../../../src/dashboard/command.ts";
import { TOKEN_HEADER } from "../../../src/dashboard/protocol.ts";
import {
  actionBodySchema,
  classifyOutcome,
  guardRequest,
  parseHistoryPath,
  parseReleasePath,
} from "../../../src/dashboard/requests.ts";

const listening = { port: 8090, token: "s3cret-token-of-the-page" };
const fromPage = {
  host: "127.0.0.1:8090",
  origin: "http://127.0.0.1:8090",
  "content-type": "application/json",
  "sec-fetch-site": "same-origin",
  [TOKEN_HEADER]: listening.token,
};

describe("which requests the dashboard serves", () => {
  it("serves its page on the loopback address by number or as localhost, and nothing under another Host (DNS rebinding)", () => {
    expect(guardRequest({ method: "GET", headers: { host: "127.0.0.1:8090" } }, "page", listening)).toEqual({
      ok: true,
    });
    expect(guardRequest({ method: "GET", headers: { host: "localhost:8090" } }, "page", listening)).toEqual({
      ok: true,
    });
    const rebound = guardRequest(
      { method: "GET", headers: { host: "attacker.example:8090" } },
      "page",
      listening,
    );
    expect(rebound).toMatchObject({ ok: false, status: 403 });
    expect(guardRequest({ method: "GET", headers: { host: "127.0.0.1:9999" } }, "page", listening).ok).toBe(
      false,
    );
    expect(guardRequest({ method: "GET", headers: {} }, "page", listening).ok).toBe(false);
  });

  it("answers API reads only with the page's token, in the header or (the event stream) the query", () => {
    const host = { host: "127.0.0.1:8090" };
    expect(guardRequest({ method: "GET", headers: host }, "read", listening)).toMatchObject({
      ok: false,
      status: 403,
    });
    expect(
      guardRequest({ method: "GET", headers: { ...host, [TOKEN_HEADER]: "guess" } }, "read", listening).ok,
    ).toBe(false);
    expect(
      guardRequest(
        { method: "GET", headers: { ...host, [TOKEN_HEADER]: listening.token } },
        "read",
        listening,
      ).ok,
    ).toBe(true);
    expect(
      guardRequest({ method: "GET", headers: host, queryToken: listening.token }, "read", listening).ok,
    ).toBe(true);
  });

  it("takes an action only as a same-origin JSON POST carrying the token in a header", () => {
    expect(guardRequest({ method: "POST", headers: fromPage }, "write", listening)).toEqual({ ok: true });
    const without = (name: string) => {
      const headers: Record<string, string> = { ...fromPage };
      delete headers[name];
      return headers;
    };
    // A token in the query does not do for a write: only a script of the page sets headers.
    expect(
      guardRequest(
        { method: "POST", headers: without(TOKEN_HEADER), queryToken: listening.token },
        "write",
        listening,
      ),
    ).toMatchObject({ ok: false, status: 403 });
    expect(guardRequest({ method: "POST", headers: without("origin") }, "write", listening)).toMatchObject({
      ok: false,
      status: 403,
    });
    expect(
      guardRequest(
        { method: "POST", headers: { ...fromPage, origin: "https://evil.example" } },
        "write",
        listening,
      ),
    ).toMatchObject({ ok: false, status: 403, message: expect.stringContaining("cross-site") });
    expect(
      guardRequest(
        { method: "POST", headers: { ...fromPage, "sec-fetch-site": "cross-site" } },
        "write",
        listening,
      ),
    ).toMatchObject({ ok: false, status: 403 });
    expect(
      guardRequest(
        { method: "POST", headers: { ...fromPage, "content-type": "text/plain" } },
        "write",
        listening,
      ),
    ).toMatchObject({ ok: false, status: 415 });
    expect(guardRequest({ method: "GET", headers: fromPage }, "write", listening)).toMatchObject({
      ok: false,
      status: 405,
    });
  });
});

describe("what an action may say", () => {
  it("accepts the CLI's options for each action and nothing else", () => {
    expect(actionBodySchema.parse({ action: "promote" })).toEqual({ action: "promote", full: false });
    expect(actionBodySchema.parse({ action: "approve", comment: " green " })).toEqual({
      action: "approve",
      comment: "green",
    });
    expect(actionBodySchema.safeParse({ action: "delete" }).success).toBe(false);
    expect(actionBodySchema.safeParse({ action: "resume", by: "somebody-else" }).success).toBe(false);
    expect(actionBodySchema.safeParse({ action: "abort", reason: "x".repeat(1001) }).success).toBe(false);
  });

  it("validates the release named in the path", () => {
    expect(parseReleasePath("/api/releases/shop/checkout-2-4-0")).toEqual({
      ok: true,
      ref: { namespace: "shop", name: "checkout-2-4-0" },
      actions: false,
    });
    expect(parseReleasePath("/api/releases/shop/checkout-2-4-0/actions")).toMatchObject({
      ok: true,
      actions: true,
    });
    expect(parseReleasePath("/api/releases/Shop_1/x")).toMatchObject({ ok: false });
    expect(parseReleasePath("/api/releases/shop/%E0%A4%A")).toMatchObject({ ok: false });
    expect(parseReleasePath("/api/other")).toBeUndefined();
  });

  it("validates the target and the DORA window of a history request, as `glidepath dora --window` does", () => {
    expect(parseHistoryPath("/api/history/shop/checkout", null)).toEqual({
      ok: true,
      ref: { namespace: "shop", target: "checkout", window: "30d" },
    });
    expect(parseHistoryPath("/api/history/shop/checkout", "7d")).toMatchObject({ ref: { window: "7d" } });
    expect(parseHistoryPath("/api/history/shop/checkout", "7 days")).toEqual({
      ok: false,
      message: 'window: must be a number of days, e.g. "30d" (1d to 9999d)',
    });
    expect(parseHistoryPath("/api/history/shop/Check_out", null)).toMatchObject({ ok: false });
    expect(parseHistoryPath("/api/history/shop", null)).toBeUndefined();
  });

  it("turns each button into the CLI command a person would type", () => {
    expect(commandFor({ action: "approve", comment: "ok" }, { name: "r" }, "carol")).toEqual({
      name: "approve",
      release: "r",
      by: "carol",
      comment: "ok",
    });
    expect(commandFor({ action: "rollback" }, { name: "r", target: "checkout" }, "erin")).toMatchObject({
      name: "rollback",
      target: "checkout",
      version: "previous",
      by: "erin",
      wait: false,
    });
  });

  it("says who refused: the admission webhook, RBAC, or the release's state", () => {
    expect(classifyOutcome(0, "approved release r as carol")).toBe("accepted");
    expect(
      classifyOutcome(
        1,
        'updating release a/b: 403 Forbidden: admission webhook "w" denied the request: bob may not approve',
      ),
    ).toBe("webhook");
    expect(
      classifyOutcome(
        1,
        'updating release a/b: 403 Forbidden: releases.glidepath.dev "b" is forbidden: User "dave" cannot patch resource',
      ),
    ).toBe("rbac");
    expect(classifyOutcome(4, "release r has finished (Succeeded): there is nothing to pause")).toBe(
      "conflict",
    );
    expect(classifyOutcome(3, "release r not found in namespace a")).toBe("not-found");
  });
});
