// `glidepath rollback TARGET --version=previous|VERSION`: which Release to abort, or
// which earlier version to restore and the emergency Release that restores it. Pure:
// the Releases of the namespace and the stable Deployment as observed come in, a plan
// comes out, so every choice is tested with plain values.
import type { Release, VersionRef } from "../api/index.ts";
import { versionMismatches } from "../engine/index.ts";
import { ACTIONS_ANNOTATION, ROLLBACK_OF_LABEL, withAction } from "./audit.ts";
import { EXIT, type ExitCode } from "./exit-codes.ts";
import { isActive, newestFirst } from "./views.ts";

/** A version on record to go back to: its version is known, it becomes the rollback Release's. */
export type KnownVersion = VersionRef & { version: string };

export interface RollbackRequest {
  target: string;
  /** "previous", or the spec.version of an earlier Release. */
  version: string;
}

/** The stable Deployment as it is now: its `version` label and images; undefined when it does not exist. */
export interface StableObservation {
  version?: string;
  images: Record<string, string>;
}

export type RollbackPlan =
  /** Mid-release: abort the release in flight; the controller restores what it replaced. */
  | { kind: "abort"; release: Release; restores: KnownVersion | undefined; alsoAbort: Release[] }
  /** After GA: release `to` straight to GA, undoing `undo` (the newest Succeeded Release). */
  | {
      kind: "restore";
      to: KnownVersion;
      /** Where `to` comes from, for people: "release checkout-2-0-0" or "what checkout-3-0-0 replaced". */
      source: string;
      undo: Release | undefined;
      /** The Release whose target, traffic and deadlines the new one copies. */
      template: Release;
      /** Queued (not started) releases of the target, aborted so they cannot roll it forward again. */
      alsoAbort: Release[];
    }
  | { kind: "noop"; message: string }
  | { kind: "refuse"; exitCode: ExitCode; message: string };

export function planRollback(
  request: RollbackRequest,
  releases: readonly Release[],
  stable: StableObservation | undefined,
  namespace: string,
): RollbackPlan {
  const where = `deployment ${request.target} in namespace ${namespace}`;
  const ofTarget = releases
    .filter((release) => release.spec.target.deployment === request.target)
    .sort(newestFirst);
  if (!stable) {
    return refuse(EXIT.notFound, `${where} does not exist`);
  }
  if (ofTarget.length === 0) {
    return refuse(
      EXIT.notFound,
      `no Release targets ${where}: there is no earlier version on record to go back to`,
    );
  }

  const active = ofTarget.filter(isActive);
  const rollingBack = active.find((release) => release.metadata.labels?.[ROLLBACK_OF_LABEL]);
  if (rollingBack) {
    return refuse(
      EXIT.conflict,
      `a rollback of ${request.target} is already under way: release ${rollingBack.metadata.name} ` +
        `(${rollingBack.status?.phase ?? "not picked up yet"}). Follow it with: glidepath status ${rollingBack.metadata.name} --watch`,
    );
  }
  const inFlight = active.find((release) => release.status?.startedAt !== undefined);
  if (inFlight) {
    const previous = inFlight.status?.previous;
    const restores = previous?.version ? { version: previous.version, images: previous.images } : undefined;
    if (request.version !== "previous" && request.version !== previous?.version) {
      return refuse(
        EXIT.conflict,
        `release ${inFlight.metadata.name} of ${request.target} is in flight; rolling back aborts it, which restores ` +
          `${previous?.version ?? "the images it replaced"}, not ${request.version}. Use --version=previous, ` +
          `or abort it first (glidepath abort ${inFlight.metadata.name}) and then roll back to ${request.version}`,
      );
    }
    return {
      kind: "abort",
      release: inFlight,
      restores,
      alsoAbort: active.filter((release) => release !== inFlight),
    };
  }

  const succeeded = ofTarget.filter((release) => release.status?.phase === "Succeeded");
  const newestSucceeded = succeeded[0];
  let to: KnownVersion;
  let source: string;
  let alreadyUndone: string | undefined;
  const undone = request.version === "previous" ? newestUndone(ofTarget) : undefined;
  if (undone) {
    // Repeated (a retried CI step, two people in an incident): `previous` stays the version
    // before the bad one; it never rolls the bad one forward again.
    to = undone.restored;
    source = undone.source;
    alreadyUndone = undone.explanation;
  } else if (request.version === "previous") {
    if (!newestSucceeded) {
      return refuse(
        EXIT.notFound,
        `no Release of ${where} has Succeeded, so there is no "previous" version: ` +
          `--version=previous restores what the newest Succeeded Release replaced`,
      );
    }
    const previous = newestSucceeded.status?.previous;
    if (!previous?.version) {
      return refuse(
        EXIT.notFound,
        `release ${newestSucceeded.metadata.name} recorded no version for what it replaced (the stable pod template ` +
          `had no 'version' label); roll back with --version=VERSION naming an earlier Release's version`,
      );
    }
    to = { version: previous.version, images: previous.images };
    source = `what release ${newestSucceeded.metadata.name} replaced`;
  } else {
    const found = findVersion(ofTarget, request.version);
    if (found.kind === "refuse") return found;
    to = found.to;
    source = found.source;
  }

  if (versionMismatches(stable, to).length === 0) {
    const further = alreadyUndone
      ? `; ${alreadyUndone}. To go further back, name the version: --version=VERSION (glidepath history ${request.target} lists them)`
      : "";
    return { kind: "noop", message: `${where} already runs ${to.version}: nothing to roll back${further}` };
  }
  return {
    kind: "restore",
    to,
    source,
    undo: newestSucceeded,
    template: newestSucceeded ?? (ofTarget[0] as Release),
    alsoAbort: active,
  };
}

