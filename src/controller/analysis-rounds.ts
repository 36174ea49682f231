import type { Logger } from "pino";
import type { AnalysisRound } from "../analysis/index.ts";
import type { AnalysedStage } from "../engine/index.ts";

// Analysis rounds run beside the reconciles, not inside them: a Prometheus that answers
// slowly (or not at all, until the client's time limit) must never hold a Release's key,
// because the work queue runs one reconcile per key at a time and a rollback trigger (an
// alert, an abort, the canary's health, a deletion) would wait behind the round. The
// reconcile starts a round and returns; the round's measurements land in the
// MeasurementInbox and the Release is reconciled again to fold them into its status.

/**
 * Rounds running at once across all Releases; more wait for a free slot, in order. A round
 * measured wholly by queries shared with other Releases (query-batcher.ts) takes no slot:
 * it adds no query of its own, and waiting for a slot would keep it out of the shared query.
 */
export const MAX_ROUNDS_IN_FLIGHT = 8;

export interface AnalysisRoundsOptions {
  /** Default MAX_ROUNDS_IN_FLIGHT. */
  maxInFlight?: number;
  /** A round finished (not cancelled): its measurements, for the inbox. */
  onRound(key: string, stage: AnalysedStage, round: AnalysisRound): void;
  /** A round ended without being cancelled (finished or failed): reconcile the Release again. */
  onEnded(key: string): void;
  logger: Logger;
}

/** Runs one round; `signal` is aborted when the round is cancelled. */
export type RunRound = (signal: AbortSignal) => Promise<AnalysisRound>;

interface Round {
  stage: AnalysedStage;
  run: RunRound;
  abort: AbortController;
  started: boolean;
  /** Whether it counts against maxInFlight (it runs queries of its own). */
  slot: boolean;
}

/** At most one round per Release, at most `maxInFlight` running across Releases, each cancellable. */
export class AnalysisRounds {
  readonly #options: AnalysisRoundsOptions;
  readonly #maxInFlight: number;
  readonly #rounds = new Map<string, Round>();
  /** Keys whose round waits for a slot, oldest first. */
  readonly #waiting: string[] = [];
  #running = 0;
  #stopped = false;

  constructor(options: AnalysisRoundsOptions) {
    this.#options = options;
    this.#maxInFlight = options.maxInFlight ?? MAX_ROUNDS_IN_FLIGHT;
    if (!Number.isInteger(this.#maxInFlight) || this.#maxInFlight < 1)
      throw new Error(`analysis rounds: maxInFlight must be a whole number ≥ 1, not ${this.#maxInFlight}`);
  }

  /** The stage of the Release's round running or waiting for a slot, if any. */
  inFlight(key: string): AnalysedStage | undefined {
    return this.#rounds.get(key)?.stage;
  }

  /**
   * Starts a round for the Release unless one is already in flight; returns whether it did.
   * `shared`: every query of the round is shared with other Releases' rounds, so it starts
   * at once, without a slot.
   */
  start(key: string, stage: AnalysedStage, run: RunRound, options: { shared?: boolean } = {}): boolean {
    if (this.#stopped || this.#rounds.has(key)) return false;
    const shared = options.shared ?? false;
    const round: Round = { stage, run, abort: new AbortController(), started: shared, slot: !shared };
    this.#rounds.set(key, round);
    if (shared) {
      void this.#run(key, round);
      return true;
    }
    this.#waiting.push(key);
    this.#dispatch();
    return true;
  }

  /** Cancels the Release's round (its result, if any comes, is dropped); returns whether there was one. */
  cancel(key: string, reason: string): boolean {
    const round = this.#rounds.get(key);
    if (!round) return false;
    this.#rounds.delete(key);
    const waiting = this.#waiting.indexOf(key);
    if (waiting >= 0) this.#waiting.splice(waiting, 1);
    round.abort.abort(new Error(reason));
    if (round.started) this.#options.logger.debug({ key, reason }, "analysis round cancelled");
    return true;
  }

  /** Cancels every round and starts no more (the controller stops). */
  stop(reason: string): void {
    this.#stopped = true;
    for (const key of [...this.#rounds.keys()]) this.cancel(key, reason);
  }

  /** Rounds running in a slot and waiting for one, for tests and logs. */
  stats(): { running: number; waiting: number } {
    return { running: this.#running, waiting: this.#waiting.length };
  }

  #dispatch(): void {
    while (this.#running < this.#maxInFlight) {
      const key = this.#waiting.shift();
      if (key === undefined) return;
      const round = this.#rounds.get(key);
      if (!round) continue;
      round.started = true;
      this.#running++;
      void this.#run(key, round);
    }
  }

  async #run(key: string, round: Round): Promise<void> {
    let result: AnalysisRound | undefined;
    try {
      result = await round.run(round.abort.signal);
    } catch (error) {
      // runAnalysis turns every query failure into a measurement; anything else is a bug,
      // and the next reconcile asks for the round again.
      if (!round.abort.signal.aborted)
        this.#options.logger.warn({ key, err: error }, `analysis round failed: ${(error as Error).message}`);
    }
    if (round.slot) this.#running--;
    // Cancelled (or replaced after a cancel): whoever cancelled it has moved on.
    const current = this.#rounds.get(key) === round && !round.abort.signal.aborted;
    if (current) {
      this.#rounds.delete(key);
      if (result) this.#options.onRound(key, round.stage, result);
      this.#options.onEnded(key);
    }
    this.#dispatch();
  }
}
