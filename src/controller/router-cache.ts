import type { Release } from "../api/index.ts";
import { createTrafficRouter, type TrafficClients, type TrafficRouter } from "../traffic/index.ts";

// One TrafficRouter per Release key, made on first use and kept while the Release exists
// (a router may remember what it confirmed), dropped when the Release is deleted.

export class RouterCache {
  readonly #clients: TrafficClients;
  readonly #routers = new Map<string, TrafficRouter>();

  constructor(clients: TrafficClients) {
    this.#clients = clients;
  }

  routerFor(release: Release): TrafficRouter {
    const key = `${release.metadata.namespace}/${release.metadata.name}`;
    let router = this.#routers.get(key);
    if (!router) {
      router = createTrafficRouter(release, this.#clients);
      this.#routers.set(key, router);
    }
    return router;
  }

  /** The Release is gone: its router with it. */
  forget(key: string): void {
    this.#routers.delete(key);
  }
}
