// The release shapes bench/rollback-shapes.ts times, and per shape what "armed" (the
// canary has its share, ready to be rolled back) and "back on stable" mean on the object a
// watch delivers. Pure: the predicates take the objects as the API server sends them.
import type { Summary } from "../lib/statistics.ts";
import { markdownTable } from "../lib/table.ts";

export const SHAPES = ["blue-green", "match", "mirror", "baseline", "autoscaled", "statefulset"] as const;
export type Shape = (typeof SHAPES)[number];

/** BENCH_SHAPES ("match,mirror"): the shapes to measure, in their fixed order; unset = all. */
export function parseShapes(text: string | undefined): Shape[] {
  if (text === undefined || text.trim() === "") return [...SHAPES];
  const names = text.split(",").map((name) => name.trim());
  for (const name of names) {
    if (!(SHAPES as readonly string[]).includes(name))
      throw new Error(`BENCH_SHAPES: unknown shape "${name}" (known: ${SHAPES.join(", ")})`);
  }
  return SHAPES.filter((shape) => names.includes(shape));
}

/** BENCH_RUNS: a positive whole number of runs per shape; unset = `fallback`. */
export function parseRuns(text: string | undefined, fallback: number): number {
  if (text === undefined || text.trim() === "") return fallback;
  const runs = Number(text);
  if (!Number.isInteger(runs) || runs < 1)
    throw new Error(`BENCH_RUNS: "${text}" is not a whole number above 0`);
  return runs;
}

// ---- HTTPRoute --------------------------------------------------------------------------

interface BackendRefView {
  name: string;
  port?: number;
  weight?: number;
  filters?: FilterView[];
}
interface FilterView {
  type?: string;
  requestMirror?: { backendRef?: { name?: string; port?: number } };
}
interface RuleView {
  matches?: unknown[];
  filters?: FilterView[];
  backendRefs?: BackendRefView[];
}
export interface RouteView {
  spec?: { rules?: RuleView[] };
}

const rulesOf = (route: RouteView): RuleView[] => route.spec?.rules ?? [];
/** Gateway API: a backendRef without a weight weighs 1. */
const weightOf = (ref: BackendRefView): number => ref.weight ?? 1;
const canaryOf = (service: string) => `${service}-canary`;
const baselineOf = (service: string) => `${service}-baseline`;

/** The backends of every rule taken together, each with the largest weight any rule gives it. */
function largestWeights(route: RouteView): Map<string, number> {
  const weights = new Map<string, number>();
  for (const rule of rulesOf(route))
    for (const ref of rule.backendRefs ?? [])
      weights.set(ref.name, Math.max(weights.get(ref.name) ?? 0, weightOf(ref)));
  return weights;
}

/** Some rule sends requests to stable, and none to any of `others`. */
function onlyStableOf(route: RouteView, service: string, others: readonly string[]): boolean {
  const weights = largestWeights(route);
  return (weights.get(service) ?? 0) > 0 && others.every((name) => (weights.get(name) ?? 0) === 0);
}

function mirrorsTo(route: RouteView, backend: string): boolean {
  const isMirror = (filter: FilterView) =>
    filter.type === "RequestMirror" && filter.requestMirror?.backendRef?.name === backend;
  return rulesOf(route).some(
    (rule) =>
      (rule.filters ?? []).some(isMirror) ||
      (rule.backendRefs ?? []).some((ref) => (ref.filters ?? []).some(isMirror)),
  );
}

/** A rule with matches of its own sends requests to the canary: the match stage's rule. */
export function hasCanaryMatchRule(service: string): (route: RouteView) => boolean {
  return (route) =>
    rulesOf(route).some(
      (rule) =>
        (rule.matches ?? []).length > 0 &&
        (rule.backendRefs ?? []).some((ref) => ref.name === canaryOf(service) && weightOf(ref) > 0),
    );
}

export function hasCanaryMirror(service: string): (route: RouteView) => boolean {
  return (route) => mirrorsTo(route, canaryOf(service));
}

/** The canary and the baseline each have a share (the baseline gets its own once Ready). */
export function hasCanaryAndBaseline(service: string): (route: RouteView) => boolean {
  return (route) => {
    const weights = largestWeights(route);
    return (weights.get(canaryOf(service)) ?? 0) > 0 && (weights.get(baselineOf(service)) ?? 0) > 0;
  };
}

