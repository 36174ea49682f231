// Where a benchmark's figures go: one JSON file in bench/results/ named after the
// benchmark and its start, with a description of the machine it ran on (the numbers
// of a shared, loaded machine are only comparable with runs under similar load).
import { mkdirSync, writeFileSync } from "node:fs";
import { arch, cpus, loadavg, platform, release as osRelease, totalmem } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { round } from "./format.ts";

const resultsDir = fileURLToPath(new URL("../results/", import.meta.url));

/** The 1, 5 and 15 minute load averages, two decimals. */
export function loadAverage(): number[] {
  return loadavg().map((value) => round(value, 2));
}

export interface Machine {
  cpuModel: string;
  cpus: number;
  memoryGiB: number;
  platform: string;
  node: string;
  kubernetes: string;
  loadAverageBefore: number[];
  loadAverageAfter: number[];
  note: string;
}

/** This machine now; `loadAverageBefore` as loadAverage() gave it when the run started. */
export function describeMachine(kubernetesVersion: string, loadAverageBefore: number[]): Machine {
  const cpuList = cpus();
  return {
    cpuModel: cpuList[0]?.model ?? "unknown",
    cpus: cpuList.length,
    memoryGiB: round(totalmem() / 2 ** 30),
    platform: `${platform()} ${osRelease()} ${arch()}`,
    node: process.version,
    kubernetes: kubernetesVersion,
    loadAverageBefore,
    loadAverageAfter: loadAverage(),
    note: "shared machine: other engineers' test runs may have been using it at the same time",
  };
}

/** Writes `bench/results/<benchmark>-<start, to the second>.json`; returns its path. */
export function writeResults(benchmark: string, startedAt: Date, result: unknown): string {
  mkdirSync(resultsDir, { recursive: true });
  const file = join(
    resultsDir,
    `${benchmark}-${startedAt.toISOString().replaceAll(":", "-").slice(0, 19)}.json`,
  );
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  return file;
}
