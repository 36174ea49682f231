import { describe, expect, it } from "vitest";
import { validateRelease, type Measurement, type Release } from "../../../src/api/index.ts";
import { renderStatus, statusView } from "../../../src/cli/status-view.ts";
import { renderChangeRecord } from "../../../src/record/change-record.ts";
import { aRelease, iso, planFor, strategy } from "../engine/builders.ts";
import { runUntil, simulate } from "../engine/cluster.ts";

// What people see of the baseline comparison (issue 17 item 5): `glidepath status` and the
// change record show each compared metric's samples, U, p and effect.

function rolledBackOnTheComparison(): Release {
  const release = aRelease({
    stages: [
      { name: "canary", weight: 10, hold: "2m", minMeasurements: 1 },
      { name: "ga", weight: 100, hold: "0s" },
    ],
    analysis: {
      interval: "30s",
      metrics: [
        {
          name: "latency",
          query: 'histogram_quantile(0.99, rate(latency_bucket{version="{{version}}"}[{{interval}}]))',
          unit: "seconds",
          max: 1,
          compare: { baseline: { minSamples: 5 } },
        },
      ],
    },
  });
  let round = 0;
  const measureFor = (metric: string, atMs: number): Measurement => {
    const spread = [0.1, 0.12, 0.11, 0.13, 0.1][round++ % 5] as number;
    return {
      metric,
      verdict: "pass",
      at: iso(atMs),
      reason: "within the maximum",
      value: String(spread + 0.05),
      baselineValue: String(spread),
    };
  };
  const end = runUntil(
    simulate(release, planFor(release)),
    (sim) => sim.release.status?.phase === "RolledBack",
    { measureFor },
    500,
  );
  return end.release;
}

describe("the baseline comparison as people see it", () => {
  const release = rolledBackOnTheComparison();

  it("glidepath status says the comparison's verdict, U, p, effect and samples under the metrics", () => {
    const lines = renderStatus(statusView(release), Date.parse(release.status?.finishedAt ?? ""));
    const line = lines.find((text) => text.includes("latency vs baseline"));
    expect(line).toBe(
      "  latency vs baseline: fail — the canary is higher than the baseline: U=25, p=0.00583, " +
        "P(canary higher)=1, shift +0.05 (5 canary, 5 baseline samples); fails at p < 0.05 with an effect of at least 0.71",
    );
  });

  it("the change record has a table of the comparison in the stage", () => {
    const markdown = renderChangeRecord(release, "md");
    expect(markdown).toContain(
      "| metric | verdict | canary samples | baseline samples | U | p | P(canary worse) | shift |",
    );
    expect(markdown).toContain("| latency | fail | 5 | 5 | 25 | 0.00583366 | 1 | 50 ms |");
    expect(markdown).toContain(
      "- metric: latency = 150 ms (not higher than the baseline (p < 0.05, effect ≥ 0.71))",
    );
  });
});

describe("validation", () => {
  it("refuses a comparison with the baseline on a router that cannot give the baseline a share", () => {
    const valid = aRelease();
    const release = {
      ...valid,
      spec: {
        ...valid.spec,
        traffic: { nginx: { ingress: "checkout" } },
        analysis: {
          metrics: [{ name: "errors", template: "http-error-ratio", max: 0.05, compare: { baseline: {} } }],
        },
      },
    };
    const validation = validateRelease(release, strategy);
    expect(validation.ok).toBe(false);
    expect(validation.ok ? [] : validation.issues).toContainEqual({
      path: "$.spec.analysis.metrics[0].compare",
      message: expect.stringContaining(
        "a comparison with the baseline needs the Gateway API router",
      ) as string,
    });
  });
});
