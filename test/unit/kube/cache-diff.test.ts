import type { KubernetesObject } from "@kubernetes/client-node";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { diffAgainstCache, objectKey, parseObjectKey } from "../../../src/kube/cache-diff.ts";

/** `namespace: null` makes a cluster-scoped object. */
function object(
  name: string,
  resourceVersion: string,
  namespace: string | null = "team-a",
): KubernetesObject {
  return { metadata: { name, namespace: namespace ?? undefined, resourceVersion } };
}

function cacheOf(...objects: KubernetesObject[]): Map<string, KubernetesObject> {
  return new Map(objects.map((item) => [objectKey(item) ?? "", item]));
}

describe("object keys", () => {
  it("are namespace/name, or the name of a cluster-scoped object", () => {
    expect(objectKey(object("web", "1"))).toBe("team-a/web");
    expect(objectKey(object("node-1", "1", null))).toBe("node-1");
    expect(objectKey({ metadata: {} })).toBeUndefined();
  });

  it("parse back", () => {
    expect(parseObjectKey("team-a/web")).toEqual({ namespace: "team-a", name: "web" });
    expect(parseObjectKey("node-1")).toEqual({ name: "node-1" });
    for (const bad of ["/web", "team-a/", "a/b/c"])
      expect(() => parseObjectKey(bad)).toThrow(/not an object key/);
  });
});

describe("diffing a relist against the cache", () => {
  it("given objects changed while the watch was down, reports each as added, updated or deleted", () => {
    const unchanged = object("unchanged", "10");
    const edited = object("edited", "11");
    const removed = object("removed", "12");
    const cache = cacheOf(unchanged, edited, removed);

    const editedNow = object("edited", "20");
    const created = object("created", "21");
    const { cache: next, changes } = diffAgainstCache(cache, [object("unchanged", "10"), editedNow, created]);

    expect(changes).toEqual([
      { type: "updated", key: "team-a/edited", object: editedNow, previous: edited },
      { type: "added", key: "team-a/created", object: created },
      { type: "deleted", key: "team-a/removed", object: removed },
    ]);
    expect([...next.keys()].sort()).toEqual(["team-a/created", "team-a/edited", "team-a/unchanged"]);
  });

  it("keeps the cached instance of an unchanged object (no copy, stable references)", () => {
    const cached = object("web", "7");
    const { cache, changes } = diffAgainstCache(cacheOf(cached), [object("web", "7")]);
    expect(changes).toEqual([]);
    expect(cache.get("team-a/web")).toBe(cached);
  });

  it("reports everything as added on the first list, and everything deleted on an empty one", () => {
    const items = [object("a", "1"), object("b", "2", "team-b")];
    expect(diffAgainstCache(new Map(), items).changes.map((change) => change.type)).toEqual([
      "added",
      "added",
    ]);
    expect(diffAgainstCache(cacheOf(...items), []).changes.map((change) => change.type)).toEqual([
      "deleted",
      "deleted",
    ]);
  });

  it("skips objects without a name", () => {
    expect(diffAgainstCache(new Map(), [{ metadata: {} }]).changes).toEqual([]);
  });

  it("replaying its changes onto the old cache always yields the listed state", () => {
    const entry = fc.record({
      name: fc.constantFrom("a", "b", "c", "d", "e"),
      rv: fc.constantFrom("1", "2", "3"),
    });
    const state = fc.uniqueArray(entry, { selector: (item) => item.name });
    fc.assert(
      fc.property(state, state, (before, after) => {
        const cache = cacheOf(...before.map((item) => object(item.name, item.rv)));
        const listed = after.map((item) => object(item.name, item.rv));
        const { cache: next, changes } = diffAgainstCache(cache, listed);

        const replayed = new Map(cache);
        for (const change of changes) {
          if (change.type === "deleted") replayed.delete(change.key);
          else replayed.set(change.key, change.object);
        }
        const versions = (map: Map<string, KubernetesObject>) =>
          Object.fromEntries([...map].map(([key, value]) => [key, value.metadata?.resourceVersion]));
        expect(versions(replayed)).toEqual(versions(next));
        expect(versions(next)).toEqual(
          Object.fromEntries(after.map((item) => [`team-a/${item.name}`, item.rv])),
        );
        // No change is reported for an object whose resourceVersion did not move.
        for (const change of changes) {
          if (change.type === "updated") {
            expect(change.previous.metadata?.resourceVersion).not.toBe(
              change.object.metadata?.resourceVersion,
            );
          }
        }
      }),
    );
  });
});
