import { describe, expect, it } from "vitest";
import { validateRelease, type Release } from "../../../src/api/index.ts";
import {
  eventRows,
  metricCharts,
  releaseDetail,
  releaseSummary,
  targetHistory,
  timeline,
} from "../../../src/dashboard/views.ts";
import { releaseHistory } from "../../../src/cli/views.ts";
import { doraFigures } from "../../../src/record/dora.ts";
import { aReleaseInStage, aSucceededRelease, iso, MINUTE, SECOND, strategy, T0 } from "../cli/fixtures.ts";

const planOf = (release: Release) => {
  const validation = validateRelease(release, strategy);
  if (!validation.ok) throw new Error("invalid fixture");
  return { stages: validation.plan.stages, bakeMs: validation.plan.bakeMs, metrics: validation.plan.metrics };
};

describe("the list page's row", () => {
  it("says where the release is: phase, current stage and weight, the stage bar of its preset", () => {
    const release = aReleaseInStage("2.4.0", "2.3.0", T0, 1);
    const row = releaseSummary(release, planOf(release).stages);
    expect(row).toMatchObject({
      key: "shop/checkout-2-4-0",
      phase: "Progressing",
      stage: "early-adopter",
      weight: "10",
      changeId: "CHG-2.4.0",
      pauseRequested: false,
      awaitingApproval: false,
    });
    expect(row.steps.map((step) => [step.name, step.state])).toEqual([
      ["canary", "done"],
      ["early-adopter", "current"],
      ["expansion", "pending"],
      ["ga", "pending"],
      ["bake", "pending"],
    ]);
  });

  it("flags a pause a person asked for before the controller acts on it", () => {
    const release = aReleaseInStage("2.4.0", "2.3.0", T0, 0, { spec: { control: { paused: true } } });
    expect(releaseSummary(release).pauseRequested).toBe(true);
  });
});

