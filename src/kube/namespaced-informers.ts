import type { KubernetesObject } from "@kubernetes/client-node";
import { Informer, type InformerHandler, type InformerOptions } from "./informer.ts";

// One cache of a kind over the namespaces the controller watches: an informer per
// namespace when it is told which (a namespaced install may list nothing else), or one
// over the whole cluster. Read as one cache.

export interface NamespacedInformersOptions extends Omit<InformerOptions, "namespace"> {
  /** Only these namespaces; the whole cluster when empty. */
  namespaces: readonly string[];
}

export class NamespacedInformers<T extends KubernetesObject> {
  readonly #informers: Informer<T>[];

  constructor(options: NamespacedInformersOptions) {
    const { namespaces, ...informer } = options;
    const scopes = namespaces.length > 0 ? namespaces : [undefined];
    this.#informers = scopes.map(
      (namespace) => new Informer<T>({ ...informer, ...(namespace ? { namespace } : {}) }),
    );
  }

  /** Registers a handler on every namespace's informer (before start() to see the initial lists). */
  on(handler: InformerHandler<T>): void {
    for (const informer of this.#informers) informer.on(handler);
  }

  start(): void {
    for (const informer of this.#informers) informer.start();
  }

  async stop(): Promise<void> {
    await Promise.all(this.#informers.map((informer) => informer.stop()));
  }

  /** True once every namespace's first list is in the cache. */
  hasSynced(): boolean {
    return this.#informers.every((informer) => informer.hasSynced());
  }

  /** Resolves once every namespace's first list is in the cache; rejects if stopped before. */
  async whenSynced(): Promise<void> {
    await Promise.all(this.#informers.map((informer) => informer.whenSynced()));
  }

  /** The cached object for "namespace/name"; read it, never mutate it. */
  get(key: string): T | undefined {
    for (const informer of this.#informers) {
      const object = informer.get(key);
      if (object) return object;
    }
    return undefined;
  }

  list(): T[] {
    return this.#informers.flatMap((informer) => informer.list());
  }

  keys(): string[] {
    return this.#informers.flatMap((informer) => informer.keys());
  }
}
