import { describe, expect, it } from "vitest";
import { renderRecord } from "../../../src/cli/read-commands.ts";
import { ACTIONS_ANNOTATION } from "../../../src/cli/audit.ts";
import type { changeRecord } from "../../../src/record/change-record.ts";
import { renderChangeRecord } from "../../../src/record/change-record.ts";
import { signOffRows } from "../../../src/record/sign-off.ts";
import { aRelease, iso, SECOND, T0 } from "../cli/fixtures.ts";

// The sign-off as a change-approval form (issue 12.5): who requested, created, approved,
// paused, resumed, promoted, aborted and rolled back, each verified or not — rendered from
// what the controller recorded in status, never from a name a client typed.

const at = (seconds: number) => iso(T0 + seconds * SECOND);
const developers = ["developers", "system:authenticated"];

/** alice created it (verified), paused and resumed it, carol approved, alice's own approval and dave's typed one do not count; alice aborted. */
function signedOff() {
  return aRelease({
    spec: { changeRequest: { requestedBy: "alice", requiresApproval: true } },
    annotations: {
      [ACTIONS_ANNOTATION]: JSON.stringify([
        { action: "pause", by: "paula", at: at(2), detail: "dashboards" },
      ]),
    },
    status: {
      phase: "RolledBack",
      approvals: [
        {
          by: "alice",
          at: at(3),
          verified: true,
          groups: developers,
          doesNotCount: "self-approval: alice created the Release (separation of duties)",
        },
        {
          by: "dave",
          at: at(4),
          verified: false,
          problem: "not stamped by the admission webhook (written while it was off?)",
          doesNotCount: "unverified: not stamped by the admission webhook (written while it was off?)",
        },
        { by: "carol", at: at(5), verified: true, groups: ["release-managers"], comment: "CAB ok" },
      ],
      signOff: {
        creator: { user: "alice", verified: true, groups: developers, at: at(0) },
        actions: [
          { action: "pause", by: "alice", at: at(2), verified: true, groups: developers },
          { action: "resume", by: "alice", at: at(6), verified: true, groups: developers },
          {
            action: "promote",
            by: "mallory",
            at: at(7),
            verified: false,
            groups: ["admins"],
            problem: "its stamp does not verify",
          },
          { action: "abort", by: "alice", at: at(8), verified: true, groups: developers, detail: "p99 up" },
        ],
      },
      rollback: { trigger: "manual", by: "alice", reason: "aborted by alice: p99 up", at: at(8) },
    },
  });
}

describe("the sign-off rows", () => {
  it("name each person with groups, time and whether the controller verified them, in the form's order", () => {
    const rows = signOffRows(signedOff());
    expect(rows.map((row) => [row.role, row.name, row.verified, row.counts])).toEqual([
      ["requested", "alice", true, undefined],
      ["created", "alice", true, undefined],
      ["approved", "alice", true, false],
      ["approved", "dave", false, false],
      ["approved", "carol", true, true],
      ["paused", "alice", true, undefined],
      ["resumed", "alice", true, undefined],
      ["promoted", "mallory", false, undefined],
      ["aborted", "alice", true, undefined],
      ["rolledBack", "alice", true, undefined],
    ]);
    expect(rows[1]).toEqual({
      role: "created",
      name: "alice",
      groups: developers,
      at: at(0),
      verified: true,
    });
    expect(rows[2]?.note).toBe(
      "does not count: self-approval: alice created the Release (separation of duties)",
    );
    expect(rows[3]?.note).toContain("does not count: unverified: not stamped by the admission webhook");
    expect(rows[7]?.note).toBe("its stamp does not verify");
  });

  it("say a requester who is not the verified creator is only what the change request says", () => {
    const release = signedOff();
    const rows = signOffRows({
      ...release,
      spec: { ...release.spec, changeRequest: { ...release.spec.changeRequest, requestedBy: "bob" } },
    });
    expect(rows[0]).toMatchObject({ role: "requested", name: "bob", verified: false });
    expect(rows[0]?.note).toContain("not verified");
  });

  it("name Glidepath and its trigger, not a person, for an automatic rollback", () => {
    const release = aRelease({
      status: {
        phase: "RolledBack",
        rollback: {
          trigger: "alert",
          reason: "alert HighErrorRate is firing",
          at: at(9),
          alert: { name: "HighErrorRate", fingerprint: "abc", labels: {} },
        },
      },
    });
    expect(signOffRows(release).at(-1)).toEqual({
      role: "rolledBack",
      name: "glidepath (alert HighErrorRate)",
      groups: [],
      at: at(9),
      automatic: true,
      note: "automatic",
    });
  });

  it("say a creator the controller has not recorded is unknown and unverified", () => {
    expect(signOffRows(aRelease()).find((row) => row.role === "created")).toMatchObject({
      name: "unknown",
      verified: false,
    });
  });

  it("name the verified creator of a later rollback Release as who rolled it back", () => {
    const rows = signOffRows(aRelease(), [
      {
        release: "checkout-rollback-2-3-1-x",
        requestedBy: "whoever",
        creator: { user: "erin", verified: true, groups: ["oncall"], at: at(20) },
      },
    ]);
    expect(rows.at(-1)).toMatchObject({
      role: "rolledBack",
      name: "erin",
      groups: ["oncall"],
      verified: true,
      note: "by release checkout-rollback-2-3-1-x, which they created",
    });
  });
});

