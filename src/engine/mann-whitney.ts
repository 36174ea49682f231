import { errorFunction, wilcoxonRankSum } from "simple-statistics";

// The Mann-Whitney U test of the canary's per-interval samples against the baseline's,
// as Kayenta judges a canary: rank-based, so it needs no assumption about how a metric
// is distributed (latencies are skewed, error ratios pile up at 0). Pure.
//
// simple-statistics gives the rank sum (mid-ranks for ties) and the error function; the
// steps from there are written out here, as scipy.stats.mannwhitneyu does them with
// method="asymptotic" and use_continuity=True (its results are checked in the tests):
//
//   U  = R_canary − n₁(n₁+1)/2            pairs where the canary is higher (a tie counts ½)
//   σ² = n₁n₂/12 · ((N+1) − Σ(t³−t)/(N(N−1)))   with the tie correction, N = n₁+n₂
//   z  = (U' − n₁n₂/2 − ½) / σ            U' = U, n₁n₂−U, or the larger of both (two-sided)
//   p  = 1 − Φ(z), doubled two-sided
//
// A p-value alone fails a canary for a difference too small to matter once there are
// many samples, so the verdict also needs an effect at least `effectSize`: the
// probability that a canary sample is worse than a baseline sample, U/(n₁n₂) (Vargha
// and Delaney's A; 0.5 is no difference, 0.71 what they call large).

/** Which way is worse for the metric: higher (latency, errors), lower (throughput), or either. */
export type WorseDirection = "higher" | "lower" | "either";

export interface ComparisonSettings {
  worse: WorseDirection;
  /** 0.5–0.999: the test fails the canary only at p below 1 − confidence. */
  confidence: number;
  /** 0.5–1: the smallest probability of a canary sample being worse that fails it. */
  effectSize: number;
  /** Samples each side needs before the test says anything. */
  minSamples: number;
}

export interface MannWhitneyResult {
  canarySamples: number;
  baselineSamples: number;
  /** U of the canary: pairs (canary, baseline) where the canary's value is higher, a tie counting ½. */
  u: number;
  z: number;
  /** One-sided for higher or lower, two-sided for either. */
  p: number;
  /** Probability that a canary sample is worse than a baseline one (for either: the larger way). */
  effect: number;
  /** Which way the canary differs, for either: the direction of the larger effect. */
  direction: "higher" | "lower" | "none";
  /** Hodges-Lehmann estimate of canary − baseline: the median of all pairwise differences, in the metric's unit. */
  shift: number;
}

export type ComparisonVerdict = "pass" | "fail" | "inconclusive";

export interface Comparison {
  verdict: ComparisonVerdict;
  /** Absent when there were too few samples to test. */
  result?: MannWhitneyResult;
  reason: string;
}

/** The standard normal's upper tail, 1 − Φ(z), from the error function (Φ(z) = ½(1 + erf(z/√2))). */
export function normalUpperTail(z: number): number {
  if (Number.isNaN(z)) return Number.NaN;
  // erf is odd; 1 − erf(x) for x ≥ 0 keeps its precision far out in the tail.
  const x = z / Math.SQRT2;
  return x >= 0 ? (1 - errorFunction(x)) / 2 : (1 + errorFunction(-x)) / 2;
}

/** Σ(t³ − t) over the groups of equal values in both samples together. */
function tieTerm(values: readonly number[]): number {
  const counts = new Map<number, number>();
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
  let total = 0;
  for (const t of counts.values()) total += t * t * t - t;
  return total;
}

function median(sorted: readonly number[]): number {
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/** Median of canary[i] − baseline[j] over every pair: the shift a person reads ("+12 ms"). */
export function hodgesLehmannShift(canary: readonly number[], baseline: readonly number[]): number {
  const differences: number[] = [];
  for (const c of canary) for (const b of baseline) differences.push(c - b);
  return median(differences.sort((a, b) => a - b));
}

/** The test on two non-empty samples of finite numbers. */
export function mannWhitney(
  canary: readonly number[],
  baseline: readonly number[],
  worse: WorseDirection,
): MannWhitneyResult {
  const n1 = canary.length;
  const n2 = baseline.length;
  if (n1 === 0 || n2 === 0) throw new Error("mannWhitney needs at least one sample on each side");
  const pairs = n1 * n2;
  const all = [...canary, ...baseline];
  const n = n1 + n2;
  const u = wilcoxonRankSum(canary, baseline) - (n1 * (n1 + 1)) / 2;
  const higher = u / pairs;
  const variance = (pairs / 12) * (n + 1 - tieTerm(all) / (n * (n - 1)));

  let tested: number;
  if (worse === "higher") tested = u;
  else if (worse === "lower") tested = pairs - u;
  else tested = Math.max(u, pairs - u);
  // All values equal: no variance, and no evidence of any difference.
  const z = variance > 0 ? (tested - pairs / 2 - 0.5) / Math.sqrt(variance) : 0;
  const oneSided = variance > 0 ? normalUpperTail(z) : 1;
  const p = Math.min(1, worse === "either" ? 2 * oneSided : oneSided);

  const effect = worse === "higher" ? higher : worse === "lower" ? 1 - higher : Math.max(higher, 1 - higher);
  const direction = higher > 0.5 ? "higher" : higher < 0.5 ? "lower" : "none";
  return {
    canarySamples: n1,
    baselineSamples: n2,
    u,
    z,
    p,
    effect,
    direction,
    shift: hodgesLehmannShift(canary, baseline),
  };
}

/** Rounded for reasons and status: enough digits to tell 0.049 from 0.05. */
export function roundTo(value: number, digits: number): number {
  return Number(value.toPrecision(digits));
}

/**
 * pass, fail or inconclusive for the canary's samples against the baseline's. Samples are
 * finite numbers (no-data intervals are left out before, so they never look healthy).
 */
export function compareWithBaseline(
  canary: readonly number[],
  baseline: readonly number[],
  settings: ComparisonSettings,
): Comparison {
  if (canary.length < settings.minSamples || baseline.length < settings.minSamples) {
    return {
      verdict: "inconclusive",
      reason:
        `too few samples to compare: ${canary.length} of the canary and ${baseline.length} of the baseline, ` +
        `${settings.minSamples} of each needed`,
    };
  }
  const result = mannWhitney(canary, baseline, settings.worse);
  const alpha = 1 - settings.confidence;
  const worseWay = settings.worse === "either" ? "different" : settings.worse;
  const facts =
    `U=${roundTo(result.u, 6)}, p=${roundTo(result.p, 3)}, ` +
    `P(canary ${worseWay})=${roundTo(result.effect, 3)}, shift ${formatShift(result.shift)} ` +
    `(${result.canarySamples} canary, ${result.baselineSamples} baseline samples)`;
  const significant = result.p < alpha;
  const large = result.effect >= settings.effectSize;
  if (significant && large) {
    return {
      result,
      verdict: "fail",
      reason: `the canary is ${settings.worse === "either" ? `${result.direction} than` : `${worseWay} than`} the baseline: ${facts}; fails at p < ${roundTo(alpha, 3)} with an effect of at least ${settings.effectSize}`,
    };
  }
  const why = !significant
    ? `no significant difference at ${roundTo(settings.confidence * 100, 4)}% confidence`
    : `a difference smaller than the effect size ${settings.effectSize}`;
  return { result, verdict: "pass", reason: `the canary is not worse than the baseline (${why}): ${facts}` };
}

function formatShift(shift: number): string {
  const rounded = roundTo(shift, 3);
  return rounded > 0 ? `+${rounded}` : String(rounded);
}
