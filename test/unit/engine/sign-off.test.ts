import { describe, expect, it } from "vitest";
import {
  CONTROL_STAMPS_ANNOTATION,
  CREATED_BY_ANNOTATION,
  STATUS_LIMITS,
  signControl,
  signCreation,
  verifyIdentity,
  type ControlAction,
  type ControlStamp,
  type Release,
} from "../../../src/api/index.ts";
import { decide } from "../../../src/engine/index.ts";
import { aRelease, iso, observationsAt, planFor, SECOND, T0, withStatus } from "./builders.ts";

// The sign-off the controller records (issue 12.5): from the admission webhook's stamps,
// verified with the key only the controller holds, into status, which the CLI renders.
// Real stamps, made with a real key: no doubles.

const key = Buffer.from("k".repeat(64));
const UID = "uid-1";
const alice = { user: "alice", groups: ["developers", "system:authenticated"] };
const bob = { user: "bob", groups: ["developers"] };
const carol = { user: "carol", groups: ["release-managers"] };

/** A stamp as the webhook writes it, for the entry the action covers. */
function stamp(action: ControlAction, entry: unknown, who: typeof alice, atMs: number): ControlStamp {
  return signControl(key, UID, action, entry, who, iso(atMs));
}

/** The Release as stored: spec.control as given, the creator and control stamps in its annotations. */
function stored(
  control: NonNullable<Release["spec"]["control"]>,
  stamps: ControlStamp[],
  options: { requestedBy?: string; creator?: typeof alice } = {},
): Release {
  const release = aRelease({
    control,
    changeRequest: { requiresApproval: true, requestedBy: options.requestedBy ?? "alice" },
  });
  const creation = signCreation(
    key,
    { namespace: "shop", name: release.metadata.name },
    options.creator ?? alice,
    iso(T0),
  );
  return {
    ...release,
    metadata: {
      ...release.metadata,
      uid: UID,
      annotations: {
        [CREATED_BY_ANNOTATION]: JSON.stringify(creation),
        [CONTROL_STAMPS_ANNOTATION]: JSON.stringify(stamps),
      },
    },
  };
}

/** One reconcile: the controller verifies the stamps with its key, the engine records the verdicts. */
function reconcile(release: Release, nowMs = T0 + 10 * SECOND) {
  const status = decide({
    release,
    plan: planFor(release),
    observations: observationsAt(nowMs, { identity: verifyIdentity(release, key, true) }),
  }).status;
  return status;
}

