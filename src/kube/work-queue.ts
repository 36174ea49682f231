// A keyed work queue with client-go's workqueue semantics: a key is queued at most
// once, a key is never reconciled by two workers at once (one added while in flight is
// queued again when that reconcile finishes), delayed adds keep the soonest time, and
// failures back off per key. Keys only: the reconcile reads the current object itself.
import type { Logger } from "pino";
import { backoffDelayMs } from "./backoff.ts";
import type { BackoffPolicy } from "./backoff.ts";
import { describeApiError } from "./errors.ts";
import { LONGEST_REQUEUE_MS, timerDelay } from "./timer-delay.ts";

/** What a reconcile asks for next; nothing means "done until something changes". */
export interface ReconcileResult {
  /** Reconcile this key again after this long (and forget its failures). */
  requeueAfterMs?: number;
  /**
   * Reconcile again after the key's next backoff delay, as after a failure but without
   * a warning: e.g. a write conflicted because the cache is behind. The watch event that
   * brings the newer object queues the key sooner; the backoff is for when none comes.
   */
  retryWithBackoff?: boolean;
}

export type Reconcile = (key: string) => Promise<ReconcileResult | void>;

export interface WorkQueueOptions {
  /** Default 2. */
  workers?: number;
  /** Per-key backoff for addRateLimited and failed reconciles. Default 1 s doubling to 5 min. */
  backoff?: BackoffPolicy;
  logger: Logger;
  /** For log lines. */
  name?: string;
  /** Keys it turns away at add (sharded controllers: Releases of shards held elsewhere). Default: all taken. */
  accepts?: (key: string) => boolean;
}

export interface WorkQueueStats {
  /** Keys ready and waiting for a worker. */
  depth: number;
  /** Keys being reconciled. */
  inFlight: number;
  /** Keys waiting for a delayed add (addAfter, backoff). */
  delayed: number;
  /** Keys with failures not yet forgotten. */
  failing: number;
}

export const DEFAULT_QUEUE_BACKOFF: BackoffPolicy = { initialDelayMs: 1_000, maxDelayMs: 5 * 60_000 };

export class WorkQueue {
  readonly #workers: number;
  readonly #backoff: BackoffPolicy;
  readonly #logger: Logger;
  /** Ready keys in arrival order; a Set keeps order and dedupes. */
  readonly #ready = new Set<string>();
  readonly #inFlight = new Set<string>();
  /** Keys added while in flight: queued again when their reconcile finishes. */
  readonly #dirtyInFlight = new Set<string>();
  readonly #delayed = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  readonly #failures = new Map<string, number>();
  #reconcile: Reconcile | undefined;
  readonly #accepts: (key: string) => boolean;
  #shuttingDown = false;
  #drained: (() => void) | undefined;

