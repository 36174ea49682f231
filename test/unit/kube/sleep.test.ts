// The one abortable sleep that retries and polling loops wait with (issue 14, item 4).
import { describe, expect, it } from "vitest";
import { sleep } from "../../../src/kube/interruptible-sleep.ts";

const HOUR = 3_600_000;

describe("the abortable sleep", () => {
  it("given no signal, waits the whole time and says so", async () => {
    const started = performance.now();
    expect(await sleep(20)).toBe(true);
    expect(performance.now() - started).toBeGreaterThanOrEqual(15);
  });

  it("given a signal that aborts during a 600h sleep, ends at once and says it was cut short", async () => {
    const stop = new AbortController();
    const sleeping = sleep(600 * HOUR, stop.signal);
    stop.abort();
    expect(await sleeping).toBe(false);
  });

  it("given a signal that aborted already, does not wait at all", async () => {
    expect(await sleep(600 * HOUR, AbortSignal.abort())).toBe(false);
  });
});
