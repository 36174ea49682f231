import type { KubeConfig, KubernetesObject } from "@kubernetes/client-node";
import type { Logger } from "pino";
import { Informer } from "../kube/index.ts";
import type { TargetIndex, WatchedKind } from "./target-index.ts";

// The routers' objects (and the canary Services they send to), watched so a weight someone else changes (a hand edit, another
// tool, a GitOps sync of the old manifest) is put back at once, not at the release's
// next timer. Each event wakes the Releases that depend on the object (TargetIndex);
// their reconcile reads the router and the engine asks for the weight again.
// The routers read their objects from these caches (cached()), not with a GET per look.
// These caches are not part of readiness: a cluster without the Gateway API CRDs still
// runs Releases of the other routers (the informer keeps retrying and says why).

const WATCHED: { kind: WatchedKind; path: string; labelSelector?: string }[] = [
  { kind: "httproute", path: "/apis/gateway.networking.k8s.io/v1/httproutes" },
  { kind: "ingress", path: "/apis/networking.k8s.io/v1/ingresses" },
  // Only the canary Services Glidepath made: one deleted mid-stage must take its share
  // back to stable at once, not at the end of a long hold.
  { kind: "service", path: "/api/v1/services", labelSelector: "app.kubernetes.io/managed-by=glidepath" },
];

export interface RouteWatchOptions {
  kubeConfig: KubeConfig;
  /** Only these namespaces; all without any. */
  namespaces: readonly string[];
  logger: Logger;
  targets: TargetIndex;
  /** Called with each Release key to reconcile. */
  wake(releaseKey: string): void;
}

export class RouteWatch {
  readonly #informers: Informer<KubernetesObject>[] = [];
  readonly #byKind = new Map<WatchedKind, Informer<KubernetesObject>[]>();

  constructor(options: RouteWatchOptions) {
    const namespaces = options.namespaces.length > 0 ? options.namespaces : [undefined];
    for (const { kind, path, labelSelector } of WATCHED) {
      for (const namespace of namespaces) {
        const informer = new Informer<KubernetesObject>({
          kubeConfig: options.kubeConfig,
          path,
          logger: options.logger,
          ...(namespace ? { namespace } : {}),
          ...(labelSelector ? { labelSelector } : {}),
        });
        informer.on((change) => {
          for (const key of options.targets.releasesWatching(kind, change.object)) options.wake(key);
        });
        this.#informers.push(informer);
        this.#byKind.set(kind, [...(this.#byKind.get(kind) ?? []), informer]);
      }
    }
  }

  /** The cached object of this kind, or undefined (not there, or not in the cache yet: see hasSynced()). */
  cached(kind: WatchedKind, namespace: string, name: string): KubernetesObject | undefined {
    const key = `${namespace}/${name}`;
    for (const informer of this.#byKind.get(kind) ?? []) {
      const object = informer.get(key);
      if (object) return object;
    }
    return undefined;
  }

  /**
   * True once every informer of this kind holds its first list: a miss in cached() then
   * means the object does not exist, and needs no GET to say so.
   */
  hasSynced(kind: WatchedKind): boolean {
    const informers = this.#byKind.get(kind) ?? [];
    return informers.length > 0 && informers.every((informer) => informer.hasSynced());
  }

  start(): void {
    for (const informer of this.#informers) informer.start();
  }

  async stop(): Promise<void> {
    await Promise.all(this.#informers.map((informer) => informer.stop()));
  }
}
