// Node fires a timer above 2^31−1 ms after 1 ms: every delay is clamped (issue 11, item 4).
import fc from "fast-check";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { InterruptibleSleep } from "../../../src/kube/interruptible-sleep.ts";
import { LONGEST_REQUEUE_MS, LONGEST_TIMER_MS, timerDelay } from "../../../src/kube/timer-delay.ts";
import { WorkQueue } from "../../../src/kube/work-queue.ts";

const HOUR = 3_600_000;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describe("timer delays", () => {
  it.each([
    [0, 0],
    [-5, 0],
    [1.2, 2],
    [250, 250],
    [LONGEST_TIMER_MS, LONGEST_TIMER_MS],
    [LONGEST_TIMER_MS + 1, LONGEST_TIMER_MS],
    [600 * HOUR, LONGEST_TIMER_MS],
    [1e16 * HOUR, LONGEST_TIMER_MS],
    [Number.POSITIVE_INFINITY, LONGEST_TIMER_MS],
    [Number.NaN, LONGEST_TIMER_MS],
  ])("turns %d ms into %d ms", (ms, expected) => {
    expect(timerDelay(ms)).toBe(expected);
  });

  it("never exceeds its ceiling, and a requeue never waits more than an hour", () => {
    expect(timerDelay(600 * HOUR, LONGEST_REQUEUE_MS)).toBe(HOUR);
    fc.assert(
      fc.property(fc.double(), fc.integer({ min: 0, max: 2 ** 40 }), (ms, ceiling) => {
        const delay = timerDelay(ms, ceiling);
        expect(Number.isInteger(delay)).toBe(true);
        expect(delay).toBeGreaterThanOrEqual(0);
        expect(delay).toBeLessThanOrEqual(Math.min(ceiling, LONGEST_TIMER_MS));
      }),
      { numRuns: 500 },
    );
  });
});

const queues: WorkQueue[] = [];
afterEach(async () => {
  await Promise.all(queues.splice(0).map((queue) => queue.shutdown(1_000)));
});

describe("long waits stay long", () => {
  it("given a requeue after 600h, the key is not reconciled at once (it waits, hourly at most)", async () => {
    const queue = new WorkQueue({ logger: pino({ level: "silent" }) });
    queues.push(queue);
    let reconciles = 0;
    queue.start(async () => {
      reconciles += 1;
      return { requeueAfterMs: 600 * HOUR };
    });
    queue.add("shop/checkout");
    await sleep(200);
    expect(reconciles).toBe(1);
    expect(queue.stats().delayed).toBe(1);
  });

  it("given a sleep of 600h, it does not end until woken", async () => {
    const sleeper = new InterruptibleSleep();
    let ended = false;
    const sleeping = sleeper.sleep(600 * HOUR).then(() => (ended = true));
    await sleep(100);
    expect(ended).toBe(false);
    sleeper.wake();
    await sleeping;
    expect(ended).toBe(true);
  });
});

describe("a requeue that is not a number", () => {
  it("waits rather than spins", async () => {
    const queue = new WorkQueue({ logger: pino({ level: "silent" }) });
    queues.push(queue);
    let reconciles = 0;
    queue.start(async () => {
      reconciles += 1;
      return { requeueAfterMs: Number.NaN };
    });
    queue.add("shop/checkout");
    await sleep(200);
    expect(reconciles).toBe(1);
  });
});
