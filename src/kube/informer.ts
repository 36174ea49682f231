// Over 400 lines on purpose: one list+watch loop whose states (cache, resourceVersion, backoff, watchdog, relist) are shared by every step; the pure parts are already out (cache-diff.ts, backoff.ts).
// A list+watch cache of one resource that does not go silent. client-node's own
// makeInformer stops on any non-410 error, and watches have been seen to go quiet for
// good; this one lists, watches from the list's resourceVersion (keeping the newest
// from bookmarks), relists on 410, restarts every other ending with jittered backoff,
// restarts a watch that says nothing for too long, and relists periodically, emitting
// whatever changed while it was not watching. Handlers are synchronous and should only
// enqueue keys: the work happens elsewhere.
import { InterruptibleSleep } from "./interruptible-sleep.ts";
import { Watch } from "@kubernetes/client-node";
import type { KubeConfig, KubernetesObject } from "@kubernetes/client-node";
import type { Logger } from "pino";
import { backoffDelayMs } from "./backoff.ts";
import type { BackoffPolicy } from "./backoff.ts";
import { diffAgainstCache, objectKey } from "./cache-diff.ts";
import type { InformerChange } from "./cache-diff.ts";
import { apiErrorStatus, apiStatusCode, describeApiError, isIdleStreamTimeout } from "./errors.ts";
import { collectionPath, listCollection } from "./list.ts";
import { timerDelay } from "./timer-delay.ts";

export type InformerHandler<T> = (change: InformerChange<T>) => void;

export interface InformerOptions {
  kubeConfig: KubeConfig;
  /**
   * The collection across all namespaces: /api/v1/configmaps, /apis/apps/v1/deployments,
   * /apis/glidepath.dev/v1alpha1/releases (see resourcePath()).
   */
  path: string;
  /** Only this namespace; all namespaces without it. */
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  logger: Logger;
  /** The server ends each watch after this long, stretched by up to 25% per watch. Default 300. */
  watchTimeoutSeconds?: number;
  /**
   * Restart a watch that delivered nothing, not even a bookmark, for this long. Default:
   * a minute past the watch's own timeout (API servers before 1.21-ish send bookmarks
   * only just before that timeout, so a quiet but healthy watch is silent until then).
   */
  watchdogMs?: number;
  /** A full relist, diffed against the cache, this often; 0 turns it off. Default 15 min. */
  relistIntervalMs?: number;
  /** Between failed lists or watches. Default 500 ms doubling to 30 s. */
  backoff?: BackoffPolicy;
  /** LIST page size. Default 500. */
  pageSize?: number;
  /** One LIST (all its pages) may take this long. Default 60 s. */
  listTimeoutMs?: number;
  /**
   * Applied to each object, listed or watched, before it is cached and handed to handlers:
   * it changes the object in place. Default stripManagedFields.
   */
  transform?: (object: KubernetesObject) => void;
}

export interface InformerStats {
  synced: boolean;
  objects: number;
  resourceVersion: string;
  lists: number;
  watches: number;
  /** Watches that ended with 410 Gone / Expired (each followed by a relist). */
  expired: number;
  /** Watches the no-event watchdog restarted. */
  silentRestarts: number;
  /** Failed lists and watches. */
  failures: number;
  lastEventAt?: number;
  lastListAt?: number;
  lastError?: string;
}

type WatchEnd =
  | { kind: "stopped" }
  | { kind: "relist-due" }
  | { kind: "expired"; detail: string }
  | { kind: "silent" }
  | { kind: "closed"; detail?: string }
  | { kind: "failed"; error: unknown };

type RelistReason = "initial" | "expired" | "periodic" | "errors";

export const DEFAULT_INFORMER_BACKOFF: BackoffPolicy = { initialDelayMs: 500, maxDelayMs: 30_000 };
/** A watch that ran this long, or delivered anything, proves the connection works. */
const HEALTHY_WATCH_MS = 5_000;
/** Relist after this many failures in a row (a stuck resourceVersion, e.g. "too large"). */
const RELIST_AFTER_FAILURES = 3;
/** client-node 2.x aborts a watch after 30 s without data; our watchdog owns that decision. */
const CLIENT_TIMEOUT_MARGIN_MS = 10_000;

/**
 * Drops metadata.managedFields, which the controller never reads and which make up half
 * of a cached Deployment (client-go's TransformStripManagedFields). Writes are unaffected:
 * an update that carries no managedFields keeps the server's.
 */
export function stripManagedFields(object: KubernetesObject): void {
  if (object.metadata?.managedFields) delete object.metadata.managedFields;
}

