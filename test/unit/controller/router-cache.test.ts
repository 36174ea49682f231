import { describe, expect, it } from "vitest";
import { RouterCache } from "../../../src/controller/router-cache.ts";
import type { RouterObservation, TrafficRouter } from "../../../src/traffic/index.ts";
import type { ReleaseRef } from "../../../src/workload/index.ts";
import { release } from "../workload/objects.ts";

/** A router that only says what it was made from: enough to tell one router from another. */
class NamedRouter implements TrafficRouter {
  readonly madeFrom: string;
  constructor(madeFrom: string) {
    this.madeFrom = madeFrom;
  }
  setWeight(): Promise<void> {
    return Promise.resolve();
  }
  observe(): Promise<RouterObservation> {
    return Promise.resolve({ canaryWeight: 0, requestedWeight: 0, verified: true, detail: this.madeFrom });
  }
  cleanup(): Promise<void> {
    return Promise.resolve();
  }
}

const cache = () => new RouterCache((made: ReleaseRef) => new NamedRouter(JSON.stringify(made.spec.traffic)));

describe("one router per Release", () => {
  it("keeps the router while spec.traffic and spec.target stay as they are", () => {
    const routers = cache();
    expect(routers.routerFor(release())).toBe(routers.routerFor(release()));
  });

  it("makes a new one when the route is renamed, the target changes or the Release is made again", () => {
    const routers = cache();
    const first = routers.routerFor(release({ gatewayAPI: { httpRoute: "checkout" } }));
    const renamed = routers.routerFor(release({ gatewayAPI: { httpRoute: "checkout-v2" } }));
    expect(renamed).not.toBe(first);
    expect((renamed as NamedRouter).madeFrom).toContain("checkout-v2");

    const retargeted = release({ gatewayAPI: { httpRoute: "checkout-v2" } });
    retargeted.spec.target = { ...retargeted.spec.target, service: "checkout-edge" };
    const forTarget = routers.routerFor(retargeted);
    expect(forTarget).not.toBe(renamed);

    const again = { ...retargeted, metadata: { ...retargeted.metadata, uid: "another-uid" } };
    expect(routers.routerFor(again)).not.toBe(forTarget);
  });

  it("forgets a Release that is gone", () => {
    const routers = cache();
    const first = routers.routerFor(release());
    routers.forget("shop/checkout-2-4-0");
    expect(routers.routerFor(release())).not.toBe(first);
  });
});
