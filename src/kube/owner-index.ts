// Which cached objects each owner controls, kept up to date from an informer's changes:
// a Deployment's ReplicaSets and a ReplicaSet's Pods are then found by uid, with no
// selector matched against every object of the namespace on each look.
import type { KubernetesObject } from "@kubernetes/client-node";
import type { InformerChange } from "./cache-diff.ts";

/** The uid of the object's controller owner (ownerReferences[].controller), if it has one. */
export function controllerUid(object: KubernetesObject | undefined): string | undefined {
  return object?.metadata?.ownerReferences?.find((owner) => owner.controller === true)?.uid;
}

export class OwnerIndex {
  readonly #byOwner = new Map<string, Set<string>>();
  /** Each key's owner as indexed, so an update that changes the owner (or a delete) finds it. */
  readonly #ownerOf = new Map<string, string>();

  /** An informer handler: register it before the informer starts so the initial list is indexed. */
  readonly apply = (change: InformerChange<KubernetesObject>): void => {
    this.#remove(change.key);
    if (change.type === "deleted") return;
    const owner = controllerUid(change.object);
    if (owner === undefined) return;
    let keys = this.#byOwner.get(owner);
    if (!keys) this.#byOwner.set(owner, (keys = new Set()));
    keys.add(change.key);
    this.#ownerOf.set(change.key, owner);
  };

  /** The keys ("namespace/name") of the objects this uid controls. */
  ownedBy(ownerUid: string): string[] {
    return [...(this.#byOwner.get(ownerUid) ?? [])];
  }

  /** How many objects have a controller owner (for tests and stats). */
  size(): number {
    return this.#ownerOf.size;
  }

  #remove(key: string): void {
    const owner = this.#ownerOf.get(key);
    if (owner === undefined) return;
    this.#ownerOf.delete(key);
    const keys = this.#byOwner.get(owner);
    keys?.delete(key);
    if (keys?.size === 0) this.#byOwner.delete(owner);
  }
}
