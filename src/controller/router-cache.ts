import { releaseKey } from "../api/workload-names.ts";
import type { ReleaseRef } from "../api/workload-names.ts";
import type { TrafficRouter } from "../traffic/index.ts";

// One router per Release (a router may remember what it confirmed), made again when what it was made from changes: spec.traffic
// (an edited route or Ingress name), spec.target (the Services and Deployments it splits
// between) or the Release's uid (a Release deleted and made again under its name).

export class RouterCache {
  readonly #create: (release: ReleaseRef) => TrafficRouter;
  readonly #routers = new Map<string, { madeFrom: string; router: TrafficRouter }>();

  constructor(create: (release: ReleaseRef) => TrafficRouter) {
    this.#create = create;
  }

  routerFor(release: ReleaseRef): TrafficRouter {
    const key = releaseKey(release);
    const madeFrom = JSON.stringify([release.metadata.uid, release.spec.traffic, release.spec.target]);
    const known = this.#routers.get(key);
    if (known?.madeFrom === madeFrom) return known.router;
    const router = this.#create(release);
    this.#routers.set(key, { madeFrom, router });
    return router;
  }

  /** The Release is gone: its router goes too. */
  forget(key: string): void {
    this.#routers.delete(key);
  }
}
