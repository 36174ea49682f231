import { z } from "zod";

// Go-style durations as Kubernetes users write them: "30s", "5m", "1h30m", "250ms".
// Whole numbers only, so the API server's pattern and zod agree exactly.
const DURATION_PATTERN = /^(?:[0-9]+(?:ms|s|m|h))+$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

export const durationSchema = z
  .string()
  .max(32)
  .regex(DURATION_PATTERN, { message: 'must be a duration such as "30s", "5m" or "1h30m"' });

export type Duration = z.infer<typeof durationSchema>;

/** Milliseconds in a duration string that matched `durationSchema`. */
export function parseDuration(text: string): number {
  if (!DURATION_PATTERN.test(text)) throw new Error(`not a duration: ${JSON.stringify(text)}`);
  let total = 0;
  for (const part of text.matchAll(/([0-9]+)(ms|s|m|h)/g)) {
    total += Number(part[1]) * (UNIT_MS[part[2] as string] as number);
  }
  return total;
}

/** The shortest duration string for a number of milliseconds ("1h30m", "250ms"). */
export function formatDuration(ms: number): string {
  if (!Number.isInteger(ms) || ms < 0) throw new Error(`not a duration in milliseconds: ${ms}`);
  if (ms === 0) return "0s";
  let rest = ms;
  let text = "";
  for (const [unit, size] of [
    ["h", 3_600_000],
    ["m", 60_000],
    ["s", 1_000],
    ["ms", 1],
  ] as const) {
    const count = Math.floor(rest / size);
    if (count > 0) text += `${count}${unit}`;
    rest -= count * size;
  }
  return text;
}
