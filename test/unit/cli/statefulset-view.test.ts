import { describe, expect, it } from "vitest";
import type { Release } from "../../../src/api/index.ts";
import { renderStatus, statusView } from "../../../src/cli/status-view.ts";
import { changeRecord, renderChangeRecord } from "../../../src/record/change-record.ts";
import { aRelease, planFor } from "../engine/builders.ts";
import { runUntil, simulate } from "../engine/cluster.ts";

// What people see of a StatefulSet release (issue 17 item 6, docs/statefulsets.md):
// `glidepath status` and the change record name the target's kind and each stage's partition.

/** A StatefulSet of 4 released to the end, with the partitions its split router reported (1, 2, 4 pods new). */
function releasedStatefulSet(): Release {
  const release = aRelease({
    target: { kind: "StatefulSet", deployment: "ledger", service: "ledger" },
    traffic: { replicas: {} },
    stages: [
      { name: "canary", weight: 25, hold: "1m" },
      { name: "half", weight: 50, hold: "1m" },
      { name: "ga", weight: 100, hold: "0s" },
    ],
  });
  const end = runUntil(
    simulate(release, planFor(release)),
    (sim) => sim.release.status?.phase === "Succeeded",
    {},
    500,
  ).release;
  const partitions: Record<string, number> = { canary: 3, half: 2, ga: 0 };
  for (const stage of end.status?.stages ?? []) {
    const partition = partitions[stage.name];
    if (partition !== undefined) stage.partition = partition;
  }
  return end;
}

describe("a StatefulSet release as people see it", () => {
  const release = releasedStatefulSet();

  it("glidepath status names the StatefulSet and each stage's partition on the stage bar", () => {
    expect(release.status?.phase, release.status?.message).toBe("Succeeded");
    const lines = renderStatus(statusView(release), Date.parse(release.status?.finishedAt ?? ""));
    expect(lines.find((line) => line.includes("Target"))).toMatch(/Target:?\s+statefulset ledger: /);
    expect(lines.find((line) => line.includes("Stages"))).toContain(
      "25% (partition 3) → ✔ 50% (partition 2) → ✔ 100% (partition 0) → ✔ bake",
    );
  });

  it("the change record names the kind and each stage's partition", () => {
    const record = changeRecord(release);
    expect(record.release).toMatchObject({ target: "ledger", targetKind: "StatefulSet" });
    const markdown = renderChangeRecord(release, "md");
    expect(markdown).toContain("Release shop/checkout-2-4-0: StatefulSet ledger → 2.4.0");
    expect(markdown).toContain("### canary (25%, partition 3) — passed");
    expect(markdown).toContain("### half (50%, partition 2) — passed");
    expect(markdown).toContain("### ga (100%, partition 0) — passed");
  });
});
