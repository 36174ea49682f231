import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { ACTIONS_ANNOTATION } from "../../../src/cli/audit.ts";
import { planHints } from "../../../src/cli/status-command.ts";
import { ANSI, LiveScreen, ttyFrame } from "../../../src/cli/screen.ts";
import {
  renderStatus,
  stageBar,
  stageSteps,
  statusJson,
  statusLine,
  statusView,
  trafficLine,
} from "../../../src/cli/status-view.ts";
import {
  aRelease,
  aReleaseInStage,
  aSucceededRelease,
  iso,
  MINUTE,
  SECOND,
  strategy,
  T0,
} from "./fixtures.ts";

const hintsFor = (release: Parameters<typeof planHints>[0]) => planHints(release, strategy);

describe("the stage bar", () => {
  it("shows every planned stage, then the bake, before anything started", () => {
    const release = aRelease();
    expect(stageBar(stageSteps(release, hintsFor(release).stages))).toBe(
      "○ 1% → ○ 10% → ○ 50% → ○ 100% → ○ bake",
    );
  });

  it("marks passed stages done and the running one current", () => {
    const release = aReleaseInStage("2.5.0", "2.4.0", T0, 2);
    expect(stageBar(stageSteps(release, hintsFor(release).stages))).toBe(
      "✔ 1% → ✔ 10% → ▶ 50% → ○ 100% → ○ bake",
    );
  });

  it("marks the stage that failed, and what was never reached, after a rollback", () => {
    const release = aRelease({
      status: {
        phase: "RolledBack",
        startedAt: iso(T0),
        previous: { version: "2.3.1", images: {} },
        stages: [
          { name: "canary", weight: 1, enteredAt: iso(T0), exitedAt: iso(T0 + MINUTE), outcome: "passed" },
          {
            name: "early-adopter",
            weight: 10,
            enteredAt: iso(T0 + MINUTE),
            exitedAt: iso(T0 + 2 * MINUTE),
            outcome: "failed",
          },
        ],
        rollback: { trigger: "metric", reason: "error-rate 0.08 above max 0.05", at: iso(T0 + 2 * MINUTE) },
      },
    });
    const steps = stageSteps(release, hintsFor(release).stages);
    expect(stageBar(steps)).toBe("✔ 1% → ✘ 10% → · 50% → · 100% → · bake");
    expect(steps[1]).toEqual({ name: "early-adopter", weight: 10, state: "failed", outcome: "failed" });
  });

  it("uses inline stages, and notes a weight the router only approximated", () => {
    const release = aRelease({
      spec: {
        strategy: undefined,
        stages: [
          { name: "canary", weight: 5, hold: "1m" },
          { name: "ga", weight: 100, hold: "0s" },
        ],
      },
      status: {
        phase: "Progressing",
        startedAt: iso(T0),
        currentStage: { index: 0, name: "canary", weight: 5, startedAt: iso(T0) },
        stages: [{ name: "canary", weight: 5, reachedWeight: 4, enteredAt: iso(T0) }],
      },
    });
    const steps = stageSteps(release);
    expect(stageBar(steps)).toBe("▶ 5% → ○ 100% → ○ bake");
    expect(steps[0]?.reachedWeight).toBe(4);
  });

  it("falls back to the recorded stages when the plan is not known", () => {
    const release = aReleaseInStage("2.5.0", "2.4.0", T0, 1);
    expect(stageBar(stageSteps(release))).toBe("✔ 1% → ▶ 10% → ○ bake");
  });

  it("is all done once the release Succeeded", () => {
    const release = aSucceededRelease("2.4.0", "2.3.1", T0, {
      status: {
        stages: ["canary", "early-adopter", "expansion", "ga", "bake"].map((name, index) => ({
          name,
          weight: [1, 10, 50, 100, 100][index],
          enteredAt: iso(T0 + index * MINUTE),
          exitedAt: iso(T0 + (index + 1) * MINUTE),
          outcome: "passed",
        })),
      },
    });
    expect(stageBar(stageSteps(release, hintsFor(release).stages))).toBe(
      "✔ 1% → ✔ 10% → ✔ 50% → ✔ 100% → ✔ bake",
    );
  });
});

