// Over 400 lines on purpose: one Lease protocol (acquire, renew, release, abandon, step down on a missed deadline) whose timing rules must be read together; its freshness rule is a pure, unit-tested function (leaseIsFresh).
// Leader election on a coordination.k8s.io/v1 Lease, after client-go's leaderelection
// (client-node has none). A replica may take the Lease when nobody holds it, when it
// was released (empty holderIdentity), or when its record has not changed for a whole
// lease duration *as observed on this replica's own monotonic clock* — so clock skew
// between replicas cannot cut a lease short. Every write carries the resourceVersion
// that was read, so two replicas racing for it get one success and one 409. A leader
// that cannot renew within renewDeadline (< leaseDuration) stops leading before anyone
// else may take over; the caller is expected to exit then.
import { InterruptibleSleep } from "./interruptible-sleep.ts";
import { hostname } from "node:os";
import { randomUUID } from "node:crypto";
import type { CoordinationV1Api, V1Lease } from "@kubernetes/client-node";
import type { Logger } from "pino";
import { jitteredMs } from "./backoff.ts";
import { abortWith } from "./client.ts";
import { apiStatusCode, describeApiError } from "./errors.ts";
import { parseMicroTime, toMicroTime } from "./micro-time.ts";
import { timerDelay } from "./timer-delay.ts";

export interface LeaderElectionOptions {
  coordination: CoordinationV1Api;
  namespace: string;
  /** The Lease's name, e.g. "glidepath-controller". */
  name: string;
  /** Unique per replica and per process. Default: hostname_uuid. */
  identity?: string;
  logger: Logger;
  /** How long a Lease holds without renewal. Whole seconds on the wire. Default 15 s. */
  leaseDurationMs?: number;
  /** A leader that has not renewed for this long stops leading. Default 10 s. */
  renewDeadlineMs?: number;
  /** Between attempts to acquire or renew. Default 2 s. */
  retryPeriodMs?: number;
  /** Called once when this replica becomes leader; `signal` aborts when it stops. */
  onStartedLeading(signal: AbortSignal): void;
  /** Called once when this replica stops leading (lost or released). */
  onStoppedLeading(reason: string): void;
  /** Called whenever another (or this) replica is seen to hold the Lease. */
  onNewLeader?(identity: string): void;
  /**
   * Asked before taking a Lease that is free or expired (never before renewing one's own):
   * false leaves it to another replica for now. Sharded controllers spread shards with it.
   * `holder` is "" for a free Lease; `unchangedForMs` is how long its record has stood
   * unchanged on this replica's clock (0 for one that does not exist yet). Default: take it.
   */
  mayAcquire?(state: { holder: string; unchangedForMs: number }): boolean;
}

/**
 * How run() ended: released on request, abandoned on request (left to expire), lost
 * (renewal failed, or the Lease went stale), or stopped before ever leading.
 */
export type LeadershipEnd = "released" | "abandoned" | "lost" | "stopped";

type AttemptResult =
  | { outcome: "acquired"; lease: V1Lease }
  | { outcome: "held"; lease: V1Lease; holder: string }
  | { outcome: "declined"; lease?: V1Lease }
  | { outcome: "failed"; reason: string; conflict?: boolean };

interface ObservedRecord {
  resourceVersion: string;
  holder: string;
  /** performance.now() when this record was first seen. */
  observedAt: number;
  durationMs: number;
}

/**
 * Whether a leader whose last successful renewal began at `lastRenewAt` may still act at
 * `now` (both from a monotonic clock, performance.now()). A renewal older than
 * renewDeadline may have been missed while the event loop stood still: by leaseDuration
 * another replica may hold the Lease, so from renewDeadline on nothing is written.
 */
export function leaseIsFresh(lastRenewAt: number, now: number, renewDeadlineMs: number): boolean {
  return now - lastRenewAt < renewDeadlineMs;
}

/** A write refused because this replica does not hold a fresh Lease. */
export class LeaseNotHeldError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LeaseNotHeldError";
  }
}

/** Retry jitter of client-go's leader election. */
const JITTER_FACTOR = 1.2;

export class LeaderElector {
  readonly identity: string;
  readonly #options: LeaderElectionOptions;
  readonly #logger: Logger;
  readonly #leaseDurationSeconds: number;
  readonly #renewDeadlineMs: number;
  readonly #retryPeriodMs: number;
  #lease: V1Lease | undefined;
  #observed: ObservedRecord | undefined;
  #leading = false;
  #leadership: AbortController | undefined;
  #lastRenewAt = 0;
  #stopping = false;
  /** Stop renewing but leave the Lease to expire (abandon()), rather than release it. */
  #abandoning = false;
  #running: Promise<LeadershipEnd> | undefined;
  /** When this replica first found the Lease missing (mayAcquire: how long nobody made it). */
  #missingSince: number | undefined;
  readonly #sleeper = new InterruptibleSleep();

