// Every duration a person or a file gives Glidepath has a largest value (issue 11, item 4):
// unbounded, a 600h hold overflowed Node's timers and "9999999999999999h" was an invalid time.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  DURATION_LIMITS,
  parseControllerConfig,
  parseStrategyFile,
  releaseCrd,
  validateRelease,
  type StrategyFile,
} from "../../../src/api/index.ts";
import { loadStrategyFile } from "../../../src/config/index.ts";
import { exampleRelease, type LooseSpec } from "../../fixtures/releases.ts";

const strategy: StrategyFile = await loadStrategyFile("rollout/rollout-strategy.json");

function releaseWith(change: (spec: LooseSpec) => void) {
  const release = exampleRelease();
  const spec = release.spec as LooseSpec;
  delete spec.strategy;
  spec.stages = [
    { name: "canary", weight: 10, hold: "1m" },
    { name: "ga", weight: 100, hold: "0s" },
  ];
  change(spec);
  return validateRelease(release, strategy);
}

function issuesOf(result: ReturnType<typeof validateRelease>) {
  return result.ok ? [] : result.issues.map((issue) => `${issue.path}: ${issue.message}`);
}

describe("durations in a Release", () => {
  it.each([
    ["hold", "$.spec.stages[0].hold", (s: LooseSpec, v: string) => (s.stages[0].hold = v), "720h", "720h1ms"],
    ["bake", "$.spec.bake", (s: LooseSpec, v: string) => (s.bake = v), "720h", "721h"],
    [
      "progressDeadline",
      "$.spec.progressDeadline",
      (s: LooseSpec, v: string) => (s.progressDeadline = v),
      "24h",
      "24h1s",
    ],
    [
      "interval",
      "$.spec.analysis.interval",
      (s: LooseSpec, v: string) => (s.analysis.interval = v),
      "1h",
      "61m",
    ],
  ])(
    "accept %s at its limit and refuse it beyond, naming the field and the limit",
    (field, path, set, limit, over) => {
      expect(issuesOf(releaseWith((spec) => set(spec, limit)))).toEqual([]);
      expect(issuesOf(releaseWith((spec) => set(spec, over)))).toEqual([
        `${path}: ${field} must be at most ${limit}, not ${over}`,
      ]);
    },
  );

  it("refuse an absurd hold with a message, not an invalid time", () => {
    expect(issuesOf(releaseWith((spec) => (spec.stages[0].hold = "9999999999999999h")))).toEqual([
      "$.spec.stages[0].hold: hold must be at most 720h, not 9999999999999999h",
    ]);
  });

  it("refuse an analysis interval so short that analysis would spin", () => {
    expect(issuesOf(releaseWith((spec) => (spec.analysis.interval = "1s")))).toEqual([]);
    expect(issuesOf(releaseWith((spec) => (spec.analysis.interval = "999ms")))).toEqual([
      "$.spec.analysis.interval: interval must be at least 1s, not 999ms",
    ]);
    expect(issuesOf(releaseWith((spec) => (spec.analysis.interval = "0s")))).toHaveLength(1);
  });

  it("are stated in the CRD: in the description and as a CEL rule", () => {
    const text = JSON.stringify(releaseCrd());
    expect(text).toContain("How long the stage is held and analysed before it may advance. At most 720h.");
    expect(text).toContain(JSON.stringify("duration(self) <= duration('720h')"));
    expect(text).toContain(JSON.stringify("duration(self) >= duration('1s')"));
    expect(text).toContain(JSON.stringify("duration(self) <= duration('24h')"));
  });
});

describe("durations in the strategy file", () => {
  const file = JSON.parse(readFileSync("rollout/rollout-strategy.json", "utf8"));

  it("refuse a preset hold and defaults beyond their limits, each with its path", () => {
    const broken = structuredClone(file);
    broken.presets.standard.stages[1].hold = "800h";
    broken.defaults.bake = "1000h";
    broken.defaults.analysisInterval = "2h";
    broken.presets.emergency.bake = "9999999999999999h";
    expect(() => parseStrategyFile(JSON.stringify(broken))).toThrow(
      new RegExp(
        [
          String.raw`\$\.defaults\.analysisInterval: analysisInterval must be at most 1h, not 2h`,
          String.raw`\$\.defaults\.bake: bake must be at most 720h, not 1000h`,
          String.raw`\$\.presets\.standard\.stages\[1\]\.hold: hold must be at most 720h, not 800h`,
          String.raw`\$\.presets\.emergency\.bake: bake must be at most 720h, not 9999999999999999h`,
        ].join("[\\s\\S]*"),
      ),
    );
  });

  it("share the Release's limits", () => {
    expect(DURATION_LIMITS).toEqual({
      hold: { max: "720h" },
      bake: { max: "720h" },
      analysisInterval: { min: "1s", max: "1h" },
      progressDeadline: { max: "24h" },
    });
  });
});

describe("durations in the controller configuration", () => {
  it.each([
    [
      { changeWindows: { windows: [{ name: "w", cron: "0 9 * * *", duration: "169h" }] } },
      "$.changeWindows.windows[0].duration: duration must be at most 168h",
    ],
    [
      { changeWindows: { freezes: [{ name: "f", cron: "0 0 1 12 *", duration: "745h" }] } },
      "$.changeWindows.freezes[0].duration: duration must be at most 744h",
    ],
    [{ prometheus: { timeout: "10m" } }, "$.prometheus.timeout: timeout must be at most 5m"],
    [
      { prometheus: { minimumRateWindow: "2h" } },
      "$.prometheus.minimumRateWindow: minimumRateWindow must be at most 1h",
    ],
    [
      { leaderElection: { leaseDuration: "600h" } },
      "$.leaderElection.leaseDuration: leaseDuration must be at most 5m",
    ],
    [
      { leaderElection: { retryPeriod: "0s" } },
      "$.leaderElection.retryPeriod: retryPeriod must be at least 100ms",
    ],
    [
      { hooks: { alertmanager: { token: { env: "T" }, retention: "48h" } } },
      "$.hooks.alertmanager.retention: retention must be at most 24h",
    ],
    [
      { notifiers: [{ type: "webhook", name: "n", url: "http://x.example", timeout: "1h" }] },
      "$.notifiers[0].timeout: timeout must be at most 5m",
    ],
  ])("refuse %j", (config, message) => {
    expect(() => parseControllerConfig(config)).toThrow(message);
  });

  it("accept the largest of each", () => {
    expect(() =>
      parseControllerConfig({
        changeWindows: {
          windows: [{ name: "w", cron: "0 9 * * 1", duration: "168h" }],
          freezes: [{ name: "f", cron: "0 0 1 12 *", duration: "744h" }],
        },
        prometheus: { timeout: "5m", minimumRateWindow: "1h" },
        leaderElection: { leaseDuration: "5m", renewDeadline: "5m", retryPeriod: "1m" },
      }),
    ).not.toThrow();
  });
});
