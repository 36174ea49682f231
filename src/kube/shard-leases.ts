// The shards one replica holds when controllers run active-active (docs/sharding.md): one
// LeaderElector per shard Lease, so each shard has the leader election's guarantees —
// taken over within the lease duration when its holder dies, writes refused the moment its
// Lease is not fresh — and the spreading rules of shards.ts decide which free ones to take.
// A replica below its fair share while every shard is held asks an over-share holder for one
// by writing its identity on that shard's Lease (an annotation); the holder hands it back.
import type { CoordinationV1Api, V1Lease } from "@kubernetes/client-node";
import type { Logger } from "pino";
import { apiStatusCode, describeApiError } from "./errors.ts";
import { LeaderElector, LeaseNotHeldError } from "./leader-election.ts";
import { fairShare, mayTakeShard, shardOfNamespace, shouldHandOver } from "./shards.ts";

/** On a shard's Lease: "<identity>@<ms>", a replica below its share asking for this shard. */
export const HANDOVER_ANNOTATION = "glidepath.dev/handover-to";

export interface ShardLeasesOptions {
  coordination: CoordinationV1Api;
  namespace: string;
  /** Lease names are `<prefix>-<shard>`. */
  prefix: string;
  shards: number;
  replicas: number;
  identity: string;
  logger: Logger;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  /** This replica now holds `shard`; `signal` aborts when it stops holding it. */
  onGained(shard: number, signal: AbortSignal): void;
  /** This replica no longer holds `shard` (lost, handed over, or released). */
  onLost(shard: number, reason: string): void;
}

export class ShardLeases {
  readonly #options: ShardLeasesOptions;
  readonly #log: Logger;
  readonly #electors: (LeaderElector | undefined)[];
  readonly #signals = new Map<number, AbortSignal>();
  /** Shards this replica decided to take and is writing the Lease of: counted as held. */
  readonly #claims = new Map<number, number>();
  /** Hand-over requests already honoured (a repeat of one is stale). */
  readonly #honoured = new Set<string>();
  #stopping = false;
  #ticker: NodeJS.Timeout | undefined;
  #lastRequestAt = -Infinity;

  constructor(options: ShardLeasesOptions) {
    this.#options = options;
    this.#log = options.logger.child({ component: "shards" });
    this.#electors = Array.from({ length: options.shards }, () => undefined);
  }

  get identity(): string {
    return this.#options.identity;
  }

