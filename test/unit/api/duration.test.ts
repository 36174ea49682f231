import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { durationSchema, formatDuration, parseDuration } from "../../../src/api/index.ts";

describe("durations", () => {
  it.each([
    ["30s", 30_000],
    ["5m", 300_000],
    ["1h30m", 5_400_000],
    ["250ms", 250],
    ["1m30s500ms", 90_500],
    ["0s", 0],
  ])("reads %s as %d ms", (text, ms) => {
    expect(durationSchema.safeParse(text).success).toBe(true);
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(["30", "5 m", "1d", "-5s", "1.5h", "", "s", "10S"])("rejects %j", (text) => {
    const result = durationSchema.safeParse(text);
    expect(result.success).toBe(false);
    expect(() => parseDuration(text)).toThrow(/not a duration/);
  });

  it("formats what it parses back to the same number of milliseconds", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10 * 24 * 3_600_000 }), (ms) => {
        const text = formatDuration(ms);
        expect(durationSchema.safeParse(text).success).toBe(true);
        expect(parseDuration(text)).toBe(ms);
      }),
      { numRuns: 300 },
    );
  });
});
