import type { StageRouting } from "../api/stage-routing.ts";
import { releaseKey } from "../api/workload-names.ts";
import type { ReleaseRef } from "../api/workload-names.ts";
import type { TrafficObservation } from "../engine/types.ts";

// The one plug-in point for traffic: every router sets a canary weight, reads back the
// weight it holds, and removes what it added. Implementations: gateway-api.ts,
// nginx.ts, replicas.ts; createTrafficRouter (index.ts) picks one from spec.traffic.

export interface TrafficRouter {
  /**
   * Sends `canaryWeight` percent (0–100, whole) to the canary and the rest to stable;
   * `baselineWeight` percent of stable's share goes to the baseline (docs/baseline.md;
   * only the Gateway API router has one, the Release validation holds the others to 0).
   * `routing` is a routing stage's match or mirror (docs/routing-stages.md): the route
   * carries it beside the weight, and without it carries none, put back as it was. The
   * replica split cannot (the Release validation refuses such stages; it throws).
   */
  setWeight(canaryWeight: number, baselineWeight?: number, routing?: StageRouting): Promise<void>;
  /** The weight the router holds now, and whether the router confirmed it. */
  observe(): Promise<RouterObservation>;
  /** Removes what the router added for the canary; afterwards all traffic goes to stable. */
  cleanup(): Promise<void>;
}

/** A TrafficObservation with what was asked and a sentence saying how it was verified (or why not). */
export interface RouterObservation extends TrafficObservation {
  /**
   * The weight last asked of the router. Equal to canaryWeight for routers that reach
   * any weight exactly; the replicas router reaches only some (asked 10%, reached 25%).
   */
  requestedWeight: number;
  detail: string;
}

export function assertWeight(canaryWeight: number, who: string): void {
  if (!Number.isInteger(canaryWeight) || canaryWeight < 0 || canaryWeight > 100) {
    throw new Error(`${who}: a canary weight is a whole percentage from 0 to 100, not ${canaryWeight}`);
  }
}

/** What a router that writes a Kubernetes object takes besides its client (gateway-api.ts, nginx.ts). */
export interface ObjectRouterOptions<Cached> {
  /** Writes retried after a 409 with a fresh read. Default 5. */
  conflictRetries?: number;
  /**
   * The controller's cache of the router's objects (RouteWatch): observe reads from it and
   * asks the API server only on a miss. Writes always read fresh, since they compare-and-swap
   * on the resourceVersion they read.
   */
  cached?: (namespace: string, name: string) => Cached | undefined;
}

type TrafficSpec = ReleaseRef["spec"]["traffic"];

/** The field of spec.traffic that chose the router (createTrafficRouter builds a router only for the one set). */
export function routerSpec<Field extends keyof TrafficSpec>(
  release: ReleaseRef,
  field: Field,
): NonNullable<TrafficSpec[Field]> {
  const spec = release.spec.traffic[field];
  if (spec === undefined) throw new Error(`Release ${releaseKey(release)} has no spec.traffic.${field}`);
  return spec;
}
