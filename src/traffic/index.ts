import type { CustomObjectsApi, NetworkingV1Api, V1Ingress } from "@kubernetes/client-node";
import type { ReleaseSpec } from "../api/release.ts";
import { releaseKey, targetsStatefulSet } from "../api/workload-names.ts";
import type { ReleaseRef } from "../api/workload-names.ts";
import { GatewayApiRouter } from "./gateway-api.ts";
import type { GatewayApiRouterOptions } from "./gateway-api.ts";
import { NginxRouter } from "./nginx.ts";
import type { NginxRouterOptions } from "./nginx.ts";
import { ReplicasRouter } from "./replicas.ts";
import { StatefulSetSplitRouter } from "./statefulset-split.ts";
import type { ReplicaWorkloads, ReplicasRouterOptions } from "./replicas.ts";
import type { TrafficRouter } from "./router.ts";

// Traffic: one TrafficRouter interface (router.ts) and its three implementations —
// Gateway API HTTPRoute weights, an NGINX canary Ingress, and a replica ratio when
// there is no router. ROUTERS (below) maps each field of spec.traffic to its router;
// createTrafficRouter picks the one a Release names (the controller keeps one per
// Release: src/controller/router-cache.ts).

export type { RouterObservation, TrafficRouter } from "./router.ts";
export {
  GatewayApiRouter,
  HTTPROUTE,
  parseHttpRoute,
  readCanaryWeight,
  rememberedStableWeights,
  routeAcceptance,
  rulesWithCanaryWeight,
  rulesWithoutCanary,
  rulesWithRouting,
  rulesWithoutRouting,
  readRouting,
  STAGE_ROUTING_ANNOTATION,
  stableWeightsOf,
  type GatewayApiRouterOptions,
  type HttpRoute,
  type RouteBackends,
  type StableWeights,
} from "./gateway-api.ts";
export {
  NginxRouter,
  NGINX_ANNOTATIONS,
  buildCanaryIngress,
  matchAnnotations,
  MIRROR_TARGET_ANNOTATION,
  mirrorTarget,
  readCanaryIngress,
  readMatchAnnotations,
  type NginxRouterOptions,
} from "./nginx.ts";
export { StatefulSetSplitRouter, canaryPodsForWeight } from "./statefulset-split.ts";
export {
  ReplicasRouter,
  canaryReplicasForWeight,
  reachedCanaryWeight,
  type ReplicaWorkloads,
  type ReplicasRouterOptions,
} from "./replicas.ts";

/** What the routers are built with; each router uses what it needs of it. */
export interface TrafficClients {
  custom: CustomObjectsApi;
  networking: NetworkingV1Api;
  /** The WorkloadManager: the replica split scales the canary through it. */
  workloads: ReplicaWorkloads;
  /**
   * The controller's caches of the routers' objects (RouteWatch), so an observation
   * reads no object from the API server; without them the routers read it there.
   */
  cached?: {
    httpRoute(namespace: string, name: string): unknown;
    ingress(namespace: string, name: string): V1Ingress | undefined;
  };
}

export interface TrafficRouterOptions {
  gatewayAPI?: GatewayApiRouterOptions;
  nginx?: NginxRouterOptions;
  replicas?: ReplicasRouterOptions;
}

type RouterFactory = (
  release: ReleaseRef,
  clients: TrafficClients,
  options: TrafficRouterOptions,
) => TrafficRouter;

/**
 * Every router, by the field of spec.traffic that chooses it. Adding a router: its file
 * in src/traffic/, its line here, its field in spec.traffic (src/api/release.ts); the
 * `satisfies` makes a field without a router a type error (docs/architecture.md).
 */
const ROUTERS = {
  gatewayAPI: (release, clients, options) =>
    new GatewayApiRouter(clients.custom, release, {
      ...options.gatewayAPI,
      ...(clients.cached ? { cached: clients.cached.httpRoute } : {}),
    }),
  nginx: (release, clients, options) =>
    new NginxRouter(clients.networking, release, {
      ...options.nginx,
      ...(clients.cached ? { cached: clients.cached.ingress } : {}),
    }),
  replicas: (release, clients, options) =>
    targetsStatefulSet(release) && clients.workloads.statefulSets
      ? new StatefulSetSplitRouter(clients.workloads.statefulSets, release)
      : new ReplicasRouter(clients.workloads, release, options.replicas),
} satisfies Record<keyof ReleaseSpec["traffic"], RouterFactory>;

/** The router spec.traffic names (the Release schema admits exactly one). */
export function createTrafficRouter(
  release: ReleaseRef,
  clients: TrafficClients,
  options: TrafficRouterOptions = {},
): TrafficRouter {
  const traffic = release.spec.traffic;
  for (const [field, create] of Object.entries(ROUTERS) as [keyof typeof ROUTERS, RouterFactory][]) {
    if (traffic[field] !== undefined) return create(release, clients, options);
  }
  throw new Error(
    `Release ${releaseKey(release)}: spec.traffic names no router (${Object.keys(ROUTERS)
      .join(", ")
      .replace(/, (?=[^,]*$)/, " or ")})`,
  );
}
