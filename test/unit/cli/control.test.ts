import { describe, expect, it } from "vitest";
import { ACTIONS_ANNOTATION, MAX_ACTIONS, recordedActions, withAction } from "../../../src/cli/audit.ts";
import { planControl, type ControlDecision, type ControlRequest } from "../../../src/cli/control.ts";
import { EXIT } from "../../../src/cli/exit-codes.ts";
import type { Release } from "../../../src/api/index.ts";
import { aRelease, aReleaseInStage, aSucceededRelease, iso, MINUTE, T0 } from "./fixtures.ts";

const at = iso(T0 + 20 * MINUTE);
const inStage = aReleaseInStage("2.5.0", "2.4.0", T0, 1);

function patched(decision: ControlDecision) {
  if (decision.kind !== "patch") throw new Error(`expected a patch, got ${JSON.stringify(decision)}`);
  return decision.patch;
}

function withControl(release: Release, control: NonNullable<Release["spec"]["control"]>): Release {
  return { ...release, spec: { ...release.spec, control } };
}

describe("each command is a merge patch of spec.control that says who and when", () => {
  it("pause sets paused, logs who paused and why, and carries the resourceVersion it was decided on", () => {
    const patch = patched(planControl(inStage, { action: "pause", by: "paula", at, reason: "dashboards" }));
    expect(patch.spec).toEqual({ control: { paused: true } });
    expect(patch.metadata.resourceVersion).toBe("42");
    expect(JSON.parse(patch.metadata.annotations[ACTIONS_ANNOTATION] ?? "[]")).toEqual([
      { action: "pause", by: "paula", at, detail: "dashboards" },
    ]);
  });

  it("resume removes paused (null deletes it in a merge patch)", () => {
    const paused = withControl(inStage, { paused: true });
    expect(patched(planControl(paused, { action: "resume", by: "rita", at })).spec).toEqual({
      control: { paused: null },
    });
  });

  it("promote records by, at and full, always writing full so an earlier --full does not linger", () => {
    expect(patched(planControl(inStage, { action: "promote", by: "pat", at, full: false })).spec).toEqual({
      control: { promote: { by: "pat", at, full: false } },
    });
  });

  it("abort records by, at and the reason (null without one)", () => {
    expect(patched(planControl(inStage, { action: "abort", by: "erin", at, reason: "errors" })).spec).toEqual(
      {
        control: { abort: { by: "erin", at, reason: "errors" } },
      },
    );
    expect(patched(planControl(inStage, { action: "abort", by: "erin", at })).spec).toEqual({
      control: { abort: { by: "erin", at, reason: null } },
    });
  });

  it("approve appends to the approvals already there (a merge patch replaces lists)", () => {
    const approved = withControl(inStage, { approvals: [{ by: "carol", at: iso(T0) }] });
    const decision = planControl(approved, { action: "approve", by: "dan", at, comment: "ok" });
    expect(patched(decision).spec).toEqual({
      control: {
        approvals: [
          { by: "carol", at: iso(T0) },
          { by: "dan", at, comment: "ok" },
        ],
      },
    });
  });

  it("keeps the earlier actions in the log, oldest dropped past the limit", () => {
    let release = inStage;
    for (let index = 0; index < MAX_ACTIONS + 5; index++) {
      const text = withAction(release, { action: "pause", by: `p${index}`, at });
      release = {
        ...release,
        metadata: { ...release.metadata, annotations: { [ACTIONS_ANNOTATION]: text } },
      };
    }
    const actions = recordedActions(release);
    expect(actions).toHaveLength(MAX_ACTIONS);
    expect(actions[0]?.by).toBe("p5");
    expect(actions.at(-1)?.by).toBe(`p${MAX_ACTIONS + 4}`);
  });

  it("reads a mangled log as empty rather than failing", () => {
    const mangled = {
      ...inStage,
      metadata: { ...inStage.metadata, annotations: { [ACTIONS_ANNOTATION]: "{oops" } },
    };
    expect(recordedActions(mangled)).toEqual([]);
  });
});