describe("the release page", () => {
  it("times each stage: planned hold against how long it took, the running one until now", () => {
    const release = aReleaseInStage("2.4.0", "2.3.0", T0, 1);
    const plan = planOf(release);
    const stages = timeline(release, plan, T0 + 90 * SECOND);
    const canaryHold = plan.stages[0]?.hold;
    expect(stages[0]).toMatchObject({ name: "canary", state: "done", outcome: "passed", actualMs: MINUTE });
    expect(stages[0]?.plannedMs).toBeGreaterThan(0);
    expect(canaryHold).toBeDefined();
    expect(stages[1]).toMatchObject({ name: "early-adopter", state: "current", actualMs: 30 * SECOND });
    expect(stages[2]).toMatchObject({ name: "expansion", state: "pending" });
    expect(stages[2]?.actualMs).toBeUndefined();
    expect(stages.at(-1)).toMatchObject({ name: "bake", plannedMs: plan.bakeMs });
  });

  it("charts every measurement of a metric, oldest first, with its threshold, counters and limits, and the query as sent", () => {
    const release = aReleaseInStage("2.4.0", "2.3.0", T0, 1, {
      status: {
        stages: [
          {
            name: "canary",
            weight: 1,
            enteredAt: iso(T0),
            exitedAt: iso(T0 + MINUTE),
            outcome: "passed",
            measurements: [
              {
                metric: "error-rate",
                verdict: "pass",
                value: "0.01",
                at: iso(T0 + 20 * SECOND),
                reason: "ok",
              },
              {
                metric: "error-rate",
                verdict: "inconclusive",
                value: "NaN",
                at: iso(T0 + 10 * SECOND),
                reason: "no data",
              },
            ],
          },
          {
            name: "early-adopter",
            weight: 10,
            enteredAt: iso(T0 + MINUTE),
            tallies: [
              {
                metric: "error-rate",
                query: 'sum(rate(http_requests_total{code=~"5.."}[1m]))',
                pass: 3,
                fail: 1,
                inconclusive: 0,
                error: 0,
                consecutiveErrors: 0,
                unit: "ratio",
              },
            ],
            measurements: [
              {
                metric: "error-rate",
                verdict: "fail",
                value: "0.08",
                at: iso(T0 + 70 * SECOND),
                reason: "above 5%",
              },
            ],
          },
        ],
      },
    });
    const [chart] = metricCharts(release, planOf(release).metrics);
    expect(chart).toMatchObject({
      metric: "error-rate",
      unit: "ratio",
      max: 0.05,
      thresholdText: "max 5%",
      counters: { pass: 3, fail: 1, inconclusive: 0, error: 0 },
      limits: { failure: 0 },
      query: 'sum(rate(http_requests_total{code=~"5.."}[1m]))',
    });
    expect(chart?.points.map((point) => [point.value, point.verdict, point.stage])).toEqual([
      [null, "inconclusive", "canary"],
      [0.01, "pass", "canary"],
      [0.08, "fail", "early-adopter"],
    ]);
  });

  it("shows approvals as the controller verified them, the weights set and reached, and why Events are missing", () => {
    const release = aReleaseInStage("2.4.0", "2.3.0", T0, 1, {
      spec: { changeRequest: { requiresApproval: true } },
      status: {
        approvals: [
          { by: "carol", at: iso(T0 + MINUTE), verified: true },
          { by: "mallory", at: iso(T0 + MINUTE), verified: false, problem: "no identity stamp" },
        ],
        stages: [{ name: "canary", weight: 1, enteredAt: iso(T0), reachedWeight: 1 }],
        currentStage: { index: 0, name: "canary", weight: 1, startedAt: iso(T0) },
      },
    });
    const detail = releaseDetail(
      release,
      planOf(release),
      { problem: "the Events could not be read: 403" },
      T0,
    );
    expect(detail.approvals).toEqual([
      { by: "carol", at: iso(T0 + MINUTE), verified: true },
      { by: "mallory", at: iso(T0 + MINUTE), verified: false, problem: "no identity stamp" },
    ]);
    expect(detail.requiresApproval).toBe(true);
    expect(detail.weights).toEqual({ set: 1, actual: 1 });
    expect(detail.events).toEqual([]);
    expect(detail.eventsProblem).toContain("403");
    expect(detail.finished).toBe(false);
    expect(detail.changeRequest).toMatchObject({
      id: "CHG-2.4.0",
      requestedBy: "alice",
      rollbackPlan: "Revert",
    });
  });

  it("lists Events newest first", () => {
    const rows = eventRows([
      {
        metadata: {},
        involvedObject: {},
        reason: "StageEntered",
        message: "canary",
        lastTimestamp: new Date(T0),
      },
      {
        metadata: {},
        involvedObject: {},
        reason: "Progressing",
        message: "started",
        type: "Normal",
        count: 2,
        lastTimestamp: new Date(T0 + SECOND),
      },
    ]);
    expect(rows.map((row) => [row.reason, row.count])).toEqual([
      ["Progressing", 2],
      ["StageEntered", 1],
    ]);
  });
});

describe("the history page of a target", () => {
  it("lists `glidepath history`'s entries with their durations, marks those only a record keeps, and carries the DORA figures", () => {
    const older = aSucceededRelease("2.3.0", "2.2.0", T0);
    const newer = aSucceededRelease("2.4.0", "2.3.0", T0 + 60 * MINUTE);
    const entries = releaseHistory([older, newer], "checkout");
    const figures = doraFigures([], 30 * 24 * 60 * MINUTE, new Date(T0 + 120 * MINUTE));
    const page = targetHistory({
      namespace: "shop",
      target: "checkout",
      window: "30d",
      entries,
      liveNames: new Set([newer.metadata.name]),
      dora: { figures },
      problems: [],
    });
    expect(page.releases.map((row) => [row.version, row.live])).toEqual([
      ["2.4.0", true],
      ["2.3.0", false],
    ]);
    const started = Date.parse(newer.status?.startedAt ?? "");
    const finished = Date.parse(newer.status?.finishedAt ?? "");
    expect(page.releases[0]).toMatchObject({
      phase: "Succeeded",
      changeType: "standard",
      changeId: "CHG-2.4.0",
      durationMs: finished - started,
    });
    expect(page.dora).toBe(figures);
    const refused = targetHistory({
      namespace: "shop",
      target: "checkout",
      window: "30d",
      entries,
      liveNames: new Set(),
      dora: { problem: "forbidden" },
      problems: [],
    });
    expect(refused).toMatchObject({ doraProblem: "forbidden" });
    expect(refused.dora).toBeUndefined();
  });
});
