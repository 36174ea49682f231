import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { z } from "zod";
import { canonicalJson } from "./canonical-json.ts";
import type { Release } from "./release.ts";

// Identity stamps: who created a Release and who wrote each spec.control entry, as the
// API server authenticated them. The admission webhook writes them; the controller
// believes only those whose HMAC verifies with the key it alone reads, so a stamp
// typed by hand (or copied from another Release, or onto another entry) proves nothing.
// Pure: signing and verifying are functions of the key and the object.

/** Who created the Release (JSON of a CreationStamp). */
export const CREATED_BY_ANNOTATION = "glidepath.dev/created-by";
/** Who wrote each spec.control entry (JSON array of ControlStamp), oldest first. */
export const CONTROL_STAMPS_ANNOTATION = "glidepath.dev/control-stamps";
export const STAMP_ANNOTATIONS = [CREATED_BY_ANNOTATION, CONTROL_STAMPS_ANNOTATION] as const;

export const controlActions = ["approve", "pause", "resume", "promote", "abort"] as const;
export type ControlAction = (typeof controlActions)[number];

/** Stamps kept: every approval's, and the newest of the others up to this many in all. */
export const MAX_CONTROL_STAMPS = 60;
/** A key shorter than this is refused at start-up: HMAC-SHA256 wants 256 bits. */
export const MIN_STAMP_KEY_BYTES = 32;

const MAC_VERSION = "glidepath-stamp/v1";

const userSchema = z.string().min(1).max(256);
const groupsSchema = z.array(z.string().max(256)).max(64);
const macSchema = z.string().regex(/^[0-9a-f]{64}$/);

export const creationStampSchema = z.object({
  user: userSchema,
  groups: groupsSchema,
  at: z.string().min(1).max(64),
  mac: macSchema,
});
export type CreationStamp = z.infer<typeof creationStampSchema>;

export const controlStampSchema = z.object({
  action: z.enum(controlActions),
  /** sha256 of the entry's canonical JSON: binds the stamp to that entry and no other. */
  digest: z.string().regex(/^[0-9a-f]{64}$/),
  user: userSchema,
  groups: groupsSchema,
  at: z.string().min(1).max(64),
  mac: macSchema,
});
export type ControlStamp = z.infer<typeof controlStampSchema>;

export function entryDigest(entry: unknown): string {
  return createHash("sha256").update(canonicalJson(entry)).digest("hex");
}

/** The control entry a stamp covers: the object itself, or the pause switch. */
export function controlEntry(action: ControlAction, value: unknown): unknown {
  if (action === "pause") return { paused: true };
  if (action === "resume") return { paused: false };
  return value;
}

interface MacInput {
  /** The Release's uid for control entries; namespace/name for the creation (no uid exists yet at CREATE). */
  scope: string;
  action: ControlAction | "create";
  digest: string;
  user: string;
  groups: readonly string[];
  at: string;
}

function mac(key: Buffer, input: MacInput): string {
  const message = canonicalJson([
    MAC_VERSION,
    input.scope,
    input.action,
    input.digest,
    input.user,
    [...input.groups].sort(),
    input.at,
  ]);
  return createHmac("sha256", key).update(message).digest("hex");
}

