import { describe, expect, it } from "vitest";
import { ROLLBACK_OF_LABEL } from "../../../src/cli/audit.ts";
import { humanDuration, renderTable } from "../../../src/cli/table.ts";
import {
  laterRollbacks,
  outcomeOf,
  releaseHistory,
  renderHistory,
  renderReleaseList,
} from "../../../src/cli/views.ts";
import { aRelease, aReleaseInStage, aSucceededRelease, iso, MINUTE, SECOND, T0 } from "./fixtures.ts";

describe("tables", () => {
  it("align columns three spaces apart with no trailing spaces, as kubectl prints", () => {
    expect(
      renderTable(
        ["NAME", "AGE"],
        [
          ["a", "5s"],
          ["longer-name", "3m"],
        ],
      ),
    ).toBe("NAME          AGE\na             5s\nlonger-name   3m\n");
  });

  it("give ages as kubectl's HumanDuration does", () => {
    const cases: [number, string][] = [
      [-500, "0s"],
      [-5 * SECOND, "<invalid>"],
      [45 * SECOND, "45s"],
      [119 * SECOND, "119s"],
      [2 * MINUTE, "2m"],
      [3 * MINUTE + 12 * SECOND, "3m12s"],
      [42 * MINUTE, "42m"],
      [179 * MINUTE, "179m"],
      [3 * 60 * MINUTE, "3h"],
      [5 * 60 * MINUTE + 3 * MINUTE, "5h3m"],
      [30 * 60 * MINUTE, "30h"],
      [52 * 60 * MINUTE, "2d4h"],
      [10 * 24 * 60 * MINUTE, "10d"],
      [(2 * 365 + 30) * 24 * 60 * MINUTE, "2y30d"],
      [9 * 365 * 24 * 60 * MINUTE, "9y"],
    ];
    for (const [ms, text] of cases) expect(humanDuration(ms), `${ms} ms`).toBe(text);
  });
});

describe("glidepath list", () => {
  const now = T0 + 2 * 60 * MINUTE;
  const releases = [
    aReleaseInStage("2.5.0", "2.4.0", T0 + 90 * MINUTE, 1, { namespace: "shop" }),
    aSucceededRelease("2.4.0", "2.3.1", T0, { namespace: "shop" }),
    aRelease({
      name: "payments-1-0-0",
      namespace: "billing",
      version: "1.0.0",
      target: "payments",
      createdAt: now - 20 * SECOND,
    }),
  ];

  it("shows the columns of kubectl get releases, <none> where a value is missing", () => {
    expect(renderReleaseList(releases.slice(0, 2), { nowMs: now, allNamespaces: false })).toBe(
      [
        "NAME             TARGET     VERSION   PHASE         STAGE           WEIGHT   CHANGE      AGE",
        "checkout-2-4-0   checkout   2.4.0     Succeeded     <none>          100      CHG-2.4.0   120m",
        "checkout-2-5-0   checkout   2.5.0     Progressing   early-adopter   10       CHG-2.5.0   30m",
        "",
      ].join("\n"),
    );
  });

  it("shows where the traffic is, not the last stage planned, once a release is rolled back", () => {
    const inCanary = aReleaseInStage("2.6.0", "2.5.0", T0, 0, { name: "rolled-back" });
    const rolledBack = { ...inCanary, status: { ...inCanary.status!, phase: "RolledBack" as const } };
    const rollingBack = {
      ...inCanary,
      metadata: { ...inCanary.metadata, name: "rolling-back" },
      status: { ...inCanary.status!, phase: "RollingBack" as const },
    };
    const undone = aSucceededRelease("2.5.0", "2.4.0", T0, {
      name: "undone",
      status: { currentStage: { index: 4, name: "bake", weight: 100, startedAt: iso(T0) } },
    });
    const rollback = aSucceededRelease("2.4.0", "2.5.0", T0 + 60 * MINUTE, {
      name: "checkout-rollback-2-4-0-x",
      labels: { [ROLLBACK_OF_LABEL]: "undone" },
    });
    const rows = renderReleaseList([rolledBack, rollingBack, undone, rollback], {
      nowMs: now,
      allNamespaces: false,
    })
      .trimEnd()
      .split("\n")
      .map((line) => line.split(/\s+/).slice(0, 6).join(" "));
    expect(rows.slice(1)).toEqual([
      "checkout-rollback-2-4-0-x checkout 2.4.0 Succeeded <none> 100",
      "rolled-back checkout 2.6.0 RolledBack <none> 0",
      "rolling-back checkout 2.6.0 RollingBack <none> 1→0",
      "undone checkout 2.5.0 Succeeded <none> 0",
    ]);
    expect(laterRollbacks(undone, [rolledBack, undone, rollback])).toEqual([
      {
        release: "checkout-rollback-2-4-0-x",
        restores: "2.4.0",
        phase: "Succeeded",
        requestedBy: "alice",
        why: expect.any(String),
        at: rollback.metadata.creationTimestamp,
        finishedAt: iso(T0 + 100 * MINUTE),
      },
    ]);
  });

  it("adds NAMESPACE first across namespaces, sorted by namespace then name", () => {
    const lines = renderReleaseList(releases, { nowMs: now, allNamespaces: true }).trimEnd().split("\n");
    expect(lines[0]).toMatch(/^NAMESPACE\s+NAME\s+TARGET/);
    expect(lines.slice(1).map((line) => line.split(/\s+/).slice(0, 2).join("/"))).toEqual([
      "billing/payments-1-0-0",
      "shop/checkout-2-4-0",
      "shop/checkout-2-5-0",
    ]);
    expect(lines[1]).toMatch(/<none>\s+<none>\s+<none>\s+CHG-1\.0\.0\s+20s$/);
  });
});

