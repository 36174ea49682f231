// How the benchmarks write numbers in their tables and progress lines. Pure.
import type { Quantile } from "./statistics.ts";

const MiB = 1024 * 1024;

export function round(value: number, digits = 1): number {
  return Number(value.toFixed(digits));
}

/** Bytes in MiB, one decimal; undefined stays undefined (not measured). */
export function mib(bytes: number | undefined): number | undefined {
  return bytes === undefined ? undefined : round(bytes / MiB);
}

/** "12.3 s", or "—" when not measured. */
export function seconds(ms: number | undefined): string {
  return ms === undefined ? "—" : `${(ms / 1000).toFixed(1)} s`;
}

/** A histogram quantile in milliseconds with its bucket: "67 ms (50–100]"; "—" when none. */
export function formatQuantile(quantile: Quantile | undefined): string {
  if (!quantile) return "—";
  const ms = (value: number) => (value === Number.POSITIVE_INFINITY ? "+Inf" : `${Math.round(value * 1000)}`);
  return `${ms(quantile.estimate)} ms (${ms(quantile.lower)}–${ms(quantile.upper)}]`;
}