/**
 * The newest release that ran and was undone already — a rollback Release that restored
 * an earlier version, or a release rolled back mid-way — with the version it left
 * running: after it, `previous` means that version, the one before the bad release.
 */
function newestUndone(
  ofTarget: readonly Release[],
): { restored: KnownVersion; source: string; explanation: string } | undefined {
  const newestFinished = ofTarget.find(
    (release) =>
      release.status?.startedAt !== undefined &&
      (release.status.phase === "Succeeded" || release.status.phase === "RolledBack"),
  );
  if (!newestFinished?.status) return undefined;
  const name = newestFinished.metadata.name;
  const rollbackOf = newestFinished.metadata.labels?.[ROLLBACK_OF_LABEL];
  if (newestFinished.status.phase === "Succeeded") {
    if (!rollbackOf) return undefined;
    const { version, images } = newestFinished.spec;
    return {
      restored: { version, images },
      source: `what release ${name} restored, the version before ${rollbackOf}`,
      explanation: `release ${name} rolled ${rollbackOf} back to it already`,
    };
  }
  const restored = newestFinished.status.rollback?.restored ?? newestFinished.status.previous;
  if (!restored?.version) return undefined;
  return {
    restored: { version: restored.version, images: restored.images },
    source: `what release ${name} replaced before it was rolled back`,
    explanation: `release ${name} (${newestFinished.spec.version}) was rolled back to it already`,
  };
}

/** An earlier version by name: a Release of it that Succeeded, else what a Release replaced. */
function findVersion(
  ofTarget: readonly Release[],
  version: string,
): { kind: "found"; to: KnownVersion; source: string } | Extract<RollbackPlan, { kind: "refuse" }> {
  const released = ofTarget.find(
    (release) => release.spec.version === version && release.status?.phase === "Succeeded",
  );
  if (released) {
    // Images the Release did not name stayed as they were: take them from what it replaced.
    const images = { ...released.status?.previous?.images, ...released.spec.images };
    return { kind: "found", to: { version, images }, source: `release ${released.metadata.name}` };
  }
  const replacedBy = ofTarget.find((release) => release.status?.previous?.version === version);
  if (replacedBy?.status?.previous) {
    return {
      kind: "found",
      to: { version, images: replacedBy.status.previous.images },
      source: `what release ${replacedBy.metadata.name} replaced`,
    };
  }
  const attempted = ofTarget.find((release) => release.spec.version === version);
  if (attempted) {
    return refuse(
      EXIT.conflict,
      `version ${version} was released as ${attempted.metadata.name}, which never Succeeded (${attempted.status?.phase ?? "not started"}): ` +
        `it is not a known-good version to go back to`,
    );
  }
  const known = [
    ...new Set(
      ofTarget.flatMap((release) => [
        ...(release.status?.phase === "Succeeded" ? [release.spec.version] : []),
        ...(release.status?.previous?.version ? [release.status.previous.version] : []),
      ]),
    ),
  ];
  return refuse(
    EXIT.notFound,
    `no Release of ${ofTarget[0]?.spec.target.deployment} ran version ${version}; known good versions: ${known.join(", ") || "none"}`,
  );
}

