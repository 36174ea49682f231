import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  compareWithBaseline,
  hodgesLehmannShift,
  mannWhitney,
  normalUpperTail,
  type ComparisonSettings,
  type WorseDirection,
} from "../../../src/engine/mann-whitney.ts";

// The baseline comparison's statistics (issue 17 item 5): textbook values, then
// properties against samples drawn from known distributions.

const SETTINGS: ComparisonSettings = { worse: "higher", confidence: 0.95, effectSize: 0.71, minSamples: 5 };

/** A seeded generator (mulberry32), so each fast-check case draws its own reproducible samples. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Normal samples by Box-Muller. */
function normal(next: () => number, count: number, mean: number, sd: number): number[] {
  return Array.from({ length: count }, () => {
    const u = 1 - next();
    return mean + sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * next());
  });
}

/** Exponential samples (skewed, like latencies). */
function exponential(next: () => number, count: number, mean: number): number[] {
  return Array.from({ length: count }, () => -mean * Math.log(1 - next()));
}

describe("normalUpperTail", () => {
  it("matches the standard normal table", () => {
    expect(normalUpperTail(0)).toBeCloseTo(0.5, 7);
    expect(normalUpperTail(1.6448536)).toBeCloseTo(0.05, 6);
    expect(normalUpperTail(1.959964)).toBeCloseTo(0.025, 6);
    expect(normalUpperTail(-1.959964)).toBeCloseTo(0.975, 6);
    expect(normalUpperTail(3.0902323)).toBeCloseTo(0.001, 6);
  });
});

describe("mannWhitney against scipy.stats.mannwhitneyu (asymptotic, with continuity correction)", () => {
  // Values from scipy 1.17: mannwhitneyu(x, y, alternative=…, method="asymptotic").
  const cases: { x: number[]; y: number[]; worse: WorseDirection; u: number; p: number }[] = [
    { x: [19, 22, 16, 29, 24], y: [20, 11, 17, 12], worse: "higher", u: 17, p: 0.055673443266570206 },
    {
      x: [1, 2, 3, 4, 5, 6, 7, 8],
      y: [3, 4, 5, 6, 7, 8, 9, 10],
      worse: "either",
      u: 18,
      p: 0.15442325378008667,
    },
    {
      // Error ratios with many ties.
      x: [0.01, 0.02, 0.02, 0.03, 0.05, 0.02, 0.04, 0.02],
      y: [0.01, 0.01, 0.02, 0.01, 0.0, 0.01, 0.02, 0.01],
      worse: "higher",
      u: 55.5,
      p: 0.005381306297705758,
    },
    { x: [0, 0, 0, 1, 0, 0], y: [0, 0, 0, 0, 0, 0], worse: "higher", u: 21, p: 0.20232838096364308 },
    {
      x: [120, 130, 125, 140, 150, 135, 128, 132, 145, 138],
      y: [100, 110, 105, 118, 121, 108, 112, 115, 109, 119],
      worse: "lower",
      u: 99,
      p: 0.9999086641044452,
    },
  ];
  for (const { x, y, worse, u, p } of cases) {
    it(`U=${u}, p=${p} (${worse})`, () => {
      const result = mannWhitney(x, y, worse);
      expect(result.u).toBe(u);
      // The error function simple-statistics uses is good to about 1.2e-7.
      expect(result.p).toBeCloseTo(p, 6);
    });
  }

  it("says no difference when every value is the same", () => {
    const result = mannWhitney([3, 3, 3], [3, 3, 3, 3], "either");
    expect(result).toMatchObject({ u: 6, p: 1, effect: 0.5, direction: "none", shift: 0 });
  });

  it("estimates the shift as the median pairwise difference (Hodges-Lehmann)", () => {
    expect(hodgesLehmannShift([10, 12, 14], [1, 2, 3])).toBe(10);
    expect(hodgesLehmannShift([1, 2], [1, 2])).toBe(0);
  });
});

