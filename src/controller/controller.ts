import type { KubernetesObject, V1Deployment } from "@kubernetes/client-node";
import type { Logger } from "pino";
import type { Release } from "../api/index.ts";
import type { LeaderElector, NamespacedInformers, ShardLeases, WorkQueue } from "../kube/index.ts";
import { parseObjectKey } from "../kube/index.ts";
import type { ControllerMetrics } from "../telemetry/metrics.ts";
import type { ReleaseReconciler } from "./reconciler.ts";
import type { RouteWatch } from "./route-watch.ts";
import type { RouterCache } from "./router-cache.ts";
import type { StatusEchoFilter } from "./status-echo.ts";
import type { TargetIndex } from "./target-index.ts";
import type { WorkloadWatch } from "./workload-watch.ts";
import { releasesWaitingOn } from "./target-lock.ts";

// The controller at run time: cache events become release keys on the work queue; the
// leader's workers reconcile them; followers keep their caches warm so a takeover starts
// at once. Its parts are built in src/wiring.ts.

export interface ControllerParts {
  logger: Logger;
  releases: NamespacedInformers<KubernetesObject>;
  deployments: NamespacedInformers<V1Deployment>;
  /** ReleaseRecords, for the DORA figures on /metrics; none when records are off. */
  releaseRecords?: NamespacedInformers<KubernetesObject>;
  /** The routes and canary Services the Releases name. */
  routeWatch: RouteWatch;
  /** ReplicaSets, Pods and canary Endpoints, so an observation makes no request. */
  workloadWatch?: Pick<WorkloadWatch, "start" | "stop">;
  queue: WorkQueue;
  targets: TargetIndex;
  routers: RouterCache;
  echoes: StatusEchoFilter;
  reconciler: ReleaseReconciler;
  metrics: Pick<ControllerMetrics, "reconcileDuration">;
  /** None: this replica leads from the start (leader election off). */
  elector?: LeaderElector;
  /**
   * Sharded (active-active, docs/sharding.md): instead of `elector`, this replica reconciles
   * the Releases of the shards it holds. Its work queue must turn away the other shards' keys.
   */
  shards?: ShardLeases;
  /**
   * Aborts every Kubernetes call and analysis round of the leader's work: when leadership
   * ends, or when a shutdown's drain ran out of time (nothing of ours may still be in flight
   * once the next leader acts). The clients the reconciler uses carry its signal.
   */
  halt: AbortController;
  drainTimeoutMs: number;
  /** Called when leadership is lost: the process should exit, as client-go's controllers do. */
  onLeadershipLost?: (reason: string) => void;
}

export class Controller {
  readonly #parts: ControllerParts;
  readonly #log: Logger;
  #leading = false;
  #stopped = false;
  #workersStarted = false;

  constructor(parts: ControllerParts) {
    this.#parts = parts;
    this.#log = parts.logger;
    // Leadership over, or a drain run out: analysis rounds in flight stop with the calls.
    parts.halt.signal.addEventListener("abort", () => parts.reconciler.stopAnalysis(), { once: true });
  }

  get identity(): string | undefined {
    return this.#parts.elector?.identity ?? this.#parts.shards?.identity;
  }

  /** Sharded: whether this replica holds any shard. */
  isLeader(): boolean {
    return this.#parts.shards ? this.#parts.shards.held().length > 0 : this.#leading;
  }

  /** Whether this replica reconciles the Release `key` now (sharded: holds its shard). */
  actsOn(key: string): boolean {
    const { shards } = this.#parts;
    return shards ? shards.owns(parseObjectKey(key).namespace ?? "") : this.#leading;
  }

  /** Sharded: a shard gained; its Releases are enqueued (a resync: the last holder may have left work). */
  gainedShard(shard: number): void {
    const { shards, releases, queue } = this.#parts;
    if (!shards || !this.#workersStarted) return;
    for (const key of releases.keys())
      if (shards.shardOf(parseObjectKey(key).namespace ?? "") === shard) queue.add(key);
  }

  /**
   * Sharded: a shard lost or handed over; its Releases leave the queue and their analysis
   * rounds stop (calls in flight are aborted by the clients).
   */
  lostShard(shard: number): void {
    const { shards, queue, releases, reconciler } = this.#parts;
    if (!shards) return;
    const inShard = (key: string): boolean => shards.shardOf(parseObjectKey(key).namespace ?? "") === shard;
    const dropped = queue.drop(inShard);
    for (const key of releases.keys()) if (inShard(key)) reconciler.handOver(key);
    this.#log.info(
      { shard, dropped },
      "shard no longer held: its Releases left the queue, their analysis stopped",
    );
  }

  /** Stopping: not ready, and hooks answer 503 so their senders retry elsewhere or later. */
  isStopping(): boolean {
    return this.#stopped;
  }

  /** Not ready from the first moment of a stop (traffic goes to the other replica), nor before the caches listed. */
  isReady(): boolean {
    return !this.#stopped && this.#parts.releases.hasSynced() && this.#parts.deployments.hasSynced();
  }

