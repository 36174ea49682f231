import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { backoffDelayMs, jitteredMs } from "../../../src/kube/backoff.ts";

const policy = { initialDelayMs: 500, maxDelayMs: 30_000 };

describe("backoffDelayMs", () => {
  it("doubles the ceiling with every retry until the cap", () => {
    const ceilings = [0, 1, 2, 3, 4, 5, 6, 7, 20].map((retry) => backoffDelayMs(retry, policy, 0.999999));
    expect(ceilings).toEqual([500, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000]);
  });

  it("keeps half of the ceiling fixed and spreads the other half with the jitter", () => {
    expect(backoffDelayMs(2, policy, 0)).toBe(1_000);
    expect(backoffDelayMs(2, policy, 0.5)).toBe(1_500);
  });

  it("stays within [ceiling/2, ceiling] for any retry and jitter, even absurd retries", () => {
    fc.assert(
      fc.property(
        fc.nat({ max: 5_000 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (retry, jitter) => {
          const ceiling = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** retry);
          const delay = backoffDelayMs(retry, policy, jitter);
          expect(delay).toBeGreaterThanOrEqual(Math.floor(ceiling / 2));
          expect(delay).toBeLessThanOrEqual(ceiling);
        },
      ),
    );
  });

  it("rejects negative or fractional retries, jitter outside [0, 1) and inverted policies", () => {
    expect(() => backoffDelayMs(-1, policy, 0)).toThrow(/retry must be/);
    expect(() => backoffDelayMs(1.5, policy, 0)).toThrow(/retry must be/);
    expect(() => backoffDelayMs(0, policy, 1)).toThrow(/jitter must be in \[0, 1\)/);
    expect(() => backoffDelayMs(0, policy, Number.NaN)).toThrow(/jitter/);
    expect(() => backoffDelayMs(0, { initialDelayMs: 0, maxDelayMs: 10 }, 0)).toThrow(/initialDelayMs/);
    expect(() => backoffDelayMs(0, { initialDelayMs: 100, maxDelayMs: 10 }, 0)).toThrow(/maxDelayMs \(10\)/);
  });
});

describe("jitteredMs", () => {
  it("stretches the base by up to the factor", () => {
    expect(jitteredMs(2_000, 0.2, 0)).toBe(2_000);
    expect(jitteredMs(2_000, 0.2, 0.5)).toBe(2_200);
    expect(jitteredMs(2_000, 0.2, 0.999999)).toBe(2_400);
  });

  it("rejects nonsense", () => {
    expect(() => jitteredMs(-1, 0.2, 0)).toThrow(/base delay/);
    expect(() => jitteredMs(100, -0.2, 0)).toThrow(/factor/);
  });
});