function refuse(exitCode: ExitCode, message: string): Extract<RollbackPlan, { kind: "refuse" }> {
  return { kind: "refuse", exitCode, message };
}

export interface RollbackReleaseInput {
  plan: Extract<RollbackPlan, { kind: "restore" }>;
  namespace: string;
  by: string;
  /** ISO time of the request. */
  at: string;
  reason?: string;
  changeId?: string;
  /** Running version, for the change request's text ("from 3.0.0"). */
  currentVersion?: string;
}

/**
 * The emergency Release that restores `plan.to`: one stage, 100% at once, no bake, no
 * analysis by the controller — a failing metric must not make it "roll back" to the
 * very version being undone; `rollback --wait` verifies instead. The label names the
 * Release it undoes; the change request says who and why.
 */
export function buildRollbackRelease(input: RollbackReleaseInput): Release {
  const { plan, by, at } = input;
  const template = plan.template;
  const target = template.spec.target.deployment;
  const from = input.currentVersion ?? plan.undo?.spec.version ?? "the current version";
  const undoneChange = plan.undo?.spec.changeRequest.id;
  const changeId = input.changeId ?? clipId(`${undoneChange ?? "ROLLBACK"}-rollback`);
  const why = input.reason ?? `roll ${target} back from ${from} to ${plan.to.version}, requested by ${by}`;
  const images = Object.entries(plan.to.images)
    .map(([container, image]) => `${container}=${image}`)
    .join(", ");
  const release: Release = {
    apiVersion: "glidepath.dev/v1alpha1",
    kind: "Release",
    metadata: {
      name: rollbackReleaseName(target, plan.to.version, Date.parse(at)),
      namespace: input.namespace,
      labels: plan.undo ? { [ROLLBACK_OF_LABEL]: plan.undo.metadata.name } : {},
      annotations: {},
    },
    spec: {
      target: template.spec.target,
      version: plan.to.version,
      images: plan.to.images,
      stages: [{ name: "ga", weight: 100, hold: "0s" }],
      traffic: template.spec.traffic,
      analysis: { metrics: [], alerts: { matchLabels: {}, severities: [] } },
      ...(template.spec.progressDeadline === undefined
        ? {}
        : { progressDeadline: template.spec.progressDeadline }),
      bake: "0s",
      changeRequest: {
        id: changeId,
        type: "emergency",
        title: clip(`Roll back ${target} to ${plan.to.version}`, 200),
        scope: clip(`Restores ${source(plan)}: ${images}`, 4000),
        why: clip(why, 4000),
        risk: "medium",
        successCriteria: ["pods Ready on the restored version", "error ratio back under its threshold"],
        rollbackPlan: clip(
          `Release ${from} again${plan.undo ? ` (as release ${plan.undo.metadata.name} did)` : ""}`,
          4000,
        ),
        testing: { notes: clip(`${plan.to.version} ran in production before: ${source(plan)}`, 2000) },
        requestedBy: by,
        requiresApproval: false,
      },
    },
  };
  release.metadata.annotations = {
    [ACTIONS_ANNOTATION]: withAction(release, {
      action: "rollback",
      by,
      at,
      detail: `restores ${plan.to.version} (${source(plan)})${input.reason ? `: ${input.reason}` : ""}`,
    }),
  };
  return release;
}

function source(plan: Extract<RollbackPlan, { kind: "restore" }>): string {
  return plan.source;
}

/**
 * `<target>-rollback-<version>-<time>`: readable, unique per second, and within 63
 * characters, because the release name becomes a label value on the canary objects.
 */
export function rollbackReleaseName(target: string, version: string, atMs: number): string {
  const stamp = Math.floor(atMs / 1000).toString(36);
  const slug = version
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 20)
    .replace(/-+$/, "");
  const suffix = `-rollback${slug ? `-${slug}` : ""}-${stamp}`;
  const head = target.slice(0, 63 - suffix.length).replace(/-+$/, "");
  return `${head}${suffix}`;
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function clipId(id: string): string {
  return id.slice(0, 64);
}
