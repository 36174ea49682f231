import { describe, expect, it } from "vitest";
import { analysedStageOf, decide } from "../../../src/engine/index.ts";
import { aRelease, planFor, SECOND } from "./builders.ts";
import { observe, runUntil, simulate, stampedByWebhook, statusOf, type Simulation } from "./cluster.ts";

// The controller runs analysis rounds beside the reconcile and says which stage's round
// is still running: the engine asks for no other round of that stage meanwhile and
// leaves the watermark where that round's measurements will count.

const inStage = (name: string) => (sim: Simulation) => sim.release.status?.currentStage?.name === name;

function atCanary(): Simulation {
  const release = aRelease();
  return runUntil(simulate(release, planFor(release)), inStage("canary"));
}

/** The next reconcile, a whole analysis interval later, with these observations on top. */
function nextReconcile(sim: Simulation, extra: Partial<ReturnType<typeof observe>> = {}) {
  const nowMs = sim.nowMs + sim.plan.analysisIntervalMs + SECOND;
  return decide({
    release: sim.release,
    plan: sim.plan,
    observations: { ...observe(sim.cluster, nowMs), identity: stampedByWebhook(sim.release), ...extra },
  });
}

describe("given a release analysing its canary stage", () => {
  it("when a round is due and none runs, then it asks for one and moves the watermark", () => {
    const sim = atCanary();
    const result = nextReconcile(sim);
    expect(result.actions).toContainEqual({ type: "runAnalysis", subject: "canary" });
    expect(result.status.currentStage?.lastAnalysisAt).not.toBe(statusOf(sim).currentStage?.lastAnalysisAt);
  });

  it("when a round of this stage is still running, then it asks for none and the watermark stays", () => {
    const sim = atCanary();
    const result = nextReconcile(sim, { analysisInFlight: analysedStageOf(statusOf(sim)) });
    expect(result.actions.filter((action) => action.type === "runAnalysis")).toEqual([]);
    expect(result.status.currentStage?.lastAnalysisAt).toBe(statusOf(sim).currentStage?.lastAnalysisAt);
  });

  it("when the round still running is of a stage left since, then it asks for this stage's round", () => {
    const sim = atCanary();
    const canary = analysedStageOf(statusOf(sim));
    const earlierVisit = { ...canary!, startedAt: "2020-01-01T00:00:00.000Z" };
    const result = nextReconcile(sim, { analysisInFlight: earlierVisit });
    expect(result.actions).toContainEqual({ type: "runAnalysis", subject: "canary" });
  });

  it("when an alert fires while a round runs, then it rolls back at once, without waiting for the round", () => {
    const sim = atCanary();
    const result = nextReconcile(sim, {
      analysisInFlight: analysedStageOf(statusOf(sim)),
      alerts: [
        {
          name: "CheckoutErrorBudgetBurn",
          fingerprint: "0123456789abcdef",
          startsAt: new Date(sim.nowMs + SECOND).toISOString(),
          labels: { alertname: "CheckoutErrorBudgetBurn", severity: "critical" },
        },
      ],
    });
    expect(result.status.phase).toBe("RollingBack");
    expect(result.status.rollback?.trigger).toBe("alert");
    expect(result.actions).toContainEqual({ type: "setWeight", canaryWeight: 0 });
    expect(analysedStageOf(result.status)).toBeUndefined();
  });
});