  /** Starts watching and (once leading) reconciling. */
  start(): void {
    const { releases, deployments, releaseRecords, routeWatch, queue, targets, elector } = this.#parts;
    releases.on((change) => {
      if (change.type === "deleted") {
        targets.remove(change.key);
        this.#parts.routers.forget(change.key);
      } else {
        targets.update(change.key, change.object as Release);
      }
      if (!this.#parts.echoes.isEcho(change)) queue.add(change.key);
      const gone = change.type === "deleted";
      for (const key of releasesWaitingOn(
        change.object as Release,
        gone,
        this.#releasesOfTarget(change.object),
      ))
        queue.add(key);
    });
    releases.start();
    routeWatch.start();
    releaseRecords?.start();
    deployments.on((change) => {
      for (const key of targets.releasesOf(change.object)) queue.add(key);
    });
    deployments.start();
    this.#parts.workloadWatch?.start();
    if (this.#parts.shards) {
      this.#parts.shards.start();
      this.#log.info(
        { identity: this.#parts.shards.identity },
        "sharded: reconciling the releases of the shards held",
      );
      this.#whenSyncedStartWorkers();
    } else if (elector) {
      elector.run().then(
        (end) => this.#log.info({ end }, "leader election ended"),
        (error: unknown) => {
          // A bug in the elector: nobody renews the Lease now, so nobody may act on it.
          this.#log.error({ err: error }, "leader election failed");
          this.#leading = false;
          this.#parts.halt.abort(error);
          if (!this.#stopped) this.#parts.onLeadershipLost?.(`leader election failed: ${String(error)}`);
        },
      );
    } else {
      this.startedLeading();
    }
  }

  /** The elector's onStartedLeading; `leadership` aborts when it ends (lost, stale, handed over). */
  startedLeading(leadership?: AbortSignal): void {
    // Leadership over: whatever is still in flight must not land.
    leadership?.addEventListener("abort", () => this.#parts.halt.abort(leadership.reason), { once: true });
    this.#leading = true;
    this.#log.info({ identity: this.identity }, "leading: reconciling releases");
    this.#whenSyncedStartWorkers();
  }

  #whenSyncedStartWorkers(): void {
    // As client-go's WaitForCacheSync: no reconcile before the Release and Deployment caches
    // have listed. Earlier, a Release could start while an older one of its target is not in
    // the cache yet, and each cache's initial list would reconcile every Release once more.
    Promise.all([this.#parts.releases.whenSynced(), this.#parts.deployments.whenSynced()]).then(
      () => this.#startWorkers(),
      (error: unknown) => this.#log.info({ err: error }, "stopped before the caches synced"),
    );
  }

  /** The elector's onStoppedLeading. */
  stoppedLeading(reason: string): void {
    this.#leading = false;
    if (!this.#stopped) this.#parts.onLeadershipLost?.(reason);
  }

  /**
   * Graceful stop. First readiness fails and the hooks answer 503 (Alertmanager retries,
   * another replica takes the alert); then reconciles in flight get the drain timeout to
   * finish, and the Lease is handed over. If they do not finish, their calls are aborted and
   * the Lease is left to expire: a call still on its way must not overlap the next leader's
   * writes. Resolves whether the drain finished in time.
   */
  async stop(): Promise<{ drained: boolean }> {
    if (this.#stopped) return { drained: true };
    this.#stopped = true;
    const { reconciler, queue, elector, shards, drainTimeoutMs } = this.#parts;
    // Rounds in flight are cancelled: the next leader asks for them again.
    reconciler.stopAnalysis();
    const drained = await queue.shutdown(drainTimeoutMs);
    if (drained) {
      await elector?.release();
      await shards?.stop();
    } else {
      this.#log.warn(
        { drainTimeoutMs },
        "reconciles still running after the drain timeout: aborting them and leaving the Lease to expire",
      );
      this.#parts.halt.abort(new Error("the controller is stopping"));
      await elector?.abandon();
      await shards?.stop(true);
    }
    await Promise.all([
      this.#parts.releases.stop(),
      this.#parts.deployments.stop(),
      this.#parts.releaseRecords?.stop(),
      this.#parts.routeWatch.stop(),
      this.#parts.workloadWatch?.stop(),
    ]);
    return { drained };
  }

  /** Enqueues a release key now (e.g. an alert arrived for it). */
  enqueue(key: string): void {
    this.#parts.queue.add(key);
  }

  /** The Release caches have their first list (hooks refuse alerts until then). */
  isSynced(): boolean {
    return this.#parts.releases.hasSynced();
  }

  /** The releases in the cache, for hooks that match alerts against them. */
  releases(): Release[] {
    return this.#parts.releases.list() as Release[];
  }

  #startWorkers(): void {
    if (this.#stopped) return;
    this.#workersStarted = true;
    const { queue, reconciler, metrics, shards } = this.#parts;
    queue.start(async (key) => {
      // Queued before its shard was lost: the shard's new holder has it.
      if (shards && !this.actsOn(key)) return;
      const started = performance.now();
      let outcome = "ok";
      try {
        return await reconciler.reconcile(key);
      } catch (error) {
        outcome = "error";
        throw error;
      } finally {
        metrics.reconcileDuration.observe({ outcome }, (performance.now() - started) / 1000);
      }
    });
    // Informers may have synced before leadership: everything they hold is work now.
    for (const key of this.#parts.releases.keys()) queue.add(key);
  }

  /**
   * The cached Releases of the same target, from the index: scanning every Release on each
   * event made the initial list of 10,000 quadratic (7.5 s of CPU, docs/performance.md).
   */
  #releasesOfTarget(object: KubernetesObject): Release[] {
    const target = (object as Partial<Release>).spec?.target?.deployment;
    if (typeof target !== "string") return [];
    const keys = this.#parts.targets.releasesOf({
      metadata: { namespace: object.metadata?.namespace, name: target },
    });
    return keys.flatMap((key) => this.#parts.releases.get(key) ?? []) as Release[];
  }
}
