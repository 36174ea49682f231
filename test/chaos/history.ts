// The chaos suite's judge, pure: what the controller replicas did, read from the
// kube-apiserver's audit log (each replica its own ServiceAccount, so every write names
// its replica), checked against the invariants of issue 13 — every stage reached once and
// in order, no promotion on missing data, every triggered rollback completed, no two
// replicas acting at once — and the time each fault took to recover from.
import { parseAuditLine, type AuditEvent } from "../../bench/lib/audit-log.ts";
import { nearestRank } from "../../bench/lib/statistics.ts";

/** One finished write by a controller replica, as the audit log recorded it. */
export interface ActionEvent {
  /** When the request finished (ms since the epoch). */
  at: number;
  /** "system:serviceaccount:<namespace>:<name>": the replica. */
  user: string;
  verb: string;
  /** "httproutes", "releases/status", "deployments", … */
  resource: string;
  namespace?: string;
  name?: string;
  code: number;
  /** The object as stored after the write (audit level RequestResponse), when logged. */
  object?: StoredObject;
}

export interface StoredObject {
  metadata?: { resourceVersion?: string };
  spec?: { rules?: { backendRefs?: { name: string; weight?: number }[] }[] };
  status?: ReleaseStatusSeen;
}

export interface ReleaseStatusSeen {
  phase?: string;
  stages?: {
    name: string;
    weight: number;
    exitedAt?: string;
    outcome?: string;
    tallies?: { metric: string; pass: number; lastVerdict?: string }[];
    measurements?: { metric: string; verdict: string; at: string }[];
  }[];
}

/** The resources whose writes are a replica acting (Events, Leases and alert hand-offs are not). */
export const ACTION_RESOURCES = [
  "httproutes",
  "releases/status",
  "deployments",
  "services",
  "releaserecords",
] as const;

const WRITE_VERBS = new Set(["create", "update", "patch", "delete"]);

/** A replica's write, from an event of the audit log; undefined for anything else (reads). */
export function actionOf(event: AuditEvent): ActionEvent | undefined {
  if (!WRITE_VERBS.has(event.verb)) return undefined;
  const { latencyMs: _latency, user, object, ...write } = event;
  return { ...write, user: user ?? "?", ...(object ? { object: object as StoredObject } : {}) };
}

/** One line of the JSON audit log as an ActionEvent; undefined for anything else (reads, partial lines). */
export function parseActionLine(line: string): ActionEvent | undefined {
  const event = parseAuditLine(line);
  return event && actionOf(event);
}

const succeeded = (event: ActionEvent): boolean => event.code >= 200 && event.code < 300;
const revisionOf = (event: ActionEvent): number => Number(event.object?.metadata?.resourceVersion ?? NaN);

/**
 * The stored versions of one object, oldest first, by resourceVersion (etcd's revision:
 * the order the API server applied them). A write that changed nothing keeps the
 * resourceVersion and is left out.
 */
export function storedVersions(
  events: readonly ActionEvent[],
  resource: string,
  namespace: string,
  name: string,
): StoredVersion[] {
  const byRevision = new Map<number, StoredVersion>();
  for (const event of events) {
    if (event.resource !== resource || event.namespace !== namespace || event.name !== name) continue;
    if (!succeeded(event) || !event.object) continue;
    const revision = revisionOf(event);
    const earlier = byRevision.get(revision);
    if (Number.isFinite(revision) && (!earlier || event.at < earlier.at))
      byRevision.set(revision, { at: event.at, object: event.object });
  }
  return [...byRevision.entries()].sort((a, b) => a[0] - b[0]).map(([, version]) => version);
}

export interface StoredVersion {
  /** When the write that stored it finished. */
  at: number;
  object: StoredObject;
}

/** The canary backend's weight in each stored version of the route (no backend: 0), repeats folded. */
export function canaryWeights(routeVersions: readonly StoredVersion[], canaryBackend: string): number[] {
  const weights: number[] = [];
  for (const { object: route } of routeVersions) {
    const refs = route.spec?.rules?.[0]?.backendRefs ?? [];
    const weight = refs.find((ref) => ref.name === canaryBackend)?.weight ?? 0;
    if (weights.at(-1) !== weight) weights.push(weight);
  }
  return weights;
}

export interface StageWalk {
  /** How many stages the route reached, in order. */
  reached: number;
  /** Whether the route went back to stable (canary 0) after its stages. */
  endedOnStable: boolean;
  /** What broke the order: a stage skipped, a stage repeated (or traffic moved after the end). */
  skipped: string[];
  repeated: string[];
}

/**
 * Judges the route's canary weights against the planned stage weights: leading zeros (the
 * canary backend added before traffic), then the stages in order, each once, none skipped,
 * then at most one return to 0 (promotion done, or rollback), and nothing after it.
 */
