// What every benchmark's entry point shares: progress lines stamped with the time since
// the start, and the end of a run — exit 0 when it completed, otherwise a message saying
// which phase failed and why, and the exit code the benchmark chose.

const benchStarted = Date.now();

/** Milliseconds since this benchmark process started. */
export function elapsedMs(): number {
  return Date.now() - benchStarted;
}

/** A progress line: "[mm:ss] message". */
export function say(message: string): void {
  const seconds = Math.round(elapsedMs() / 1000);
  const clock = `${String(Math.floor(seconds / 60)).padStart(2, "0")}:${String(seconds % 60).padStart(2, "0")}`;
  console.log(`[${clock}] ${message}`);
}

/** The first line of an error's message. */
export function reasonOf(error: unknown): string {
  return ((error as Error).message ?? String(error)).split("\n")[0] ?? "";
}

/** A phase of a benchmark that could not be completed, and why. */
export class PhaseFailure extends Error {
  readonly phase: string;

  constructor(phase: string, cause: unknown) {
    super(`the ${phase} phase failed: ${reasonOf(cause)}`, { cause });
    this.name = "PhaseFailure";
    this.phase = phase;
  }
}

/** Runs `action`; an error from it becomes a PhaseFailure naming `phase` (an inner phase's name is kept). */
export async function inPhase<T>(phase: string, action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (error) {
    throw error instanceof PhaseFailure ? error : new PhaseFailure(phase, error);
  }
}

/** What a run that could not complete prints: the phase and the reason, then the stack of the cause. */
export function failureMessage(error: unknown): string {
  if (error instanceof PhaseFailure) {
    const cause = error.cause as Error | undefined;
    return `benchmark could not complete: ${error.message}\n${cause?.stack ?? String(cause)}`;
  }
  return `benchmark could not complete: ${(error as Error).stack ?? String(error)}`;
}

/**
 * Runs a benchmark's main and exits: 0 when it completed, `exitCodeOnFailure` when it
 * could not (the numbers never decide it: a benchmark reports, it does not judge).
 */
export async function runBenchmark(
  main: () => Promise<void>,
  options: { exitCodeOnFailure: number },
): Promise<never> {
  let exitCode = 0;
  try {
    await main();
  } catch (error) {
    console.error(failureMessage(error));
    exitCode = options.exitCodeOnFailure;
  }
  // The stack's clients and samplers hold handles open; the run is over.
  process.exit(exitCode);
}
