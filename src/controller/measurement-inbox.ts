import type { Measurement, ReleaseStatus } from "../api/index.ts";
import type { AnalysisRound } from "../analysis/index.ts";

/**
 * Measurements taken for a release but not yet folded into its status. They live in
 * memory only: after a restart the engine, finding no new measurements, asks for
 * another round, so nothing is lost but a few seconds.
 */
export class MeasurementInbox {
  readonly #rounds = new Map<string, AnalysisRound[]>();

  add(key: string, round: AnalysisRound): void {
    const rounds = this.#rounds.get(key) ?? [];
    rounds.push(round);
    // Keep a few rounds at most: a release that cannot write its status must not grow memory.
    this.#rounds.set(key, rounds.slice(-5));
  }

  pending(key: string): Measurement[] {
    return (this.#rounds.get(key) ?? []).flatMap((round) => round.measurements);
  }

  queries(key: string): Record<string, string> {
    return Object.assign({}, ...(this.#rounds.get(key) ?? []).map((round) => round.queries));
  }

  /** Drops the rounds the stored status has folded in (those at or before its last analysis). */
  consumed(key: string, status: ReleaseStatus): void {
    const folded = status.currentStage?.lastAnalysisAt;
    const rounds = this.#rounds.get(key);
    if (!rounds) return;
    const left =
      folded === undefined ? rounds : rounds.filter((round) => Date.parse(round.at) > Date.parse(folded));
    if (left.length === 0) this.#rounds.delete(key);
    else this.#rounds.set(key, left);
  }

  forget(key: string): void {
    this.#rounds.delete(key);
  }
}