/** The route's traffic is all on stable again, as each shape's rollback leaves it. */
export const BACK_ON_STABLE: Record<
  Exclude<Shape, "statefulset">,
  (service: string) => (route: RouteView) => boolean
> = {
  // No rule (weighted or matched) sends the canary a request.
  "blue-green": (service) => (route) => onlyStableOf(route, service, [canaryOf(service)]),
  autoscaled: (service) => (route) => onlyStableOf(route, service, [canaryOf(service)]),
  // The match rule gone (or its canary at weight 0): no header or cookie reaches the canary.
  match: (service) => (route) => onlyStableOf(route, service, [canaryOf(service)]),
  // The RequestMirror filter gone: the canary gets no copies.
  mirror: (service) => (route) =>
    !mirrorsTo(route, canaryOf(service)) && onlyStableOf(route, service, [canaryOf(service)]),
  // Canary and baseline at weight 0 (or gone).
  baseline: (service) => (route) => onlyStableOf(route, service, [canaryOf(service), baselineOf(service)]),
};

/**
 * The route as it was before any Release: `ruleCount` rules, no canary or baseline
 * backendRef and no mirror to the canary. The next run starts only from there.
 */
export function routeRestored(service: string, ruleCount: number): (route: RouteView) => boolean {
  return (route) => {
    const rules = rulesOf(route);
    const names = rules.flatMap((rule) => (rule.backendRefs ?? []).map((ref) => ref.name));
    return (
      rules.length === ruleCount &&
      !names.includes(canaryOf(service)) &&
      !names.includes(baselineOf(service)) &&
      !mirrorsTo(route, canaryOf(service))
    );
  };
}

// ---- StatefulSet (the replica split: no route) -------------------------------------------

export interface StatefulSetView {
  metadata?: { generation?: number };
  spec?: { replicas?: number };
  status?: {
    observedGeneration?: number;
    replicas?: number;
    readyReplicas?: number;
    updatedReplicas?: number;
    currentRevision?: string;
    updateRevision?: string;
  };
}

/** The status describes the current spec (the StatefulSet controller has seen the last write). */
const observed = (set: StatefulSetView) =>
  set.status?.observedGeneration !== undefined &&
  set.status.observedGeneration >= (set.metadata?.generation ?? 0);

/** Some pods run a revision other than `oldRevision`, and every pod is Ready. */
export function canaryPodsReady(oldRevision: string): (set: StatefulSetView) => boolean {
  return (set) => {
    const replicas = set.spec?.replicas ?? 0;
    const status = set.status;
    return (
      observed(set) &&
      status?.updateRevision !== undefined &&
      status.updateRevision !== oldRevision &&
      (status.updatedReplicas ?? 0) >= 1 &&
      (status.readyReplicas ?? 0) === replicas
    );
  };
}

/**
 * Every pod on `oldRevision` and Ready: the update revision is the old one again (the
 * template restored), every replica is updated to it, and all are Ready.
 */
export function allPodsOldAndReady(oldRevision: string): (set: StatefulSetView) => boolean {
  return (set) => {
    const replicas = set.spec?.replicas ?? 0;
    const status = set.status;
    return (
      observed(set) &&
      replicas > 0 &&
      status?.updateRevision === oldRevision &&
      status.updatedReplicas === replicas &&
      status.readyReplicas === replicas &&
      (status.replicas ?? replicas) === replicas
    );
  };
}

// ---- the report --------------------------------------------------------------------------

export interface ShapeRow {
  label: string;
  summary: Summary;
  failures: number;
}

const NUMBER_COLUMNS = ["p50", "p90", "p99", "min", "max"] as const;

/** One row per measured end point: whole milliseconds, "–" where nothing was measured. */
export function shapeTable(rows: readonly ShapeRow[]): string[] {
  const width = Math.max(12, ...rows.map((row) => row.label.length));
  return markdownTable(
    [
      { header: "milliseconds", width },
      ...NUMBER_COLUMNS.map((header) => ({ header, width: 6, align: "right" as const })),
      { header: "runs", width: 4, align: "right" },
      { header: "failed", width: 6, align: "right" },
    ],
    rows.map(({ label, summary, failures }) => [
      label,
      ...NUMBER_COLUMNS.map((column) =>
        Number.isFinite(summary[column]) ? summary[column].toFixed(0) : "–",
      ),
      String(summary.count),
      String(failures),
    ]),
  );
}
