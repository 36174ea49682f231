import { STATUS_LIMITS, type ReleaseStatus, type StableChange } from "../api/index.ts";
import { clip, qualifiedName, type DecisionContext } from "./context.ts";
import { isGAStage } from "./position.ts";
import { dropOldestAfterFirst } from "./record.ts";
import { GLIDEPATH_FIELD_MANAGER, type WorkloadObservation } from "./types.ts";
import { describeImages, describeVersion, releaseTouchedStable, stableName } from "./world.ts";

// Someone else's edits of the stable Deployment while a release runs. A change of what
// stable runs (an image, the version label, the rest of the pod template) holds the
// release until a person resumes or promotes it, so the promotion never overwrites a
// hotfix unseen. Scaling is not a change of what runs: it is only noted.

type Previous = NonNullable<ReleaseStatus["previous"]>;
type Drift = NonNullable<ReleaseStatus["stableDrift"]>;

interface StableState {
  images: Record<string, string>;
  version?: string | undefined;
  template?: string | undefined;
}

interface Difference {
  kind: "images" | "template";
  text: string;
  /** The field manager that last wrote the field, when known. */
  writer: string | undefined;
}

interface StableEdit {
  differences: Difference[];
  by: string | undefined;
  state: StableState;
}

/** Notes scaling, finds an edit by someone else, records it once, and takes a person's word to go on. */
export function watchStable(ctx: DecisionContext): void {
  const { status, observations } = ctx;
  if (status.startedAt === undefined || !status.previous || !observations.stable.exists) return;
  noteScaling(ctx, status.previous);
  const edit = findStableEdit(ctx, status.previous);
  const drift = status.stableDrift;
  if (drift && !drift.accepted) {
    if (!edit) {
      delete status.stableDrift;
      note(ctx, "restored", "StableRestored", {
        message: `the stable Deployment ${stableRef(ctx)} is back to what this release expects`,
      });
      return;
    }
    const person = acceptance(ctx, drift);
    if (person) {
      accept(ctx, person, edit);
      return;
    }
    if (sameState(drift, edit.state)) return;
  } else if (drift) {
    // Accepted after the promotion: it stands until the promotion replaces it.
    if (edit && sameState(drift, edit.state)) return;
    delete status.stableDrift;
  }
  if (edit) recordEdit(ctx, edit);
}

/** Someone else's edit of stable that holds the release until a person resumes or promotes. */
export function unacceptedDrift(ctx: DecisionContext): Drift | undefined {
  const drift = ctx.status.stableDrift;
  return drift && !drift.accepted ? drift : undefined;
}

/** The pause message while an edit holds the release: what changed, and what a person can do. */
export function driftPauseMessage(ctx: DecisionContext, drift: Drift): string {
  const name = ctx.release.metadata.name;
  const previous = ctx.status.previous;
  const choices = releaseTouchedStable(ctx)
    ? `resume (glidepath resume ${name}) to put ${ctx.release.spec.version} back on stable and go on, ` +
      `or abort to restore ${previous ? describeVersion(previous) : "the previous version"}`
    : `resume (glidepath resume ${name}) to go on from stable as it is now, which a rollback then restores, ` +
      "or abort to roll back (stable is left as it is)";
  return `paused so that nothing overwrites it: ${drift.message}; ${choices}`;
}

/** What stable may look like now without anyone else having changed it, closest first. */
function expectedStates(ctx: DecisionContext, previous: Previous): StableState[] {
  const before: StableState = {
    images: previous.images,
    version: previous.version,
    template: previous.template,
  };
  if (!releaseTouchedStable(ctx)) return [before];
  const promoted: StableState = {
    images: { ...previous.images, ...ctx.release.spec.images },
    version: ctx.release.spec.version,
    template: previous.template,
  };
  // While GA's promotion has not reached stable yet, stable may still show the state before it.
  return isGAStage(ctx) && ctx.status.promotedAt === undefined ? [promoted, before] : [promoted];
}

