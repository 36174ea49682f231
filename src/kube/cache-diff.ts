// Keys and the relist diff of the informer cache, kept pure so they are tested with
// plain objects.
import type { KubernetesObject } from "@kubernetes/client-node";

/** What informer handlers receive. Objects are the cache's own: read them, never mutate them. */
export type InformerChange<T> =
  | { type: "added"; key: string; object: T }
  | { type: "updated"; key: string; object: T; previous: T }
  | { type: "deleted"; key: string; object: T };

/** "namespace/name", or "name" for cluster-scoped objects; undefined without a name. */
export function objectKey(object: KubernetesObject): string | undefined {
  const name = object.metadata?.name;
  if (!name) return undefined;
  const namespace = object.metadata?.namespace;
  return namespace ? `${namespace}/${name}` : name;
}

/** The inverse of objectKey. */
export function parseObjectKey(key: string): { namespace?: string; name: string } {
  const slash = key.indexOf("/");
  if (slash < 0) return { name: key };
  const namespace = key.slice(0, slash);
  const name = key.slice(slash + 1);
  if (!namespace || !name || name.includes("/")) {
    throw new Error(`"${key}" is not an object key (expected "namespace/name" or "name")`);
  }
  return { namespace, name };
}

/**
 * Compares a fresh list with the cache. An object whose resourceVersion is unchanged
 * keeps its cached instance (so references handed out stay valid and the listed
 * duplicate can be collected); the rest become added, updated or deleted changes.
 * Objects without a name cannot be keyed and are skipped.
 */
export function diffAgainstCache<T extends KubernetesObject>(
  cache: ReadonlyMap<string, T>,
  listed: readonly T[],
): { cache: Map<string, T>; changes: InformerChange<T>[] } {
  const next = new Map<string, T>();
  const changes: InformerChange<T>[] = [];
  for (const object of listed) {
    const key = objectKey(object);
    if (key === undefined) continue;
    const previous = cache.get(key);
    if (!previous) {
      next.set(key, object);
      changes.push({ type: "added", key, object });
    } else if (previous.metadata?.resourceVersion === object.metadata?.resourceVersion) {
      next.set(key, previous);
    } else {
      next.set(key, object);
      changes.push({ type: "updated", key, object, previous });
    }
  }
  for (const [key, object] of cache) {
    if (!next.has(key)) changes.push({ type: "deleted", key, object });
  }
  return { cache: next, changes };
}
