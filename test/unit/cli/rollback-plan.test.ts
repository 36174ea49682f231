import { describe, expect, it } from "vitest";
import { releaseSchema, type Release } from "../../../src/api/index.ts";
import { ACTIONS_ANNOTATION, ROLLBACK_OF_LABEL } from "../../../src/cli/audit.ts";
import { EXIT } from "../../../src/cli/exit-codes.ts";
import {
  buildRollbackRelease,
  planRollback,
  rollbackReleaseName,
  type RollbackPlan,
  type StableObservation,
} from "../../../src/cli/rollback-plan.ts";
import { aRelease, aReleaseInStage, aSucceededRelease, image, iso, MINUTE, T0 } from "./fixtures.ts";

const HOUR = 60 * MINUTE;
const on = (version: string): StableObservation => ({ version, images: { checkout: image(version) } });

// Given the history of checkout: 2.3.1 → 2.4.0 (Succeeded) → 2.5.0 (RolledBack) → 2.6.0 (Succeeded).
const v240 = aSucceededRelease("2.4.0", "2.3.1", T0);
const v250 = aRelease({
  version: "2.5.0",
  createdAt: T0 + HOUR,
  status: {
    phase: "RolledBack",
    startedAt: iso(T0 + HOUR),
    previous: { version: "2.4.0", images: { checkout: image("2.4.0") } },
  },
});
const v260 = aSucceededRelease("2.6.0", "2.4.0", T0 + 2 * HOUR);
const history = [v250, v240, v260];

function restore(plan: RollbackPlan) {
  if (plan.kind !== "restore") throw new Error(`expected a restore, got ${JSON.stringify(plan)}`);
  return plan;
}