describe("what is already so is not written again", () => {
  const cases: [string, Release, ControlRequest, RegExp][] = [
    [
      "pause when paused",
      withControl(inStage, { paused: true }),
      { action: "pause", by: "p", at },
      /already paused/,
    ],
    ["resume when not paused", inStage, { action: "resume", by: "p", at }, /is not paused/],
    [
      "a second approval by the same person",
      withControl(inStage, { approvals: [{ by: "carol", at: iso(T0) }] }),
      { action: "approve", by: "carol", at },
      /already approved by carol/,
    ],
    [
      "abort when an abort is on record",
      withControl(inStage, { abort: { by: "erin", at: iso(T0) } }),
      { action: "abort", by: "x", at },
      /already aborted by erin/,
    ],
    [
      "the same promote while one is pending",
      withControl(inStage, { promote: { by: "pat", at: iso(T0), full: true } }),
      { action: "promote", by: "x", at, full: true },
      /already has a promote by pat/,
    ],
  ];
  for (const [name, release, request, summary] of cases) {
    it(name, () => {
      const decision = planControl(release, request);
      expect(decision.kind).toBe("noop");
      expect(decision.kind === "noop" && decision.summary).toMatch(summary);
    });
  }

  it("a promote once the controller carried the last one out is a new request", () => {
    const handled = aReleaseInStage("2.5.0", "2.4.0", T0, 1, {
      spec: { control: { promote: { by: "pat", at: iso(T0), full: false } } },
      status: { handledPromoteAt: iso(T0) },
    });
    expect(planControl(handled, { action: "promote", by: "pat", at, full: false }).kind).toBe("patch");
  });
});

describe("what no longer applies is refused with exit 4", () => {
  it("refuses everything on a finished release, pointing a Succeeded one at rollback", () => {
    const done = aSucceededRelease("2.4.0", "2.3.1", T0);
    for (const action of ["approve", "pause", "resume", "abort"] as const) {
      const decision = planControl(done, { action, by: "p", at } as ControlRequest);
      expect(decision).toMatchObject({ kind: "refuse", exitCode: EXIT.conflict });
    }
    const decision = planControl(done, { action: "promote", by: "p", at, full: false });
    expect(decision.kind === "refuse" && decision.message).toContain(
      "has finished (Succeeded): there is nothing to promote; to go back to the version it replaced: glidepath rollback checkout --version=previous",
    );
  });

  it("refuses all but abort while rolling back; an abort then changes nothing", () => {
    const rollingBack = aRelease({
      status: {
        phase: "RollingBack",
        startedAt: iso(T0),
        previous: { version: "2.3.1", images: {} },
        rollback: { trigger: "metric", reason: "error-rate 0.08", at: iso(T0) },
      },
    });
    expect(planControl(rollingBack, { action: "pause", by: "p", at })).toMatchObject({
      kind: "refuse",
      exitCode: EXIT.conflict,
    });
    expect(planControl(rollingBack, { action: "abort", by: "p", at }).kind).toBe("patch");
  });

  it("will not resume a pause that the analysis chose, and says what would", () => {
    const metricPause = aReleaseInStage("2.5.0", "2.4.0", T0, 0, {
      status: { phase: "Paused", message: "paused: error-rate had no data 4 time(s)" },
    });
    const decision = planControl(metricPause, { action: "resume", by: "p", at });
    expect(decision).toMatchObject({ kind: "refuse", exitCode: EXIT.conflict });
    expect(decision.kind === "refuse" && decision.message).toContain(
      "promote it to accept the stage as it is, or abort it",
    );
  });

  it("resumes a release the controller paused over someone else's edit of stable, with who and when", () => {
    const drift = {
      detectedAt: iso(T0),
      by: "kubectl-set",
      message: "the stable Deployment shop/checkout was changed by kubectl-set: container checkout: a → b",
      images: { checkout: "b" },
    };
    const driftPause = aReleaseInStage("2.5.0", "2.4.0", T0, 1, {
      status: {
        phase: "Paused",
        message: `paused so that nothing overwrites it: ${drift.message}`,
        stableDrift: drift,
      },
    });
    const decision = planControl(driftPause, { action: "resume", by: "rita", at });
    expect(patched(decision).spec).toEqual({ control: { resume: { by: "rita", at } } });
    expect(decision.kind === "patch" && decision.summary).toContain("changed by kubectl-set");

    // Paused by a person as well: one resume ends both.
    const both = withControl(driftPause, { paused: true });
    expect(patched(planControl(both, { action: "resume", by: "rita", at })).spec).toEqual({
      control: { paused: null, resume: { by: "rita", at } },
    });
  });
});
