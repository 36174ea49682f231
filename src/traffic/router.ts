import type { TrafficObservation } from "../engine/types.ts";

// The one plug-in point for traffic: every router sets a canary weight, reads back the
// weight it holds, and removes what it added. Implementations: gateway-api.ts,
// nginx.ts, replicas.ts; createTrafficRouter (index.ts) picks one from spec.traffic.

export interface TrafficRouter {
  /**
   * Sends `canaryWeight` percent (0–100, whole) to the canary and the rest to stable;
   * `baselineWeight` percent of stable's share goes to the baseline (docs/baseline.md;
   * only the Gateway API router has one, the Release validation holds the others to 0).
   */
  setWeight(canaryWeight: number, baselineWeight?: number): Promise<void>;
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
