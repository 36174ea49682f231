import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { canaryReplicasForWeight, reachedCanaryWeight } from "../../../src/traffic/index.ts";

describe("canary replicas for a weight", () => {
  it.each([
    // weight, stable, max, canary replicas, why
    [0, 4, 4, 0, "no weight, no pods"],
    [1, 4, 4, 1, "at least one pod while the weight is above 0"],
    [10, 9, 9, 1, "1 of 10 pods"],
    [20, 4, 4, 1, "1 of 5 pods"],
    [25, 3, 3, 1, "1 of 4 pods"],
    [50, 4, 4, 4, "as many as stable"],
    [50, 3, 3, 3, "as many as stable"],
    [90, 1, 20, 9, "9 of 10 pods when allowed"],
    [90, 4, 4, 4, "capped at the maximum"],
    [100, 4, 4, 4, "100% is out of reach with stable pods: the maximum"],
    [30, 0, 1, 1, "a stable with no pods: one canary pod is everything"],
  ])("%i%% beside %i stable pods (max %i) → %i canary pods (%s)", (weight, stable, max, expected) => {
    expect(canaryReplicasForWeight(weight, stable, max)).toBe(expected);
  });

  it("defaults the maximum to the stable replica count", () => {
    expect(canaryReplicasForWeight(90, 5)).toBe(5);
  });

  it("refuses weights outside 0–100 and fractions", () => {
    expect(() => canaryReplicasForWeight(101, 4)).toThrow(/whole percentage from 0 to 100, not 101/);
    expect(() => canaryReplicasForWeight(2.5, 4)).toThrow(/not 2.5/);
  });

  it("picks the count whose share is closest to the weight (property)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 99 }),
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: 1, max: 200 }),
        (weight, stable, max) => {
          const chosen = canaryReplicasForWeight(weight, stable, max);
          expect(chosen).toBeGreaterThanOrEqual(1);
          expect(chosen).toBeLessThanOrEqual(max);
          const error = (k: number) => Math.abs(k / (stable + k) - weight / 100);
          for (let k = 1; k <= max; k++) expect(error(chosen)).toBeLessThanOrEqual(error(k) + 1e-12);
        },
      ),
    );
  });
});

describe("the weight reached", () => {
  it.each([
    [4, 0, 0],
    [9, 1, 10],
    [3, 1, 25],
    [4, 4, 50],
    [0, 2, 100],
    [300, 1, 1],
    [1, 300, 99],
  ])("%i stable and %i canary pods → %i%%", (stable, canary, expected) => {
    expect(reachedCanaryWeight(stable, canary)).toBe(expected);
  });
});
