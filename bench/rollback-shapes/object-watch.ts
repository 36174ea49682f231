// A collection (HPAs, StatefulSets of a namespace) as a watch delivers it, with the instant
// (performance.now()) each change arrived: the same timing as rollback-latency's route
// watch, for the end points that are not on the HTTPRoute.
import type { KubeConfig, KubernetesObject } from "@kubernetes/client-node";
import { startResilientWatch } from "../../test/harness/resilient-watch.ts";

export interface ObjectsWatch<T> {
  /**
   * Resolves with the arrival time of the first state of the collection (by name),
   * delivered at or after `after` (performance.now()), that `accept` accepts; rejects after
   * `timeoutMs`.
   */
  changed(
    accept: (objects: ReadonlyMap<string, T>) => boolean,
    after: number,
    timeoutMs: number,
  ): Promise<number>;
  /** The collection now, by name. */
  current(): ReadonlyMap<string, T>;
  stop(): void;
}

export async function watchObjects<T extends KubernetesObject>(options: {
  kubeConfig: KubeConfig;
  /** The collection's URL path, e.g. /apis/apps/v1/namespaces/x/statefulsets. */
  path: string;
  what: string;
  list(): Promise<{ items: T[]; resourceVersion: string }>;
}): Promise<ObjectsWatch<T>> {
  let objects = new Map<string, T>();
  let at = performance.now();
  const wake = new Set<() => void>();
  const notify = () => {
    at = performance.now();
    for (const check of wake) check();
  };
  const watch = startResilientWatch<T>({
    kubeConfig: options.kubeConfig,
    path: options.path,
    list: options.list,
    onSync: (items) => {
      objects = new Map(items.map((item) => [item.metadata?.name ?? "", item]));
      notify();
    },
    onEvent: (type, object) => {
      const name = object.metadata?.name ?? "";
      objects = new Map(objects);
      if (type === "DELETED") objects.delete(name);
      else objects.set(name, object);
      notify();
    },
  });
  await watch.synced;
  return {
    changed: (accept, after, timeoutMs) =>
      new Promise<number>((resolve, reject) => {
        const check = (): void => {
          if (at >= after && accept(objects)) {
            clearTimeout(timer);
            wake.delete(check);
            resolve(at);
          }
        };
        const timer = setTimeout(() => {
          wake.delete(check);
          reject(new Error(`${options.what} did not change as awaited within ${timeoutMs} ms`));
        }, timeoutMs);
        wake.add(check);
        check();
      }),
    current: () => objects,
    stop: () => watch.stop(),
  };
}
