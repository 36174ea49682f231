// List-then-watch that does not go silent: it re-watches from the newest
// resourceVersion when a watch ends (server timeout, client-node's 30 s inactivity
// abort), relists on 410 Gone or after repeated errors (jittered backoff), and relists
// periodically anyway. Handlers must be quick and synchronous; do the work elsewhere.
import { Watch } from "@kubernetes/client-node";
import type { KubeConfig, KubernetesObject } from "@kubernetes/client-node";

export type WatchEventType = "ADDED" | "MODIFIED" | "DELETED";

export interface ResilientWatchOptions<T extends KubernetesObject> {
  kubeConfig: KubeConfig;
  /** The collection's URL path, e.g. /api/v1/pods. */
  path: string;
  fieldSelector?: string;
  labelSelector?: string;
  list(): Promise<{ items: T[]; resourceVersion: string }>;
  /** The complete current state after each (re)list; objects missing from it are gone. */
  onSync(items: T[]): void;
  onEvent(type: WatchEventType, object: T): void;
  relistEveryMs?: number;
  log?: (message: string) => void;
}

export interface ResilientWatch {
  /** Resolves after the first list has been delivered to onSync. */
  synced: Promise<void>;
  stop(): void;
}

export function startResilientWatch<T extends KubernetesObject>(
  options: ResilientWatchOptions<T>,
): ResilientWatch {
  const watcher = new Watch(options.kubeConfig);
  const relistEveryMs = options.relistEveryMs ?? 60_000;
  let stopped = false;
  let resourceVersion = "";
  let needsRelist = true;
  let failures = 0;
  let current: AbortController | undefined;
  let wake: (() => void) | undefined;
  let lastRelist = 0;
  let markSynced: () => void = () => {};
  const synced = new Promise<void>((resolve) => (markSynced = resolve));

  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });

  const watchOnce = (): Promise<void> =>
    new Promise<void>((resolve) => {
      let finished = false;
      const finish = (error: unknown): void => {
        if (finished) return;
        finished = true;
        if (error && !stopped && !isAbort(error)) {
          failures++;
          if (statusOf(error) === 410) needsRelist = true;
          options.log?.(`watch ${options.path} ended: ${describe(error)}`);
        }
        resolve();
      };
      watcher
        .watch(
          options.path,
          {
            resourceVersion,
            allowWatchBookmarks: true,
            fieldSelector: options.fieldSelector,
            labelSelector: options.labelSelector,
            timeoutSeconds: 300,
          },
          (type: string, object: T & { code?: number }) => {
            failures = 0;
            const rv = object.metadata?.resourceVersion;
            if (type === "BOOKMARK") {
              if (rv) resourceVersion = rv;
            } else if (type === "ERROR") {
              if (object.code === 410) needsRelist = true;
              current?.abort();
            } else {
              if (rv) resourceVersion = rv;
              options.onEvent(type as WatchEventType, object);
            }
          },
          finish,
        )
        .then((controller) => {
          current = controller;
          if (stopped) controller.abort();
        }, finish);
    });

  const loop = async (): Promise<void> => {
    while (!stopped) {
      try {
        if (needsRelist || Date.now() - lastRelist > relistEveryMs) {
          const listed = await options.list();
          resourceVersion = listed.resourceVersion;
          needsRelist = false;
          lastRelist = Date.now();
          options.onSync(listed.items);
          markSynced();
        }
        const relistTimer = setTimeout(
          () => current?.abort(),
          Math.max(0, lastRelist + relistEveryMs - Date.now()),
        );
        await watchOnce();
        clearTimeout(relistTimer);
        current = undefined;
      } catch (error) {
        failures++;
        options.log?.(`list ${options.path} failed: ${describe(error)}`);
      }
      if (failures > 0 && !stopped) {
        if (failures >= 3) needsRelist = true;
        const backoff = Math.min(5_000, 100 * 2 ** Math.min(failures, 6));
        await sleep(backoff / 2 + Math.random() * (backoff / 2));
      }
    }
  };
  void loop();

  return {
    synced,
    stop() {
      stopped = true;
      current?.abort();
      wake?.();
    },
  };
}

/** Our own abort, or client-node's inactivity timeout on a quiet watch: both are routine. */
function isAbort(error: unknown): boolean {
  const name = (error as { name?: string } | null)?.name;
  return name === "AbortError" || name === "TimeoutError";
}

function statusOf(error: unknown): number | undefined {
  const candidate = error as { statusCode?: number; code?: number };
  return candidate.statusCode ?? candidate.code;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
