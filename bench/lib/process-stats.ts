// CPU time and memory of a process, read from /proc/<pid> (Linux). CPU is user + system
// time in clock ticks (USER_HZ, nearly always 100); RSS is VmRSS, the peak VmHWM.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

export interface ProcessSample {
  /** Date.now() when read. */
  at: number;
  cpuSeconds: number;
  rssBytes: number;
  peakRssBytes: number;
}

let ticksPerSecond: number | undefined;

function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** Undefined once the process is gone. */
export function sampleProcess(pid: number): ProcessSample | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    // Fields after "(comm)", which may itself hold spaces: state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[11]) + Number(fields[12]);
    const kib = (key: string): number => Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN);
    return {
      at: Date.now(),
      cpuSeconds: ticks / clockTicks(),
      rssBytes: kib("VmRSS") * 1024,
      peakRssBytes: kib("VmHWM") * 1024,
    };
  } catch {
    return undefined;
  }
}

export interface ProcessUsage {
  /** CPU time used over wall time: 1.0 is one core busy. */
  cpuCores: number;
  rssEndBytes: number;
  rssMaxBytes: number;
  rssMeanBytes: number;
}

/** Samples a process every `intervalMs` until stopped; summarises any stretch of time. */
export class ProcessSampler {
  readonly pid: number;
  readonly samples: ProcessSample[] = [];
  readonly #timer: NodeJS.Timeout;

  constructor(pid: number, intervalMs = 1_000) {
    this.pid = pid;
    this.sample();
    this.#timer = setInterval(() => this.sample(), intervalMs);
    this.#timer.unref();
  }

  sample(): ProcessSample | undefined {
    const sample = sampleProcess(this.pid);
    if (sample) this.samples.push(sample);
    return sample;
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /** Usage between two instants (Date.now() values), from the samples taken between them. */
  usage(from: number, to: number): ProcessUsage | undefined {
    const inside = this.samples.filter((sample) => sample.at >= from && sample.at <= to);
    const first = inside[0];
    const last = inside.at(-1);
    if (!first || !last) return undefined;
    const wall = (last.at - first.at) / 1000;
    const rss = inside.map((sample) => sample.rssBytes);
    return {
      cpuCores: wall > 0 ? (last.cpuSeconds - first.cpuSeconds) / wall : Number.NaN,
      rssEndBytes: last.rssBytes,
      rssMaxBytes: Math.max(...rss),
      rssMeanBytes: rss.reduce((sum, value) => sum + value, 0) / rss.length,
    };
  }
}