describe("after GA: which version is restored", () => {
  it("previous is what the newest Succeeded release replaced", () => {
    const plan = restore(
      planRollback({ target: "checkout", version: "previous" }, history, on("2.6.0"), "shop"),
    );
    expect(plan.to).toEqual({ version: "2.4.0", images: { checkout: image("2.4.0") } });
    expect(plan.source).toBe("what release checkout-2-6-0 replaced");
    expect(plan.undo?.metadata.name).toBe("checkout-2-6-0");
    expect(plan.alsoAbort).toEqual([]);
  });

  it("a version is the images of the Succeeded release of it", () => {
    const partial = aSucceededRelease("2.4.0", "2.3.1", T0, {
      spec: { images: { checkout: image("2.4.0") } },
      status: { previous: { version: "2.3.1", images: { checkout: image("2.3.1"), sidecar: "proxy:1" } } },
    });
    const plan = restore(
      planRollback({ target: "checkout", version: "2.4.0" }, [partial, v260], on("2.6.0"), "shop"),
    );
    // Containers the release did not name stay as they were then.
    expect(plan.to).toEqual({ version: "2.4.0", images: { checkout: image("2.4.0"), sidecar: "proxy:1" } });
    expect(plan.source).toBe("release checkout-2-4-0");
  });

  it("a version that ran before any release is found in what the first release replaced", () => {
    const plan = restore(
      planRollback({ target: "checkout", version: "2.3.1" }, history, on("2.6.0"), "shop"),
    );
    expect(plan.to).toEqual({ version: "2.3.1", images: { checkout: image("2.3.1") } });
    expect(plan.source).toBe("what release checkout-2-4-0 replaced");
  });

  it("refuses a version that never succeeded (exit 4) and an unknown one (exit 3, naming the known)", () => {
    expect(
      planRollback({ target: "checkout", version: "2.5.0" }, history, on("2.6.0"), "shop"),
    ).toMatchObject({
      kind: "refuse",
      exitCode: EXIT.conflict,
      message: expect.stringContaining("never Succeeded (RolledBack)"),
    });
    expect(
      planRollback({ target: "checkout", version: "1.0.0" }, history, on("2.6.0"), "shop"),
    ).toMatchObject({
      kind: "refuse",
      exitCode: EXIT.notFound,
      message: expect.stringContaining("known good versions: 2.6.0, 2.4.0, 2.3.1"),
    });
  });

  it("refuses previous without a Succeeded release, or one that recorded no version", () => {
    const neverStarted = aRelease({ version: "2.5.0", status: { phase: "RolledBack" } });
    expect(
      planRollback({ target: "checkout", version: "previous" }, [neverStarted], on("2.4.0"), "shop"),
    ).toMatchObject({
      kind: "refuse",
      exitCode: EXIT.notFound,
    });
    const unlabelled = aSucceededRelease("2.4.0", "2.3.1", T0, { status: { previous: { images: {} } } });
    const plan = planRollback({ target: "checkout", version: "previous" }, [unlabelled], on("2.4.0"), "shop");
    expect(plan).toMatchObject({ kind: "refuse", exitCode: EXIT.notFound });
    expect(plan.kind === "refuse" && plan.message).toContain("had no 'version' label");
  });

  it("does nothing when the Deployment already runs that version", () => {
    expect(planRollback({ target: "checkout", version: "previous" }, history, on("2.4.0"), "shop")).toEqual({
      kind: "noop",
      message: "deployment checkout in namespace shop already runs 2.4.0: nothing to roll back",
    });
  });

  describe("a rollback repeated (a retried CI step, two people in one incident)", () => {
    // checkout-2-6-0 was rolled back to 2.4.0 by a rollback Release.
    const rolledBack = aSucceededRelease("2.4.0", "2.6.0", T0 + 3 * HOUR, {
      name: "checkout-rollback-2-4-0-x",
      labels: { [ROLLBACK_OF_LABEL]: "checkout-2-6-0" },
    });

    it("previous stays the version before the undone release: nothing to do, and says why", () => {
      expect(
        planRollback(
          { target: "checkout", version: "previous" },
          [...history, rolledBack],
          on("2.4.0"),
          "shop",
        ),
      ).toEqual({
        kind: "noop",
        message:
          "deployment checkout in namespace shop already runs 2.4.0: nothing to roll back; release " +
          "checkout-rollback-2-4-0-x rolled checkout-2-6-0 back to it already. To go further back, name the " +
          "version: --version=VERSION (glidepath history checkout lists them)",
      });
    });

    it("restores the version before the undone release if stable was changed since", () => {
      const plan = restore(
        planRollback(
          { target: "checkout", version: "previous" },
          [...history, rolledBack],
          on("9.9.9"),
          "shop",
        ),
      );
      expect(plan.to).toEqual({ version: "2.4.0", images: { checkout: image("2.4.0") } });
    });

    it("after a release rolled back mid-way, previous is what it replaced, not one release further", () => {
      const aborted = aRelease({
        version: "2.7.0",
        createdAt: T0 + 3 * HOUR,
        status: {
          phase: "RolledBack",
          startedAt: iso(T0 + 3 * HOUR),
          previous: { version: "2.6.0", images: { checkout: image("2.6.0") } },
        },
      });
      expect(
        planRollback({ target: "checkout", version: "previous" }, [...history, aborted], on("2.6.0"), "shop"),
      ).toMatchObject({
        kind: "noop",
        message: expect.stringContaining("release checkout-2-7-0 (2.7.0) was rolled back to it already"),
      });
    });

    it("a version named explicitly is still restored", () => {
      const plan = restore(
        planRollback({ target: "checkout", version: "2.3.1" }, [...history, rolledBack], on("2.4.0"), "shop"),
      );
      expect(plan.to.version).toBe("2.3.1");
    });
  });

  it("refuses a missing Deployment, or one no Release targets, with exit 3", () => {
    expect(
      planRollback({ target: "checkout", version: "previous" }, history, undefined, "shop"),
    ).toMatchObject({
      kind: "refuse",
      exitCode: EXIT.notFound,
      message: "deployment checkout in namespace shop does not exist",
    });
    expect(
      planRollback({ target: "payments", version: "previous" }, history, on("1.0.0"), "shop"),
    ).toMatchObject({
      kind: "refuse",
      exitCode: EXIT.notFound,
    });
  });

  it("aborts releases queued for the target, which would roll it forward again", () => {
    const queued = aRelease({
      version: "2.7.0",
      createdAt: T0 + 3 * HOUR,
      status: { phase: "Pending", waitingFor: "x" },
    });
    const plan = restore(
      planRollback({ target: "checkout", version: "previous" }, [...history, queued], on("2.6.0"), "shop"),
    );
    expect(plan.alsoAbort.map((release) => release.metadata.name)).toEqual(["checkout-2-7-0"]);
  });
});

