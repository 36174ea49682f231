// Issue 11, item 5: a change freeze that begins while a release is in flight, and who may
// pass a freeze. Given a release and a cluster, when a freeze begins or ends, then the
// status, the condition, the Events and the notifications are these.
import { describe, expect, it } from "vitest";
import { parseStrategyFile } from "../../../src/api/index.ts";
import { decide, type Action, type Observations } from "../../../src/engine/index.ts";
import { aRelease, iso, MINUTE, observationsAt, planFor, SECOND, strategy, T0 } from "./builders.ts";
import { runUntil, simulate, statusOf, tick, type Simulation } from "./cluster.ts";

const FREEZE_ENDS = T0 + 60 * MINUTE;

function freeze(holdsInFlight: boolean): Observations["changeWindow"] {
  return {
    open: true,
    frozen: true,
    note: 'change freeze "incident-4711": payments outage',
    nextOpenAt: iso(FREEZE_ENDS),
    changesAt: iso(FREEZE_ENDS),
    freeze: { name: "incident-4711", endsAt: iso(FREEZE_ENDS), holdsInFlight },
  };
}
const noFreeze: Observations["changeWindow"] = { open: true, frozen: false, note: "weekday window" };

const inStage = (name: string) => (sim: Simulation) => sim.release.status?.currentStage?.name === name;
const freezeCondition = (sim: Simulation) =>
  statusOf(sim).conditions.find((condition) => condition.type === "ChangeFreeze");
const announced = (sim: Simulation, from = 0) =>
  sim.history
    .slice(from)
    .flatMap((step) => step.result.actions)
    .filter((action): action is Extract<Action, { type: "emitEvent" | "notify" }> =>
      ["emitEvent", "notify"].includes(action.type),
    )
    .map((action) => (action.type === "notify" ? `notify:${action.event}` : action.reason))
    .filter((what) => what.includes("Freeze") || what.includes("freeze"));

/** A standard release in its first stage (canary 1%, hold 10m). */
function inCanary(): Simulation {
  const release = aRelease();
  return runUntil(simulate(release, planFor(release)), inStage("canary"));
}

describe("given a release in flight when a freeze begins", () => {
  it("that lets releases continue, then it says so once (condition, Warning Event, notification) and carries on", () => {
    let sim = tick(inCanary(), { advanceMs: SECOND, extras: { changeWindow: freeze(false) } });
    expect(freezeCondition(sim)).toMatchObject({
      status: "True",
      reason: "FreezeInForce",
      message: expect.stringContaining('change freeze "incident-4711": payments outage until'),
    });
    expect(announced(sim)).toEqual(["ChangeFreeze", "notify:freeze"]);

    const mark = sim.history.length;
    sim = runUntil(sim, inStage("early-adopter"), { extras: { changeWindow: freeze(false) } });
    expect(announced(sim, mark)).toEqual([]);

    sim = tick(sim, { advanceMs: SECOND, extras: { changeWindow: noFreeze } });
    expect(freezeCondition(sim)).toMatchObject({ status: "False", reason: "NoFreeze" });
    expect(announced(sim, sim.history.length - 1)).toEqual(["ChangeFreezeEnded"]);
  });

  it("that holds releases in flight, then it finishes its stage, waits before the next until the freeze ends, and is looked at again then", () => {
    const frozen = { extras: { changeWindow: freeze(true) } };
    let sim = tick(inCanary(), { advanceMs: SECOND, ...frozen });
    expect(freezeCondition(sim)).toMatchObject({ status: "True", reason: "HoldingBetweenStages" });
    // Far past the canary's 10m hold, every round passing: still in the canary stage.
    for (let step = 0; step < 30; step++) sim = tick(sim, { advanceMs: MINUTE / 2, ...frozen });
    expect(statusOf(sim).currentStage?.name).toBe("canary");
    expect(statusOf(sim).phase).toBe("Progressing");
    expect(statusOf(sim).message).toContain(
      `holding for the change freeze "incident-4711" until ${iso(FREEZE_ENDS)}`,
    );
    expect(sim.history.at(-1)?.result.requeueAfterMs).toBeLessThanOrEqual(FREEZE_ENDS - sim.nowMs);

    sim = tick(sim, { advanceMs: FREEZE_ENDS - sim.nowMs, extras: { changeWindow: noFreeze } });
    expect(statusOf(sim).currentStage?.name).toBe("early-adopter");
  });

  it("that holds releases in flight, then a person's promote still moves it on", () => {
    const frozen = { extras: { changeWindow: freeze(true) } };
    let sim = tick(inCanary(), { advanceMs: SECOND, ...frozen });
    sim = tick(sim, {
      advanceMs: SECOND,
      ...frozen,
      control: { promote: { by: "carol", at: iso(sim.nowMs) } },
    });
    expect(statusOf(sim).currentStage?.name).toBe("early-adopter");
  });

  it("then a rollback is never held", () => {
    const frozen = { extras: { changeWindow: freeze(true) } };
    let sim = tick(inCanary(), { advanceMs: SECOND, ...frozen });
    sim = runUntil(sim, (s) => ["RolledBack"].includes(s.release.status?.phase ?? ""), {
      ...frozen,
      control: { abort: { by: "carol", at: iso(sim.nowMs) } },
    });
    expect(statusOf(sim).phase).toBe("RolledBack");
  });
});

describe("given a change freeze, who may start", () => {
  it("an emergency with inline stages passes it: the change type decides, not the preset", () => {
    const release = aRelease({
      stages: [
        { name: "canary", weight: 5, hold: "1m" },
        { name: "ga", weight: 100, hold: "0s" },
      ],
      changeRequest: { type: "emergency" },
    });
    const plan = planFor(release);
    expect(plan).toMatchObject({ preset: undefined, mayPassFreeze: true, postMortemDue: true });
    const result = decide({
      release,
      plan,
      observations: observationsAt(T0, { changeWindow: freeze(false) }),
    });
    expect(result.status.phase).toBe("Progressing");
    expect(result.status.changeWindow?.bypassed).toBe(true);
    expect(result.status.conditions.find((condition) => condition.type === "ChangeFreeze")).toMatchObject({
      status: "True",
      reason: "MayPassFreeze",
    });
  });

  it("a standard change on the emergency preset does not", () => {
    const release = aRelease({ strategy: "emergency" });
    const plan = planFor(release);
    expect(plan).toMatchObject({ preset: "emergency", mayPassFreeze: false });
    const result = decide({
      release,
      plan,
      observations: observationsAt(T0, { changeWindow: freeze(false) }),
    });
    expect(result.status.phase).toBe("WaitingForWindow");
  });

  it("a strategy file may not give freeze privileges to a preset that is not a change type's", () => {
    const file = structuredClone(strategy) as unknown as { presets: Record<string, Record<string, unknown>> };
    file.presets["hotfix"] = { ...file.presets["emergency"] };
    expect(() => parseStrategyFile(JSON.stringify(file))).toThrow(
      /\$\.presets\.hotfix\.mayPassFreeze: only the preset of a change type \(standard, expedited, emergency\) sets mayPassFreeze/,
    );
  });
});
