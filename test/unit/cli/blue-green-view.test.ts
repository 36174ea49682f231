import { describe, expect, it } from "vitest";
import type { Release } from "../../../src/api/index.ts";
import { renderStatus, statusView } from "../../../src/cli/status-view.ts";
import { changeRecord, renderChangeRecord } from "../../../src/record/change-record.ts";
import { aRelease, planFor } from "../engine/builders.ts";
import { runUntil, simulate, type Simulation } from "../engine/cluster.ts";

// What people see of a blue/green release (issue 17 item 1): `glidepath status` and the
// change record name the shape and each step (preview, switch, promote, bake).

function aBlueGreenRelease(): Release {
  return aRelease({
    blueGreen: { preview: "2m", scaleDownDelay: "1m", requiresApproval: true, minMeasurements: 1 },
    analysis: { interval: "30s", metrics: [{ name: "error-rate", template: "http-error-ratio", max: 0.05 }] },
    bake: "1m",
  });
}

const inStage = (name: string) => (sim: Simulation) => sim.release.status?.currentStage?.name === name;

describe("a blue/green release as people see it", () => {
  const release = aBlueGreenRelease();
  const atApproval = runUntil(
    simulate(release, planFor(release)),
    (sim) => sim.release.status?.phase === "AwaitingApproval",
  );
  const switched = runUntil(atApproval, inStage("switch"), {
    control: { approvals: [{ by: "dave", at: new Date(atApproval.nowMs).toISOString() }] },
  });

  it("glidepath status names the shape, the steps by name, and where the traffic goes in the preview", () => {
    const lines = renderStatus(statusView(atApproval.release), atApproval.nowMs);
    expect(lines).toContain(
      "Shape      blue/green: the new version at full size behind the preview Service checkout-canary with no " +
        "user traffic for 2m, then a person's approval, then 100% at once; the old version kept as it was for 1m " +
        "after the switch (a rollback is one route write), then promoted",
    );
    expect(lines).toContain("Stages     ▶ preview → ○ switch → ○ promote → ○ bake");
    expect(lines).toContain(
      "Traffic    stable 100% on 2.3.1 · preview on 2.4.0 at full size, no user traffic",
    );
  });

  it("glidepath status says the old version is kept after the switch", () => {
    const lines = renderStatus(statusView(switched.release), switched.nowMs);
    expect(lines).toContain("Stages     ✔ preview → ▶ switch → ○ promote → ○ bake");
    expect(lines).toContain(
      "Traffic    switched: 100% on 2.4.0 (preview) · stable kept on 2.3.1 for a one-write rollback",
    );
  });

  it("the change record carries the shape and says what each step did", () => {
    const done = runUntil(switched, (sim) => sim.release.status?.phase === "Succeeded");
    const record = changeRecord(done.release);
    expect(record.shape).toMatchObject({
      kind: "blueGreen",
      blueGreen: { preview: "2m", scaleDownDelay: "1m" },
    });
    expect(record.stages.map((stage) => [stage.name, stage.weight, stage.outcome])).toEqual([
      ["preview", 0, "passed"],
      ["switch", 100, "passed"],
      ["promote", 100, "passed"],
      ["bake", 100, "passed"],
    ]);
    const markdown = renderChangeRecord(done.release, "md");
    expect(markdown).toContain(
      "| Shape | blue/green: the new version at full size behind the preview Service",
    );
    expect(markdown).toContain("### preview (0%) — passed");
    expect(markdown).toContain(
      "The new version at stable's size behind the preview Service, no user traffic; analysed there.",
    );
    expect(markdown).toContain("### switch (100%) — passed");
    expect(markdown).toContain("so a rollback is one route write.");
  });

  it("a weighted canary's record has no shape", () => {
    expect(changeRecord(aRelease()).shape).toBeUndefined();
  });
});
