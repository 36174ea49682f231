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

/**
 * A duration with a largest (and, where a short one would spin, a smallest) value.
 * Unbounded durations overflowed Node's timers (a 600h hold fired every millisecond)
 * and Date ("9999999999999999h" is an invalid time). The limits reach the CRD twice:
 * in the description, and as a CEL rule for API servers that run CEL (1.25+).
 */
export function boundedDuration(field: string, limits: { max: string; min?: string }, description: string) {
  const maxMs = parseDuration(limits.max);
  const minMs = limits.min === undefined ? 0 : parseDuration(limits.min);
  const range = limits.min === undefined ? `at most ${limits.max}` : `from ${limits.min} to ${limits.max}`;
  const rules = [
    {
      rule: `duration(self) <= duration('${limits.max}')`,
      message: `${field} must be at most ${limits.max}`,
    },
    ...(limits.min === undefined
      ? []
      : [
          {
            rule: `duration(self) >= duration('${limits.min}')`,
            message: `${field} must be at least ${limits.min}`,
          },
        ]),
  ];
  return durationSchema
    .superRefine((text, ctx) => {
      if (!DURATION_PATTERN.test(text)) return;
      const ms = parseDuration(text);
      if (ms > maxMs)
        ctx.addIssue({ code: "custom", message: `${field} must be at most ${limits.max}, not ${text}` });
      else if (ms < minMs)
        ctx.addIssue({ code: "custom", message: `${field} must be at least ${limits.min}, not ${text}` });
    })
    .meta({ description: `${description} ${capitalise(range)}.`.trim(), "x-kubernetes-validations": rules });
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

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
