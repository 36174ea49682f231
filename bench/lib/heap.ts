// The controller's V8 heap: the figures its own /metrics gives (to tell live objects from
// the rest of RSS), and heap snapshots on demand for a closer look.
import { mib } from "./format.ts";
import { sumOf, type Sample } from "./prometheus-text.ts";
import { sleep } from "./wait.ts";

export interface HeapUsage {
  usedMiB?: number;
  totalMiB?: number;
  externalMiB?: number;
  /** Committed size of each V8 heap space. */
  spacesMiB: Record<string, number | undefined>;
}

/** From one scrape of the controller's /metrics. */
export function heapUsage(samples: readonly Sample[]): HeapUsage {
  const spaces: Record<string, number | undefined> = {};
  for (const sample of samples) {
    if (sample.name === "glidepath_nodejs_heap_space_size_total_bytes" && sample.value > 0)
      spaces[sample.labels.space ?? "?"] = mib(sample.value);
  }
  return {
    usedMiB: mib(sumOf(samples, "glidepath_nodejs_heap_size_used_bytes")),
    totalMiB: mib(sumOf(samples, "glidepath_nodejs_heap_size_total_bytes")),
    externalMiB: mib(sumOf(samples, "glidepath_nodejs_external_memory_bytes")),
    spacesMiB: spaces,
  };
}

/**
 * Asks a process started with `--heapsnapshot-signal=SIGUSR2` for a heap snapshot (written
 * to its --diagnostic-dir) and gives it time to write one before the next measurement.
 */
export async function takeHeapSnapshot(pid: number): Promise<void> {
  process.kill(pid, "SIGUSR2");
  await sleep(15_000);
}
