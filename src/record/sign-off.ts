import type { Release, ReleaseStatus, SignOff } from "../api/index.ts";

// The sign-off of a release as a change-approval form lists it: who requested, created,
// approved, paused, resumed, promoted, aborted and rolled it back, and whether each is
// verified. Pure, and it only renders: "verified" comes from what the controller wrote
// in status after checking the admission webhook's stamps with a key the CLI never holds,
// never from a name a client typed.

export const signOffRoles = [
  "requested",
  "created",
  "approved",
  "paused",
  "resumed",
  "promoted",
  "aborted",
  "rolledBack",
] as const;
export type SignOffRole = (typeof signOffRoles)[number];

export const SIGN_OFF_ROLE_LABELS: Record<SignOffRole, string> = {
  requested: "Requested by",
  created: "Created by",
  approved: "Approved by",
  paused: "Paused by",
  resumed: "Resumed by",
  promoted: "Promoted by",
  aborted: "Aborted by",
  rolledBack: "Rolled back by",
};

export interface SignOffRow {
  role: SignOffRole;
  name: string;
  groups: string[];
  at?: string;
  /**
   * true: the controller verified the admission webhook's stamp, so `name` is who the API
   * server authenticated; false: a name nobody verified. Absent when Glidepath itself acted.
   */
  verified?: boolean;
  /** Glidepath acted on its own (a rollback on an alert, a metric, the pods' health). */
  automatic?: true;
  /** Approvals: whether it opens an approval gate. */
  counts?: boolean;
  /** Why it is not verified or does not count, or what the entry said (promote full, abort reason). */
  note?: string;
}

/** A later Release that rolled this one back, with its creator as that Release's controller verified it. */
export interface LaterRollbackSigner {
  release: string;
  requestedBy: string;
  at?: string;
  creator?: NonNullable<SignOff["creator"]>;
}

const ACTION_ROLES = {
  pause: "paused",
  resume: "resumed",
  promote: "promoted",
  abort: "aborted",
} as const satisfies Record<SignOff["actions"][number]["action"], SignOffRole>;

/** The sign-off rows, in the order of the form: request, creation, approvals, then what happened in order. */
export function signOffRows(
  release: Pick<Release, "spec" | "status">,
  rolledBackLater: readonly LaterRollbackSigner[] = [],
): SignOffRow[] {
  const status = release.status;
  const creator = status?.signOff?.creator;
  const rows: SignOffRow[] = [requestedRow(release.spec.changeRequest.requestedBy, creator)];
  rows.push(
    creator
      ? {
          role: "created",
          name: creator.user ?? "unknown",
          groups: creator.groups ?? [],
          ...(creator.at === undefined ? {} : { at: creator.at }),
          verified: creator.verified,
          ...(creator.problem === undefined ? {} : { note: creator.problem }),
        }
      : {
          role: "created",
          name: "unknown",
          groups: [],
          verified: false,
          note: "the controller has not recorded who created it",
        },
  );
  for (const approval of status?.approvals ?? []) {
    const verified = approval.verified === true;
    const counts = verified && approval.doesNotCount === undefined;
    // The controller's verdict (doesNotCount); a status written before it existed says only verified or not.
    const whyNot = verified
      ? approval.doesNotCount
      : (approval.doesNotCount ?? `unverified: ${approval.problem ?? "no identity stamp was verified"}`);
    const notes = [
      ...(whyNot === undefined ? [] : [`does not count: ${whyNot}`]),
      ...(approval.comment ? [`"${approval.comment}"`] : []),
    ];
    rows.push({
      role: "approved",
      name: approval.by,
      groups: approval.groups ?? [],
      at: approval.at,
      verified,
      counts,
      ...(notes.length > 0 ? { note: notes.join("; ") } : {}),
    });
  }
  for (const action of status?.signOff?.actions ?? []) {
    const notes = [...(action.problem ? [action.problem] : []), ...(action.detail ? [action.detail] : [])];
    rows.push({
      role: ACTION_ROLES[action.action],
      name: action.by,
      groups: action.groups ?? [],
      at: action.at,
      verified: action.verified,
      ...(notes.length > 0 ? { note: notes.join("; ") } : {}),
    });
  }
  const rollback = rollbackRow(status);
  if (rollback) rows.push(rollback);
  for (const later of rolledBackLater) rows.push(laterRollbackRow(later));
  return rows;
}

function requestedRow(requestedBy: string, creator: SignOff["creator"]): SignOffRow {
  const isCreator = creator?.verified === true && creator.user === requestedBy;
  return {
    role: "requested",
    name: requestedBy,
    groups: isCreator ? (creator.groups ?? []) : [],
    verified: isCreator,
    note: isCreator
      ? "the verified creator"
      : "as written in the change request (spec.changeRequest.requestedBy): not verified",
  };
}

/** Who rolled it back: the person who aborted it, or Glidepath itself, naming its trigger. */
function rollbackRow(status: ReleaseStatus | undefined): SignOffRow | undefined {
  const rollback = status?.rollback;
  if (!rollback) return undefined;
  const at = { at: rollback.at };
  if (rollback.trigger === "manual") {
    const by = rollback.by ?? "unknown";
    const abort = (status.signOff?.actions ?? []).findLast(
      (action) => action.action === "abort" && action.by === by,
    );
    const verified = abort?.verified === true;
    return {
      role: "rolledBack",
      name: by,
      groups: abort?.groups ?? [],
      ...at,
      verified,
      note: verified ? "aborted" : `aborted; ${abort?.problem ?? "the abort is not verified"}`,
    };
  }
  const cause =
    rollback.trigger === "alert"
      ? `alert ${rollback.alert?.name ?? "unknown"}`
      : rollback.trigger === "metric"
        ? `metric ${rollback.metric ?? "unknown"}`
        : rollback.trigger === "deadline"
          ? "progress deadline"
          : "health";
  return {
    role: "rolledBack",
    name: `glidepath (${cause})`,
    groups: [],
    ...at,
    automatic: true,
    note: "automatic",
  };
}

function laterRollbackRow(later: LaterRollbackSigner): SignOffRow {
  const creator = later.creator;
  const where = `by release ${later.release}`;
  if (creator?.verified && creator.user)
    return {
      role: "rolledBack",
      name: creator.user,
      groups: creator.groups ?? [],
      ...(creator.at === undefined ? (later.at ? { at: later.at } : {}) : { at: creator.at }),
      verified: true,
      note: `${where}, which they created`,
    };
  return {
    role: "rolledBack",
    name: later.requestedBy,
    groups: [],
    ...(later.at ? { at: later.at } : {}),
    verified: false,
    note: `${where}; its requester as written, ${creator?.problem ?? "its creator not verified"}`,
  };
}
