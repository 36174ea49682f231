import { timerDelay } from "./timer-delay.ts";

// The one sleep of Glidepath: retries and polling loops wait with it, so every wait
// honours timerDelay's ceiling and ends at once when it is cut short.

/**
 * Waits `ms`, or less when `signal` aborts: true when the whole time passed, false when
 * the signal cut it short (or had already aborted). Never rejects.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const timer = setTimeout(() => end(true), timerDelay(ms));
    const aborted = () => end(false);
    function end(slept: boolean): void {
      clearTimeout(timer);
      signal?.removeEventListener("abort", aborted);
      resolve(slept);
    }
    signal?.addEventListener("abort", aborted, { once: true });
  });
}

/** A sleep that `wake()` cuts short: loops that wait between attempts end at once on stop. */
export class InterruptibleSleep {
  #wake: (() => void) | undefined;

  async sleep(ms: number): Promise<void> {
    const cut = new AbortController();
    const wake = () => cut.abort();
    this.#wake = wake;
    await sleep(ms, cut.signal);
    if (this.#wake === wake) this.#wake = undefined;
  }

  /** Ends the current sleep, if any. */
  wake(): void {
    this.#wake?.();
  }
}
