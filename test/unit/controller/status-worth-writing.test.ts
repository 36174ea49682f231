import { describe, expect, it } from "vitest";
import type { ReleaseStatus } from "../../../src/api/index.ts";
import { statusWorthWriting } from "../../../src/controller/reconciler.ts";
import type { Action } from "../../../src/engine/index.ts";

const stored = {
  phase: "Paused",
  currentStage: {
    index: 0,
    name: "canary",
    weight: 10,
    startedAt: "2026-03-01T12:00:00.000Z",
    lastAnalysisAt: "2026-03-01T12:00:30.000Z",
  },
  stages: [],
  transitions: [],
  conditions: [],
  approvals: [],
} as unknown as ReleaseStatus;
const runAnalysis: Action = { type: "runAnalysis", subject: "canary" };
const withWatermark = (at: string): ReleaseStatus => ({
  ...stored,
  currentStage: { ...stored.currentStage!, lastAnalysisAt: at },
});

describe("which decided statuses are written", () => {
  it("not the analysis watermark alone, moved to ask for the round run now", () => {
    expect(statusWorthWriting(stored, withWatermark("2026-03-01T12:01:00.000Z"), [runAnalysis])).toBe(false);
  });

  it("the watermark when no round is asked for, and anything else that changed", () => {
    expect(statusWorthWriting(stored, withWatermark("2026-03-01T12:01:00.000Z"), [])).toBe(true);
    expect(statusWorthWriting(stored, { ...stored, phase: "Progressing" }, [runAnalysis])).toBe(true);
  });

  it("not a status that differs only in the order of its keys", () => {
    const reordered = Object.fromEntries(Object.entries(stored).reverse()) as ReleaseStatus;
    expect(statusWorthWriting(stored, reordered, [])).toBe(false);
  });
});