function macMatches(key: Buffer, input: MacInput, claimed: string): boolean {
  const expected = Buffer.from(mac(key, input), "hex");
  const given = Buffer.from(claimed, "hex");
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export interface Authenticated {
  user: string;
  groups: readonly string[];
}

function creationScope(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

export function signCreation(
  key: Buffer,
  release: { namespace: string; name: string },
  who: Authenticated,
  at: string,
): CreationStamp {
  const groups = [...who.groups];
  const input = {
    scope: creationScope(release.namespace, release.name),
    action: "create" as const,
    digest: "",
    user: who.user,
    groups,
    at,
  };
  return { user: who.user, groups, at, mac: mac(key, input) };
}

export function signControl(
  key: Buffer,
  uid: string,
  action: ControlAction,
  entry: unknown,
  who: Authenticated,
  at: string,
): ControlStamp {
  const digest = entryDigest(controlEntry(action, entry));
  const groups = [...who.groups];
  return {
    action,
    digest,
    user: who.user,
    groups,
    at,
    mac: mac(key, { scope: uid, action, digest, user: who.user, groups, at }),
  };
}

/** The stamps on a Release as written; an annotation that does not parse reads as none. */
export function readStamps(release: Pick<Release, "metadata">): {
  creator?: CreationStamp;
  control: ControlStamp[];
} {
  const annotations = release.metadata.annotations ?? {};
  const creator = parseJson(annotations[CREATED_BY_ANNOTATION], creationStampSchema);
  const control = parseJson(annotations[CONTROL_STAMPS_ANNOTATION], z.array(controlStampSchema)) ?? [];
  return { ...(creator ? { creator } : {}), control };
}

function parseJson<T>(text: string | undefined, schema: z.ZodType<T>): T | undefined {
  if (!text) return undefined;
  try {
    const parsed = schema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** One identity claim and whether the controller could verify it. */
export interface VerifiedIdentity {
  verified: boolean;
  /** The authenticated user, when a stamp was found (verified or not). */
  user?: string;
  groups?: string[];
  /** When, as stamped (the webhook's clock), when a stamp was found. */
  at?: string;
  /** Why it is not verified, for status, the record and the CLI. */
  problem?: string;
}

/** One pause, resume, promote or abort: who wrote it, as stamped, and whether the stamp verified. */
export interface VerifiedAction extends VerifiedIdentity {
  action: Exclude<ControlAction, "approve">;
  /** The user: the stamp's, or for an unstamped entry the name its `by` claims. */
  user: string;
  at: string;
  /** What the entry said beyond who and when: a promote's "full", an abort's reason. */
  detail?: string;
}

export interface IdentityObservation {
  /** Whether this controller serves the admission webhook that writes stamps. */
  webhook: boolean;
  /**
   * Why the webhook does not guard writes to this Release (src/api/webhook-coverage.ts),
   * when it does not: then no stamp counts, however well it verifies.
   */
  uncovered?: string;
  creator: VerifiedIdentity;
  /** One per spec.control.approvals entry, in the same order. */
  approvals: VerifiedIdentity[];
  /** Every pause, resume, promote and abort stamped (and an unstamped promote or abort in spec), oldest first. */
  actions?: VerifiedAction[];
}

const NO_KEY = "no stamp key is configured, so no identity can be verified";
const FORGED = "its stamp does not verify (forged, copied from another Release, or signed with another key)";
const UNSTAMPED = "not stamped by the admission webhook (written while it was off?)";

/** Who created the Release, if its creator stamp verifies for this namespace and name. */
export function verifyCreator(release: Pick<Release, "metadata">, key: Buffer | undefined): VerifiedIdentity {
  const stamp = readStamps(release).creator;
  if (!stamp) return { verified: false, problem: "created without the admission webhook: no creator stamp" };
  const found = { user: stamp.user, groups: stamp.groups, at: stamp.at };
  if (!key) return { verified: false, ...found, problem: NO_KEY };
  const scope = creationScope(release.metadata.namespace ?? "", release.metadata.name);
  const input = { scope, action: "create" as const, digest: "", ...found };
  return macMatches(key, input, stamp.mac)
    ? { verified: true, ...found }
    : { verified: false, ...found, problem: "the creator stamp does not verify" };
}

/**
 * Verifies the creator's stamp and each approval's. `key` undefined (none configured)
 * verifies nothing. An approval verifies only with a stamp of the same entry, for
 * this Release's uid, by the user its `by` names.
 */
export function verifyIdentity(
  release: Pick<Release, "metadata" | "spec">,
  key: Buffer | undefined,
  webhook: boolean,
): IdentityObservation {
  const stamps = readStamps(release);
  const creator = verifyCreator(release, key);
  const uid = release.metadata.uid ?? "";
  const approvals = (release.spec.control?.approvals ?? []).map((approval): VerifiedIdentity => {
    const digest = entryDigest(approval);
    const candidates = stamps.control.filter(
      (stamp) => stamp.action === "approve" && stamp.digest === digest,
    );
    if (candidates.length === 0) return { verified: false, problem: UNSTAMPED };
    if (!key) return { verified: false, user: candidates[0]!.user, problem: NO_KEY };
    const good = candidates.find((stamp) =>
      macMatches(
        key,
        { scope: uid, action: "approve", digest, user: stamp.user, groups: stamp.groups, at: stamp.at },
        stamp.mac,
      ),
    );
    if (!good)
      return {
        verified: false,
        user: candidates[0]!.user,
        problem: FORGED,
      };
    if (good.user !== approval.by)
      return {
        verified: false,
        user: good.user,
        groups: good.groups,
        problem: `stamped for ${good.user}, not ${approval.by}`,
      };
    return { verified: true, user: good.user, groups: good.groups };
  });
  return { webhook, creator, approvals, actions: verifyActions(release, key) };
}

/**
 * Who paused, resumed, promoted and aborted: every such stamp, verified for this Release's
 * uid (a verified stamp names the user the API server authenticated), and a promote or
 * abort in spec that no stamp covers, as the unverified claim its `by` makes.
 */
export function verifyActions(
  release: Pick<Release, "metadata" | "spec">,
  key: Buffer | undefined,
): VerifiedAction[] {
  const uid = release.metadata.uid ?? "";
  const control = release.spec.control ?? {};
  const entries = [
    {
      action: "promote" as const,
      entry: control.promote,
      detail: control.promote?.full ? "full" : undefined,
    },
    { action: "abort" as const, entry: control.abort, detail: control.abort?.reason },
  ];
  const actions: VerifiedAction[] = [];
  const covered = new Set<string>();
  for (const stamp of readStamps(release).control) {
    if (stamp.action === "approve") continue;
    const spec = entries.find(
      (candidate) =>
        candidate.action === stamp.action && candidate.entry && entryDigest(candidate.entry) === stamp.digest,
    );
    if (spec) covered.add(spec.action);
    const verified =
      key !== undefined &&
      macMatches(
        key,
        {
          scope: uid,
          action: stamp.action,
          digest: stamp.digest,
          user: stamp.user,
          groups: stamp.groups,
          at: stamp.at,
        },
        stamp.mac,
      );
    actions.push({
      action: stamp.action,
      user: stamp.user,
      groups: stamp.groups,
      at: stamp.at,
      verified,
      ...(spec?.detail ? { detail: spec.detail } : {}),
      ...(verified ? {} : { problem: key ? FORGED : NO_KEY }),
    });
  }
  for (const { action, entry, detail } of entries) {
    if (!entry || covered.has(action)) continue;
    actions.push({
      action,
      user: entry.by,
      at: entry.at,
      verified: false,
      ...(detail ? { detail } : {}),
      problem: UNSTAMPED,
    });
  }
  return actions;
}

/**
 * The same identities, none verified: where the webhook does not guard writes, a validly
 * signed stamp proves nothing (anyone reaching the webhook's port can have one signed).
 */
export function withoutCoverage(observation: IdentityObservation, problem: string): IdentityObservation {
  const unverify = <T extends VerifiedIdentity>(identity: T): T => ({
    ...identity,
    verified: false,
    problem: identity.verified ? problem : (identity.problem ?? problem),
  });
  return {
    ...observation,
    uncovered: problem,
    creator: unverify(observation.creator),
    approvals: observation.approvals.map(unverify),
    ...(observation.actions ? { actions: observation.actions.map(unverify) } : {}),
  };
}