export function walkStages(weights: readonly number[], stageWeights: readonly number[]): StageWalk {
  const skipped: string[] = [];
  const repeated: string[] = [];
  let index = 0;
  while (weights[index] === 0) index++;
  let reached = 0;
  let endedOnStable = false;
  for (; index < weights.length; index++) {
    const weight = weights[index] as number;
    if (endedOnStable) {
      repeated.push(`traffic moved to ${weight}% after the route went back to stable`);
      continue;
    }
    if (weight === 0) {
      endedOnStable = true;
      continue;
    }
    const expected = stageWeights[reached];
    if (weight === expected) {
      reached++;
      continue;
    }
    const at = stageWeights.indexOf(weight);
    if (at >= 0 && at < reached)
      repeated.push(`stage ${at + 1} (${weight}%) repeated after stage ${reached}`);
    else if (at > reached) {
      skipped.push(`stage ${reached + 1} (${expected}%) skipped: went to ${weight}%`);
      reached = at + 1;
    } else skipped.push(`${weight}% is no stage's weight (after stage ${reached})`);
  }
  return { reached, endedOnStable, skipped, repeated };
}

export interface Window {
  from: number;
  to: number;
}

/**
 * Promotions on missing data in a release's stored statuses: a stage left as "passed"
 * whose newest measurement of some metric was not a pass, or a pass that no real answer
 * of Prometheus can account for: `realAnswers` are the times the proxy in front of
 * Prometheus delivered a real answer to this release's query, and a round's pass needs one
 * delivered between the round's start (`at`) and the first stored status holding it.
 * Garbage and silence never count.
 */
/** How late the proxy may take note of an answer it delivered (its event loop is busy too). */
export const ANSWER_LAG_MS = 1_000;

export function promotionsOnMissingData(
  statuses: readonly StoredVersion[],
  realAnswers: readonly number[],
): string[] {
  const found = new Set<string>();
  const judged = new Set<string>();
  for (const { at: storedAt, object } of [...statuses].sort((x, y) => x.at - y.at)) {
    for (const stage of object.status?.stages ?? []) {
      for (const measurement of stage.measurements ?? []) {
        // Judged where it first appears: later versions carry it on.
        const key = `${stage.name} ${measurement.metric} ${measurement.at}`;
        if (judged.has(key)) continue;
        judged.add(key);
        const at = Date.parse(measurement.at);
        // Answered after the round began and before the status holding its pass was stored
        // (give or take the proxy noticing its answer late on a loaded machine).
        const accounted = (answered: number) => answered >= at && answered <= storedAt + ANSWER_LAG_MS;
        if (measurement.verdict === "pass" && !realAnswers.some(accounted))
          found.add(
            `stage ${stage.name}: ${measurement.metric} passed in the round of ${measurement.at}, but Prometheus answered nothing real from then on`,
          );
      }
      if (stage.outcome !== "passed") continue;
      for (const tally of stage.tallies ?? []) {
        if (tally.lastVerdict !== "pass")
          found.add(
            `stage ${stage.name} passed with ${tally.metric}'s newest round ${tally.lastVerdict ?? "missing"}`,
          );
      }
    }
  }
  return [...found];
}

export interface ReplicaOverlap {
  /** The replica that acted again after another had acted. */
  user: string;
  at: number;
  resource: string;
  name?: string;
}

/**
 * Two replicas acting at once: in the order the API server finished them, every replica's
 * successful actions must form one unbroken run. A replica that acts again after another
 * replica has acted was acting alongside it (each process has its own identity, so a
 * restarted controller is a new replica).
 */
export function replicaOverlaps(events: readonly ActionEvent[]): ReplicaOverlap[] {
  const actions = events
    .filter((event) => succeeded(event) && (ACTION_RESOURCES as readonly string[]).includes(event.resource))
    .sort((a, b) => a.at - b.at);
  const finished = new Set<string>();
  const overlaps: ReplicaOverlap[] = [];
  let current: string | undefined;
  for (const action of actions) {
    if (action.user === current) continue;
    if (finished.has(action.user))
      overlaps.push({
        user: action.user,
        at: action.at,
        resource: action.resource,
        ...(action.name ? { name: action.name } : {}),
      });
    if (current) finished.add(current);
    current = action.user;
  }
  return overlaps;
}

/**
 * How long after a fault ended (`end`) every release still in flight then was written
 * again (its status): undefined when one never was.
 */
export function recoveryMs(
  events: readonly ActionEvent[],
  end: number,
  releases: readonly { namespace: string; name: string }[],
): number | undefined {
  let slowest = 0;
  for (const release of releases) {
    let next: number | undefined;
    for (const event of events) {
      if (event.resource !== "releases/status" || event.namespace !== release.namespace) continue;
      if (event.name !== release.name || !succeeded(event) || event.at <= end) continue;
      if (next === undefined || event.at < next) next = event.at;
    }
    if (next === undefined) return undefined;
    slowest = Math.max(slowest, next - end);
  }
  return slowest;
}

/** p50 and p99 by nearest rank; NaN for none. */
export function percentiles(values: readonly number[]): { p50: number; p99: number } {
  const sorted = [...values].sort((a, b) => a - b);
  return { p50: nearestRank(sorted, 0.5), p99: nearestRank(sorted, 0.99) };
}

/** When the release's status was first stored finished (Succeeded, RolledBack, Failed); undefined if never. */
export function finishedAt(
  events: readonly ActionEvent[],
  release: { namespace: string; name: string },
): number | undefined {
  let first: number | undefined;
  for (const event of events) {
    if (event.resource !== "releases/status" || event.namespace !== release.namespace) continue;
    if (event.name !== release.name || !succeeded(event)) continue;
    const phase = event.object?.status?.phase;
    if (phase !== "Succeeded" && phase !== "RolledBack" && phase !== "Failed") continue;
    if (first === undefined || event.at < first) first = event.at;
  }
  return first;
}
