import { describe, expect, it } from "vitest";
import {
  CONTROL_STAMPS_ANNOTATION,
  CREATED_BY_ANNOTATION,
  signControl,
  signCreation,
  verifyIdentity,
} from "../../../src/api/index.ts";
import { aRelease } from "../engine/builders.ts";

// Identity stamps: only a stamp made with the controller's key, for this Release and this
// entry, by the user the entry names, verifies.

const key = Buffer.from("k".repeat(64));
const otherKey = Buffer.from("x".repeat(64));
const at = "2026-12-06T10:00:00.000Z";
const approval = { by: "carol", at, comment: "looks fine" };
const carol = { user: "carol", groups: ["release-managers", "system:authenticated"] };
const alice = { user: "alice", groups: ["developers"] };

function stamped(
  options: { uid?: string; signWith?: Buffer; entry?: typeof approval; who?: typeof carol } = {},
) {
  const release = aRelease({ control: { approvals: [approval] } });
  const signWith = options.signWith ?? key;
  const creator = signCreation(signWith, { namespace: "shop", name: release.metadata.name }, alice, at);
  const stamp = signControl(
    signWith,
    options.uid ?? "uid-1",
    "approve",
    options.entry ?? approval,
    options.who ?? carol,
    at,
  );
  return {
    ...release,
    metadata: {
      ...release.metadata,
      namespace: "shop",
      uid: "uid-1",
      annotations: {
        [CREATED_BY_ANNOTATION]: JSON.stringify(creator),
        [CONTROL_STAMPS_ANNOTATION]: JSON.stringify([stamp]),
      },
    },
  };
}

describe("verifyIdentity", () => {
  it("given stamps made with the key for this Release and entry, then creator and approval verify, with groups", () => {
    const identity = verifyIdentity(stamped(), key, true);
    expect(identity.creator).toEqual({ verified: true, user: "alice", groups: ["developers"], at });
    expect(identity.approvals).toEqual([{ verified: true, user: "carol", groups: carol.groups }]);
  });

  it("given another key (a forgery, or a rotated key), then nothing verifies", () => {
    const identity = verifyIdentity(stamped({ signWith: otherKey }), key, true);
    expect(identity.creator.verified).toBe(false);
    expect(identity.approvals[0]).toMatchObject({
      verified: false,
      problem: expect.stringContaining("does not verify"),
    });
  });

  it("given a genuine stamp of another Release (another uid), then the approval does not verify", () => {
    expect(verifyIdentity(stamped({ uid: "uid-2" }), key, true).approvals[0]?.verified).toBe(false);
  });

  it("given the entry edited after stamping, then it has no stamp", () => {
    const release = stamped();
    const edited = {
      ...release,
      spec: { ...release.spec, control: { approvals: [{ ...approval, comment: "edited" }] } },
    };
    expect(verifyIdentity(edited, key, true).approvals[0]).toMatchObject({
      verified: false,
      problem: expect.stringContaining("not stamped"),
    });
  });

  it("given a stamp for bob on an entry that says carol, then it does not verify", () => {
    const identity = verifyIdentity(stamped({ who: { user: "bob", groups: [] } }), key, true);
    expect(identity.approvals[0]).toMatchObject({ verified: false, problem: "stamped for bob, not carol" });
  });

  it("given the creator stamp moved to another name, then the creator does not verify", () => {
    const release = stamped();
    const renamed = { ...release, metadata: { ...release.metadata, name: "checkout-9-9-9" } };
    expect(verifyIdentity(renamed, key, true).creator.verified).toBe(false);
  });

  it("given no key, or a mangled annotation, then nothing verifies and it says why", () => {
    expect(verifyIdentity(stamped(), undefined, false).approvals[0]).toMatchObject({
      verified: false,
      problem: expect.stringContaining("no stamp key"),
    });
    const release = stamped();
    const mangled = {
      ...release,
      metadata: { ...release.metadata, annotations: { [CONTROL_STAMPS_ANNOTATION]: "{not json" } },
    };
    const identity = verifyIdentity(mangled, key, true);
    expect(identity.creator).toMatchObject({
      verified: false,
      problem: expect.stringContaining("no creator stamp"),
    });
    expect(identity.approvals[0]?.verified).toBe(false);
  });
});