  constructor(options: LeaderElectionOptions) {
    this.#options = options;
    this.identity = options.identity ?? `${hostname()}_${randomUUID()}`;
    const leaseDurationMs = options.leaseDurationMs ?? 15_000;
    this.#renewDeadlineMs = options.renewDeadlineMs ?? 10_000;
    this.#retryPeriodMs = options.retryPeriodMs ?? 2_000;
    const where = `leader election on Lease ${options.namespace}/${options.name}`;
    if (!(this.#retryPeriodMs > 0)) throw new Error(`${where}: retryPeriodMs must be > 0`);
    if (!(this.#renewDeadlineMs > this.#retryPeriodMs * JITTER_FACTOR)) {
      throw new Error(
        `${where}: renewDeadlineMs (${this.#renewDeadlineMs}) must exceed ${JITTER_FACTOR} × retryPeriodMs (${this.#retryPeriodMs})`,
      );
    }
    if (!(leaseDurationMs > this.#renewDeadlineMs)) {
      throw new Error(
        `${where}: leaseDurationMs (${leaseDurationMs}) must exceed renewDeadlineMs (${this.#renewDeadlineMs}), ` +
          "or a leader that cannot renew would still act after another took over",
      );
    }
    if (!this.identity) throw new Error(`${where}: identity must not be empty`);
    this.#leaseDurationSeconds = Math.ceil(leaseDurationMs / 1000);
    this.#logger = options.logger.child({
      lease: `${options.namespace}/${options.name}`,
      identity: this.identity,
    });
  }

  isLeader(): boolean {
    return this.#leading;
  }

  /** The Lease as last read or written by this replica (undefined before the first look). */
  lastSeenLease(): V1Lease | undefined {
    return this.#lease;
  }

  /** How long the Lease record has stood unchanged, on this replica's clock (0 before the first look). */
  unchangedForMs(): number {
    return this.#observed ? performance.now() - this.#observed.observedAt : 0;
  }

  /**
   * For every write the leader makes: throws LeaseNotHeldError unless this replica leads on
   * a Lease renewed within renewDeadline (leaseIsFresh). A stale Lease means the event loop
   * stood still past the renewal: this replica stops leading at once, as if a renewal had
   * failed, rather than write what another leader may be writing.
   */
  assertFreshLease(): void {
    const where = `Lease ${this.#options.namespace}/${this.#options.name}`;
    if (!this.#leading)
      throw new LeaseNotHeldError(`refusing to write: this replica does not lead (${where})`);
    const now = performance.now();
    if (leaseIsFresh(this.#lastRenewAt, now, this.#renewDeadlineMs)) return;
    const reason =
      `the ${where} was last renewed ${Math.round(now - this.#lastRenewAt)} ms ago, ` +
      `past renewDeadline (${this.#renewDeadlineMs} ms)`;
    this.#stopLeading(reason);
    this.#sleeper.wake();
    throw new LeaseNotHeldError(`refusing to write: ${reason}`);
  }

  /**
   * Tries to acquire the Lease until it does, then renews it. Resolves when this elector
   * is done: "lost" when a renewal missed its deadline or another replica took the Lease
   * (exit then), "released" after release(), "stopped" if release() came before leading.
   */
  run(): Promise<LeadershipEnd> {
    if (this.#running) throw new Error(`leader elector ${this.identity} is already running`);
    this.#running = this.#run();
    return this.#running;
  }

  /**
   * Graceful shutdown: stops leading (onStoppedLeading runs first, so stop your work
   * before calling this if it must not overlap with the next leader), then clears
   * holderIdentity so another replica takes over at once instead of after the lease
   * duration. Resolves when run() has finished.
   */
  async release(): Promise<void> {
    this.#stopping = true;
    this.#sleeper.wake();
    if (this.#running) await this.#running;
  }

  /**
   * Stops leading and renewing but keeps holderIdentity: the Lease expires after its
   * duration. For a shutdown whose work did not finish in time: a call still in flight
   * must not overlap the next leader's writes, which it could if the Lease were handed over.
   */
  async abandon(): Promise<void> {
    this.#abandoning = true;
    await this.release();
  }

  async #run(): Promise<LeadershipEnd> {
    this.#logger.info("trying to acquire the leader Lease");
    while (!this.#stopping) {
      const result = await this.#attempt(performance.now() + this.#renewDeadlineMs);
      if (result.outcome === "acquired") break;
      // A conflict only means another replica wrote first.
      if (result.outcome === "failed" && result.conflict)
        this.#logger.debug(`lost a race for the Lease: ${result.reason}`);
      else if (result.outcome === "failed")
        this.#logger.warn(`could not acquire the leader Lease: ${result.reason}`);
      await this.#sleep(jitteredMs(this.#retryPeriodMs, JITTER_FACTOR - 1, Math.random()));
    }
    if (!this.#lease || this.#lease.spec?.holderIdentity !== this.identity) return "stopped";
    if (this.#stopping) {
      // release() came while the acquiring write was in flight: hand the Lease straight back.
      if (this.#abandoning) this.#stopLeading("abandoned");
      else await this.#releaseLease();
      return "stopped";
    }
    this.#startLeading();

    for (;;) {
      await this.#sleep(this.#retryPeriodMs);
      if (this.#stopping) {
        if (this.#abandoning) {
          this.#stopLeading("abandoned");
          return "abandoned";
        }
        await this.#releaseLease();
        return "released";
      }
      // assertFreshLease() found the Lease stale.
      if (!this.#leading) return "lost";
      const failure = await this.#renew();
      if (!this.#leading) return "lost";
      if (this.#stopping && failure === undefined) continue;
      if (failure !== undefined) {
        this.#stopLeading(failure);
        return "lost";
      }
    }
  }

  /** Renews until it succeeds or the deadline passes; returns why it failed, if it did. */
  async #renew(): Promise<string | undefined> {
    const deadline = this.#lastRenewAt + this.#renewDeadlineMs;
    let lastReason = "no attempt was made";
    for (;;) {
      if (performance.now() >= deadline) {
        return `could not renew the Lease within renewDeadline (${this.#renewDeadlineMs} ms): ${lastReason}`;
      }
      const result = await this.#attempt(deadline);
      if (result.outcome === "acquired") return undefined;
      if (result.outcome === "held") return `the Lease is now held by ${result.holder}`;
      if (result.outcome === "declined") return "the Lease is no longer this replica's";
      lastReason = result.reason;
      this.#logger.warn(`renewing the leader Lease failed: ${result.reason}`);
      if (this.#stopping) return undefined;
      await this.#sleep(Math.min(this.#retryPeriodMs / 2, Math.max(0, deadline - performance.now())));
    }
  }

  /**
   * One read-decide-write round, abandoned at `deadline` (the request is aborted, and a
   * late answer is ignored: the Lease copy and renew time are only updated here).
   */
  async #attempt(deadline: number): Promise<AttemptResult> {
    const remainingMs = timerDelay(Math.max(1, deadline - performance.now()));
    const startedAt = performance.now();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<AttemptResult>((resolve) => {
      timer = setTimeout(
        () =>
          resolve({ outcome: "failed", reason: `no answer from the API server within ${remainingMs} ms` }),
        remainingMs,
      );
    });
    const result = await Promise.race([this.#tryAcquireOrRenew(AbortSignal.timeout(remainingMs)), timedOut]);
    clearTimeout(timer);
    if (result.outcome === "acquired") {
      this.#lease = result.lease;
      this.#observe(result.lease);
      this.#lastRenewAt = startedAt;
    } else if (result.outcome === "held") {
      this.#lease = result.lease;
      this.#observe(result.lease);
    } else if (result.outcome === "declined") {
      if (result.lease) this.#observe(result.lease);
      this.#lease = result.lease;
    } else if (result.conflict) {
      // Our copy is stale: read again next time.
      this.#lease = undefined;
    }
    return result;
  }

  async #tryAcquireOrRenew(signal: AbortSignal): Promise<AttemptResult> {
    const { coordination, namespace, name } = this.#options;
    const options = abortWith(signal);
    const now = new Date();
    // While leading, the last written copy is current unless a write conflicts.
    let current = this.#leading ? this.#lease : undefined;
    if (!current) {
      try {
        current = await coordination.readNamespacedLease({ name, namespace }, options);
      } catch (error) {
        if (apiStatusCode(error) !== 404)
          return { outcome: "failed", reason: `read: ${describeApiError(error)}` };
      }
    }
    if (!current) {
      this.#missingSince ??= performance.now();
      const missingForMs = performance.now() - this.#missingSince;
      if (this.#options.mayAcquire?.({ holder: "", unchangedForMs: missingForMs }) === false)
        return { outcome: "declined" };
      const body: V1Lease = {
        apiVersion: "coordination.k8s.io/v1",
        kind: "Lease",
        metadata: { name, namespace },
        spec: {
          holderIdentity: this.identity,
          leaseDurationSeconds: this.#leaseDurationSeconds,
          acquireTime: toMicroTime(now),
          renewTime: toMicroTime(now),
          leaseTransitions: 0,
        },
      };
      try {
        return {
          outcome: "acquired",
          lease: await coordination.createNamespacedLease({ namespace, body }, options),
        };
      } catch (error) {
        const conflict = apiStatusCode(error) === 409;
        return { outcome: "failed", reason: `create: ${describeApiError(error)}`, conflict };
      }
    }

    const holder = current.spec?.holderIdentity ?? "";
    if (holder && holder !== this.identity && !this.#isExpired(current)) {
      return { outcome: "held", lease: current, holder };
    }
    const ours = holder === this.identity;
    if (!ours && this.#options.mayAcquire) {
      this.#observe(current);
      if (!this.#options.mayAcquire({ holder, unchangedForMs: this.unchangedForMs() }))
        return { outcome: "declined", lease: current };
    }
    const spec = current.spec ?? {};
    const body: V1Lease = {
      ...current,
      spec: {
        ...spec,
        holderIdentity: this.identity,
        leaseDurationSeconds: this.#leaseDurationSeconds,
        // Read back, these are strings (see micro-time.ts); written, they must be MicroTime.
        acquireTime: toMicroTime(ours ? (parseMicroTime(spec.acquireTime) ?? now) : now),
        renewTime: toMicroTime(now),
        leaseTransitions: (spec.leaseTransitions ?? 0) + (ours ? 0 : 1),
      },
    };
    try {
      const lease = await coordination.replaceNamespacedLease({ name, namespace, body }, options);
      if (!ours) this.#logger.info({ previousHolder: holder || undefined }, "acquired the leader Lease");
      return { outcome: "acquired", lease };
    } catch (error) {
      const conflict = apiStatusCode(error) === 409;
      return { outcome: "failed", reason: `update: ${describeApiError(error)}`, conflict };
    }
  }

  /** Remembers when this replica first saw each version of the Lease record. */
  #observe(lease: V1Lease): void {
    const resourceVersion = lease.metadata?.resourceVersion ?? "";
    if (this.#observed?.resourceVersion === resourceVersion) return;
    const holder = lease.spec?.holderIdentity ?? "";
    const previousHolder = this.#observed?.holder;
    this.#observed = {
      resourceVersion,
      holder,
      observedAt: performance.now(),
      durationMs: (lease.spec?.leaseDurationSeconds ?? this.#leaseDurationSeconds) * 1000,
    };
    if (holder && holder !== previousHolder) {
      if (holder !== this.identity) this.#logger.info({ leader: holder }, `the leader is ${holder}`);
      try {
        this.#options.onNewLeader?.(holder);
      } catch (error) {
        this.#logger.error({ err: error }, "onNewLeader threw");
      }
    }
  }

  /** Expired when unchanged for a lease duration since this replica first saw it. */
  #isExpired(lease: V1Lease): boolean {
    this.#observe(lease);
    const observed = this.#observed;
    return observed !== undefined && performance.now() >= observed.observedAt + observed.durationMs;
  }

  #startLeading(): void {
    this.#leading = true;
    this.#leadership = new AbortController();
    this.#logger.info("started leading");
    try {
      this.#options.onStartedLeading(this.#leadership.signal);
    } catch (error) {
      this.#logger.error({ err: error }, "onStartedLeading threw");
    }
  }

  #stopLeading(reason: string): void {
    if (!this.#leading) return;
    this.#leading = false;
    this.#leadership?.abort(new Error(reason));
    if (reason === "released") this.#logger.info("stopped leading: releasing the Lease");
    else if (reason === "abandoned")
      this.#logger.warn("stopped leading: the Lease is left to expire (work was still running)");
    else this.#logger.warn({ reason }, `stopped leading: ${reason}`);
    try {
      this.#options.onStoppedLeading(reason);
    } catch (error) {
      this.#logger.error({ err: error }, "onStoppedLeading threw");
    }
  }

  /** Stops leading (if it was), then clears holderIdentity if the Lease is still ours. */
  async #releaseLease(): Promise<void> {
    this.#stopLeading("released");
    const { coordination, namespace, name } = this.#options;
    for (let attempt = 0; attempt < 2; attempt++) {
      const options = abortWith(AbortSignal.timeout(timerDelay(this.#renewDeadlineMs)));
      try {
        const current = this.#lease ?? (await coordination.readNamespacedLease({ name, namespace }, options));
        if (current.spec?.holderIdentity !== this.identity) return;
        const now = toMicroTime(new Date());
        const body: V1Lease = {
          ...current,
          // client-go's release record: nobody holds it, and it would expire in a second anyway.
          spec: {
            ...current.spec,
            holderIdentity: "",
            leaseDurationSeconds: 1,
            acquireTime: now,
            renewTime: now,
          },
        };
        this.#lease = await coordination.replaceNamespacedLease({ name, namespace, body }, options);
        this.#logger.info("released the leader Lease");
        return;
      } catch (error) {
        this.#lease = undefined;
        if (apiStatusCode(error) === 409) continue;
        this.#logger.warn(
          `could not release the leader Lease (it expires on its own): ${describeApiError(error)}`,
        );
        return;
      }
    }
  }

  #sleep(ms: number): Promise<void> {
    return this.#stopping ? Promise.resolve() : this.#sleeper.sleep(ms);
  }
}