describe("mid-release: the release in flight is aborted", () => {
  const inFlight = aReleaseInStage("2.7.0", "2.6.0", T0 + 3 * HOUR, 1);

  it("aborts it; the controller restores what it replaced", () => {
    const plan = planRollback(
      { target: "checkout", version: "previous" },
      [...history, inFlight],
      on("2.6.0"),
      "shop",
    );
    expect(plan).toMatchObject({
      kind: "abort",
      release: { metadata: { name: "checkout-2-7-0" } },
      restores: { version: "2.6.0", images: { checkout: image("2.6.0") } },
      alsoAbort: [],
    });
  });

  it("accepts the version it would restore by name, and refuses any other (exit 4)", () => {
    expect(planRollback({ target: "checkout", version: "2.6.0" }, [inFlight], on("2.6.0"), "shop").kind).toBe(
      "abort",
    );
    const plan = planRollback(
      { target: "checkout", version: "2.4.0" },
      [...history, inFlight],
      on("2.6.0"),
      "shop",
    );
    expect(plan).toMatchObject({ kind: "refuse", exitCode: EXIT.conflict });
    expect(plan.kind === "refuse" && plan.message).toContain("glidepath abort checkout-2-7-0");
  });

  it("refuses while a rollback of the target is already under way", () => {
    const rollback = aReleaseInStage("2.4.0", "2.6.0", T0 + 3 * HOUR, 0, {
      name: "checkout-rollback-2-4-0-x",
      labels: { [ROLLBACK_OF_LABEL]: "checkout-2-6-0" },
    });
    expect(
      planRollback({ target: "checkout", version: "previous" }, [...history, rollback], on("2.6.0"), "shop"),
    ).toMatchObject({
      kind: "refuse",
      exitCode: EXIT.conflict,
      message: expect.stringContaining("already under way: release checkout-rollback-2-4-0-x"),
    });
  });

  it("ignores other targets' releases", () => {
    const other = aReleaseInStage("9.0.0", "8.0.0", T0 + 3 * HOUR, 1, { target: "payments" });
    expect(
      planRollback({ target: "checkout", version: "previous" }, [...history, other], on("2.6.0"), "shop")
        .kind,
    ).toBe("restore");
  });
});

describe("the rollback Release", () => {
  const plan = restore(
    planRollback({ target: "checkout", version: "previous" }, history, on("2.6.0"), "shop"),
  );
  const at = iso(T0 + 5 * HOUR);
  const release = buildRollbackRelease({
    plan,
    namespace: "shop",
    by: "dave",
    at,
    reason: "checkout latency regression",
    currentVersion: "2.6.0",
  });

  it("is a valid Release", () => {
    const parsed = releaseSchema.safeParse(release);
    expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
  });

  it("goes straight to GA with no canary stages, no analysis that could undo it, no bake", () => {
    expect(release.spec).toMatchObject({
      target: { deployment: "checkout", service: "checkout" },
      version: "2.4.0",
      images: { checkout: image("2.4.0") },
      stages: [{ name: "ga", weight: 100, hold: "0s" }],
      traffic: v260.spec.traffic,
      analysis: { metrics: [], alerts: { matchLabels: {}, severities: [] } },
      bake: "0s",
    });
    expect(release.spec.strategy).toBeUndefined();
  });

  it("is an emergency change request saying who, why and how to undo it", () => {
    expect(release.spec.changeRequest).toMatchObject({
      id: "CHG-2.6.0-rollback",
      type: "emergency",
      title: "Roll back checkout to 2.4.0",
      why: "checkout latency regression",
      requestedBy: "dave",
      rollbackPlan: "Release 2.6.0 again (as release checkout-2-6-0 did)",
      requiresApproval: false,
    });
    expect(release.spec.changeRequest.scope).toBe(
      `Restores what release checkout-2-6-0 replaced: checkout=${image("2.4.0")}`,
    );
  });

  it("names the release it undoes, and logs the action", () => {
    expect(release.metadata.labels).toEqual({ [ROLLBACK_OF_LABEL]: "checkout-2-6-0" });
    expect(JSON.parse(release.metadata.annotations?.[ACTIONS_ANNOTATION] ?? "[]")).toEqual([
      {
        action: "rollback",
        by: "dave",
        at,
        detail: "restores 2.4.0 (what release checkout-2-6-0 replaced): checkout latency regression",
      },
    ]);
  });

  it("takes a change id when given, and a why without a reason", () => {
    const bare = buildRollbackRelease({ plan, namespace: "shop", by: "dave", at, changeId: "CHG-77" });
    expect(bare.spec.changeRequest.id).toBe("CHG-77");
    expect(bare.spec.changeRequest.why).toBe("roll checkout back from 2.6.0 to 2.4.0, requested by dave");
  });

  it("has a name that is readable, unique per second and a valid label value", () => {
    expect(release.metadata.name).toBe(
      `checkout-rollback-2-4-0-${Math.floor((T0 + 5 * HOUR) / 1000).toString(36)}`,
    );
    const long = rollbackReleaseName("a".repeat(63), "1.2.3-rc.1+build.7", T0);
    expect(long.length).toBeLessThanOrEqual(63);
    expect(long).toMatch(/^a+-rollback-1-2-3-rc-1-build-7-[a-z0-9]+$/);
  });
});

describe("Release values in these tests", () => {
  it("are what the schema makes of them", () => {
    const all: Release[] = [...history];
    for (const release of all) expect(releaseSchema.safeParse(release).success).toBe(true);
  });
});
