// One watch of Releases per dashboard server, whatever the number of open tabs: the
// project's resilient informer keeps the cache, and each change goes to every
// subscriber (each tab's event stream) as a list-page row.
import { pino } from "pino";
import { API_GROUP, API_VERSION, type Release, type Stage } from "../api/index.ts";
import { parseRelease } from "../cli/releases.ts";
import { Informer, RELEASE_PLURAL, resourcePath } from "../kube/index.ts";
import type { KubeConfig, KubernetesObject } from "@kubernetes/client-node";
import type { FeedEvent, ReleaseSummary } from "./protocol.ts";
import { releaseSummary } from "./views.ts";

export type FeedListener = (event: FeedEvent) => void;

export class ReleaseFeed {
  readonly #informer: Informer<KubernetesObject>;
  readonly #rows = new Map<string, ReleaseSummary>();
  readonly #listeners = new Set<FeedListener>();
  readonly #plannedStages: (release: Release) => readonly Stage[] | undefined;
  readonly scope: string;

  constructor(options: {
    kubeConfig: KubeConfig;
    /** One namespace, or every namespace without one. */
    namespace?: string;
    /** The stages a Release's preset resolves to, for its stage bar. */
    plannedStages: (release: Release) => readonly Stage[] | undefined;
  }) {
    this.#plannedStages = options.plannedStages;
    this.scope = options.namespace === undefined ? "all namespaces" : `namespace ${options.namespace}`;
    this.#informer = new Informer({
      kubeConfig: options.kubeConfig,
      path: resourcePath({ group: API_GROUP, version: API_VERSION, plural: RELEASE_PLURAL }),
      ...(options.namespace === undefined ? {} : { namespace: options.namespace }),
      logger: pino({ level: "silent" }),
      watchTimeoutSeconds: 300,
    });
    this.#informer.on((change) => {
      if (change.type === "deleted") {
        if (this.#rows.delete(change.key)) this.#emit({ type: "delete", key: change.key });
        return;
      }
      const row = this.#summarise(change.object);
      if (!row) return;
      this.#rows.set(change.key, row);
      this.#emit({ type: "upsert", release: row });
    });
  }

  #summarise(object: KubernetesObject): ReleaseSummary | undefined {
    try {
      const release = parseRelease({ apiVersion: `${API_GROUP}/${API_VERSION}`, kind: "Release", ...object });
      return releaseSummary(release, release.spec.stages ?? this.#plannedStages(release));
    } catch {
      // Not a valid Release: `glidepath list` warns about it; the page leaves it out.
      return undefined;
    }
  }

  #emit(event: FeedEvent): void {
    for (const listener of this.#listeners) listener(event);
  }

  async start(timeoutMs: number): Promise<void> {
    this.#informer.start();
    await this.#informer.whenSynced(timeoutMs);
  }

  /** The rows now; then every change, until the returned function is called. */
  subscribe(listener: FeedListener): { snapshot: FeedEvent; unsubscribe: () => void } {
    this.#listeners.add(listener);
    const releases = [...this.#rows.values()].sort((a, b) => a.key.localeCompare(b.key));
    return {
      snapshot: { type: "snapshot", releases, scope: this.scope },
      unsubscribe: () => this.#listeners.delete(listener),
    };
  }

  get subscribers(): number {
    return this.#listeners.size;
  }

  async stop(): Promise<void> {
    this.#listeners.clear();
    await this.#informer.stop();
  }
}
