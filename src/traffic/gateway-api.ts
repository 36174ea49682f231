// Over 400 lines on purpose, for now: one HTTPRoute read-modify-write whose rule builders (the weights, the baseline's backend, a match stage's rules, a mirror filter) sit beside the read-back that checks them; the routing-stage builders could move to a file of their own.
import { isDeepStrictEqual } from "node:util";
import { PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import type { CustomObjectsApi } from "@kubernetes/client-node";
import { z } from "zod";
import { TargetError, apiError, isConflict, isNotFound } from "../kube/errors.ts";
import {
  baselineServiceName,
  STABLE_WEIGHTS_ANNOTATION,
  canaryServiceName,
  releaseKey,
  releaseNamespace,
} from "../api/workload-names.ts";
import type { ReleaseRef } from "../api/workload-names.ts";
import {
  sameRouting,
  stageMatchSchema,
  stageMirrorSchema,
  type StageMatch,
  type StageRouting,
} from "../api/stage-routing.ts";
import { assertWeight, routerSpec } from "./router.ts";
import type { ObjectRouterOptions, RouterObservation, TrafficRouter } from "./router.ts";

// Gateway API HTTPRoute (gateway.networking.k8s.io/v1): in every rule that sends to
// the stable Service, the stable backendRef gets weight 100-w and a canary backendRef
// beside it weight w. Everything else in the route — other rules, matches, filters,
// fields this code does not know — is written back exactly as it was read, with the
// resourceVersion it was read at, so a concurrent edit costs a retry, never a loss.
// The stable backendRefs' weights before the canary came are kept on the route itself
// (STABLE_WEIGHTS_ANNOTATION), so cleanup puts back exactly the route it found.

export const HTTPROUTE = { group: "gateway.networking.k8s.io", version: "v1", plural: "httproutes" } as const;

const backendRefSchema = z
  .object({
    name: z.string(),
    namespace: z.string().optional(),
    port: z.number().optional(),
    weight: z.number().optional(),
    group: z.string().optional(),
    kind: z.string().optional(),
  })
  .loose();
const ruleSchema = z.object({ backendRefs: z.array(backendRefSchema).optional() }).loose();
const conditionSchema = z
  .object({
    type: z.string(),
    status: z.string(),
    reason: z.string().optional(),
    message: z.string().optional(),
    observedGeneration: z.number().optional(),
  })
  .loose();
const parentStatusSchema = z
  .object({
    parentRef: z.object({ name: z.string(), namespace: z.string().optional() }).loose(),
    controllerName: z.string().optional(),
    conditions: z.array(conditionSchema).optional(),
  })
  .loose();
export const httpRouteSchema = z
  .object({
    metadata: z
      .object({
        name: z.string(),
        namespace: z.string().optional(),
        generation: z.number().optional(),
        resourceVersion: z.string().optional(),
        annotations: z.record(z.string(), z.string()).optional(),
      })
      .loose(),
    spec: z.object({ rules: z.array(ruleSchema).optional() }).loose(),
    status: z
      .object({ parents: z.array(parentStatusSchema).optional() })
      .loose()
      .optional(),
  })
  .loose();

export type HttpRoute = z.infer<typeof httpRouteSchema>;
export type HttpRouteRule = z.infer<typeof ruleSchema>;
export type BackendRef = z.infer<typeof backendRefSchema>;

/** Which backendRefs are stable and canary in a route of this namespace. */
export interface RouteBackends {
  namespace: string;
  stableService: string;
  canaryService: string;
  /** The baseline's Service (docs/baseline.md): its backendRef is counted, added and removed like the canary's. */
  baselineService?: string;
  /** Port of a canary backendRef this code adds (default: the stable backendRef's). */
  port?: number;
}

/** Gateway API's default backendRef weight. */
const DEFAULT_WEIGHT = 1;

export function isServiceRef(ref: BackendRef, service: string, routeNamespace: string): boolean {
  return (
    ref.name === service &&
    (ref.group ?? "") === "" &&
    (ref.kind ?? "Service") === "Service" &&
    (ref.namespace ?? routeNamespace) === routeNamespace
  );
}

/**
 * The route's rules with the canary weight applied. Throws when no rule sends to the
 * stable Service: a route that does not carry the target's traffic cannot shift it.
 */
export function rulesWithCanaryWeight(
  route: HttpRoute,
  backends: RouteBackends,
  canaryWeight: number,
  baselineWeight = 0,
): HttpRouteRule[] {
  const rules = structuredClone(route.spec.rules ?? []);
  let matched = 0;
  for (const rule of rules) {
    const refs = rule.backendRefs ?? [];
    // One stable backendRef per rule carries the split (a second one to another port is left alone).
    const stableIndex = refs.findIndex((ref) =>
      isServiceRef(ref, backends.stableService, backends.namespace),
    );
    const stableRef = refs[stableIndex];
    if (!stableRef) continue;
    matched++;
    stableRef.weight = 100 - canaryWeight - baselineWeight;
    const canaryRef = refs.find((ref) => isServiceRef(ref, backends.canaryService, backends.namespace));
    if (canaryRef) {
      canaryRef.weight = canaryWeight;
      if (backends.port !== undefined) canaryRef.port = backends.port;
    } else {
      // A copy of the stable backendRef (its filters too), so the canary is served the same way.
      const added: BackendRef = {
        ...structuredClone(stableRef),
        name: backends.canaryService,
        weight: canaryWeight,
      };
      const port = backends.port ?? stableRef.port;
      if (port !== undefined) added.port = port;
      refs.splice(stableIndex + 1, 0, added);
    }
    rule.backendRefs = withBaselineRef(refs, backends, baselineWeight);
  }
  if (matched === 0) {
    throw new TargetError(
      "RouteInvalid",
      `HTTPRoute ${routeName(route)} has no rule with a backendRef to Service ${backends.stableService}; ` +
        `expected at least one (rules: ${describeRules(route.spec.rules ?? [])})`,
    );
  }
  return rules;
}

/**
 * The baseline's backendRef at `weight` right after the canary's (a copy of it), or none
 * at weight 0: the baseline takes its share from stable's, never from the canary's.
 */
function withBaselineRef(refs: BackendRef[], backends: RouteBackends, weight: number): BackendRef[] {
  const baselineService = backends.baselineService;
  const isBaseline = (ref: BackendRef) =>
    baselineService !== undefined && isServiceRef(ref, baselineService, backends.namespace);
  if (weight === 0) return refs.filter((ref) => !isBaseline(ref));
  if (baselineService === undefined) throw new Error("a baseline weight needs backends.baselineService");
  const existing = refs.find(isBaseline);
  if (existing) {
    existing.weight = weight;
    return refs;
  }
  const canaryIndex = refs.findIndex((ref) => isServiceRef(ref, backends.canaryService, backends.namespace));
  const canaryRef = refs[canaryIndex];
  if (!canaryRef) return refs;
  const added: BackendRef = { ...structuredClone(canaryRef), name: baselineService, weight };
  return [...refs.slice(0, canaryIndex + 1), added, ...refs.slice(canaryIndex + 1)];
}

// ---- routing stages (docs/routing-stages.md) ----
// A match stage adds, before the route's rules, one rule per rule that sends to stable: its
// matches each with the stage's headers added (and once more with the cookie, as a Cookie
// header pattern), its backendRef the canary Service. More header matches than the rule it
// copies, and earlier in the list: Gateway API's precedence picks it for matching requests.
// A mirror stage adds a RequestMirror filter to the canary Service to each rule that sends
// to stable. The routing the route carries is remembered on it (STAGE_ROUTING_ANNOTATION),
// so observe() says which one it holds, and both additions are told apart from the route's
// own by their canary backendRef, so they go without a trace.

/** On a route: stable Service → the routing stage's match or mirror it carries (JSON). */
export const STAGE_ROUTING_ANNOTATION = "glidepath.dev/stage-routing";

const filterSchema = z
  .object({
    type: z.string(),
    requestMirror: z
      .object({
        backendRef: backendRefSchema.optional(),
        percent: z.number().optional(),
        fraction: z.object({ numerator: z.number(), denominator: z.number().optional() }).loose().optional(),
      })
      .loose()
      .optional(),
  })
  .loose();
type RouteFilter = z.infer<typeof filterSchema>;
const rememberedRoutingSchema = z.record(
  z.string(),
  z.object({ match: stageMatchSchema.optional(), mirror: stageMirrorSchema.optional() }),
);

/** Requests with cookie `<name>=always` (NGINX's canary-by-cookie), as a pattern on the Cookie header. */
export function cookieHeaderPattern(cookieName: string): string {
  return `(^|;\\s*)${cookieName}=always(;|$)`;
}

function headerMatches(match: StageMatch): Record<string, unknown>[][] {
  const alternatives: Record<string, unknown>[][] = [];
  if (match.headers) {
    alternatives.push(
      match.headers.map((header) =>
        header.value !== undefined
          ? { type: "Exact", name: header.name, value: header.value }
          : { type: "RegularExpression", name: header.name, value: header.pattern },
      ),
    );
  }
  if (match.cookie) {
    alternatives.push([
      { type: "RegularExpression", name: "Cookie", value: cookieHeaderPattern(match.cookie.name) },
    ]);
  }
  return alternatives;
}

function isCanaryOnlyRule(rule: HttpRouteRule, backends: RouteBackends): boolean {
  const refs = rule.backendRefs ?? [];
  return (
    refs.length > 0 && refs.every((ref) => isServiceRef(ref, backends.canaryService, backends.namespace))
  );
}

function filtersOf(rule: HttpRouteRule): RouteFilter[] {
  const parsed = z.array(filterSchema).safeParse(rule.filters);
  return parsed.success ? parsed.data : [];
}

function isCanaryMirror(filter: RouteFilter, backends: RouteBackends): boolean {
  const ref = filter.requestMirror?.backendRef;
  return (
    filter.type === "RequestMirror" &&
    ref !== undefined &&
    isServiceRef(ref, backends.canaryService, backends.namespace)
  );
}

function stableRefOf(rule: HttpRouteRule, backends: RouteBackends): BackendRef | undefined {
  return (rule.backendRefs ?? []).find((ref) =>
    isServiceRef(ref, backends.stableService, backends.namespace),
  );
}

/** The rules without a routing stage's additions: its canary-only rules and mirror filters go. */
export function rulesWithoutRouting(rules: HttpRouteRule[], backends: RouteBackends): HttpRouteRule[] {
  return structuredClone(rules)
    .filter((rule) => !isCanaryOnlyRule(rule, backends))
    .map((rule) => {
      const filters = filtersOf(rule);
      if (!filters.some((filter) => isCanaryMirror(filter, backends))) return rule;
      const kept = (rule.filters as unknown[]).filter((_, index) => {
        const filter = filters[index];
        return filter === undefined || !isCanaryMirror(filter, backends);
      });
      // A rule that had no filters before gets none back (not an empty list).
      const { filters: _dropped, ...rest } = rule;
      return kept.length > 0 ? { ...rest, filters: kept } : rest;
    });
}

/** Rules (without routing) with the stage's match or mirror added; undefined: as they are. */
export function rulesWithRouting(
  rules: HttpRouteRule[],
  backends: RouteBackends,
  routing: StageRouting | undefined,
): HttpRouteRule[] {
  const result = structuredClone(rules);
  if (!routing) return result;
  const canaryRefFor = (stableRef: BackendRef): BackendRef => {
    const { weight: _weight, ...copy } = structuredClone(stableRef);
    const port = backends.port ?? stableRef.port;
    return { ...copy, name: backends.canaryService, ...(port !== undefined ? { port } : {}) };
  };
  if (routing.mirror) {
    for (const rule of result) {
      const stableRef = stableRefOf(rule, backends);
      if (!stableRef) continue;
      const { name, port } = canaryRefFor(stableRef);
      const mirror = {
        type: "RequestMirror",
        requestMirror: {
          backendRef: { name, ...(port !== undefined ? { port } : {}) },
          percent: routing.mirror.percent,
        },
      };
      rule.filters = [...((rule.filters as unknown[] | undefined) ?? []), mirror];
    }
    return result;
  }
  const match = routing.match;
  if (!match) return result;
  const added: HttpRouteRule[] = [];
  for (const rule of result) {
    const stableRef = stableRefOf(rule, backends);
    if (!stableRef) continue;
    // The rule's own matches (Gateway API's default when it has none), each narrowed by the stage's.
    const { matches, backendRefs: _refs, name: _name, ...rest } = structuredClone(rule);
    const own = (
      Array.isArray(matches) && matches.length > 0 ? matches : [{ path: { type: "PathPrefix", value: "/" } }]
    ) as Record<string, unknown>[];
    const narrowed = own.flatMap((ownMatch) =>
      headerMatches(match).map((headers) => ({
        ...ownMatch,
        headers: [...((ownMatch.headers as unknown[] | undefined) ?? []), ...headers],
      })),
    );
    added.push({ ...rest, matches: narrowed, backendRefs: [canaryRefFor(stableRef)] });
  }
  return [...added, ...result];
}

function routingRememberedOn(route: HttpRoute): Record<string, StageRouting> {
  const text = route.metadata.annotations?.[STAGE_ROUTING_ANNOTATION];
  if (text === undefined) return {};
  try {
    const parsed = rememberedRoutingSchema.safeParse(JSON.parse(text));
    return parsed.success ? (parsed.data as Record<string, StageRouting>) : {};
  } catch {
    return {};
  }
}

/**
 * The routing stage's match or mirror the route carries: the one remembered, when the rules
 * bear it out (one added rule per stable rule, or a mirror to the canary on each). When they
 * do not, an empty routing, which is no stage's: the engine asks for the route again.
 */
export function readRouting(
  route: HttpRoute,
  backends: RouteBackends,
): { routing?: StageRouting; consistent: boolean; detail?: string } {
  const remembered = routingRememberedOn(route)[backends.stableService];
  const rules = route.spec.rules ?? [];
  const added = rules.filter((rule) => isCanaryOnlyRule(rule, backends)).length;
  const stableRules = rules.filter((rule) => stableRefOf(rule, backends) !== undefined);
  const mirrors = stableRules.map((rule) =>
    filtersOf(rule).find((filter) => isCanaryMirror(filter, backends)),
  );
  const mirrored = mirrors.filter((filter) => filter !== undefined);
  const expected = {
    added: remembered?.match ? stableRules.length : 0,
    mirrored: remembered?.mirror ? stableRules.length : 0,
  };
  const percentsAgree = mirrored.every(
    (filter) => (filter.requestMirror?.percent ?? 100) === (remembered?.mirror?.percent ?? 100),
  );
  if (added === expected.added && mirrored.length === expected.mirrored && percentsAgree) {
    return {
      ...(remembered && (remembered.match || remembered.mirror) ? { routing: remembered } : {}),
      consistent: true,
    };
  }
  return {
    routing: {},
    consistent: false,
    detail:
      `the route carries ${added} canary-only rule(s) and ${mirrored.length} mirror(s) to ${backends.canaryService}, ` +
      `expected ${expected.added} and ${expected.mirrored} for ${remembered ? JSON.stringify(remembered) : "no routing stage"}`,
  };
}

/** Rule index → the stable backendRef's weight before the canary came (null: none was written). */
export type StableWeights = Record<string, number | null>;

const stableWeightsSchema = z.record(z.string().regex(/^\d+$/), z.number().int().min(0).nullable());
/** The annotation's value: stable Service → its weights, so releases of two targets may share a route. */
const rememberedSchema = z.record(z.string(), stableWeightsSchema);
type Remembered = z.infer<typeof rememberedSchema>;

/** Each rule's stable weight as the route holds it now: what to put back once the canary goes. */
export function stableWeightsOf(route: HttpRoute, backends: RouteBackends): StableWeights {
  const weights: StableWeights = {};
  (route.spec.rules ?? []).forEach((rule, index) => {
    const stableRef = (rule.backendRefs ?? []).find((ref) =>
      isServiceRef(ref, backends.stableService, backends.namespace),
    );
    if (stableRef) weights[String(index)] = stableRef.weight ?? null;
  });
  return weights;
}

/** Every stable Service's weights the route remembers (STABLE_WEIGHTS_ANNOTATION); none it cannot be sure of. */
function rememberedOn(route: HttpRoute): Remembered {
  const text = route.metadata.annotations?.[STABLE_WEIGHTS_ANNOTATION];
  if (text === undefined) return {};
  try {
    const parsed = rememberedSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : {};
  } catch {
    return {};
  }
}

/** The stable Service's weights the route remembers; undefined when it remembers none it can be sure of. */
export function rememberedStableWeights(
  route: HttpRoute,
  backends: RouteBackends,
): StableWeights | undefined {
  return rememberedOn(route)[backends.stableService];
}

/** Whether any rule of the route sends to the canary Service. */
export function routesToCanary(route: HttpRoute, backends: RouteBackends): boolean {
  return (route.spec.rules ?? []).some((rule) =>
    (rule.backendRefs ?? []).some((ref) => isServiceRef(ref, backends.canaryService, backends.namespace)),
  );
}

/**
 * The route's rules without canary backendRefs. Each stable backendRef gets back the
 * weight `before` remembers for its rule (none written: none again); without a memory of
 * it, weight 100 (the whole rule).
 */
export function rulesWithoutCanary(
  route: HttpRoute,
  backends: RouteBackends,
  before?: StableWeights,
): HttpRouteRule[] {
  const rules = structuredClone(route.spec.rules ?? []);
  rules.forEach((rule, index) => {
    const refs = rule.backendRefs ?? [];
    const added = (ref: BackendRef) =>
      isServiceRef(ref, backends.canaryService, backends.namespace) ||
      (backends.baselineService !== undefined &&
        isServiceRef(ref, backends.baselineService, backends.namespace));
    if (!refs.some(added)) return;
    rule.backendRefs = refs.filter((ref) => !added(ref));
    const stableRef = rule.backendRefs.find((ref) =>
      isServiceRef(ref, backends.stableService, backends.namespace),
    );
    if (!stableRef) return;
    const remembered = before?.[String(index)];
    if (remembered === null) delete stableRef.weight;
    else stableRef.weight = remembered ?? 100;
  });
  return rules;
}

/** The canary weight the route's spec holds, read from every rule that sends to stable. */
export function readCanaryWeight(
  route: HttpRoute,
  backends: RouteBackends,
): { canaryWeight: number; baselineWeight: number; consistent: boolean; detail: string } {
  const weights: number[] = [];
  const baselineWeights: number[] = [];
  for (const rule of route.spec.rules ?? []) {
    const refs = rule.backendRefs ?? [];
    const stableRef = refs.find((ref) => isServiceRef(ref, backends.stableService, backends.namespace));
    if (!stableRef) continue;
    const canaryRef = refs.find((ref) => isServiceRef(ref, backends.canaryService, backends.namespace));
    const baselineService = backends.baselineService;
    const baselineRef =
      baselineService === undefined
        ? undefined
        : refs.find((ref) => isServiceRef(ref, baselineService, backends.namespace));
    const stable = stableRef.weight ?? DEFAULT_WEIGHT;
    const canary = canaryRef ? (canaryRef.weight ?? DEFAULT_WEIGHT) : 0;
    // The baseline's share is part of the whole the canary's percentage is of.
    const total = stable + canary + (baselineRef ? (baselineRef.weight ?? DEFAULT_WEIGHT) : 0);
    weights.push(total === 0 ? 0 : Math.round((100 * canary) / total));
    const baseline = baselineRef ? (baselineRef.weight ?? DEFAULT_WEIGHT) : 0;
    baselineWeights.push(total === 0 ? 0 : Math.round((100 * baseline) / total));
  }
  const first = weights[0];
  if (first === undefined) {
    return {
      canaryWeight: 0,
      baselineWeight: 0,
      consistent: false,
      detail: `HTTPRoute ${routeName(route)} has no rule with a backendRef to Service ${backends.stableService}`,
    };
  }
  const baselineWeight = baselineWeights[0] ?? 0;
  const consistent =
    weights.every((weight) => weight === first) &&
    baselineWeights.every((weight) => weight === baselineWeight);
  const toBaseline =
    baselineWeight > 0 ? ` and ${baselineWeight}% to ${backends.baselineService ?? "?"}` : "";
  return {
    canaryWeight: first,
    baselineWeight,
    consistent,
    detail: consistent
      ? `${weights.length} rule(s) send ${first}% to ${backends.canaryService}${toBaseline}`
      : `the rules disagree on the canary weight: ${weights.join("%, ")}%`,
  };
}

/**
 * Whether the gateways that report on this route accepted its current generation and
 * resolved its backendRefs. With no status to read there is nothing to contradict the
 * spec, and the detail says so.
 */
export function routeAcceptance(route: HttpRoute): { verified: boolean; detail: string } {
  const parents = route.status?.parents ?? [];
  if (parents.length === 0) {
    return {
      verified: true,
      detail: `no gateway reports status on HTTPRoute ${routeName(route)} (status.parents is empty); verified from the spec alone`,
    };
  }
  const generation = route.metadata.generation;
  const problems: string[] = [];
  for (const parent of parents) {
    const who = `parent ${parent.parentRef.namespace ? `${parent.parentRef.namespace}/` : ""}${parent.parentRef.name}${
      parent.controllerName ? ` (${parent.controllerName})` : ""
    }`;
    for (const type of ["Accepted", "ResolvedRefs"]) {
      const condition = parent.conditions?.find((candidate) => candidate.type === type);
      if (!condition) {
        problems.push(`${who}: no ${type} condition`);
      } else if (condition.status !== "True") {
        problems.push(
          `${who}: ${type}=${condition.status}${condition.reason ? ` (${condition.reason}` : " ("}${
            condition.message ? `: ${condition.message}` : ""
          })`,
        );
      } else if (
        generation !== undefined &&
        condition.observedGeneration !== undefined &&
        condition.observedGeneration !== generation
      ) {
        problems.push(
          `${who}: ${type} is for generation ${condition.observedGeneration}, the route is at ${generation}`,
        );
      }
    }
  }
  if (problems.length > 0) return { verified: false, detail: problems.join("; ") };
  return {
    verified: true,
    detail: `${parents.length} gateway parent(s) report Accepted and ResolvedRefs for generation ${generation ?? "?"}`,
  };
}

export function parseHttpRoute(raw: unknown, name: string): HttpRoute {
  const parsed = httpRouteSchema.safeParse(raw);
  if (!parsed.success) {
    throw new Error(`HTTPRoute ${name} does not have the expected shape: ${z.prettifyError(parsed.error)}`);
  }
  return parsed.data;
}

function routeName(route: HttpRoute): string {
  return `${route.metadata.namespace ? `${route.metadata.namespace}/` : ""}${route.metadata.name}`;
}

function describeRules(rules: HttpRouteRule[]): string {
  if (rules.length === 0) return "none";
  return rules
    .map(
      (rule, index) =>
        `#${index} → ${(rule.backendRefs ?? []).map((ref) => ref.name).join(", ") || "no backendRefs"}`,
    )
    .join("; ");
}

/** `cached`: the controller's HTTPRoute cache; its routes are parsed like the ones read. */
export type GatewayApiRouterOptions = ObjectRouterOptions<unknown>;

/** What a write does to the route: its new rules, and the annotations' new values (null: it goes). */
interface RouteChange {
  rules: HttpRouteRule[];
  remembered?: string | null;
  routing?: string | null;
}

export class GatewayApiRouter implements TrafficRouter {
  readonly #custom: CustomObjectsApi;
  readonly #namespace: string;
  readonly #routeName: string;
  readonly #backends: RouteBackends;
  readonly #who: string;
  readonly #attempts: number;
  readonly #cachedRoute: GatewayApiRouterOptions["cached"];

  constructor(custom: CustomObjectsApi, release: ReleaseRef, options: GatewayApiRouterOptions = {}) {
    const gatewayAPI = routerSpec(release, "gatewayAPI");
    this.#custom = custom;
    this.#namespace = releaseNamespace(release);
    this.#routeName = gatewayAPI.httpRoute;
    this.#backends = {
      namespace: this.#namespace,
      stableService: release.spec.target.service,
      canaryService: canaryServiceName(release.spec.target.service),
      baselineService: baselineServiceName(release.spec.target.service),
      ...(gatewayAPI.port !== undefined ? { port: gatewayAPI.port } : {}),
    };
    this.#who = `Release ${releaseKey(release)}: HTTPRoute ${this.#namespace}/${this.#routeName}`;
    this.#attempts = 1 + (options.conflictRetries ?? 5);
    this.#cachedRoute = options.cached;
  }

  async setWeight(canaryWeight: number, baselineWeight = 0, routing?: StageRouting): Promise<void> {
    assertWeight(canaryWeight, this.#who);
    assertWeight(canaryWeight + baselineWeight, `${this.#who} (canary and baseline together)`);
    const baseline = baselineWeight > 0 ? ` and the baseline's to ${baselineWeight}%` : "";
    const routed = routing ? ` with ${JSON.stringify(routing)}` : "";
    await this.#updateRoute(`setting the canary weight to ${canaryWeight}%${baseline}${routed}`, (read) => {
      // The weights are worked out on the route without a routing stage's additions, whose
      // rule indices are the ones the stable weights are remembered by.
      const route = this.#withoutRouting(read);
      return {
        rules: rulesWithRouting(
          rulesWithCanaryWeight(route, this.#backends, canaryWeight, baselineWeight),
          this.#backends,
          routing,
        ),
        // The first canary backendRef: remember the route as it was (not over an earlier memory).
        ...(routesToCanary(route, this.#backends) || rememberedStableWeights(route, this.#backends)
          ? {}
          : {
              remembered: JSON.stringify({
                ...rememberedOn(route),
                [this.#backends.stableService]: stableWeightsOf(route, this.#backends),
              }),
            }),
        ...this.#routingAnnotation(read, routing),
      };
    });
  }

  #withoutRouting(route: HttpRoute): HttpRoute {
    return {
      ...route,
      spec: { ...route.spec, rules: rulesWithoutRouting(route.spec.rules ?? [], this.#backends) },
    };
  }

  /** The routing annotation's change for this target, if it changes (null: it goes). */
  #routingAnnotation(route: HttpRoute, routing: StageRouting | undefined): Pick<RouteChange, "routing"> {
    const { [this.#backends.stableService]: held, ...others } = routingRememberedOn(route);
    if (sameRouting(held, routing)) return {};
    const next = routing ? { ...others, [this.#backends.stableService]: routing } : others;
    return { routing: Object.keys(next).length > 0 ? JSON.stringify(next) : null };
  }

  async observe(): Promise<RouterObservation> {
    const cached = this.#cachedRoute?.(this.#namespace, this.#routeName);
    const route =
      cached === undefined
        ? await this.#read()
        : parseHttpRoute(cached, `${this.#namespace}/${this.#routeName}`);
    const weight = readCanaryWeight(route, this.#backends);
    const routing = readRouting(route, this.#backends);
    const acceptance = routeAcceptance(route);
    return {
      canaryWeight: weight.canaryWeight,
      requestedWeight: weight.canaryWeight,
      ...(weight.baselineWeight > 0 ? { baselineWeight: weight.baselineWeight } : {}),
      ...(routing.routing ? { routing: routing.routing } : {}),
      verified: weight.consistent && routing.consistent && acceptance.verified,
      detail: `${weight.detail}${routing.detail ? `; ${routing.detail}` : ""}; ${acceptance.detail}`,
    };
  }

  /** The canary backendRefs go and each stable one gets back the weight it had before the release. */
  async cleanup(): Promise<void> {
    await this.#updateRoute("removing the canary backendRefs", (read) => {
      const route = this.#withoutRouting(read);
      const { [this.#backends.stableService]: before, ...others } = rememberedOn(route);
      return {
        rules: rulesWithoutCanary(route, this.#backends, before),
        ...this.#routingAnnotation(read, undefined),
        // This target's memory goes; another target's release on the same route keeps its own.
        ...(before === undefined
          ? {}
          : { remembered: Object.keys(others).length > 0 ? JSON.stringify(others) : null }),
      };
    });
  }

  async #updateRoute(action: string, change: (route: HttpRoute) => RouteChange): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const route = await this.#read();
      const { rules, remembered, routing } = change(route);
      if (
        isDeepStrictEqual(rules, route.spec.rules ?? []) &&
        remembered === undefined &&
        routing === undefined
      )
        return;
      const changed = {
        ...(remembered === undefined ? {} : { [STABLE_WEIGHTS_ANNOTATION]: remembered }),
        ...(routing === undefined ? {} : { [STAGE_ROUTING_ANNOTATION]: routing }),
      };
      const annotations = Object.keys(changed).length === 0 ? {} : { annotations: changed };
      try {
        await this.#custom.patchNamespacedCustomObject(
          {
            ...HTTPROUTE,
            namespace: this.#namespace,
            name: this.#routeName,
            // The resourceVersion makes this a compare-and-swap: a route changed since the read gets 409.
            body: {
              metadata: { resourceVersion: route.metadata.resourceVersion, ...annotations },
              spec: { rules },
            },
          },
          setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
        );
        return;
      } catch (error) {
        if (isConflict(error) && attempt < this.#attempts) continue;
        throw apiError(`${this.#who}: ${action}`, error);
      }
    }
  }

  async #read(): Promise<HttpRoute> {
    let raw: unknown;
    try {
      raw = await this.#custom.getNamespacedCustomObject({
        ...HTTPROUTE,
        namespace: this.#namespace,
        name: this.#routeName,
      });
    } catch (error) {
      if (isNotFound(error)) {
        throw new TargetError(
          "RouteNotFound",
          `${this.#who} (spec.traffic.gatewayAPI.httpRoute) does not exist`,
          { cause: error },
        );
      }
      throw apiError(`${this.#who}: reading it`, error);
    }
    return parseHttpRoute(raw, `${this.#namespace}/${this.#routeName}`);
  }
}