  constructor(options: WorkQueueOptions) {
    const workers = options.workers ?? 2;
    if (!Number.isInteger(workers) || workers < 1) {
      throw new Error(`work queue ${options.name ?? ""}: workers must be a whole number ≥ 1, not ${workers}`);
    }
    this.#workers = workers;
    this.#accepts = options.accepts ?? (() => true);
    this.#backoff = options.backoff ?? DEFAULT_QUEUE_BACKOFF;
    // Fail at construction, not at the first failure.
    backoffDelayMs(0, this.#backoff, 0);
    this.#logger = options.name ? options.logger.child({ queue: options.name }) : options.logger;
  }

  /** Starts handing keys to `reconcile`, at most `workers` at a time. Call once. */
  start(reconcile: Reconcile): void {
    if (this.#reconcile) throw new Error("work queue already started");
    if (this.#shuttingDown) throw new Error("work queue is shut down");
    this.#reconcile = reconcile;
    this.#dispatch();
  }

  /** Queues `key` unless it is already queued. Ignored after shutdown. */
  add(key: string): void {
    if (this.#shuttingDown || !this.#accepts(key)) return;
    if (this.#inFlight.has(key)) {
      this.#dirtyInFlight.add(key);
      return;
    }
    this.#ready.add(key);
    this.#dispatch();
  }

  /** Queues `key` after `delayMs`; if it is already waiting, the sooner time wins. */
  addAfter(key: string, delayMs: number): void {
    if (this.#shuttingDown || !this.#accepts(key)) return;
    // A far deadline is looked at again within the hour and recomputed, never overflows a
    // timer; a NaN (a bug) waits the hour rather than spinning.
    const delay = timerDelay(delayMs, LONGEST_REQUEUE_MS);
    if (delay === 0) {
      this.add(key);
      return;
    }
    const at = Date.now() + delay;
    const waiting = this.#delayed.get(key);
    if (waiting) {
      if (waiting.at <= at) return;
      clearTimeout(waiting.timer);
    }
    const timer = setTimeout(() => {
      this.#delayed.delete(key);
      this.add(key);
    }, delay);
    this.#delayed.set(key, { at, timer });
  }

  /** Queues `key` after its next backoff delay (exponential per key, jittered). */
  addRateLimited(key: string): void {
    if (this.#shuttingDown) return;
    const failures = this.#failures.get(key) ?? 0;
    this.#failures.set(key, failures + 1);
    this.addAfter(key, backoffDelayMs(failures, this.#backoff, Math.random()));
  }

  /** Drops the queued and delayed keys that `which` picks (reconciles in flight run on); returns how many. */
  drop(which: (key: string) => boolean): number {
    let dropped = 0;
    for (const key of [...this.#ready, ...this.#dirtyInFlight]) {
      if (!which(key)) continue;
      dropped += Number(this.#ready.delete(key) || this.#dirtyInFlight.delete(key));
    }
    for (const [key, { timer }] of this.#delayed) {
      if (!which(key)) continue;
      clearTimeout(timer);
      this.#delayed.delete(key);
      dropped++;
    }
    for (const key of this.#failures.keys()) if (which(key)) this.#failures.delete(key);
    return dropped;
  }

  /** Resets `key`'s backoff (after a success). */
  forget(key: string): void {
    this.#failures.delete(key);
  }

  /** How many times `key` has been requeued with backoff since it was last forgotten. */
  retries(key: string): number {
    return this.#failures.get(key) ?? 0;
  }

  /** Keys ready and waiting for a worker (the queue-depth metric). */
  get depth(): number {
    return this.#ready.size;
  }

  stats(): WorkQueueStats {
    return {
      depth: this.#ready.size,
      inFlight: this.#inFlight.size,
      delayed: this.#delayed.size,
      failing: this.#failures.size,
    };
  }

  get isShuttingDown(): boolean {
    return this.#shuttingDown;
  }

  /**
   * Stops taking keys: queued and delayed keys are dropped, reconciles in flight finish.
   * Resolves true once they have, or false if `timeoutMs` passed first.
   */
  shutdown(timeoutMs?: number): Promise<boolean> {
    this.#shuttingDown = true;
    this.#ready.clear();
    this.#dirtyInFlight.clear();
    for (const { timer } of this.#delayed.values()) clearTimeout(timer);
    this.#delayed.clear();
    if (this.#inFlight.size === 0) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      const timer =
        timeoutMs === undefined
          ? undefined
          : setTimeout(() => {
              this.#logger.warn(
                { keys: [...this.#inFlight] },
                `work queue shut down with ${this.#inFlight.size} reconcile(s) still running after ${timeoutMs} ms`,
              );
              resolve(false);
            }, timerDelay(timeoutMs));
      const previous = this.#drained;
      this.#drained = () => {
        previous?.();
        clearTimeout(timer);
        resolve(true);
      };
    });
  }

  #dispatch(): void {
    const reconcile = this.#reconcile;
    if (!reconcile) return;
    while (!this.#shuttingDown && this.#inFlight.size < this.#workers) {
      const next = this.#ready.values().next();
      if (next.done) return;
      const key = next.value;
      this.#ready.delete(key);
      this.#inFlight.add(key);
      void this.#process(key, reconcile);
    }
  }

  async #process(key: string, reconcile: Reconcile): Promise<void> {
    const started = Date.now();
    let result: ReconcileResult | void = undefined;
    let failed = false;
    try {
      result = await reconcile(key);
    } catch (error) {
      failed = true;
      this.#logger.warn(
        { key, retries: this.retries(key), err: error, durationMs: Date.now() - started },
        `reconcile of ${key} failed, retrying with backoff: ${describeApiError(error)}`,
      );
    }
    this.#inFlight.delete(key);
    if (failed || result?.retryWithBackoff) {
      this.addRateLimited(key);
    } else {
      this.forget(key);
      if (result?.requeueAfterMs !== undefined) this.addAfter(key, result.requeueAfterMs);
    }
    if (this.#dirtyInFlight.delete(key)) this.add(key);
    if (this.#shuttingDown && this.#inFlight.size === 0) {
      const drained = this.#drained;
      this.#drained = undefined;
      drained?.();
    }
    this.#dispatch();
  }
}
