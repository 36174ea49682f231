import type { AppsV1Api, CustomObjectsApi, NetworkingV1Api } from "@kubernetes/client-node";
import { releaseKey } from "../api/workload-names.ts";
import type { ReleaseRef } from "../api/workload-names.ts";
import { GatewayApiRouter } from "./gateway-api.ts";
import type { GatewayApiRouterOptions } from "./gateway-api.ts";
import { NginxRouter } from "./nginx.ts";
import type { NginxRouterOptions } from "./nginx.ts";
import { ReplicasRouter } from "./replicas.ts";
import type { ReplicasRouterOptions } from "./replicas.ts";
import type { TrafficRouter } from "./router.ts";

// Traffic: one TrafficRouter interface (router.ts) and its three implementations —
// Gateway API HTTPRoute weights, an NGINX canary Ingress, and a replica ratio when
// there is no router. createTrafficRouter picks the one spec.traffic names.

export type { RouterObservation, TrafficRouter } from "./router.ts";
export {
  GatewayApiRouter,
  HTTPROUTE,
  parseHttpRoute,
  readCanaryWeight,
  routeAcceptance,
  rulesWithCanaryWeight,
  rulesWithoutCanary,
  type GatewayApiRouterOptions,
  type HttpRoute,
  type RouteBackends,
} from "./gateway-api.ts";
export {
  NginxRouter,
  NGINX_ANNOTATIONS,
  buildCanaryIngress,
  readCanaryIngress,
  type NginxRouterOptions,
} from "./nginx.ts";
export {
  ReplicasRouter,
  canaryReplicasForWeight,
  reachedCanaryWeight,
  type ReplicasRouterOptions,
} from "./replicas.ts";

/** The API clients the routers use; each router uses one of them. */
export interface TrafficClients {
  custom: CustomObjectsApi;
  networking: NetworkingV1Api;
  apps: AppsV1Api;
}

export interface TrafficRouterOptions {
  gatewayAPI?: GatewayApiRouterOptions;
  nginx?: NginxRouterOptions;
  replicas?: ReplicasRouterOptions;
}

/** The router spec.traffic names (the Release schema admits exactly one). */
export function createTrafficRouter(
  release: ReleaseRef,
  clients: TrafficClients,
  options: TrafficRouterOptions = {},
): TrafficRouter {
  const traffic = release.spec.traffic;
  if (traffic.gatewayAPI) return new GatewayApiRouter(clients.custom, release, options.gatewayAPI);
  if (traffic.nginx) return new NginxRouter(clients.networking, release, options.nginx);
  if (traffic.replicas) return new ReplicasRouter(clients.apps, release, options.replicas);
  throw new Error(
    `Release ${releaseKey(release)}: spec.traffic names no router (gatewayAPI, nginx or replicas)`,
  );
}