function findStableEdit(ctx: DecisionContext, previous: Previous): StableEdit | undefined {
  const stable = ctx.observations.stable;
  const candidates = expectedStates(ctx, previous).map((expected) => differences(expected, stable));
  const nearest = candidates.reduce((best, next) => (next.length < best.length ? next : best));
  if (nearest.length === 0) return undefined;
  // Glidepath's own writes (an earlier promote or revert) are never someone else's edit.
  if (nearest.every((difference) => difference.writer === GLIDEPATH_FIELD_MANAGER)) return undefined;
  const writers = [
    ...new Set(
      nearest
        .map((difference) => difference.writer)
        .filter((writer) => writer !== undefined && writer !== GLIDEPATH_FIELD_MANAGER),
    ),
  ];
  return {
    differences: nearest,
    by: writers.length > 0 ? writers.join(", ") : undefined,
    state: stateOf(stable),
  };
}

function differences(expected: StableState, stable: WorkloadObservation): Difference[] {
  const found: Difference[] = [];
  const writers = stable.writers;
  const containers = [...new Set([...Object.keys(expected.images), ...Object.keys(stable.images)])].sort();
  for (const container of containers) {
    const from = expected.images[container];
    const to = stable.images[container];
    if (from === to) continue;
    found.push({
      kind: "images",
      text: `container ${container}: ${from ?? "(none)"} → ${to ?? "(removed)"}`,
      writer: (to === undefined ? undefined : writers?.images[container]) ?? writers?.template,
    });
  }
  if (expected.version !== stable.version) {
    found.push({
      kind: "template",
      text: `version label ${expected.version ?? "(none)"} → ${stable.version ?? "(none)"}`,
      writer: writers?.version ?? writers?.template,
    });
  }
  if (
    expected.template !== undefined &&
    stable.templateHash !== undefined &&
    expected.template !== stable.templateHash
  ) {
    found.push({
      kind: "template",
      text: "the pod template apart from its images (env, resources, probes, …)",
      writer: writers?.template,
    });
  }
  return found;
}

function recordEdit(ctx: DecisionContext, edit: StableEdit): void {
  const control = ctx.release.spec.control;
  const who = edit.by ?? "someone other than Glidepath";
  const message = clip(
    `the stable Deployment ${stableRef(ctx)} was changed by ${who}: ${edit.differences.map((d) => d.text).join("; ")}`,
    1024,
  );
  const drift: Drift = {
    detectedAt: ctx.now,
    ...(edit.by === undefined ? {} : { by: clip(edit.by, 256) }),
    message,
    images: { ...edit.state.images },
    ...(edit.state.version === undefined ? {} : { version: edit.state.version }),
    ...(edit.state.template === undefined ? {} : { template: edit.state.template }),
    ...(control?.resume ? { resumeSeen: control.resume.at } : {}),
    ...(control?.promote ? { promoteSeen: control.promote.at } : {}),
  };
  ctx.status.stableDrift = drift;
  const kind = edit.differences.some((difference) => difference.kind === "images") ? "images" : "template";
  note(ctx, kind, "StableDrifted", {
    message,
    ...(edit.by === undefined ? {} : { by: edit.by }),
    eventType: "Warning",
    eventMessage: driftPauseMessage(ctx, drift),
  });
}

/** A resume or promote given after the edit was seen: the person has looked at it. */
function acceptance(ctx: DecisionContext, drift: Drift): { by: string; how: string } | undefined {
  const control = ctx.release.spec.control;
  if (control?.resume && control.resume.at !== drift.resumeSeen)
    return { by: control.resume.by, how: "resumed" };
  if (control?.promote && control.promote.at !== drift.promoteSeen)
    return { by: control.promote.by, how: "promoted" };
  return undefined;
}

/**
 * Before the promotion, stable as it is now becomes what the release started from (what a
 * rollback restores). After it, the release puts its version back; only the rest of the
 * template is taken as it is.
 */
