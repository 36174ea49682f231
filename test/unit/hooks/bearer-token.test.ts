import { describe, expect, it } from "vitest";
import { bearerTokenMatches, bearerTokenOf } from "../../../src/hooks/index.ts";

const TOKEN = "s3cr3t-token-0123456789abcdef";

describe("the webhook's bearer token", () => {
  it("is accepted when Alertmanager sends exactly the configured token", () => {
    expect(bearerTokenMatches(`Bearer ${TOKEN}`, TOKEN)).toBe(true);
  });

  it("takes the scheme in any case and tolerates trailing blanks, as HTTP allows", () => {
    expect(bearerTokenMatches(`bearer ${TOKEN}`, TOKEN)).toBe(true);
    expect(bearerTokenMatches(`BEARER   ${TOKEN}  `, TOKEN)).toBe(true);
  });

  it("is refused when missing, of another scheme, or different — also when only the length differs", () => {
    expect(bearerTokenMatches(undefined, TOKEN)).toBe(false);
    expect(bearerTokenMatches("", TOKEN)).toBe(false);
    expect(bearerTokenMatches(`Basic ${Buffer.from(`user:${TOKEN}`).toString("base64")}`, TOKEN)).toBe(false);
    expect(bearerTokenMatches(`Bearer ${TOKEN}x`, TOKEN)).toBe(false);
    expect(bearerTokenMatches(`Bearer ${TOKEN.slice(0, -1)}`, TOKEN)).toBe(false);
    expect(bearerTokenMatches(`Bearer ${TOKEN.toUpperCase()}`, TOKEN)).toBe(false);
    expect(bearerTokenMatches("Bearer", TOKEN)).toBe(false);
  });

  it("never matches when the expected token is empty (a configuration mistake is not an open door)", () => {
    expect(bearerTokenMatches("Bearer ", "")).toBe(false);
    expect(bearerTokenMatches(undefined, "")).toBe(false);
  });

  it("is read from the header without the scheme", () => {
    expect(bearerTokenOf(`Bearer ${TOKEN}`)).toBe(TOKEN);
    expect(bearerTokenOf("Bearer two words")).toBeUndefined();
    expect(bearerTokenOf(undefined)).toBeUndefined();
  });
});