describe("glidepath history", () => {
  const first = aSucceededRelease("2.4.0", "2.3.1", T0);
  const bad = aRelease({
    version: "2.5.0",
    createdAt: T0 + 60 * MINUTE,
    status: {
      phase: "RolledBack",
      startedAt: iso(T0 + 60 * MINUTE),
      finishedAt: iso(T0 + 75 * MINUTE),
      previous: { version: "2.4.0", images: {} },
      rollback: { trigger: "metric", reason: "error-rate 0.08 above max 0.05", at: iso(T0 + 70 * MINUTE) },
    },
  });
  const second = aSucceededRelease("2.6.0", "2.4.0", T0 + 2 * 60 * MINUTE);
  const undo = aSucceededRelease("2.4.0", "2.6.0", T0 + 4 * 60 * MINUTE, {
    name: "checkout-rollback-2-4-0-abc",
    labels: { [ROLLBACK_OF_LABEL]: "checkout-2-6-0" },
    spec: { changeRequest: { type: "emergency", requestedBy: "dave", id: "CHG-2.6.0-rollback" } },
  });
  const otherTarget = aSucceededRelease("9.0.0", "8.0.0", T0 + 5 * 60 * MINUTE, { target: "payments" });

  it("lists the target's releases newest first, with what became of each", () => {
    const history = releaseHistory([first, undo, otherTarget, bad, second], "checkout");
    expect(history.map((entry) => [entry.name, entry.phase, entry.outcome])).toEqual([
      ["checkout-rollback-2-4-0-abc", "Succeeded", "restored 2.4.0 (rollback of checkout-2-6-0)"],
      [
        "checkout-2-6-0",
        "Succeeded",
        "succeeded, replacing 2.4.0; rolled back later by checkout-rollback-2-4-0-abc",
      ],
      ["checkout-2-5-0", "RolledBack", "rolled back (metric): error-rate 0.08 above max 0.05"],
      ["checkout-2-4-0", "Succeeded", "succeeded, replacing 2.3.1"],
    ]);
    expect(history[0]).toMatchObject({
      rollbackOf: "checkout-2-6-0",
      requestedBy: "dave",
      changeType: "emergency",
    });
    expect(history[1]?.rolledBackBy).toEqual(["checkout-rollback-2-4-0-abc"]);
  });

  it("renders a table with change, person, age and duration", () => {
    const text = renderHistory(releaseHistory([first, bad], "checkout"), { nowMs: T0 + 3 * 60 * MINUTE });
    const lines = text.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^NAME\s+VERSION\s+PHASE\s+CHANGE\s+BY\s+APPROVED\s+AGE\s+DURATION\s+OUTCOME$/);
    expect(lines[1]).toMatch(
      /^checkout-2-5-0\s+2\.5\.0\s+RolledBack\s+CHG-2\.5\.0 \(standard\)\s+alice\s+-\s+120m\s+15m\s+rolled back/,
    );
    expect(lines[2]).toMatch(
      /checkout-2-4-0\s+2\.4\.0\s+Succeeded\s+CHG-2\.4\.0 \(standard\)\s+alice\s+-\s+3h\s+39m\s+succeeded/,
    );
  });

  it("marks each approver: ✓ verified by the controller and counted, ✗ unverified or not counted", () => {
    const approved = aSucceededRelease("2.7.0", "2.6.0", T0 + 6 * 60 * MINUTE);
    const release = {
      ...approved,
      status: {
        ...approved.status!,
        approvals: [
          { by: "carol", at: iso(T0), verified: true, groups: ["release-managers"] },
          { by: "alice", at: iso(T0), verified: true, doesNotCount: "self-approval" },
          { by: "dave", at: iso(T0), verified: false, problem: "not stamped" },
        ],
        signOff: { creator: { user: "alice", verified: true }, actions: [] },
      },
    };
    const [entry] = releaseHistory([release], "checkout");
    expect(entry).toMatchObject({
      createdBy: { user: "alice", verified: true },
      approvals: [
        { by: "carol", verified: true, counts: true },
        { by: "alice", verified: true, counts: false },
        { by: "dave", verified: false, counts: false },
      ],
    });
    const lines = renderHistory([entry!], { nowMs: T0 + 7 * 60 * MINUTE }).split("\n");
    expect(lines[1]).toMatch(/\salice\s+carol✓ alice✗ dave✗\s+60m\s/);

    // The column stays narrow however many approve: whole names, then how many more.
    const many = ["carol", "erin", "frank", "grace", "heidi"].map((by) => ({
      by,
      verified: true,
      counts: true,
    }));
    const crowded = renderHistory([{ ...entry!, approvals: many }], { nowMs: T0 + 7 * 60 * MINUTE });
    expect(crowded).toContain(" carol✓ erin✓ +3 ");
    const widths = (text: string) => text.split("\n").map((line) => line.length);
    const typical = renderHistory([{ ...entry!, approvals: [many[0]!] }], { nowMs: T0 + 7 * 60 * MINUTE });
    expect(Math.max(...widths(crowded)) - Math.max(...widths(typical))).toBeLessThanOrEqual(
      20 - "carol✓".length,
    );
  });

  it("says where an active release is, and that a new one was not picked up yet", () => {
    expect(outcomeOf(aReleaseInStage("2.5.0", "2.4.0", T0, 2))).toBe("Progressing in expansion (50%)");
    expect(outcomeOf(aRelease())).toBe("not picked up by the controller yet");
    expect(
      outcomeOf(
        aRelease({
          status: { phase: "Failed", message: "the stable Deployment shop/checkout does not exist" },
        }),
      ),
    ).toBe("failed: the stable Deployment shop/checkout does not exist");
  });
});
