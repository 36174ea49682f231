import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  accessNeeded,
  admitRelease,
  approvalsAdded,
  type AdmissionDecision,
  type AdmissionInput,
} from "../../../src/admission/index.ts";
import {
  approvalPolicy,
  imagePolicy,
  CONTROL_STAMPS_ANNOTATION,
  CREATED_BY_ANNOTATION,
  parseStrategyFile,
  verifyIdentity,
  type StrategyFile,
} from "../../../src/api/index.ts";
import { aRelease } from "../engine/builders.ts";

// The webhook's decisions, as plain values: who wrote what, as the API server says.

const key = Buffer.from("k".repeat(64));
const now = "2026-12-06T10:00:00.000Z";
const alice = { user: "alice", groups: ["developers"] };
const carol = { user: "carol", groups: ["release-managers"] };

function input(overrides: Partial<AdmissionInput>): AdmissionInput {
  return {
    operation: "CREATE",
    namespace: "shop",
    name: "checkout-2-4-0",
    user: alice,
    object: aRelease(),
    now,
    key,
    separationOfDuties: () => true,
    allowedImages: () => [],
    ...overrides,
  };
}

type Allowed = Extract<AdmissionDecision, { allowed: true }>;

/** The object as the API server stores it after the patch (annotations only, which is all it sets). */
function applied(object: ReturnType<typeof aRelease>, decision: AdmissionDecision, uid = "uid-1") {
  expect(decision.allowed, JSON.stringify(decision)).toBe(true);
  const annotations = { ...object.metadata.annotations };
  for (const op of (decision as Allowed).patch) {
    if (op.path === "/metadata/annotations") Object.assign(annotations, op.value);
    else
      annotations[op.path.split("/").at(-1)!.replaceAll("~1", "/").replaceAll("~0", "~")] =
        op.value as string;
  }
  return { ...object, metadata: { ...object.metadata, namespace: "shop", uid, annotations } };
}

function created() {
  return applied(aRelease(), admitRelease(input({}), undefined));
}

function withControl(release: ReturnType<typeof created>, control: object) {
  return { ...release, spec: { ...release.spec, control } };
}

const approval = (by: string) => ({ by, at: now });

