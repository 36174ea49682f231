import { describe, expect, it } from "vitest";
import type { Release } from "../../../src/api/index.ts";
import { renderStatus, statusView } from "../../../src/cli/status-view.ts";
import { renderChangeRecord } from "../../../src/record/change-record.ts";
import { aRelease, aStable, planFor } from "../engine/builders.ts";
import { aCluster, runUntil, simulate } from "../engine/cluster.ts";

// What people see of an autoscaled target (issue 17 item 4): `glidepath status` and the
// change record say what sized the canary.

function autoscaledRelease(): { running: Release; done: Release } {
  const release = aRelease({
    stages: [
      { name: "canary", weight: 10, hold: "1m" },
      { name: "ga", weight: 100, hold: "0s" },
    ],
  });
  const cluster = {
    ...aCluster(aStable({ desiredReplicas: 4, readyReplicas: 4 })),
    autoscaler: { name: "checkout", minReplicas: 2, maxReplicas: 10 },
  };
  const running = runUntil(
    simulate(release, planFor(release), cluster),
    (sim) => sim.release.status?.currentStage?.name === "canary",
  );
  const done = runUntil(running, (sim) => sim.release.status?.phase === "Succeeded");
  return { running: running.release, done: done.release };
}

describe("an autoscaled target as people see it", () => {
  const { running, done } = autoscaledRelease();

  it("glidepath status says the canary follows a copy of stable's autoscaler, with its bounds now", () => {
    const lines = renderStatus(statusView(running), Date.parse(running.status?.startedAt ?? ""));
    expect(lines).toContain(
      "Canary     sized by a copy of stable's autoscaler checkout, 4..10 replicas for 100% of the traffic",
    );
  });

  it("the change record names the canary's sizing", () => {
    expect(renderChangeRecord(done, "md")).toContain(
      "| Canary sized by | autoscaler: a copy of stable's autoscaler checkout, 4..10 replicas for 100% of the traffic |",
    );
  });
});