describe("where the traffic goes", () => {
  it("splits between stable on the previous version and the canary on the new one", () => {
    expect(trafficLine(aReleaseInStage("2.5.0", "2.4.0", T0, 1))).toBe(
      "stable 90% on 2.4.0 · canary 10% on 2.5.0",
    );
  });

  it("says when all traffic is on the promoted stable, and after a rollback", () => {
    const baking = aReleaseInStage("2.5.0", "2.4.0", T0, 3, {
      status: {
        phase: "Baking",
        bakeStartedAt: iso(T0 + 30 * MINUTE),
        currentStage: { index: 4, name: "bake", weight: 100, startedAt: iso(T0 + 30 * MINUTE) },
      },
    });
    expect(trafficLine(baking)).toBe("stable 100% on 2.5.0 (promoted; baking)");
    const rolledBack = aRelease({
      status: {
        phase: "RolledBack",
        startedAt: iso(T0),
        previous: { version: "2.3.1", images: {} },
        rollback: {
          trigger: "manual",
          reason: "aborted",
          at: iso(T0),
          restored: { version: "2.3.1", images: {} },
        },
      },
    });
    expect(trafficLine(rolledBack)).toBe("stable 100% on 2.3.1 (rolled back)");
    expect(trafficLine(aRelease())).toBe("stable 100% (unchanged); not started");
  });

  it("says a Succeeded release was rolled back later, by which Release, when and why", () => {
    const undone = aSucceededRelease("2.4.0", "2.3.1", T0);
    const later = {
      release: "checkout-rollback-2-3-1-x",
      restores: "2.3.1",
      phase: "Succeeded",
      requestedBy: "dave",
      why: "p99 doubled",
      at: iso(T0 + 60 * MINUTE),
    };
    expect(trafficLine(undone)).toBe("stable 100% on 2.4.0");
    expect(trafficLine(undone, [later])).toBe(
      "stable 100% on 2.3.1 (this release was rolled back later by checkout-rollback-2-3-1-x)",
    );
    expect(trafficLine(undone, [{ ...later, phase: "Progressing" }])).toBe(
      "being rolled back to 2.3.1 by release checkout-rollback-2-3-1-x (Progressing)",
    );
    const lines = renderStatus(statusView(undone, {}, [later]), T0 + 61 * MINUTE);
    expect(lines).toContain("Phase      Succeeded (rolled back later by checkout-rollback-2-3-1-x)");
    expect(lines).toContain(
      `Undone     by release checkout-rollback-2-3-1-x (Succeeded), restoring 2.3.1, requested at ${iso(T0 + 60 * MINUTE)} by dave: p99 doubled`,
    );
  });
});