describe("admitRelease", () => {
  it("stamps the creator at CREATE, and the stamp verifies", () => {
    const release = created();
    expect(JSON.parse(release.metadata.annotations[CREATED_BY_ANNOTATION] ?? "")).toMatchObject(alice);
    expect(verifyIdentity(release, key, true).creator).toMatchObject({ verified: true, user: "alice" });
  });

  it("refuses a stamp annotation written by a person, at CREATE or UPDATE", () => {
    const forged = aRelease();
    forged.metadata.annotations = { [CREATED_BY_ANNOTATION]: "{}" };
    expect(admitRelease(input({ object: forged }), undefined)).toMatchObject({
      allowed: false,
      message: expect.stringContaining("written by the Glidepath admission webhook only"),
    });
    const old = created();
    const changed = {
      ...old,
      metadata: {
        ...old.metadata,
        annotations: { ...old.metadata.annotations, [CREATED_BY_ANNOTATION]: "{}" },
      },
    };
    expect(
      admitRelease(input({ operation: "UPDATE", oldObject: old, object: changed }), undefined).allowed,
    ).toBe(false);
  });

  it("puts back stamp annotations an update left out (kubectl replace)", () => {
    const old = created();
    const without = { ...old, metadata: { ...old.metadata, annotations: {} } };
    const decision = admitRelease(input({ operation: "UPDATE", oldObject: old, object: without }), undefined);
    expect(applied(without, decision).metadata.annotations[CREATED_BY_ANNOTATION]).toBe(
      old.metadata.annotations[CREATED_BY_ANNOTATION],
    );
  });

  it("asks RBAC whether the creator may update the target and patch its route, and refuses naming what is missing", () => {
    const needed = accessNeeded(input({}));
    expect(needed).toEqual([
      { group: "apps", resource: "deployments", verb: "update", name: "checkout" },
      { group: "gateway.networking.k8s.io", resource: "httproutes", verb: "patch", name: "checkout" },
    ]);
    expect(admitRelease(input({}), undefined, needed.slice(0, 1))).toMatchObject({
      allowed: false,
      message: expect.stringContaining(
        'alice may not create release shop/checkout-2-4-0: the controller would act for them with rights RBAC does not give them in namespace shop: update deployments.apps "checkout"',
      ),
    });
    // An update that keeps the target needs nothing more; one that retargets is checked again.
    const old = created();
    expect(
      accessNeeded(
        input({ operation: "UPDATE", oldObject: old, object: withControl(old, { paused: true }) }),
      ),
    ).toEqual([]);
    const retargeted = {
      ...old,
      spec: { ...old.spec, target: { ...old.spec.target, deployment: "payments" } },
    };
    expect(accessNeeded(input({ operation: "UPDATE", oldObject: old, object: retargeted }))[0]).toMatchObject(
      {
        resource: "deployments",
        name: "payments",
      },
    );
  });

  it("asks RBAC whether the creator may update a StatefulSet target (docs/statefulsets.md)", () => {
    const release = aRelease({
      target: { kind: "StatefulSet", deployment: "ledger", service: "ledger" },
      traffic: { replicas: {} },
    });
    expect(accessNeeded(input({ object: release }))).toEqual([
      { group: "apps", resource: "statefulsets", verb: "update", name: "ledger" },
    ]);
  });

  it("refuses approvals at CREATE", () => {
    const release = aRelease({ control: { approvals: [approval("carol")] } });
    expect(admitRelease(input({ object: release, user: carol }), true)).toMatchObject({
      allowed: false,
      message: expect.stringContaining("cannot be created with approvals"),
    });
  });

  it("stamps carol's approval when RBAC lets her approve, and the stamp verifies", () => {
    const old = created();
    const object = withControl(old, { approvals: [approval("carol")] });
    const update = input({ operation: "UPDATE", oldObject: old, object, user: carol });
    expect(approvalsAdded(update)).toBe(1);
    const stored = applied(object, admitRelease(update, true));
    expect(verifyIdentity(stored, key, true).approvals).toEqual([
      { verified: true, user: "carol", groups: ["release-managers"] },
    ]);
  });

  it("refuses an approval by someone RBAC does not let approve", () => {
    const old = created();
    const update = input({
      operation: "UPDATE",
      oldObject: old,
      object: withControl(old, { approvals: [approval("carol")] }),
      user: carol,
    });
    expect(admitRelease(update, false)).toMatchObject({
      allowed: false,
      message: expect.stringContaining('the verb "approve"'),
    });
  });

  it("refuses the author's own approval under separation of duties, and the requester's too", () => {
    const old = created();
    const own = input({
      operation: "UPDATE",
      oldObject: old,
      object: withControl(old, { approvals: [approval("alice")] }),
    });
    expect(admitRelease(own, true)).toMatchObject({
      allowed: false,
      message: expect.stringContaining("alice created"),
    });
    expect(admitRelease({ ...own, separationOfDuties: () => false }, true).allowed).toBe(true);
    // aRelease's changeRequest.requestedBy is alice too: a release created by bob for alice.
    const byBob = applied(aRelease(), admitRelease(input({ user: { user: "bob", groups: [] } }), undefined));
    const requester = input({
      operation: "UPDATE",
      oldObject: byBob,
      object: withControl(byBob, { approvals: [approval("alice")] }),
    });
    expect(admitRelease(requester, true)).toMatchObject({
      allowed: false,
      message: expect.stringContaining("requested this change"),
    });
  });

  it("refuses approvals on a Release whose creator is not stamped (created while the webhook was off)", () => {
    const old = { ...aRelease(), metadata: { ...aRelease().metadata, uid: "uid-1" } };
    const update = input({
      operation: "UPDATE",
      oldObject: old,
      object: withControl(old as never, { approvals: [approval("carol")] }),
      user: carol,
    });
    expect(admitRelease(update, true)).toMatchObject({
      allowed: false,
      message: expect.stringContaining("no verified creator"),
    });
  });

  it("refuses an entry whose by is not the authenticated user", () => {
    const old = created();
    const update = input({
      operation: "UPDATE",
      oldObject: old,
      object: withControl(old, { abort: { by: "carol", at: now } }),
      user: { user: "bob", groups: [] },
    });
    expect(admitRelease(update, undefined)).toMatchObject({
      allowed: false,
      message: expect.stringContaining(
        'spec.control.abort.by is "carol", but the API server authenticated this request as "bob"',
      ),
    });
  });

  it("refuses edits and removals of earlier entries; stamps pauses, promotes and aborts", () => {
    const old = created();
    const approved = applied(
      withControl(old, { approvals: [approval("carol")] }),
      admitRelease(
        input({
          operation: "UPDATE",
          oldObject: old,
          object: withControl(old, { approvals: [approval("carol")] }),
          user: carol,
        }),
        true,
      ),
    );
    const removed = withControl(approved, { approvals: [] });
    expect(
      admitRelease(
        input({ operation: "UPDATE", oldObject: approved, object: removed, user: carol }),
        undefined,
      ),
    ).toMatchObject({
      allowed: false,
      message: expect.stringContaining("was removed: approvals are append-only"),
    });
    const steered = withControl(approved, {
      approvals: [approval("carol")],
      paused: true,
      promote: { by: "alice", at: now },
    });
    const decision = admitRelease(
      input({ operation: "UPDATE", oldObject: approved, object: steered }),
      undefined,
    );
    expect(decision).toMatchObject({ allowed: true, stamped: ["promote", "pause"] });
    const stamps = JSON.parse(
      applied(steered, decision).metadata.annotations[CONTROL_STAMPS_ANNOTATION] ?? "[]",
    );
    expect(stamps.map((stamp: { action: string; user: string }) => [stamp.action, stamp.user])).toEqual([
      ["approve", "carol"],
      ["promote", "alice"],
      ["pause", "alice"],
    ]);
    const aborted = applied(
      withControl(approved, { approvals: [approval("carol")], abort: { by: "alice", at: now } }),
      admitRelease(
        input({
          operation: "UPDATE",
          oldObject: approved,
          object: withControl(approved, { approvals: [approval("carol")], abort: { by: "alice", at: now } }),
        }),
        undefined,
      ),
    );
    const withdrawn = withControl(aborted, { approvals: [approval("carol")] });
    expect(
      admitRelease(input({ operation: "UPDATE", oldObject: aborted, object: withdrawn }), undefined),
    ).toMatchObject({
      allowed: false,
      message: expect.stringContaining("cannot be withdrawn"),
    });
  });
});