describe("compareWithBaseline", () => {
  it("is inconclusive with fewer samples than minSamples on either side", () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ noNaN: true, noDefaultInfinity: true }), { maxLength: 30 }),
        fc.array(fc.double({ noNaN: true, noDefaultInfinity: true }), { maxLength: 30 }),
        fc.integer({ min: 1, max: 40 }),
        (canary, baseline, minSamples) => {
          fc.pre(canary.length < minSamples || baseline.length < minSamples);
          const comparison = compareWithBaseline(canary, baseline, { ...SETTINGS, minSamples });
          expect(comparison.verdict).toBe("inconclusive");
          expect(comparison.result).toBeUndefined();
          expect(comparison.reason).toContain(`${minSamples} of each needed`);
        },
      ),
    );
  });

  it("fails a canary whose samples all lie above the baseline's (minSamples ≥ 5, 95%)", () => {
    fc.assert(
      fc.property(
        fc.integer(),
        fc.integer({ min: 5, max: 30 }),
        fc.integer({ min: 5, max: 30 }),
        (seed, n1, n2) => {
          const next = random(seed);
          const baseline = Array.from({ length: n2 }, () => next());
          const canary = Array.from({ length: n1 }, () => 1.5 + next());
          const comparison = compareWithBaseline(canary, baseline, SETTINGS);
          expect(comparison.verdict).toBe("fail");
          expect(comparison.result?.effect).toBe(1);
          expect(comparison.result?.shift).toBeGreaterThan(0.5);
        },
      ),
    );
  });

  it("detects a normal canary shifted two standard deviations the worse way", () => {
    fc.assert(
      fc.property(
        fc.integer(),
        fc.constantFrom<WorseDirection>("higher", "lower", "either"),
        (seed, worse) => {
          const next = random(seed);
          const trials = 200;
          let detected = 0;
          for (let trial = 0; trial < trials; trial++) {
            const baseline = normal(next, 20, 100, 10);
            const canary = normal(next, 20, worse === "lower" ? 80 : 120, 10);
            if (compareWithBaseline(canary, baseline, { ...SETTINGS, worse }).verdict === "fail") detected++;
          }
          // The effect is Φ(2/√2) ≈ 0.92 and the test's power above 0.999 at n = 20.
          expect(detected / trials).toBeGreaterThan(0.95);
        },
      ),
      { numRuns: 20 },
    );
  });

  it("rarely fails a canary drawn from the baseline's own distribution", () => {
    fc.assert(
      fc.property(fc.integer(), fc.constantFrom("normal", "exponential"), (seed, shape) => {
        const next = random(seed);
        const draw = (count: number) =>
          shape === "normal" ? normal(next, count, 0.2, 0.05) : exponential(next, count, 0.2);
        const trials = 1000;
        let significant = 0;
        let failed = 0;
        for (let trial = 0; trial < trials; trial++) {
          const canary = draw(10);
          const baseline = draw(10);
          if (mannWhitney(canary, baseline, "higher").p < 0.05) significant++;
          if (compareWithBaseline(canary, baseline, SETTINGS).verdict === "fail") failed++;
        }
        // The test keeps its level (about 5% with no difference; sd of the rate ≈ 0.007),
        // and the effect size cuts false alarms further.
        expect(significant / trials).toBeLessThan(0.05 + 0.04);
        expect(failed).toBeLessThanOrEqual(significant);
      }),
      { numRuns: 20 },
    );
  });

  it("is symmetric: swapping the samples and the worse direction gives the same test", () => {
    const sample = fc.array(fc.integer({ min: 0, max: 20 }), { minLength: 1, maxLength: 25 });
    fc.assert(
      fc.property(sample, sample, (a, b) => {
        const higher = mannWhitney(a, b, "higher");
        const lower = mannWhitney(b, a, "lower");
        expect(lower.p).toBeCloseTo(higher.p, 12);
        expect(lower.effect).toBeCloseTo(higher.effect, 12);
        expect(lower.u).toBeCloseTo(a.length * b.length - higher.u, 9);
        const either = mannWhitney(a, b, "either");
        const swapped = mannWhitney(b, a, "either");
        expect(swapped.p).toBeCloseTo(either.p, 12);
        expect(swapped.shift).toBeCloseTo(-either.shift, 9);
      }),
    );
  });

  it("depends only on ranks: the same test after any increasing transformation of both samples", () => {
    const sample = fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 20 });
    fc.assert(
      fc.property(
        sample,
        sample,
        fc.constantFrom<WorseDirection>("higher", "lower", "either"),
        (a, b, worse) => {
          const plain = mannWhitney(a, b, worse);
          const transformed = mannWhitney(
            a.map((value) => Math.log(value) * 7 + 3),
            b.map((value) => Math.log(value) * 7 + 3),
            worse,
          );
          expect(transformed.p).toBeCloseTo(plain.p, 9);
          expect(transformed.effect).toBeCloseTo(plain.effect, 12);
        },
      ),
    );
  });

  it("never fails a canary that is better than the baseline (one-sided)", () => {
    fc.assert(
      fc.property(fc.integer(), (seed) => {
        const next = random(seed);
        const baseline = normal(next, 15, 100, 10);
        const better = normal(next, 15, 70, 10);
        expect(compareWithBaseline(better, baseline, SETTINGS).verdict).toBe("pass");
      }),
    );
  });

  it("passes a significant difference smaller than the effect size", () => {
    // 60 samples each, the canary 0.3 sd higher: significant, but P(canary higher) ≈ 0.58.
    const next = random(7);
    const baseline = normal(next, 200, 100, 10);
    const canary = normal(next, 200, 103, 10);
    const comparison = compareWithBaseline(canary, baseline, SETTINGS);
    expect(comparison.result?.p).toBeLessThan(0.05);
    expect(comparison.verdict).toBe("pass");
    expect(comparison.reason).toContain("smaller than the effect size 0.71");
  });
});
