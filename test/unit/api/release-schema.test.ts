import { describe, expect, it } from "vitest";
import {
  releaseSchema,
  releaseStatusSchema,
  validateRelease,
  type StrategyFile,
} from "../../../src/api/index.ts";
import { loadStrategyFile } from "../../../src/config/index.ts";
import { exampleRelease, malformedCases } from "../../fixtures/releases.ts";

const strategy: StrategyFile = await loadStrategyFile("rollout/rollout-strategy.json");

describe("the Release schema", () => {
  it("accepts the shipped example and fills in defaults", () => {
    const result = validateRelease(exampleRelease(), strategy);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.release.spec.changeRequest.requiresApproval).toBe(false);
    expect(result.release.spec.analysis?.metrics?.[1]?.onInconclusive).toBe("pause");
    expect(result.plan.stages.map((s) => s.weight)).toEqual([1, 10, 50, 100]);
  });

  describe.each(malformedCases)("rejects $name", (malformed) => {
    it(`at ${malformed.path}`, () => {
      const release = exampleRelease();
      malformed.mutate(release.spec as Record<string, unknown>);
      const result = validateRelease(release, strategy);
      expect(result.ok).toBe(false);
      if (result.ok) return;
      const issue = result.issues.find((i) => i.path === malformed.path);
      expect(issue, `issues were: ${JSON.stringify(result.issues)}`).toBeDefined();
      expect(issue?.message).toMatch(malformed.message);
    });
  });

  it("reports every problem, not just the first", () => {
    const release = exampleRelease();
    for (const malformed of malformedCases.slice(4, 9))
      malformed.mutate(release.spec as Record<string, unknown>);
    const result = validateRelease(release, strategy);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    for (const malformed of malformedCases.slice(4, 9)) {
      expect(result.issues.map((i) => i.path)).toContain(malformed.path);
    }
  });

  it("refuses non-finite thresholds", () => {
    for (const value of [Number.POSITIVE_INFINITY, Number.NaN]) {
      const release = exampleRelease();
      (release.spec.analysis!.metrics![0] as { max: number }).max = value;
      expect(releaseSchema.safeParse(release).success).toBe(false);
    }
  });

  it("refuses a stage name used twice", () => {
    const release = exampleRelease();
    delete release.spec.strategy;
    release.spec.stages = [
      { name: "canary", weight: 1, hold: "1m" },
      { name: "canary", weight: 100, hold: "0s" },
    ];
    const result = validateRelease(release, strategy);
    expect(result.ok ? [] : result.issues).toContainEqual({
      path: "$.spec.stages[1].name",
      message: 'stage name "canary" is repeated',
    });
  });

  it("refuses a stage named bake, the record's name for the monitoring after GA", () => {
    const release = exampleRelease();
    delete release.spec.strategy;
    release.spec.stages = [
      { name: "bake", weight: 50, hold: "1m" },
      { name: "ga", weight: 100, hold: "0s" },
    ];
    const result = validateRelease(release, strategy);
    expect(result.ok ? [] : result.issues).toContainEqual({
      path: "$.spec.stages[0].name",
      message: '"bake" is reserved for the monitoring after GA',
    });
  });

  it("refuses an unknown preset and names the ones that exist", () => {
    const release = exampleRelease();
    release.spec.strategy = "yolo";
    const result = validateRelease(release, strategy);
    expect(result.ok ? [] : result.issues).toContainEqual({
      path: "$.spec.strategy",
      message: 'no preset "yolo" in the rollout strategy file (presets: standard, expedited, emergency)',
    });
  });

  it("refuses a Release of another kind or API version", () => {
    const release = { ...exampleRelease(), apiVersion: "glidepath.dev/v1" };
    const result = validateRelease(release, strategy);
    expect(result.ok ? [] : result.issues.map((i) => i.path)).toEqual(["$.apiVersion"]);
  });
});

describe("the resolved plan", () => {
  it("takes the change type's preset when no strategy is named", () => {
    const release = exampleRelease();
    delete release.spec.strategy;
    release.spec.changeRequest.type = "expedited";
    const result = validateRelease(release, strategy);
    expect(result.ok && result.plan.preset).toBe("expedited");
    expect(result.ok && result.plan.stages.map((s) => s.weight)).toEqual([1, 100]);
  });

  it("puts an approval gate before GA when the change request requires approval", () => {
    const release = exampleRelease();
    release.spec.changeRequest.requiresApproval = true;
    const result = validateRelease(release, strategy);
    expect(result.ok && result.plan.stages.map((s) => s.requiresApproval === true)).toEqual([
      false,
      false,
      false,
      true,
    ]);
  });

  it("gives an emergency its preset's privileges and obligations", () => {
    const release = exampleRelease();
    delete release.spec.strategy;
    release.spec.changeRequest.type = "emergency";
    const result = validateRelease(release, strategy);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.plan).toMatchObject({
      mayPassFreeze: true,
      postMortemDue: true,
      requiresKnownPrevious: true,
    });
    expect(result.plan.stages.map((s) => [s.weight, s.hold])).toEqual([
      [1, "5m"],
      [100, "0s"],
    ]);
  });

  it("converts durations, with the Release's own values over the defaults", () => {
    const release = exampleRelease();
    release.spec.bake = "2m";
    delete release.spec.progressDeadline;
    const result = validateRelease(release, strategy);
    expect(
      result.ok && [result.plan.bakeMs, result.plan.progressDeadlineMs, result.plan.analysisIntervalMs],
    ).toEqual([120_000, 600_000, 30_000]);
  });

  it("uses the default metrics when the Release names none", () => {
    const release = exampleRelease();
    delete release.spec.analysis;
    const result = validateRelease(release, strategy);
    expect(result.ok && result.plan.metrics.map((m) => [m.name, m.template, m.max])).toEqual([
      ["error-rate", "http-error-ratio", 0.05],
    ]);
  });
});

describe("the Release status schema", () => {
  it("bounds the measurements kept per stage", () => {
    const measurement = {
      metric: "error-rate",
      verdict: "pass",
      value: "0.01",
      at: "2026-01-01T00:00:00Z",
      reason: "ok",
    };
    const stage = {
      name: "canary",
      weight: 1,
      enteredAt: "2026-01-01T00:00:00Z",
      measurements: Array.from({ length: 11 }, () => measurement),
    };
    expect(releaseStatusSchema.safeParse({ stages: [stage] }).success).toBe(false);
    stage.measurements.pop();
    expect(releaseStatusSchema.safeParse({ stages: [stage] }).success).toBe(true);
  });

  it("accepts timestamps with offsets and fractions, as Kubernetes and Alertmanager write them", () => {
    const approvals = [{ by: "bob", at: "2026-01-01T10:00:00.123456789+02:00" }];
    expect(releaseStatusSchema.safeParse({ approvals }).success).toBe(true);
  });
});
