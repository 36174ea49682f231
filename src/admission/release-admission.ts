import { isDeepStrictEqual } from "node:util";
import { z } from "zod";
import {
  canonicalJson,
  checkImages,
  describeImageRefusals,
  controlSchema,
  CONTROL_STAMPS_ANNOTATION,
  CREATED_BY_ANNOTATION,
  formatIssues,
  MAX_CONTROL_STAMPS,
  readStamps,
  signControl,
  signCreation,
  STAMP_ANNOTATIONS,
  verifyCreator,
  type AllowedImagesList,
  type Authenticated,
  type ControlAction,
  type ControlStamp,
} from "../api/index.ts";

// What the admission webhook decides about one CREATE or UPDATE of a Release, given who
// the API server authenticated: refuse (with a message that says why), or allow and
// stamp the creator and each new spec.control entry. Pure: the SubjectAccessReview's
// answer comes in as `mayApprove`, the key and the clock as values.

export type Operation = "CREATE" | "UPDATE";

export interface AdmissionInput {
  operation: Operation;
  /** The namespace and name the API server gives (an object at CREATE may lack them). */
  namespace: string;
  name: string;
  user: Authenticated;
  object: unknown;
  /** The stored object, at UPDATE. */
  oldObject?: unknown;
  now: string;
  key: Buffer;
  /** The Release's preset: whether its creator and requester may approve it. */
  separationOfDuties: (spec: AdmittedSpec) => boolean;
  /** The allowedImages lists that bind a Release with this spec (imagePolicy in src/api/plan.ts). */
  allowedImages: (spec: AdmittedSpec) => AllowedImagesList[];
}

export interface JsonPatchOperation {
  op: "add" | "replace";
  path: string;
  value: unknown;
}

export type AdmissionDecision =
  | { allowed: true; patch: JsonPatchOperation[]; warnings: string[]; stamped: ControlAction[] }
  | { allowed: false; code: 400 | 403; message: string };

/** Only what the webhook reads; the CRD schema and the controller validate the rest. */
const admittedSchema = z
  .object({
    metadata: z
      .object({
        uid: z.string().optional(),
        annotations: z.record(z.string(), z.string()).optional(),
      })
      .loose(),
    spec: z
      .object({
        strategy: z.string().optional(),
        stages: z.array(z.unknown()).optional(),
        changeRequest: z
          .object({ type: z.string().optional(), requestedBy: z.string().optional() })
          .loose()
          .optional(),
        control: controlSchema.nullish(),
        images: z.record(z.string(), z.string()).optional(),
        target: z
          .object({ deployment: z.string().optional(), kind: z.string().optional() })
          .loose()
          .optional(),
        traffic: z
          .object({
            gatewayAPI: z.object({ httpRoute: z.string().optional() }).loose().optional(),
            nginx: z.object({ ingress: z.string().optional() }).loose().optional(),
          })
          .loose()
          .optional(),
      })
      .loose(),
  })
  .loose();
type Admitted = z.infer<typeof admittedSchema>;
export type AdmittedSpec = Admitted["spec"];
type Control = z.infer<typeof controlSchema>;
type Approval = NonNullable<Control["approvals"]>[number];

interface NewEntry {
  action: ControlAction;
  /** Where it is, for messages: spec.control.approvals[1]. */
  path: string;
  value: unknown;
  by?: string;
}

const refuse = (message: string, code: 400 | 403 = 403): AdmissionDecision => ({
  allowed: false,
  code,
  message,
});

function parse(raw: unknown, what: string): { ok: true; value: Admitted } | { ok: false; message: string } {
  const parsed = admittedSchema.safeParse(raw);
  if (parsed.success) return { ok: true, value: parsed.data };
  const issues = formatIssues(parsed.error).map((issue) => `${issue.path}: ${issue.message}`);
  return { ok: false, message: `the ${what} is not a Release the webhook can read: ${issues.join("; ")}` };
}

/** A permission the writer of a Release must hold themselves: one SubjectAccessReview. */
export interface AccessNeeded {
  group: string;
  resource: string;
  verb: string;
  name: string;
}

/**
 * The controller acts for whoever creates (or retargets) a Release, with rights of its own:
 * it updates the target Deployment and patches the route. So the writer must be allowed to
 * do that themselves, or the controller would be their confused deputy. Empty when the
 * request names no new target.
 */
export function accessNeeded(
  input: Pick<AdmissionInput, "operation" | "object" | "oldObject">,
): AccessNeeded[] {
  const now = admittedSchema.safeParse(input.object);
  if (!now.success) return [];
  const spec = now.data.spec;
  if (input.operation === "UPDATE") {
    const old = admittedSchema.safeParse(input.oldObject);
    if (
      old.success &&
      isDeepStrictEqual(old.data.spec.target, spec.target) &&
      isDeepStrictEqual(old.data.spec.traffic, spec.traffic)
    )
      return [];
  }
  const needed: AccessNeeded[] = [];
  const deployment = spec.target?.deployment;
  // A StatefulSet target (docs/statefulsets.md) is updated in place: the writer must be allowed that.
  const resource = spec.target?.kind === "StatefulSet" ? "statefulsets" : "deployments";
  if (deployment) needed.push({ group: "apps", resource, verb: "update", name: deployment });
  const route = spec.traffic?.gatewayAPI?.httpRoute;
  if (route)
    needed.push({ group: "gateway.networking.k8s.io", resource: "httproutes", verb: "patch", name: route });
  const ingress = spec.traffic?.nginx?.ingress;
  if (ingress)
    needed.push({ group: "networking.k8s.io", resource: "ingresses", verb: "patch", name: ingress });
  return needed;
}