describe("admitRelease with an image policy (allowedImages)", () => {
  const shipped = parseStrategyFile(readFileSync("rollout/rollout-strategy.json", "utf8"));
  const file: StrategyFile = {
    ...shipped,
    allowedImages: ["registry.example.com/"],
    presets: {
      ...shipped.presets,
      standard: { ...shipped.presets.standard!, allowedImages: ["registry.example.com/checkout"] },
    },
  };
  const policed = (overrides: Partial<AdmissionInput>) =>
    input({ allowedImages: (spec) => imagePolicy(spec, file), ...overrides });
  const withImages = (release: ReturnType<typeof created>, images: Record<string, string>) => ({
    ...release,
    spec: { ...release.spec, images },
  });
  const createdAllowed = () => applied(aRelease(), admitRelease(policed({}), undefined));

  it("admits at CREATE an image every list that applies allows", () => {
    expect(admitRelease(policed({}), undefined)).toMatchObject({ allowed: true });
  });

  it("refuses at CREATE an image outside a list, naming the image, the list and where it comes from", () => {
    const release = aRelease({ images: { checkout: "registry.example.com/payments:2.4.0" } });
    expect(admitRelease(policed({ object: release }), undefined)).toEqual({
      allowed: false,
      code: 403,
      message:
        'release shop/checkout-2-4-0: spec.images.checkout "registry.example.com/payments:2.4.0" is not allowed: ' +
        'it matches no entry of preset "standard"\'s allowedImages ("registry.example.com/checkout") in rollout-strategy.json',
    });
    const elsewhere = aRelease({ images: { checkout: "evil.example.com/checkout:2.4.0" } });
    const refused = admitRelease(policed({ object: elsewhere }), undefined);
    expect(refused).toMatchObject({ allowed: false });
    expect(!refused.allowed && refused.message).toContain(
      'the global allowedImages ("registry.example.com/") nor preset "standard"\'s allowedImages',
    );
  });

  it("refuses at UPDATE a change of the image, or of the preset that binds it, to one the policy refuses", () => {
    const old = createdAllowed();
    const swapped = withImages(old, { checkout: "evil.example.com/checkout:2.4.0" });
    expect(
      admitRelease(policed({ operation: "UPDATE", oldObject: old, object: swapped }), undefined),
    ).toMatchObject({
      allowed: false,
      message: expect.stringContaining(
        'spec.images.checkout "evil.example.com/checkout:2.4.0" is not allowed',
      ),
    });
    const strict: StrategyFile = {
      ...file,
      presets: {
        ...file.presets,
        expedited: { ...file.presets.expedited!, allowedImages: ["registry.example.com/checkout/"] },
      },
    };
    const restaged = { ...old, spec: { ...old.spec, strategy: "expedited" } };
    expect(
      admitRelease(
        input({
          operation: "UPDATE",
          oldObject: old,
          object: restaged,
          allowedImages: (spec) => imagePolicy(spec, strict),
        }),
        undefined,
      ),
    ).toMatchObject({
      allowed: false,
      message: expect.stringContaining('preset "expedited"\'s allowedImages'),
    });
  });

  it("lets a person pause, approve or abort a release whose image a tightened policy no longer allows", () => {
    // Created under no policy; the policy came later. Steering it must still work: abort above all.
    const old = created();
    const evil = withImages(old, { checkout: "evil.example.com/checkout:2.4.0" });
    const stored = applied(
      evil,
      admitRelease(input({ operation: "UPDATE", oldObject: old, object: evil }), undefined),
    );
    const abort = withControl(stored, { abort: { by: "alice", at: now } });
    expect(
      admitRelease(policed({ operation: "UPDATE", oldObject: stored, object: abort }), undefined),
    ).toMatchObject({
      allowed: true,
      stamped: ["abort"],
    });
  });
});

describe("approvalPolicy", () => {
  const strategy = parseStrategyFile(readFileSync("rollout/rollout-strategy.json", "utf8"));
  const lax = { ...strategy.presets.expedited!, approvals: 1, separationOfDuties: false };
  const strict = { ...strategy.presets.standard!, approvals: 2, separationOfDuties: true };
  const file = { ...strategy, presets: { ...strategy.presets, standard: strict, lax } };

  it("takes the stricter of the change type's preset and the stages' preset: picking a lax stage plan weakens nothing", () => {
    expect(approvalPolicy({ strategy: "lax", changeRequest: { type: "standard" } }, file)).toEqual({
      required: 2,
      separationOfDuties: true,
    });
    expect(approvalPolicy({ stages: [], changeRequest: { type: "unknown" } }, file)).toEqual({
      required: 1,
      separationOfDuties: true,
    });
  });
});
