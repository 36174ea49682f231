import type { Measurement, ReleaseStatus } from "../api/index.ts";
import type { AnalysisRound } from "../analysis/index.ts";
import { analysedStageOf, isSameStage, type AnalysedStage } from "../engine/index.ts";

/** A round's measurements with the stage they were asked for. */
export interface StageRound {
  stage: AnalysedStage;
  round: AnalysisRound;
}

/**
 * Whether a round still counts for the release as `status` has it: taken for the stage it
 * analyses now. A round asked for a stage the release has left since (a promote, a
 * rollback, the bake) measured something else and is dropped, whenever it arrives.
 */
export function roundCountsFor(stageRound: StageRound, status: ReleaseStatus | undefined): boolean {
  return isSameStage(stageRound.stage, analysedStageOf(status));
}

/**
 * Measurements taken for a release but not yet folded into its status. They live in
 * memory only: after a restart the engine, finding no new measurements, asks for
 * another round, so nothing is lost but a few seconds; the status, written by the
 * reconcile that folds them, is where a measurement is counted, once.
 */
export class MeasurementInbox {
  readonly #rounds = new Map<string, StageRound[]>();

  add(key: string, stageRound: StageRound): void {
    const rounds = this.#rounds.get(key) ?? [];
    rounds.push(stageRound);
    // Keep a few rounds at most: a release that cannot write its status must not grow memory.
    this.#rounds.set(key, rounds.slice(-5));
  }

  /** The rounds of the stage `status` analyses; the engine's watermark skips those already folded. */
  pending(key: string, status: ReleaseStatus | undefined): AnalysisRound[] {
    return (this.#rounds.get(key) ?? [])
      .filter((stageRound) => roundCountsFor(stageRound, status))
      .map((stageRound) => stageRound.round);
  }

  /** Drops the rounds the stored status has folded in (at or before its last analysis) or no longer counts. */
  consumed(key: string, status: ReleaseStatus): void {
    const folded = status.currentStage?.lastAnalysisAt;
    const rounds = this.#rounds.get(key);
    if (!rounds) return;
    const left = rounds.filter(
      (stageRound) =>
        roundCountsFor(stageRound, status) &&
        (folded === undefined || Date.parse(stageRound.round.at) > Date.parse(folded)),
    );
    if (left.length === 0) this.#rounds.delete(key);
    else this.#rounds.set(key, left);
  }

  forget(key: string): void {
    this.#rounds.delete(key);
  }
}

/** The measurements and queries of rounds, as the engine observes them. */
export function observedRounds(rounds: readonly AnalysisRound[]): {
  measurements: Measurement[];
  queries: Record<string, string>;
} {
  return {
    measurements: rounds.flatMap((round) => round.measurements),
    queries: Object.assign({}, ...rounds.map((round) => round.queries)) as Record<string, string>,
  };
}
