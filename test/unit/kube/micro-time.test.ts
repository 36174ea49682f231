import { V1MicroTime } from "@kubernetes/client-node";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { formatMicroTime, parseMicroTime, toMicroTime } from "../../../src/kube/micro-time.ts";

// What kube-apiserver's metav1.MicroTime parser accepts (RFC3339 with exactly six fractional digits).
const MICRO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

describe("MicroTime", () => {
  it("formats with six fractional digits", () => {
    expect(formatMicroTime(Date.UTC(2024, 4, 1, 12, 0, 0, 123))).toBe("2024-05-01T12:00:00.123000Z");
    expect(formatMicroTime(new Date("2024-05-01T12:00:00Z"))).toBe("2024-05-01T12:00:00.000000Z");
  });

  it("serialises as a MicroTime inside JSON, where a plain Date would not", () => {
    const at = Date.UTC(2024, 4, 1, 12, 0, 0, 7);
    const spec = JSON.parse(JSON.stringify({ renewTime: toMicroTime(at), plain: new Date(at) })) as Record<
      string,
      string
    >;
    expect(spec.renewTime).toBe("2024-05-01T12:00:00.007000Z");
    expect(spec.renewTime).toMatch(MICRO_TIME);
    // The sharp edge this module exists for: three digits, which the API server rejects.
    expect(spec.plain).toBe("2024-05-01T12:00:00.007Z");
    expect(spec.plain).not.toMatch(MICRO_TIME);
  });

  it("is a V1MicroTime, so client-node's serialiser keeps it as is", () => {
    expect(toMicroTime(0)).toBeInstanceOf(V1MicroTime);
    expect(toMicroTime(0)).toBeInstanceOf(Date);
  });

  it("round-trips any millisecond time through its wire form", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: Date.UTC(9999, 11, 31) }), (ms) => {
        const text = formatMicroTime(ms);
        expect(text).toMatch(MICRO_TIME);
        expect(parseMicroTime(text)?.getTime()).toBe(ms);
      }),
    );
  });

  it("reads what client-node hands back: strings (micro or milli), Dates, nothing", () => {
    expect(parseMicroTime("2024-05-01T12:00:00.123456Z")?.toISOString()).toBe("2024-05-01T12:00:00.123Z");
    expect(parseMicroTime("2024-05-01T14:00:00.123456+02:00")?.toISOString()).toBe(
      "2024-05-01T12:00:00.123Z",
    );
    expect(parseMicroTime(new Date(5))?.getTime()).toBe(5);
    expect(parseMicroTime(undefined)).toBeUndefined();
    expect(parseMicroTime("")).toBeUndefined();
    expect(parseMicroTime("yesterday")).toBeUndefined();
    expect(parseMicroTime(new Date(Number.NaN))).toBeUndefined();
    expect(parseMicroTime(42)).toBeUndefined();
  });

  it("refuses to make a MicroTime of an invalid time", () => {
    expect(() => toMicroTime(new Date(Number.NaN))).toThrow(/invalid time/);
  });
});