export class Informer<T extends KubernetesObject> {
  readonly #options: InformerOptions;
  readonly #transform: (object: KubernetesObject) => void;
  readonly #path: string;
  readonly #logger: Logger;
  readonly #watch: Watch;
  readonly #watchTimeoutSeconds: number;
  readonly #relistIntervalMs: number;
  readonly #backoff: BackoffPolicy;
  readonly #handlers = new Set<InformerHandler<T>>();
  #cache = new Map<string, T>();
  #resourceVersion = "";
  #synced = false;
  #syncWaiters: { resolve: () => void; reject: (error: Error) => void }[] = [];
  #loop: Promise<void> | undefined;
  #stopped = false;
  #endWatch: (() => void) | undefined;
  readonly #sleeper = new InterruptibleSleep();
  #listAbort: AbortController | undefined;
  #lastListAt = 0;
  readonly #stats = { lists: 0, watches: 0, expired: 0, silentRestarts: 0, failures: 0 };
  #lastEventAt: number | undefined;
  #lastError: string | undefined;

  constructor(options: InformerOptions) {
    this.#options = options;
    this.#transform = options.transform ?? stripManagedFields;
    this.#path = collectionPath(options.path, options.namespace);
    this.#logger = options.logger.child({
      informer: this.#path,
      ...(options.labelSelector ? { labelSelector: options.labelSelector } : {}),
    });
    this.#watchTimeoutSeconds = options.watchTimeoutSeconds ?? 300;
    this.#relistIntervalMs = options.relistIntervalMs ?? 15 * 60_000;
    this.#backoff = options.backoff ?? DEFAULT_INFORMER_BACKOFF;
    backoffDelayMs(0, this.#backoff, 0);
    if (!(this.#watchTimeoutSeconds >= 1)) {
      throw new Error(
        `informer ${this.#path}: watchTimeoutSeconds must be ≥ 1, not ${this.#watchTimeoutSeconds}`,
      );
    }
    this.#watch = new Watch(options.kubeConfig);
  }

  /** Registers a handler (before start() to see the initial list); returns its removal. */
  on(handler: InformerHandler<T>): () => void {
    this.#handlers.add(handler);
    return () => this.#handlers.delete(handler);
  }

  start(): void {
    if (this.#loop) throw new Error(`informer ${this.#path} already started`);
    if (this.#stopped) throw new Error(`informer ${this.#path} is stopped`);
    this.#loop = this.#run();
  }

  /** True once the first list is in the cache. */
  hasSynced(): boolean {
    return this.#synced;
  }

  /**
   * Resolves once the first list is in the cache; rejects if stopped before that, or
   * after `timeoutMs` with the last list error (the informer keeps trying).
   */
  whenSynced(timeoutMs?: number): Promise<void> {
    if (this.#synced) return Promise.resolve();
    if (this.#stopped) return Promise.reject(new Error(`informer ${this.#path} stopped before it synced`));
    return new Promise((resolve, reject) => {
      const timer =
        timeoutMs === undefined
          ? undefined
          : setTimeout(() => {
              const index = this.#syncWaiters.indexOf(waiter);
              if (index >= 0) this.#syncWaiters.splice(index, 1);
              const last = this.#lastError ? `last error: ${this.#lastError}` : "no list has answered yet";
              reject(new Error(`informer ${this.#path} has not synced after ${timeoutMs} ms (${last})`));
            }, timerDelay(timeoutMs));
      const waiter = {
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (error: Error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      this.#syncWaiters.push(waiter);
    });
  }

  /** The cached object for "namespace/name" (or "name"); read it, never mutate it. */
  get(key: string): T | undefined {
    return this.#cache.get(key);
  }

  list(): T[] {
    return [...this.#cache.values()];
  }

  keys(): string[] {
    return [...this.#cache.keys()];
  }

  stats(): InformerStats {
    return {
      synced: this.#synced,
      objects: this.#cache.size,
      resourceVersion: this.#resourceVersion,
      ...this.#stats,
      lastEventAt: this.#lastEventAt,
      lastListAt: this.#lastListAt || undefined,
      lastError: this.#lastError,
    };
  }

  /** Ends the watch and the loop; resolves when nothing runs any more. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#endWatch?.();
    this.#listAbort?.abort();
    this.#sleeper.wake();
    for (const waiter of this.#syncWaiters.splice(0)) {
      waiter.reject(new Error(`informer ${this.#path} stopped before it synced`));
    }
    await this.#loop;
  }

  async #run(): Promise<void> {
    let failures = 0;
    let relist: RelistReason | undefined = "initial";
    // A watch that expires right after a fresh list would otherwise spin list → 410 → list.
    let watchingFromFreshList = false;
    while (!this.#stopped) {
      if (relist) {
        try {
          await this.#relist(relist);
          relist = undefined;
          watchingFromFreshList = true;
        } catch (error) {
          if (this.#stopped) break;
          this.#stats.failures++;
          this.#lastError = `${describeApiError(error)}${listHint(error)}`;
          const delay = backoffDelayMs(failures++, this.#backoff, Math.random());
          this.#logger.warn(
            { err: error, failures, retryInMs: delay },
            `list ${this.#path} failed: ${this.#lastError}; retrying in ${delay} ms`,
          );
          await this.#sleep(delay);
          continue;
        }
      }

      const started = Date.now();
      const { end, events } = await this.#watchOnce();
      const healthy = events > 0 || Date.now() - started >= HEALTHY_WATCH_MS;
      if (healthy) failures = 0;
      const fromFreshList = watchingFromFreshList;
      watchingFromFreshList = false;
      switch (end.kind) {
        case "stopped":
          return;
        case "relist-due":
          relist = "periodic";
          break;
        case "expired":
          this.#stats.expired++;
          this.#logger.info(
            { resourceVersion: this.#resourceVersion },
            `watch ${this.#path} expired (${end.detail}); relisting`,
          );
          relist = "expired";
          if (fromFreshList && !healthy)
            await this.#sleep(backoffDelayMs(failures++, this.#backoff, Math.random()));
          break;
        case "silent":
          this.#stats.silentRestarts++;
          this.#logger.warn(
            { resourceVersion: this.#resourceVersion },
            `watch ${this.#path} delivered nothing, not even a bookmark, for too long; restarting it`,
          );
          break;
        case "closed":
          // The server ends every watch at its timeout, and the HTTP client ends one that was
          // quiet for its body timeout: routine, unless it happens at once.
          if (end.detail)
            this.#logger.debug(
              { resourceVersion: this.#resourceVersion, events },
              `watch ${this.#path} ended: ${end.detail}; watching again`,
            );
          if (!healthy) await this.#sleep(backoffDelayMs(failures++, this.#backoff, Math.random()));
          break;
        case "failed": {
          this.#stats.failures++;
          this.#lastError = describeApiError(end.error);
          const delay = backoffDelayMs(failures++, this.#backoff, Math.random());
          this.#logger.warn(
            { err: end.error, failures, retryInMs: delay, resourceVersion: this.#resourceVersion },
            `watch ${this.#path} failed: ${this.#lastError}; retrying in ${delay} ms`,
          );
          if (failures >= RELIST_AFTER_FAILURES) relist = "errors";
          await this.#sleep(delay);
          break;
        }
      }
    }
  }

  async #relist(reason: RelistReason): Promise<void> {
    const abort = new AbortController();
    this.#listAbort = abort;
    try {
      const listed = await listCollection<T>(this.#options.kubeConfig, this.#path, {
        labelSelector: this.#options.labelSelector,
        fieldSelector: this.#options.fieldSelector,
        pageSize: this.#options.pageSize,
        signal: AbortSignal.any([
          abort.signal,
          AbortSignal.timeout(timerDelay(this.#options.listTimeoutMs ?? 60_000)),
        ]),
      });
      if (this.#stopped) return;
      for (const item of listed.items) this.#transform(item);
      const { cache, changes } = diffAgainstCache(this.#cache, listed.items);
      this.#cache = cache;
      this.#resourceVersion = listed.resourceVersion;
      this.#lastListAt = Date.now();
      this.#stats.lists++;
      if (reason !== "initial" && changes.length > 0) {
        this.#logger.info(
          { reason, resourceVersion: listed.resourceVersion, changes: countChanges(changes) },
          `relist of ${this.#path} found ${changes.length} change(s) the watch had not delivered`,
        );
      } else {
        this.#logger.debug(
          { reason, resourceVersion: listed.resourceVersion, objects: cache.size },
          `listed ${this.#path}`,
        );
      }
      const firstSync = !this.#synced;
      this.#synced = true;
      for (const change of changes) this.#emit(change);
      if (firstSync) for (const waiter of this.#syncWaiters.splice(0)) waiter.resolve();
    } finally {
      this.#listAbort = undefined;
    }
  }

  #watchOnce(): Promise<{ end: WatchEnd; events: number }> {
    if (this.#stopped) return Promise.resolve({ end: { kind: "stopped" }, events: 0 });
    const timeoutSeconds = Math.round(this.#watchTimeoutSeconds * (1 + 0.25 * Math.random()));
    const watchdogMs = this.#options.watchdogMs ?? timeoutSeconds * 1000 + 60_000;
    setClientInactivityTimeout(this.#watch, watchdogMs + CLIENT_TIMEOUT_MARGIN_MS);
    this.#stats.watches++;
    return new Promise((resolve) => {
      let events = 0;
      let settled = false;
      let controller: AbortController | undefined;
      let watchdog: NodeJS.Timeout | undefined;
      let relistTimer: NodeJS.Timeout | undefined;
      const finish = (end: WatchEnd): void => {
        if (settled) return;
        settled = true;
        clearTimeout(watchdog);
        clearTimeout(relistTimer);
        this.#endWatch = undefined;
        controller?.abort();
        resolve({ end, events });
      };
      const armWatchdog = (): void => {
        clearTimeout(watchdog);
        watchdog = setTimeout(() => finish({ kind: "silent" }), timerDelay(watchdogMs));
      };
      this.#endWatch = () => finish({ kind: "stopped" });
      if (this.#relistIntervalMs > 0) {
        const dueInMs = Math.max(0, this.#lastListAt + this.#relistIntervalMs - Date.now());
        relistTimer = setTimeout(() => finish({ kind: "relist-due" }), timerDelay(dueInMs));
      }
      armWatchdog();
      this.#watch
        .watch(
          this.#path,
          {
            resourceVersion: this.#resourceVersion,
            allowWatchBookmarks: true,
            timeoutSeconds,
            labelSelector: this.#options.labelSelector,
            fieldSelector: this.#options.fieldSelector,
          },
          (type: string, object: unknown) => {
            if (settled) return;
            events++;
            this.#lastEventAt = Date.now();
            armWatchdog();
            const problem = this.#applyWatchEvent(type, object);
            if (problem) finish(problem);
          },
          (error: unknown) => {
            if (settled) return;
            if (!error) finish({ kind: "closed" });
            else if (apiStatusCode(error) === 410)
              finish({ kind: "expired", detail: describeApiError(error) });
            // client-node's inactivity abort: only when our watchdog could not fire first.
            else if ((error as { name?: unknown }).name === "TimeoutError") finish({ kind: "silent" });
            else if (isIdleStreamTimeout(error))
              finish({
                kind: "closed",
                detail: `quiet for the HTTP client's body timeout (${describeApiError(error)})`,
              });
            else finish({ kind: "failed", error });
          },
        )
        .then(
          (started) => {
            controller = started;
            if (settled) started.abort();
          },
          (error: unknown) => finish({ kind: "failed", error }),
        );
    });
  }

  /** Applies one watch event to the cache; returns how the watch must end, if it must. */
  #applyWatchEvent(type: string, object: unknown): WatchEnd | undefined {
    if (type === "ERROR") {
      const detail = describeApiError(object);
      const status = apiErrorStatus(object);
      if (apiStatusCode(object) === 410 || status?.reason === "Expired" || status?.reason === "Gone") {
        return { kind: "expired", detail };
      }
      return { kind: "failed", error: new Error(`watch ERROR event: ${detail}`) };
    }
    if (!object || typeof object !== "object") return undefined;
    const resource = object as T;
    this.#transform(resource);
    const resourceVersion = resource.metadata?.resourceVersion;
    if (resourceVersion) this.#resourceVersion = resourceVersion;
    const key = objectKey(resource);
    if (key === undefined) return undefined;
    switch (type) {
      case "ADDED":
      case "MODIFIED": {
        const previous = this.#cache.get(key);
        this.#cache.set(key, resource);
        if (!previous) this.#emit({ type: "added", key, object: resource });
        else if (previous.metadata?.resourceVersion !== resourceVersion) {
          this.#emit({ type: "updated", key, object: resource, previous });
        }
        return undefined;
      }
      case "DELETED":
        if (this.#cache.delete(key)) this.#emit({ type: "deleted", key, object: resource });
        return undefined;
      default:
        // BOOKMARK (its resourceVersion is taken above) and anything newer.
        return undefined;
    }
  }

  #emit(change: InformerChange<T>): void {
    for (const handler of this.#handlers) {
      try {
        handler(change);
      } catch (error) {
        // client-node would swallow it inside the watch callback; say so instead.
        this.#logger.error(
          { err: error, key: change.key },
          `informer handler threw on ${change.type} ${change.key}`,
        );
      }
    }
  }

  #sleep(ms: number): Promise<void> {
    return this.#stopped ? Promise.resolve() : this.#sleeper.sleep(ms);
  }
}

/** client-node keeps the watch's inactivity timeout in a private field (30 s in 2.0.1). */
function setClientInactivityTimeout(watch: Watch, ms: number): void {
  if ("requestTimeoutMs" in watch) (watch as unknown as { requestTimeoutMs: number }).requestTimeoutMs = ms;
}

function countChanges(changes: readonly InformerChange<unknown>[]): Record<string, number> {
  const counts: Record<string, number> = { added: 0, updated: 0, deleted: 0 };
  for (const change of changes) counts[change.type] = (counts[change.type] ?? 0) + 1;
  return counts;
}

function listHint(error: unknown): string {
  switch (apiStatusCode(error)) {
    case 401:
      return " (the credentials were refused)";
    case 403:
      return " (RBAC does not allow list/watch on it)";
    case 404:
      return " (no such resource: is the CRD installed and the API version served?)";
    default:
      return "";
  }
}
