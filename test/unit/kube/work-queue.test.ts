// Queue semantics with real (short) timers: no fake clocks, no doubles.
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { WorkQueue } from "../../../src/kube/work-queue.ts";
import type { ReconcileResult } from "../../../src/kube/work-queue.ts";

const logger = pino({ level: "silent" });
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function until(condition: () => boolean, timeoutMs = 2_000): Promise<void> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(2);
  }
}

/** A promise the test settles by hand. */
function gate() {
  let open: () => void = () => {};
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

const queues: WorkQueue[] = [];
function queue(options: Partial<ConstructorParameters<typeof WorkQueue>[0]> = {}): WorkQueue {
  const created = new WorkQueue({ logger, ...options });
  queues.push(created);
  return created;
}

afterEach(async () => {
  await Promise.all(queues.splice(0).map((created) => created.shutdown(1_000)));
});

describe("work queue", () => {
  it("given a key added three times before a worker is free, reconciles it once", async () => {
    const q = queue();
    q.add("team-a/web");
    q.add("team-a/web");
    q.add("team-a/api");
    q.add("team-a/web");
    expect(q.depth).toBe(2);

    const seen: string[] = [];
    q.start(async (key) => {
      seen.push(key);
    });
    await until(() => seen.length === 2);
    await sleep(20);
    expect(seen).toEqual(["team-a/web", "team-a/api"]);
    expect(q.depth).toBe(0);
  });

  it("never reconciles one key twice at once; an add during the reconcile runs it again afterwards", async () => {
    const q = queue({ workers: 4 });
    const first = gate();
    let running = 0;
    let maxRunning = 0;
    let calls = 0;
    q.start(async () => {
      calls++;
      running++;
      maxRunning = Math.max(maxRunning, running);
      if (calls === 1) await first.opened;
      running--;
    });
    q.add("team-a/web");
    await until(() => calls === 1);
    // While in flight: further adds collapse into one follow-up reconcile.
    q.add("team-a/web");
    q.add("team-a/web");
    expect(q.depth).toBe(0);
    await sleep(20);
    expect(calls).toBe(1);

    first.open();
    await until(() => calls === 2);
    await sleep(20);
    expect(calls).toBe(2);
    expect(maxRunning).toBe(1);
  });

  it("runs at most N reconciles at once", async () => {
    const q = queue({ workers: 3 });
    const release = gate();
    let running = 0;
    let maxRunning = 0;
    let done = 0;
    q.start(async () => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      await release.opened;
      running--;
      done++;
    });
    for (let index = 0; index < 8; index++) q.add(`team-a/app-${index}`);
    await until(() => running === 3);
    expect(q.stats()).toMatchObject({ depth: 5, inFlight: 3 });
    release.open();
    await until(() => done === 8);
    expect(maxRunning).toBe(3);
  });

  it("addAfter keeps the soonest time for a key", async () => {
    const q = queue();
    const times: number[] = [];
    const started = Date.now();
    q.start(async () => {
      times.push(Date.now() - started);
    });

    q.addAfter("team-a/web", 400);
    q.addAfter("team-a/web", 30);
    q.addAfter("team-a/web", 200);
    expect(q.stats().delayed).toBe(1);
    await until(() => times.length === 1);
    await sleep(450);
    expect(times).toHaveLength(1);
    expect(times[0]).toBeGreaterThanOrEqual(25);
    // Well before the 200 and 400 ms alternatives.
    expect(times[0]).toBeLessThan(180);
  });

  it("a reconcile that asks to be requeued after a while is", async () => {
    const q = queue();
    const times: number[] = [];
    const started = Date.now();
    q.start(async (): Promise<ReconcileResult | void> => {
      times.push(Date.now() - started);
      if (times.length === 1) return { requeueAfterMs: 60 };
    });
    q.add("team-a/web");
    await until(() => times.length === 2);
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(55);
  });

  it("backs off failing keys exponentially with jitter, and a success forgets the failures", async () => {
    const q = queue({ backoff: { initialDelayMs: 20, maxDelayMs: 1_000 } });
    const times: number[] = [];
    q.start(async (key) => {
      times.push(Date.now());
      if (times.length <= 4) throw new Error(`reconcile ${key} failed on purpose`);
    });
    q.add("team-a/web");
    await until(() => times.length === 5, 3_000);
    const gaps = times.slice(1).map((time, index) => time - times[index]!);
    // Equal jitter: retry n waits between ceiling/2 and ceiling, ceiling = 20 × 2^n.
    [20, 40, 80, 160].forEach((ceiling, index) => {
      expect(gaps[index]).toBeGreaterThanOrEqual(ceiling / 2 - 2);
      // Generous above: timers only promise "not before".
      expect(gaps[index]).toBeLessThan(ceiling + 150);
    });
    await sleep(10);
    expect(q.retries("team-a/web")).toBe(0);
  });

  it("given a reconcile whose write conflicted, tries again after the key's backoff, not at once, and without a failure's warning", async () => {
    const q = queue({ backoff: { initialDelayMs: 200, maxDelayMs: 1_000 } });
    const times: number[] = [];
    q.start(async () => {
      times.push(Date.now());
      // A stale cache: the status write conflicts twice before the cache catches up.
      if (times.length <= 2) return { retryWithBackoff: true };
      return {};
    });
    q.add("team-a/web");
    await until(() => times.length === 3, 3_000);
    const gaps = times.slice(1).map((time, index) => time - times[index]!);
    // Equal jitter: between half the ceiling and the ceiling (200, then 400).
    expect(gaps[0]).toBeGreaterThanOrEqual(98);
    expect(gaps[1]).toBeGreaterThanOrEqual(198);
    await sleep(10);
    expect(q.retries("team-a/web")).toBe(0);
  });

  it("given a conflicted reconcile whose key changed meanwhile (the watch caught up), runs it again at once", async () => {
    const q = queue({ backoff: { initialDelayMs: 5_000, maxDelayMs: 10_000 } });
    const times: number[] = [];
    q.start(async (key) => {
      times.push(Date.now());
      if (times.length === 1) {
        q.add(key); // the watch event of the newer version arrives during the reconcile
        return { retryWithBackoff: true };
      }
      return {};
    });
    q.add("team-a/web");
    await until(() => times.length === 2, 2_000);
    expect(times[1]! - times[0]!).toBeLessThan(1_000);
  });

  it("counts rate-limited adds per key until forget()", () => {
    const q = queue({ backoff: { initialDelayMs: 10_000, maxDelayMs: 60_000 } });
    q.addRateLimited("team-a/web");
    q.addRateLimited("team-a/web");
    q.addRateLimited("team-a/api");
    expect(q.retries("team-a/web")).toBe(2);
    expect(q.stats()).toMatchObject({ delayed: 2, failing: 2 });
    q.forget("team-a/web");
    expect(q.retries("team-a/web")).toBe(0);
    expect(q.stats().failing).toBe(1);
  });

  it("shutdown drains the reconciles in flight, drops queued keys and ignores later adds", async () => {
    const q = queue({ workers: 1 });
    const release = gate();
    const finished: string[] = [];
    q.start(async (key) => {
      await release.opened;
      finished.push(key);
    });
    q.add("team-a/in-flight");
    q.add("team-a/queued");
    q.addAfter("team-a/delayed", 20);
    await until(() => q.stats().inFlight === 1);

    let drained = false;
    const shutdown = q.shutdown().then((result) => (drained = result));
    q.add("team-a/late");
    expect(q.stats()).toEqual({ depth: 0, inFlight: 1, delayed: 0, failing: 0 });
    await sleep(30);
    expect(drained).toBe(false);

    release.open();
    await shutdown;
    expect(drained).toBe(true);
    await sleep(40);
    expect(finished).toEqual(["team-a/in-flight"]);
  });

  it("shutdown gives up waiting after its timeout", async () => {
    const q = queue();
    const never = gate();
    q.start(() => never.opened);
    q.add("team-a/stuck");
    await until(() => q.stats().inFlight === 1);
    expect(await q.shutdown(30)).toBe(false);
    never.open();
  });

  it("rejects a nonsensical worker count", () => {
    expect(() => new WorkQueue({ logger, workers: 0 })).toThrow(/workers must be/);
  });
});

describe("work queue of a sharded controller", () => {
  it("turns away the keys it does not accept, now or later", async () => {
    const ours = new Set(["team-a/web"]);
    const q = queue({ accepts: (key) => ours.has(key) });
    const seen: string[] = [];
    q.add("team-a/web");
    q.add("team-b/api");
    q.addAfter("team-b/api", 5);
    q.start(async (key) => {
      seen.push(key);
    });
    await until(() => seen.length === 1);
    await sleep(30);
    expect(seen).toEqual(["team-a/web"]);
  });

  it("drops the queued and delayed keys of a shard it no longer holds, and keeps the rest", async () => {
    const q = queue();
    q.add("team-a/web");
    q.add("team-b/api");
    q.addAfter("team-b/worker", 20);
    expect(q.drop((key) => key.startsWith("team-b/"))).toBe(2);
    const seen: string[] = [];
    q.start(async (key) => {
      seen.push(key);
    });
    await until(() => seen.length === 1);
    await sleep(50);
    expect(seen).toEqual(["team-a/web"]);
  });
});