describe("the Markdown record", () => {
  it("has a sign-off table in the shape of a change-approval form", () => {
    const markdown = renderChangeRecord(signedOff(), "md");
    const table = markdown.slice(markdown.indexOf("## Sign-off"), markdown.indexOf("## Approvals"));
    expect(table.split("\n").filter((line) => line.startsWith("|"))).toEqual([
      "| Role | Name | Groups | Time | Verified |",
      "|---|---|---|---|---|",
      "| Requested by | alice | developers, system:authenticated |  | yes — the verified creator |",
      `| Created by | alice | developers, system:authenticated | ${at(0)} | yes |`,
      `| Approved by | alice | developers, system:authenticated | ${at(3)} | yes — does not count: self-approval: alice created the Release (separation of duties) |`,
      `| Approved by | dave |  | ${at(4)} | **no** — does not count: unverified: not stamped by the admission webhook (written while it was off?) |`,
      `| Approved by | carol | release-managers | ${at(5)} | yes — "CAB ok" |`,
      `| Paused by | alice | developers, system:authenticated | ${at(2)} | yes |`,
      `| Resumed by | alice | developers, system:authenticated | ${at(6)} | yes |`,
      `| Promoted by | mallory | admins | ${at(7)} | **no** — its stamp does not verify |`,
      `| Aborted by | alice | developers, system:authenticated | ${at(8)} | yes — p99 up |`,
      `| Rolled back by | alice | developers, system:authenticated | ${at(8)} | yes — aborted |`,
    ]);
  });

  it("keeps the CLI's typed log apart, said to be unverified", () => {
    const markdown = renderRecord(signedOff(), "md");
    const typed = markdown.slice(markdown.indexOf("## Actions taken with the glidepath CLI"));
    expect(typed).toContain("not verified");
    expect(typed).toContain(`| ${at(2)} | paula | pause | dashboards |`);
    // paula typed her name; the API server authenticated alice: the sign-off says alice.
    expect(markdown).toContain(`| Paused by | alice | developers, system:authenticated | ${at(2)} | yes |`);
    expect(markdown).not.toMatch(/\| Paused by \| paula/);
  });

  it("gives scripts the same rows in JSON", () => {
    const json = JSON.parse(renderChangeRecord(signedOff(), "json")) as ReturnType<typeof changeRecord>;
    expect(json.signOff.find((row) => row.role === "promoted")).toEqual({
      role: "promoted",
      name: "mallory",
      groups: ["admins"],
      at: at(7),
      verified: false,
      note: "its stamp does not verify",
    });
  });
});