describe("the sign-off the controller records from the webhook's stamps", () => {
  it("given alice created, paused and resumed it, bob promoted it and carol approved it, then each is recorded verified with groups", () => {
    const promote = { by: "bob", at: iso(T0 + 4 * SECOND), full: true };
    const approval = { by: "carol", at: iso(T0 + 5 * SECOND), comment: "CAB ok" };
    const release = stored({ promote, approvals: [approval] }, [
      stamp("pause", true, alice, T0 + 2 * SECOND),
      stamp("resume", false, alice, T0 + 3 * SECOND),
      stamp("promote", promote, bob, T0 + 4 * SECOND),
      stamp("approve", approval, carol, T0 + 5 * SECOND),
    ]);
    const status = reconcile(release);
    expect(status.signOff).toEqual({
      creator: { user: "alice", verified: true, groups: alice.groups, at: iso(T0) },
      actions: [
        { action: "pause", by: "alice", at: iso(T0 + 2 * SECOND), verified: true, groups: alice.groups },
        { action: "resume", by: "alice", at: iso(T0 + 3 * SECOND), verified: true, groups: alice.groups },
        {
          action: "promote",
          by: "bob",
          at: iso(T0 + 4 * SECOND),
          verified: true,
          groups: bob.groups,
          detail: "full",
        },
      ],
    });
    expect(status.approvals).toEqual([{ ...approval, verified: true, groups: carol.groups }]);
  });

  it("given a stamp typed by hand (the webhook off), then it is recorded as unverified, naming whom it claims", () => {
    const forged: ControlStamp = { ...stamp("pause", true, carol, T0 + SECOND), mac: "f".repeat(64) };
    const status = reconcile(stored({ paused: true }, [forged]));
    expect(status.signOff?.actions).toEqual([
      expect.objectContaining({
        action: "pause",
        by: "carol",
        verified: false,
        problem: expect.stringContaining("does not verify"),
      }),
    ]);
  });

  it("given an abort in spec that no stamp covers, then its `by` is recorded as an unverified claim, with its reason", () => {
    const abort = { by: "mallory", at: iso(T0 + SECOND), reason: "looks bad" };
    const status = reconcile(stored({ abort }, []));
    expect(status.signOff?.actions).toEqual([
      {
        action: "abort",
        by: "mallory",
        at: abort.at,
        verified: false,
        detail: "looks bad",
        problem: expect.stringContaining("not stamped by the admission webhook"),
      },
    ]);
    expect(status.rollback).toMatchObject({ trigger: "manual", by: "mallory" });
  });

  it("given approvals that do not count, then each says why: unverified, self-approval, the requester's", () => {
    const own = { by: "alice", at: iso(T0 + SECOND) };
    const requester = { by: "bob", at: iso(T0 + 2 * SECOND) };
    const typed = { by: "dave", at: iso(T0 + 3 * SECOND) };
    const good = { by: "carol", at: iso(T0 + 4 * SECOND) };
    const release = stored(
      { approvals: [own, requester, typed, good] },
      [
        stamp("approve", own, alice, T0 + SECOND),
        stamp("approve", requester, bob, T0 + 2 * SECOND),
        stamp("approve", good, carol, T0 + 4 * SECOND),
      ],
      { requestedBy: "bob" },
    );
    const approvals = reconcile(release).approvals;
    expect(approvals.map((approval) => [approval.by, approval.verified, approval.doesNotCount])).toEqual([
      ["alice", true, "self-approval: alice created the Release (separation of duties)"],
      ["bob", true, "bob requested the change (separation of duties)"],
      ["dave", false, expect.stringMatching(/^unverified: not stamped by the admission webhook/)],
      ["carol", true, undefined],
    ]);
  });

  it("given the stamp annotation loses a stamp later, then what was verified stays verified", () => {
    const first = stored({ paused: true }, [stamp("pause", true, alice, T0 + SECOND)]);
    const status = reconcile(first);
    const emptied: Release = withStatus(
      {
        ...first,
        metadata: {
          ...first.metadata,
          annotations: { ...first.metadata.annotations, [CONTROL_STAMPS_ANNOTATION]: "[]" },
        },
      },
      status,
    );
    expect(reconcile(emptied, T0 + 20 * SECOND).signOff?.actions).toEqual([
      expect.objectContaining({ action: "pause", by: "alice", verified: true }),
    ]);
  });

  it("given more forged stamps than status keeps, then the verified ones stay and the count of dropped ones is kept", () => {
    const genuine = [1, 2, 3].map((n) =>
      stamp(n % 2 ? "pause" : "resume", n % 2 === 1, alice, T0 + n * SECOND),
    );
    const forged = Array.from({ length: 25 }, (_, n) => ({
      ...stamp("pause", true, carol, T0 + (10 + n) * SECOND),
      mac: "0".repeat(64),
    }));
    const status = reconcile(stored({ paused: true }, [genuine[0]!, ...forged, genuine[1]!, genuine[2]!]));
    const actions = status.signOff?.actions ?? [];
    expect(actions).toHaveLength(STATUS_LIMITS.signOffActions);
    expect(actions.filter((action) => action.verified).map((action) => action.at)).toEqual(
      genuine.map((entry) => entry.at),
    );
    expect(status.signOff?.actionsDropped).toBe(25 + 3 - STATUS_LIMITS.signOffActions);
  });
});