function accept(ctx: DecisionContext, person: { by: string; how: string }, edit: StableEdit): void {
  const status = ctx.status;
  const stable = ctx.observations.stable;
  const previous = status.previous;
  const drift = status.stableDrift;
  if (!previous || !drift) return;
  const template = stable.templateHash === undefined ? {} : { template: stable.templateHash };
  let message: string;
  if (releaseTouchedStable(ctx)) {
    status.previous = { ...previous, ...template };
    // Kept, marked accepted, so the edit is not taken for a new one until the promotion replaces it.
    status.stableDrift = { ...drift, accepted: { by: clip(person.by, 256), at: ctx.now } };
    message = `${person.by} ${person.how} over the edit of ${stableRef(ctx)}: the release puts ${ctx.release.spec.version} back on stable; a rollback restores ${describeVersion(previous)}`;
  } else {
    status.previous = {
      ...(stable.version === undefined ? {} : { version: stable.version }),
      images: { ...edit.state.images },
      replicas: stable.desiredReplicas,
      ...template,
    };
    delete status.stableDrift;
    message = `${person.by} ${person.how}, accepting ${stableRef(ctx)} as it is (${describeImages(stable.images)}): a rollback now restores it`;
  }
  note(ctx, "accepted", "StableDriftAccepted", { message, by: person.by });
}

function noteScaling(ctx: DecisionContext, previous: Previous): void {
  const stable = ctx.observations.stable;
  const last = ctx.status.stableChanges?.findLast((change) => change.kind === "replicas")?.replicas;
  const before = last ?? previous.replicas;
  if (before === undefined || before === stable.desiredReplicas) return;
  const by = replicasWriter(ctx);
  note(ctx, "replicas", "StableScaled", {
    message: `the stable Deployment ${stableRef(ctx)} was scaled from ${before} to ${stable.desiredReplicas} replicas${by ? ` by ${by}` : ""}: not a change of what runs, so the release goes on (the canary is sized from it)`,
    replicas: stable.desiredReplicas,
    ...(by === undefined ? {} : { by }),
  });
}

/**
 * Who scaled stable, if the API server recorded it: a scale through the /scale subresource
 * (kubectl scale, an HPA) leaves spec.replicas with its old manager before Kubernetes 1.22,
 * so a manager that last wrote before the release started did not make this change.
 */
function replicasWriter(ctx: DecisionContext): string | undefined {
  const writers = ctx.observations.stable.writers;
  const startedAt = ctx.status.startedAt;
  if (!writers?.replicas || !writers.replicasAt || startedAt === undefined) return undefined;
  return Date.parse(writers.replicasAt) >= Date.parse(startedAt) - 1_000 ? writers.replicas : undefined;
}

function note(
  ctx: DecisionContext,
  kind: StableChange["kind"],
  reason: string,
  details: {
    message: string;
    by?: string;
    replicas?: number;
    eventType?: "Normal" | "Warning";
    eventMessage?: string;
  },
): void {
  const change: StableChange = {
    at: ctx.now,
    kind,
    ...(details.by === undefined ? {} : { by: clip(details.by, 256) }),
    ...(details.replicas === undefined ? {} : { replicas: details.replicas }),
    message: clip(details.message, 1024),
  };
  const changes = [...(ctx.status.stableChanges ?? []), change];
  dropOldestAfterFirst(changes, STATUS_LIMITS.stableChanges);
  ctx.status.stableChanges = changes;
  ctx.announcements.push({
    type: "emitEvent",
    eventType: details.eventType ?? "Normal",
    reason,
    message: clip(details.eventMessage ?? details.message, 1024),
  });
}

function stateOf(stable: WorkloadObservation): StableState {
  return { images: { ...stable.images }, version: stable.version, template: stable.templateHash };
}

function sameState(drift: Drift, state: StableState): boolean {
  return (
    JSON.stringify(Object.entries(drift.images).sort()) ===
      JSON.stringify(Object.entries(state.images).sort()) &&
    drift.version === state.version &&
    drift.template === state.template
  );
}

function stableRef(ctx: DecisionContext): string {
  return qualifiedName(ctx.release, stableName(ctx));
}
