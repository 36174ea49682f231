import { describe, expect, it } from "vitest";
import { validateRelease, type Release, type StrategyFile } from "../../../src/api/index.ts";
import { renderStatus, statusView } from "../../../src/cli/status-view.ts";
import { renderChangeRecord } from "../../../src/record/change-record.ts";
import { aRelease, planFor, strategy } from "../engine/builders.ts";
import { runUntil, simulate } from "../engine/cluster.ts";

// What people see of routing stages (issue 17 items 2 and 3): `glidepath status` and the
// change record show each stage's match, mirror or weight.

function aRoutedRelease(): Release {
  return aRelease({
    stages: [
      {
        name: "internal",
        weight: 0,
        hold: "1m",
        match: { headers: [{ name: "x-internal-user", value: "true" }], cookie: { name: "canary" } },
      },
      { name: "shadow", weight: 0, hold: "1m", mirror: { percent: 20 } },
      { name: "canary", weight: 10, hold: "1m" },
      { name: "ga", weight: 100, hold: "0s" },
    ],
    analysis: { metrics: [] },
  });
}

function runUntilStage(stage: string): Release {
  const release = aRoutedRelease();
  return runUntil(
    simulate(release, planFor(release)),
    (sim) => sim.release.status?.currentStage?.name === stage,
  ).release;
}

describe("routing stages as people see them", () => {
  it("glidepath status shows the match stage's headers and cookie in the stage bar, the stage and the traffic", () => {
    const release = runUntilStage("internal");
    const lines = renderStatus(statusView(release), Date.now());
    const field = (name: string) => lines.find((line) => line.startsWith(`${name} `));
    expect(field("Stages")).toContain("▶ match → ○ mirror 20% → ○ 10% → ○ 100% → ○ bake");
    expect(field("Stage")).toContain(
      "internal (1 of 4), only x-internal-user: true or cookie canary=always on 2.4.0",
    );
    expect(field("Traffic")).toContain(
      "canary on 2.4.0 for requests with x-internal-user: true or cookie canary=always",
    );
    expect(statusView(release).steps[0]).toMatchObject({
      name: "internal",
      weight: 0,
      routing: "only x-internal-user: true or cookie canary=always",
      state: "current",
    });
  });

  it("glidepath status shows the mirror stage's percentage and that the canary's answers are dropped", () => {
    const lines = renderStatus(statusView(runUntilStage("shadow")), Date.now());
    expect(lines.find((line) => line.startsWith("Stages "))).toContain("✔ match → ▶ mirror 20% → ○ 10%");
    expect(lines.find((line) => line.startsWith("Traffic "))).toContain(
      "20% of requests mirrored to the canary on 2.4.0 (its answers dropped)",
    );
  });

  it("the change record heads each stage with its match, mirror or weight, and keeps them in its data", () => {
    const release = aRoutedRelease();
    const end = runUntil(
      simulate(release, planFor(release)),
      (sim) => sim.release.status?.phase === "Succeeded",
    );
    const markdown = renderChangeRecord(end.release, "md");
    expect(markdown).toContain("### internal (only x-internal-user: true or cookie canary=always) — passed");
    expect(markdown).toContain("### shadow (mirror 20%) — passed");
    expect(markdown).toContain("### canary (10%) — passed");
    const data = JSON.parse(renderChangeRecord(end.release, "json")) as {
      stages: { name: string; match?: unknown; mirror?: unknown }[];
    };
    expect(data.stages[1]).toMatchObject({ name: "shadow", mirror: { percent: 20 } });
  });
});

describe("validation", () => {
  it("refuses a preset's match stage on the replica split, naming the preset", () => {
    const withRouting: StrategyFile = {
      ...strategy,
      presets: {
        ...strategy.presets,
        internal: {
          ...strategy.presets.standard!,
          stages: [
            { name: "internal", weight: 0, hold: "1m", match: { cookie: { name: "canary" } } },
            { name: "ga", weight: 100, hold: "0s" },
          ],
        },
      },
    };
    const valid = aRelease();
    const release = { ...valid, spec: { ...valid.spec, strategy: "internal", traffic: { replicas: {} } } };
    const validation = validateRelease(release, withRouting);
    expect(validation.ok ? [] : validation.issues).toEqual([
      {
        path: "$.spec.strategy",
        message: expect.stringContaining(
          'the preset "internal" stage 0: a match or mirror stage needs the Gateway API or NGINX router',
        ) as string,
      },
    ]);
  });
});