describe("the status screen", () => {
  const inStage = aReleaseInStage("2.5.0", "2.4.0", T0, 1, {
    annotations: {
      [ACTIONS_ANNOTATION]: JSON.stringify([
        { action: "pause", by: "paula", at: iso(T0 + 11 * MINUTE), detail: "dashboards" },
      ]),
    },
    spec: { control: { paused: true } },
    status: {
      phase: "Paused",
      message: "paused by a person (spec.control.paused); analysis continues and a failure still rolls back",
      stages: [
        { name: "canary", weight: 1, enteredAt: iso(T0), exitedAt: iso(T0 + 10 * MINUTE), outcome: "passed" },
        {
          name: "early-adopter",
          weight: 10,
          enteredAt: iso(T0 + 10 * MINUTE),
          tallies: [
            {
              metric: "error-rate",
              pass: 3,
              fail: 0,
              inconclusive: 1,
              error: 0,
              consecutiveErrors: 0,
              lastVerdict: "inconclusive",
            },
          ],
          measurements: [
            {
              metric: "error-rate",
              verdict: "pass",
              value: "0.012",
              at: iso(T0 + 11 * MINUTE),
              reason: "0.012 within max 0.05",
            },
            {
              metric: "error-rate",
              verdict: "inconclusive",
              value: "NaN",
              at: iso(T0 + 12 * MINUTE),
              reason: "no data: NaN (no traffic?)",
            },
          ],
        },
      ],
      conditions: [
        {
          type: "Progressing",
          status: "False",
          reason: "Paused",
          message: "paused by a person",
          lastTransitionTime: iso(T0 + 11 * MINUTE),
        },
      ],
    },
  });
  const now = T0 + 12 * MINUTE + 30 * SECOND;

  it("shows phase, bar, stage time against its hold, traffic, measurements against thresholds, conditions, people", () => {
    const lines = renderStatus(statusView(inStage, hintsFor(inStage)), now);
    expect(lines).toEqual([
      "Release    shop/checkout-2-5-0",
      "Target     deployment checkout: 2.4.0 → 2.5.0",
      "Change     CHG-2.5.0 (standard, risk low) Release 2.5.0 — requested by alice",
      "Phase      Paused",
      "Message    paused by a person (spec.control.paused); analysis continues and a failure still rolls back",
      "Stages     ✔ 1% → ▶ 10% → ○ 50% → ○ 100% → ○ bake",
      "Stage      early-adopter (2 of 4), 10% on 2.5.0, for 2m30s of 15m hold",
      "Traffic    stable 90% on 2.4.0 · canary 10% on 2.5.0",
      "People     paused by a person (spec.control.paused)",
      "",
      "Metrics:",
      "  METRIC       VALUE   THRESHOLD   VERDICT        PASS   FAIL   NO DATA   ERRORS   MEASURED",
      "  error-rate   NaN     max 5%      inconclusive   3      0      1         0        30s ago",
      "  error-rate: no data: NaN (no traffic?)",
      "",
      "Conditions:",
      "  TYPE          STATUS   REASON   AGE   MESSAGE",
      "  Progressing   False    Paused   90s   paused by a person",
      "",
      "Actions (glidepath CLI):",
      `  ${iso(T0 + 11 * MINUTE)}  pause by paula: dashboards`,
    ]);
  });

  it("gives one line per change for pipes, without ages", () => {
    expect(statusLine(statusView(inStage, hintsFor(inStage)))).toBe(
      "checkout-2-5-0 Paused early-adopter 10% | ✔ 1% → ▶ 10% → ○ 50% → ○ 100% → ○ bake | " +
        "error-rate=NaN inconclusive (max 5%) | paused by a person (spec.control.paused); analysis continues and a failure still rolls back",
    );
  });

  it("gives JSON for scripts: the view without the drawn bar", () => {
    const json = statusJson(statusView(inStage, hintsFor(inStage)));
    expect(json).toMatchObject({
      name: "checkout-2-5-0",
      phase: "Paused",
      stage: { name: "early-adopter", weight: 10, hold: "15m" },
      metrics: [{ metric: "error-rate", value: "NaN", verdict: "inconclusive", threshold: "max 5%" }],
      actions: [{ action: "pause", by: "paula" }],
    });
    expect(json).not.toHaveProperty("bar");
  });

  it("names pending requests from people and the approvals on record", () => {
    const release = aReleaseInStage("2.5.0", "2.4.0", T0, 3, {
      spec: { control: { promote: { by: "pat", at: iso(T0 + MINUTE), full: true } } },
      status: {
        phase: "AwaitingApproval",
        approvals: [{ by: "carol", at: iso(T0 + 2 * MINUTE), comment: "ok" }],
      },
    });
    expect(statusView(release).people).toEqual([
      `promote --full requested by pat at ${iso(T0 + MINUTE)}, not carried out yet`,
      `approved by carol at ${iso(T0 + 2 * MINUTE)}: ok`,
    ]);
  });

  it("marks each approval verified or not: an unverified one opens no gate", () => {
    const release = aReleaseInStage("2.5.0", "2.4.0", T0, 3, {
      status: {
        phase: "AwaitingApproval",
        approvals: [
          { by: "mallory", at: iso(T0 + MINUTE), verified: false, problem: "its stamp does not verify" },
          { by: "carol", at: iso(T0 + 2 * MINUTE), verified: true, groups: ["release-managers"] },
        ],
      },
    });
    expect(statusView(release).people).toEqual([
      `approved by mallory at ${iso(T0 + MINUTE)} (unverified: its stamp does not verify; it opens no gate)`,
      `approved by carol at ${iso(T0 + 2 * MINUTE)} (verified)`,
    ]);
  });

  it("says so when the controller has not picked the release up", () => {
    const lines = renderStatus(statusView(aRelease()), T0);
    expect(lines).toContain("Phase      Unknown (the controller has not picked it up yet)");
    expect(lines).toContain("  no measurements yet");
  });
});

describe("the live screen", () => {
  it("draws from the top-left corner, clearing each line's end and below, hiding the cursor", () => {
    expect(ttyFrame(["a", "bb"], true)).toBe(
      `${ANSI.hideCursor}${ANSI.clearScreen}${ANSI.home}a${ANSI.clearToLineEnd}\nbb${ANSI.clearToLineEnd}\n${ANSI.clearToScreenEnd}`,
    );
    expect(ttyFrame(["a"], false)).toBe(`${ANSI.home}a${ANSI.clearToLineEnd}\n${ANSI.clearToScreenEnd}`);
  });

  it("writes a frame only when it changed, and gives the cursor back", () => {
    const out = new PassThrough();
    const screen = new LiveScreen(out);
    expect(screen.draw(["Phase Progressing"])).toBe(true);
    expect(screen.draw(["Phase Progressing"])).toBe(false);
    expect(screen.draw(["Phase Baking"])).toBe(true);
    screen.close();
    const written = String(out.read());
    expect(written.split(ANSI.home)).toHaveLength(3);
    expect(written.indexOf(ANSI.clearScreen)).toBeLessThan(written.indexOf("Progressing"));
    expect(written.endsWith(ANSI.showCursor)).toBe(true);
  });
});
