// An HTTPRoute as a watch delivers it, with the instant (performance.now()) each version
// arrived: a run's end is when the watch shows the traffic where it should be, as a
// gateway following the route would see it.
import { CustomObjectsApi, type KubeConfig, type KubernetesObject } from "@kubernetes/client-node";
import { startResilientWatch } from "../../test/harness/resilient-watch.ts";

export type Route = KubernetesObject & {
  spec?: { rules?: { backendRefs?: { name: string; weight?: number }[] }[] };
};

/** The first rule's backends and their weights (a backend without one weighs 1). */
export function weightsOf(route: Route): Record<string, number> {
  const weights: Record<string, number> = {};
  for (const ref of route.spec?.rules?.[0]?.backendRefs ?? []) weights[ref.name] = ref.weight ?? 1;
  return weights;
}

/** Every request of `service` goes to its stable backend: the canary has none. */
export function allOnStable(service: string): (route: Route) => boolean {
  return (route) => {
    const weights = weightsOf(route);
    return (weights[`${service}-canary`] ?? 0) === 0 && (weights[service] ?? 0) > 0;
  };
}

export interface RouteWatch {
  /**
   * Resolves with the arrival time of the first version, delivered at or after `after`
   * (performance.now()), that `accept` accepts; rejects after `timeoutMs`.
   */
  changed(accept: (route: Route) => boolean, after: number, timeoutMs: number): Promise<number>;
  stop(): void;
}

/** Watches one HTTPRoute; resolves once the first list has been delivered. */
export async function watchRoute(
  kubeConfig: KubeConfig,
  namespace: string,
  name: string,
): Promise<RouteWatch> {
  const custom = kubeConfig.makeApiClient(CustomObjectsApi);
  let route: { object: Route; at: number } | undefined;
  const wake = new Set<() => void>();
  const watch = startResilientWatch<Route>({
    kubeConfig,
    path: `/apis/gateway.networking.k8s.io/v1/namespaces/${namespace}/httproutes`,
    fieldSelector: `metadata.name=${name}`,
    list: async () => {
      const listed = (await custom.listNamespacedCustomObject({
        group: "gateway.networking.k8s.io",
        version: "v1",
        namespace,
        plural: "httproutes",
        fieldSelector: `metadata.name=${name}`,
      })) as { items: Route[]; metadata: { resourceVersion: string } };
      return { items: listed.items, resourceVersion: listed.metadata.resourceVersion };
    },
    onSync: (items) => {
      if (items[0]) route = { object: items[0], at: performance.now() };
      for (const notify of wake) notify();
    },
    onEvent: (_type, object) => {
      route = { object, at: performance.now() };
      for (const notify of wake) notify();
    },
  });
  await watch.synced;
  return {
    changed: (accept, after, timeoutMs) =>
      new Promise<number>((resolve, reject) => {
        const check = (): void => {
          if (route && route.at >= after && accept(route.object)) {
            clearTimeout(timer);
            wake.delete(check);
            resolve(route.at);
          }
        };
        const timer = setTimeout(() => {
          wake.delete(check);
          reject(new Error(`the HTTPRoute did not change within ${timeoutMs} ms`));
        }, timeoutMs);
        wake.add(check);
        check();
      }),
    stop: () => watch.stop(),
  };
}