  /** Starts contending for every shard. */
  start(): void {
    for (let shard = 0; shard < this.#options.shards; shard++) this.#run(shard);
    this.#ticker = setInterval(() => void this.#balance(), this.#options.retryPeriodMs);
    this.#ticker.unref();
  }

  /** The shards held now. */
  held(): number[] {
    return this.#electors.flatMap((elector, shard) => (elector?.isLeader() ? [shard] : []));
  }

  shardOf(namespace: string): number {
    return shardOfNamespace(namespace, this.#options.shards);
  }

  owns(namespace: string): boolean {
    return this.#electors[this.shardOf(namespace)]?.isLeader() === true;
  }

  /**
   * For every write: throws LeaseNotHeldError unless the shard of `namespace` is held on a
   * fresh Lease (the elector steps down at once if it is stale). A write outside any
   * namespace needs some shard held fresh.
   */
  assertFresh(namespace: string | undefined): void {
    if (namespace !== undefined) {
      const elector = this.#electors[this.shardOf(namespace)];
      if (!elector)
        throw new LeaseNotHeldError(`refusing to write: shard ${this.shardOf(namespace)} is not held`);
      elector.assertFreshLease();
      return;
    }
    const holding = this.#electors.filter((elector) => elector?.isLeader());
    if (holding.length === 0) throw new LeaseNotHeldError("refusing to write: this replica holds no shard");
    holding[0]?.assertFreshLease();
  }

  /** Aborts when this replica stops holding the shard of `namespace` (calls in flight for it stop). */
  signalOf(namespace: string): AbortSignal | undefined {
    return this.#signals.get(this.shardOf(namespace));
  }

  /** Hands every shard back (work stopped first); `abandon` leaves the Leases to expire instead. */
  async stop(abandon = false): Promise<void> {
    this.#stopping = true;
    clearInterval(this.#ticker);
    await Promise.all(this.#electors.map((elector) => (abandon ? elector?.abandon() : elector?.release())));
  }

  #heldOrClaimed(): number {
    const now = performance.now();
    for (const [shard, at] of this.#claims)
      if (now - at > this.#options.renewDeadlineMs) this.#claims.delete(shard);
    const held = this.held();
    return held.length + [...this.#claims.keys()].filter((shard) => !held.includes(shard)).length;
  }

  #run(shard: number): void {
    const options = this.#options;
    const elector = new LeaderElector({
      coordination: options.coordination,
      namespace: options.namespace,
      name: `${options.prefix}-${shard}`,
      identity: options.identity,
      logger: options.logger.child({ shard }),
      leaseDurationMs: options.leaseDurationMs,
      renewDeadlineMs: options.renewDeadlineMs,
      retryPeriodMs: options.retryPeriodMs,
      mayAcquire: ({ unchangedForMs }) => {
        const take = mayTakeShard({
          held: this.#heldOrClaimed(),
          shards: options.shards,
          replicas: options.replicas,
          unchangedForMs,
          leaseDurationMs: options.leaseDurationMs,
        });
        if (take) this.#claims.set(shard, performance.now());
        return take;
      },
      onStartedLeading: (signal) => {
        this.#claims.delete(shard);
        this.#signals.set(shard, signal);
        this.#log.info({ shard }, "holding shard");
        options.onGained(shard, signal);
      },
      onStoppedLeading: (reason) => {
        this.#signals.delete(shard);
        this.#log.info({ shard, reason }, "no longer holding shard");
        options.onLost(shard, reason);
      },
    });
    this.#electors[shard] = elector;
    elector.run().then(
      (end) => this.#rerun(shard, elector, end),
      (error: unknown) => this.#rerun(shard, elector, String(error)),
    );
  }

  /** An elector ends when its shard is lost or handed back: a new one watches the shard again. */
  #rerun(shard: number, ended: LeaderElector, end: string): void {
    if (this.#stopping || this.#electors[shard] !== ended) return;
    this.#log.debug({ shard, end }, "shard elector ended; watching the shard again");
    setTimeout(() => {
      if (!this.#stopping && this.#electors[shard] === ended) this.#run(shard);
    }, this.#options.retryPeriodMs).unref();
  }

  /** Hands over a shard asked for while above the fair share; asks for one while below it. */
  async #balance(): Promise<void> {
    if (this.#stopping) return;
    const { shards, replicas, identity } = this.#options;
    const held = this.held();
    for (const shard of held) {
      const request = this.#electors[shard]?.lastSeenLease()?.metadata?.annotations?.[HANDOVER_ANNOTATION];
      if (!request || request.startsWith(`${identity}@`) || this.#honoured.has(request)) continue;
      if (!shouldHandOver(this.held().length, shards, replicas)) break;
      this.#honoured.add(request);
      this.#log.info({ shard, request }, "handing the shard over to a replica below its share");
      await this.#electors[shard]?.release();
    }
    if (held.length >= fairShare(shards, replicas)) return;
    // Asking resets everyone's view of the Lease's age: at most once a lease duration.
    if (performance.now() - this.#lastRequestAt < this.#options.leaseDurationMs) return;
    const candidate = this.#handOverCandidate();
    if (candidate === undefined) return;
    this.#lastRequestAt = performance.now();
    await this.#ask(candidate);
  }

  /**
   * A shard held by a live replica above its share (its Lease renewed recently), if every
   * shard is held: a free one is taken by the electors instead.
   */
  #handOverCandidate(): number | undefined {
    const { shards, replicas } = this.#options;
    const holders = new Map<string, number[]>();
    for (let shard = 0; shard < shards; shard++) {
      const elector = this.#electors[shard];
      const holder = elector?.lastSeenLease()?.spec?.holderIdentity;
      if (!elector || !holder || elector.unchangedForMs() >= this.#options.renewDeadlineMs) return undefined;
      holders.set(holder, [...(holders.get(holder) ?? []), shard]);
    }
    for (const [holder, held] of holders) {
      if (holder !== this.#options.identity && shouldHandOver(held.length, shards, replicas))
        return held.at(-1);
    }
    return undefined;
  }

  async #ask(shard: number): Promise<void> {
    const { coordination, namespace, prefix, identity } = this.#options;
    const name = `${prefix}-${shard}`;
    try {
      const lease: V1Lease = await coordination.readNamespacedLease({ name, namespace });
      lease.metadata = {
        ...lease.metadata,
        annotations: { ...lease.metadata?.annotations, [HANDOVER_ANNOTATION]: `${identity}@${Date.now()}` },
      };
      await coordination.replaceNamespacedLease({ name, namespace, body: lease });
      this.#log.info(
        { shard, holder: lease.spec?.holderIdentity },
        "asked for a shard (below the fair share)",
      );
    } catch (error) {
      if (apiStatusCode(error) !== 409)
        this.#log.warn({ shard, err: describeApiError(error) }, "could not ask for a shard");
    }
  }
}
