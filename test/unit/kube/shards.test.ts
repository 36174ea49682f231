import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  fairShare,
  mayTakeShard,
  namespaceOfApiPath,
  shardOfKey,
  shardOfNamespace,
  shouldHandOver,
} from "../../../src/kube/shards.ts";

// The rules of src/kube/shards.ts played out the way ShardLeases applies them: free shards
// taken below the fair share at once, by anyone once unchanged for a lease duration (a dead
// replica's), and a replica below its share with nothing free asking one above it for one.

type Owners = (string | undefined)[];

/** Plays the rules until nothing changes; `order` is who looks first at each step. */
function settle(owners: Owners, live: string[], replicas: number, order: number[]): Owners {
  const next = [...owners];
  const shards = next.length;
  const held = (replica: string) => next.filter((owner) => owner === replica).length;
  const byOrder = (step: number) =>
    live.map((_, index) => live[(index + (order[step % order.length] ?? 0)) % live.length]!);
  for (let step = 0; step < 10 * shards; step++) {
    let changed = false;
    const free = next.findIndex((owner) => owner === undefined);
    if (free >= 0) {
      // Just freed: only one below its share; a lease duration later: whoever looks first.
      const taker =
        byOrder(step).find((replica) =>
          mayTakeShard({ held: held(replica), shards, replicas, unchangedForMs: 0, leaseDurationMs: 15_000 }),
        ) ??
        byOrder(step).find((replica) =>
          mayTakeShard({
            held: held(replica),
            shards,
            replicas,
            unchangedForMs: 15_000,
            leaseDurationMs: 15_000,
          }),
        );
      next[free] = taker;
      changed = taker !== undefined;
    } else {
      const asker = byOrder(step).find((replica) => held(replica) < fairShare(shards, replicas));
      const giver = asker && live.find((replica) => shouldHandOver(held(replica), shards, replicas));
      if (asker && giver) {
        next[next.lastIndexOf(giver)] = undefined;
        changed = true;
      }
    }
    if (!changed) break;
  }
  return next;
}

const moved = (before: Owners, after: Owners): number =>
  before.filter((owner, shard) => owner !== after[shard]).length;

describe("shardOfNamespace", () => {
  it("is FNV-1a of the namespace: the same shard in every process and version", () => {
    // FNV-1a 32-bit test vectors: "a" 0xe40c292c, "foobar" 0xbf9cf968, "" 0x811c9dc5.
    expect(shardOfNamespace("a", 0x10000)).toBe(0x292c);
    expect(shardOfNamespace("foobar", 0x10000)).toBe(0xf968);
    expect(shardOfNamespace("", 0x10000)).toBe(0x9dc5);
  });

  it("spreads namespaces evenly over the shards", () => {
    const counts = new Array<number>(16).fill(0);
    for (let index = 0; index < 16_000; index++) counts[shardOfNamespace(`team-${index}`, 16)]!++;
    for (const count of counts) expect(Math.abs(count - 1_000)).toBeLessThan(150);
  });

  it("puts every Release of a namespace in its namespace's shard", () => {
    expect(shardOfKey("payments/api-2-0-0", 16)).toBe(shardOfNamespace("payments", 16));
    expect(shardOfKey("payments/web", 16)).toBe(shardOfNamespace("payments", 16));
  });
});

describe("namespaceOfApiPath", () => {
  it("finds the namespace of namespaced objects and none for cluster-wide ones", () => {
    expect(
      namespaceOfApiPath("https://k/apis/glidepath.dev/v1alpha1/namespaces/shop/releases/web/status"),
    ).toBe("shop");
    expect(namespaceOfApiPath("https://k/api/v1/namespaces/shop/events")).toBe("shop");
    expect(namespaceOfApiPath("https://k/apis/apps/v1/namespaces/shop/deployments?fieldManager=x")).toBe(
      "shop",
    );
    expect(namespaceOfApiPath("https://k/api/v1/namespaces/shop")).toBeUndefined();
    expect(namespaceOfApiPath("https://k/apis/glidepath.dev/v1alpha1/releases")).toBeUndefined();
  });
});

describe("shard ownership", () => {
  const setting = fc.record({
    replicas: fc.integer({ min: 2, max: 6 }),
    extraShards: fc.integer({ min: 0, max: 40 }),
    order: fc.array(fc.nat(), { minLength: 1, maxLength: 20 }),
  });

  it("spreads shards evenly when the replicas start together", () => {
    fc.assert(
      fc.property(setting, ({ replicas, extraShards, order }) => {
        const shards = replicas + extraShards;
        const live = Array.from({ length: replicas }, (_, index) => `r${index}`);
        const owners = settle(new Array<undefined>(shards).fill(undefined), live, replicas, order);
        expect(owners.every((owner) => owner !== undefined)).toBe(true);
        for (const replica of live)
          expect(owners.filter((owner) => owner === replica).length).toBeLessThanOrEqual(
            fairShare(shards, replicas),
          );
      }),
    );
  });

  it("moves only the leaving replica's shards (≤ ⌈S/N⌉, ~1/N of the keys), and about as many back when one joins", () => {
    fc.assert(
      fc.property(setting, fc.nat(), ({ replicas, extraShards, order }, pick) => {
        const shards = replicas + extraShards;
        const live = Array.from({ length: replicas }, (_, index) => `r${index}`);
        const balanced = settle(new Array<undefined>(shards).fill(undefined), live, replicas, order);

        // One replica dies: its Leases expire and the others take exactly its shards.
        const gone = live[pick % replicas]!;
        const survivors = live.filter((replica) => replica !== gone);
        const expired = balanced.map((owner) => (owner === gone ? undefined : owner));
        const afterLeave = settle(expired, survivors, replicas, order);
        expect(afterLeave.every((owner) => owner !== undefined && owner !== gone)).toBe(true);
        expect(moved(balanced, afterLeave)).toBe(balanced.filter((owner) => owner === gone).length);
        expect(moved(balanced, afterLeave)).toBeLessThanOrEqual(fairShare(shards, replicas));

        // Its replacement joins: it asks for shards until it holds its share; no more move.
        const rejoined = [...survivors, "new"];
        const afterJoin = settle(afterLeave, rejoined, replicas, order);
        expect(afterJoin.every((owner) => owner !== undefined)).toBe(true);
        expect(moved(afterLeave, afterJoin)).toBeLessThanOrEqual(fairShare(shards, replicas));
        for (const replica of rejoined)
          expect(afterJoin.filter((owner) => owner === replica).length).toBeLessThanOrEqual(
            fairShare(shards, replicas),
          );
        // Every move went to the newcomer: nobody else's shards were shuffled.
        afterJoin.forEach((owner, shard) => {
          if (owner !== afterLeave[shard]) expect(owner).toBe("new");
        });
      }),
    );
  });
});
