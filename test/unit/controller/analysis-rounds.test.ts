import { pino } from "pino";
import { describe, expect, it } from "vitest";
import type { AnalysisRound } from "../../../src/analysis/index.ts";
import { AnalysisRounds } from "../../../src/controller/analysis-rounds.ts";
import type { AnalysedStage } from "../../../src/engine/index.ts";

// Rounds beside the reconcile: one per Release, a bounded number across Releases, each
// cancellable, and a cancelled round's result reaches nobody.

const stage: AnalysedStage = { index: 0, startedAt: "2026-03-01T12:00:00.000Z", subject: "canary" };
const round = (at: string): AnalysisRound => ({ at, measurements: [], queries: {} });

/** A round that ends when the test says, or when it is cancelled. */
function heldRound() {
  let finish!: (value: AnalysisRound) => void;
  let seenSignal: AbortSignal | undefined;
  let started = false;
  const run = (signal: AbortSignal) => {
    started = true;
    seenSignal = signal;
    return new Promise<AnalysisRound>((resolve, reject) => {
      finish = resolve;
      signal.addEventListener("abort", () => reject(signal.reason as Error), { once: true });
    });
  };
  return {
    run,
    finish: (at: string) => finish(round(at)),
    get started() {
      return started;
    },
    get signal() {
      return seenSignal;
    },
  };
}

function rounds(maxInFlight = 8) {
  const delivered: string[] = [];
  const woken: string[] = [];
  const runner = new AnalysisRounds({
    maxInFlight,
    onRound: (key, _stage, result) => delivered.push(`${key} ${result.at}`),
    onEnded: (key) => woken.push(key),
    logger: pino({ level: "silent" }),
  });
  return { runner, delivered, woken };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe("analysis rounds beside the reconcile", () => {
  it("runs one round per Release: a second request while one runs starts nothing", async () => {
    const { runner, delivered, woken } = rounds();
    const first = heldRound();
    const second = heldRound();
    expect(runner.start("shop/a", stage, first.run)).toBe(true);
    expect(runner.start("shop/a", stage, second.run)).toBe(false);
    expect(runner.inFlight("shop/a")).toEqual(stage);
    expect(second.started).toBe(false);

    first.finish("2026-03-01T12:00:02.000Z");
    await settle();
    expect(delivered).toEqual(["shop/a 2026-03-01T12:00:02.000Z"]);
    expect(woken).toEqual(["shop/a"]);
    expect(runner.inFlight("shop/a")).toBeUndefined();
  });

  it("cancels a hung round at once: its signal aborts, nothing is delivered, the Release is free for the next", async () => {
    const { runner, delivered, woken } = rounds();
    const hung = heldRound();
    runner.start("shop/a", stage, hung.run);
    expect(runner.cancel("shop/a", "rolling back")).toBe(true);
    expect(hung.signal?.aborted).toBe(true);
    expect(runner.inFlight("shop/a")).toBeUndefined();

    const next = heldRound();
    expect(runner.start("shop/a", stage, next.run)).toBe(true);
    await settle();
    expect(delivered).toEqual([]);
    expect(woken).toEqual([]);
    next.finish("2026-03-01T12:00:09.000Z");
    await settle();
    expect(delivered).toEqual(["shop/a 2026-03-01T12:00:09.000Z"]);
  });

  it("once stopped, cancels what runs and starts nothing more", async () => {
    const { runner, delivered, woken } = rounds();
    const hung = heldRound();
    runner.start("shop/a", stage, hung.run);
    runner.stop("the controller is stopping");
    expect(hung.signal?.aborted).toBe(true);
    const later = heldRound();
    expect(runner.start("shop/b", stage, later.run)).toBe(false);
    await settle();
    expect([later.started, delivered, woken]).toEqual([false, [], []]);
  });

  it("runs at most maxInFlight rounds across Releases; the others wait in order, and a cancelled waiter never starts", async () => {
    const { runner, delivered } = rounds(2);
    const [a, b, c, d] = [heldRound(), heldRound(), heldRound(), heldRound()];
    runner.start("shop/a", stage, a.run);
    runner.start("shop/b", stage, b.run);
    runner.start("shop/c", stage, c.run);
    runner.start("shop/d", stage, d.run);
    expect([a.started, b.started, c.started, d.started]).toEqual([true, true, false, false]);
    expect(runner.stats()).toEqual({ running: 2, waiting: 2 });

    runner.cancel("shop/c", "the release was deleted");
    a.finish("2026-03-01T12:00:03.000Z");
    await settle();
    expect([c.started, d.started]).toEqual([false, true]);
    expect(runner.stats()).toEqual({ running: 2, waiting: 0 });
    b.finish("2026-03-01T12:00:04.000Z");
    d.finish("2026-03-01T12:00:05.000Z");
    await settle();
    expect(delivered.sort()).toEqual([
      "shop/a 2026-03-01T12:00:03.000Z",
      "shop/b 2026-03-01T12:00:04.000Z",
      "shop/d 2026-03-01T12:00:05.000Z",
    ]);
  });

  it("starts a round measured wholly by shared queries at once, without a slot, and still one per Release", async () => {
    const { runner, delivered, woken } = rounds(1);
    const [own, sharedA, sharedB, again] = [heldRound(), heldRound(), heldRound(), heldRound()];
    runner.start("shop/own", stage, own.run);
    expect(runner.start("shop/a", stage, sharedA.run, { shared: true })).toBe(true);
    expect(runner.start("shop/b", stage, sharedB.run, { shared: true })).toBe(true);
    expect(runner.start("shop/a", stage, again.run, { shared: true })).toBe(false);
    expect([own.started, sharedA.started, sharedB.started, again.started]).toEqual([true, true, true, false]);
    expect(runner.stats()).toEqual({ running: 1, waiting: 0 });

    runner.cancel("shop/b", "the release left its stage");
    expect(sharedB.signal?.aborted).toBe(true);
    sharedA.finish("2026-03-01T12:00:06.000Z");
    await settle();
    expect(delivered).toEqual(["shop/a 2026-03-01T12:00:06.000Z"]);
    expect(woken).toEqual(["shop/a"]);
    // The slot was never the shared rounds': the own round still holds it.
    expect(runner.stats()).toEqual({ running: 1, waiting: 0 });
  });
});