export function describeAccess(access: AccessNeeded): string {
  return `${access.verb} ${access.resource}${access.group ? `.${access.group}` : ""} "${access.name}"`;
}

/** The number of approvals this request adds: when above 0, ask RBAC whether the user may approve. */
export function approvalsAdded(input: Pick<AdmissionInput, "object" | "oldObject">): number {
  const now = admittedSchema.safeParse(input.object);
  const old = input.oldObject === undefined ? undefined : admittedSchema.safeParse(input.oldObject);
  const count = (release: z.ZodSafeParseResult<Admitted> | undefined) =>
    release?.success ? (release.data.spec.control?.approvals?.length ?? 0) : 0;
  return Math.max(0, count(now) - count(old));
}

/**
 * `mayApprove`: RBAC's answer for the verb approve, when the request adds approvals.
 * `denied`: what accessNeeded() listed that RBAC refused the writer.
 */
export function admitRelease(
  input: AdmissionInput,
  mayApprove: boolean | undefined,
  denied: AccessNeeded[] = [],
): AdmissionDecision {
  const parsed = parse(input.object, "object");
  if (!parsed.ok) return refuse(parsed.message, 400);
  const release = parsed.value;
  let old: Admitted | undefined;
  if (input.operation === "UPDATE") {
    const parsedOld = parse(input.oldObject, "stored object");
    if (!parsedOld.ok) return refuse(parsedOld.message, 400);
    old = parsedOld.value;
  }
  const who = input.user.user;
  const ref = `release ${input.namespace}/${input.name}`;
  const annotations = release.metadata.annotations ?? {};
  const oldAnnotations = old?.metadata.annotations ?? {};

  // The stamps are the webhook's alone: nobody sets, changes or removes them.
  const restore: Record<string, string> = {};
  for (const annotation of STAMP_ANNOTATIONS) {
    const value = annotations[annotation];
    const before = oldAnnotations[annotation];
    if (value === undefined && before !== undefined) restore[annotation] = before;
    else if (value !== before)
      return refuse(
        `metadata.annotations["${annotation}"] is written by the Glidepath admission webhook only: it cannot be set or changed by ${who}`,
      );
  }

  if (denied.length > 0)
    return refuse(
      `${who} may not ${input.operation === "CREATE" ? "create" : "retarget"} ${ref}: the controller would act for them with rights RBAC does not give them in namespace ${input.namespace}: ${denied.map(describeAccess).join(", ")}`,
    );

  const refusedImages = imagesRefused(input, release, old);
  if (refusedImages) return refuse(`${ref}: ${refusedImages}`);

  const control = release.spec.control ?? {};
  const entries: NewEntry[] = [];
  const warnings: string[] = [];
  if (input.operation === "CREATE") {
    if ((control.approvals ?? []).length > 0)
      return refuse(
        `${ref} cannot be created with approvals (spec.control.approvals): an approval is given after creation, by someone the API server authenticates`,
      );
    if (control.abort || control.promote || control.paused)
      warnings.push(
        "spec.control entries written at creation are not stamped (the Release has no uid yet); write them after creation to have them verified",
      );
  } else {
    const changed = diffControl(old?.spec.control ?? {}, control);
    if (typeof changed === "string") return refuse(`${ref}: ${changed}`);
    entries.push(...changed);
  }

  for (const entry of entries) {
    if (entry.by !== undefined && entry.by !== who)
      return refuse(
        `${entry.path}.by is "${entry.by}", but the API server authenticated this request as "${who}": an entry names the person who writes it (glidepath ${entry.action} --by ${who})`,
      );
  }
  const approvals = entries.filter((entry) => entry.action === "approve");
  if (approvals.length > 0) {
    if (input.separationOfDuties(release.spec)) {
      const creator = verifyCreator(
        { metadata: { name: input.name, namespace: input.namespace, annotations: oldAnnotations } },
        input.key,
      );
      if (!creator.verified)
        return refuse(
          `${ref} has no verified creator (${creator.problem ?? "no stamp"}), so separation of duties cannot be checked: no approval is accepted; re-create it with the webhook on`,
        );
      if (creator.user === who)
        return refuse(
          `${who} created ${ref} and may not approve it: its preset requires separation of duties (four-eyes); ask someone else with glidepath-approve`,
        );
      const requestedBy = release.spec.changeRequest?.requestedBy;
      if (requestedBy === who)
        return refuse(
          `${who} requested this change (spec.changeRequest.requestedBy) and may not approve it: its preset requires separation of duties (four-eyes)`,
        );
    }
    // RBAC decides who may approve at all: the verb "approve", as for certificate signers.
    if (mayApprove !== true)
      return refuse(
        `${who} may not approve releases in namespace ${input.namespace}: RBAC must grant the verb "approve" on releases.glidepath.dev there (ClusterRole glidepath-approve)`,
      );
  }

  const patch: JsonPatchOperation[] = [];
  const setAnnotations: Record<string, string> = { ...restore };
  if (input.operation === "CREATE") {
    const stamp = signCreation(
      input.key,
      { namespace: input.namespace, name: input.name },
      input.user,
      input.now,
    );
    setAnnotations[CREATED_BY_ANNOTATION] = JSON.stringify(stamp);
  }
  if (entries.length > 0) {
    const uid = old?.metadata.uid ?? release.metadata.uid ?? "";
    const before = readStamps({ metadata: { name: input.name, annotations: oldAnnotations } }).control;
    const added = entries.map((entry) =>
      signControl(input.key, uid, entry.action, entry.value, input.user, input.now),
    );
    setAnnotations[CONTROL_STAMPS_ANNOTATION] = JSON.stringify(boundStamps([...before, ...added]));
  }
  if (Object.keys(setAnnotations).length > 0) {
    if (release.metadata.annotations === undefined)
      patch.push({ op: "add", path: "/metadata/annotations", value: setAnnotations });
    else
      for (const [annotation, value] of Object.entries(setAnnotations))
        patch.push({ op: "add", path: `/metadata/annotations/${escapePointer(annotation)}`, value });
  }
  return { allowed: true, patch, warnings, stamped: entries.map((entry) => entry.action) };
}

