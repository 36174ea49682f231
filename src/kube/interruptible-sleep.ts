import { timerDelay } from "./timer-delay.ts";

/** A sleep that `wake()` cuts short: loops that wait between attempts end at once on stop. */
export class InterruptibleSleep {
  #wake: (() => void) | undefined;

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, timerDelay(ms));
      const wake = () => {
        if (this.#wake === wake) this.#wake = undefined;
        done();
      };
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = wake;
    });
  }

  /** Ends the current sleep, if any. */
  wake(): void {
    this.#wake?.();
  }
}
