// Which replica reconciles which Release when controllers run active-active (docs/sharding.md),
// pure. A namespace hashes to one of a fixed number of shards, forever; a shard is held by
// one replica at a time through its Lease. Only shard ownership moves between replicas, and
// a replica takes shards up to its fair share, so a replica leaving moves exactly its own
// shards (~1/N of the namespaces) and one joining takes ~1/(N+1) of them from the others.

/** FNV-1a, 32 bits: stable across processes and versions, unlike anything seeded. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/** The shard (0 … shards-1) of a namespace: every Release of a namespace is in the same one. */
export function shardOfNamespace(namespace: string, shards: number): number {
  return fnv1a(namespace) % shards;
}

/** The shard of a "namespace/name" key (a key without a namespace is in the "" namespace's). */
export function shardOfKey(key: string, shards: number): number {
  const slash = key.indexOf("/");
  return shardOfNamespace(slash < 0 ? "" : key.slice(0, slash), shards);
}

/** The namespace of a Kubernetes API path (…/namespaces/<ns>/…); undefined for cluster-wide ones. */
export function namespaceOfApiPath(url: string): string | undefined {
  // Something after the namespace: /api/v1/namespaces/<ns> itself (a Namespace) is cluster-wide.
  const match = /\/namespaces\/([^/?]+)\/[^/?]/.exec(url);
  return match ? decodeURIComponent(match[1] as string) : undefined;
}

/** The most shards one replica should hold while `replicas` share them. */
export function fairShare(shards: number, replicas: number): number {
  return Math.ceil(shards / Math.max(1, replicas));
}

export interface ShardTakeInput {
  /** Shards this replica holds now, or is already acquiring. */
  held: number;
  shards: number;
  replicas: number;
  /** How long the shard's Lease record has stood unchanged, on this replica's clock. */
  unchangedForMs: number;
  leaseDurationMs: number;
}

/**
 * Whether a replica may take a shard whose Lease is free (released) or expired. Below its
 * fair share it takes it at once, so replicas starting together spread evenly. At or above
 * it, only a Lease unchanged for a whole lease duration: a dead replica's shard (expired)
 * is taken over by whoever sees it first, and a released one is left a lease duration to a
 * replica below its share (one starting up) before anyone else takes it.
 */
export function mayTakeShard(input: ShardTakeInput): boolean {
  if (input.held < fairShare(input.shards, input.replicas)) return true;
  return input.unchangedForMs >= input.leaseDurationMs;
}

/**
 * Whether a holder should hand a shard back to a replica that asked for it (it holds fewer
 * than its share and no shard is free): only while the holder holds more than its share,
 * so giving one up never leaves it below.
 */
export function shouldHandOver(held: number, shards: number, replicas: number): boolean {
  return held > fairShare(shards, replicas);
}
