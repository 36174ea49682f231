import type { KubernetesObject } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { OwnerIndex, controllerUid } from "../../../src/kube/owner-index.ts";

function owned(name: string, owner: string | undefined, resourceVersion = "1"): KubernetesObject {
  return {
    metadata: {
      name,
      namespace: "shop",
      resourceVersion,
      ownerReferences: owner
        ? [
            { apiVersion: "v1", kind: "Other", name: "not-the-controller", uid: "x" },
            { apiVersion: "apps/v1", kind: "ReplicaSet", name: owner, uid: owner, controller: true },
          ]
        : [],
    },
  };
}

describe("the owner index", () => {
  it("finds the objects each controller owns, following adds, owner changes and deletes", () => {
    const index = new OwnerIndex();
    index.apply({ type: "added", key: "shop/a", object: owned("a", "rs-1") });
    index.apply({ type: "added", key: "shop/b", object: owned("b", "rs-1") });
    index.apply({ type: "added", key: "shop/bare", object: owned("bare", undefined) });
    expect(index.ownedBy("rs-1").sort()).toEqual(["shop/a", "shop/b"]);

    // Orphaned and adopted by another controller.
    index.apply({
      type: "updated",
      key: "shop/b",
      object: owned("b", "rs-2", "2"),
      previous: owned("b", "rs-1"),
    });
    expect(index.ownedBy("rs-1")).toEqual(["shop/a"]);
    expect(index.ownedBy("rs-2")).toEqual(["shop/b"]);

    index.apply({ type: "deleted", key: "shop/a", object: owned("a", "rs-1") });
    expect(index.ownedBy("rs-1")).toEqual([]);
    expect(index.size()).toBe(1);
  });

  it("names only the controller owner", () => {
    expect(controllerUid(owned("a", "rs-1"))).toBe("rs-1");
    expect(controllerUid(owned("a", undefined))).toBeUndefined();
  });
});