/**
 * The images the policy refuses, at CREATE and at an UPDATE that changes the images or the
 * presets that bind them. Not at other updates: a policy tightened in flight must never
 * stop a person from pausing, approving or aborting (the controller holds such a release).
 */
function imagesRefused(
  input: AdmissionInput,
  release: Admitted,
  old: Admitted | undefined,
): string | undefined {
  const lists = input.allowedImages(release.spec);
  if (
    old !== undefined &&
    isDeepStrictEqual(old.spec.images, release.spec.images) &&
    isDeepStrictEqual(input.allowedImages(old.spec), lists)
  )
    return undefined;
  const refusals = checkImages(release.spec.images ?? {}, lists);
  return refusals.length > 0 ? describeImageRefusals(refusals) : undefined;
}

/** The new entries of an update, or why the update is refused. */
function diffControl(old: Control, now: Control): NewEntry[] | string {
  const entries: NewEntry[] = [];
  const oldApprovals = old.approvals ?? [];
  const approvals = now.approvals ?? [];
  for (const [index, approval] of oldApprovals.entries()) {
    const current = approvals[index];
    if (current === undefined || canonicalJson(current) !== canonicalJson(approval))
      return `spec.control.approvals[${index}] (${describe(approval)}) was ${current === undefined ? "removed" : "changed"}: approvals are append-only`;
  }
  approvals.slice(oldApprovals.length).forEach((approval, offset) =>
    entries.push({
      action: "approve",
      path: `spec.control.approvals[${oldApprovals.length + offset}]`,
      value: approval,
      by: approval.by,
    }),
  );
  if (old.abort && !isDeepStrictEqual(old.abort, now.abort))
    return `spec.control.abort (${describe(old.abort)}) cannot be ${now.abort ? "changed" : "withdrawn"}`;
  if (!old.abort && now.abort)
    entries.push({ action: "abort", path: "spec.control.abort", value: now.abort, by: now.abort.by });
  if (old.promote && !now.promote)
    return `spec.control.promote (${describe(old.promote)}) cannot be withdrawn`;
  if (now.promote && !isDeepStrictEqual(old.promote, now.promote))
    entries.push({ action: "promote", path: "spec.control.promote", value: now.promote, by: now.promote.by });
  if (Boolean(old.paused) !== Boolean(now.paused))
    entries.push({ action: now.paused ? "pause" : "resume", path: "spec.control.paused", value: now.paused });
  return entries;
}

function describe(entry: Pick<Approval, "by" | "at">): string {
  return `by ${entry.by} at ${entry.at}`;
}

/** Every approval's stamp, and the newest others, MAX_CONTROL_STAMPS in all at most. */
function boundStamps(stamps: ControlStamp[]): ControlStamp[] {
  const approvals = stamps.filter((stamp) => stamp.action === "approve");
  const room = Math.max(0, MAX_CONTROL_STAMPS - approvals.length);
  const others = stamps.filter((stamp) => stamp.action !== "approve").slice(-room);
  return stamps.filter((stamp) => stamp.action === "approve" || others.includes(stamp));
}

/** RFC 6901: "~" and "/" in a key. */
function escapePointer(key: string): string {
  return key.replaceAll("~", "~0").replaceAll("/", "~1");
}
