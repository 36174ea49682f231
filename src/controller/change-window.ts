import { createTask, type ScheduledTask } from "node-cron";
import { parseDuration, type ChangeWindowConfig } from "../api/index.ts";
import type { ChangeWindowObservation } from "../engine/types.ts";

// Change windows and freezes: whether `now` is inside a window (cron start +
// duration) and outside every freeze. Pure: the time comes in as an argument.

const MINUTE = 60_000;
/** How far ahead to look for the next opening. */
const LOOKAHEAD_MINUTES = 14 * 24 * 60;

type Matcher = Pick<ScheduledTask, "match">;
const matchers = new Map<string, Matcher>();

function matcherFor(cron: string, timezone: string): Matcher {
  const key = `${timezone}\u0000${cron}`;
  let matcher = matchers.get(key);
  if (!matcher) {
    // A task that is never started: only its matcher is used.
    matcher = createTask(cron, () => undefined, { timezone });
    matchers.set(key, matcher);
  }
  return matcher;
}

/** The start of the occurrence of `cron` that covers `at`, if one began within `durationMs`. */
function coveringStart(cron: string, durationMs: number, timezone: string, at: number): number | undefined {
  const matcher = matcherFor(cron, timezone);
  const latestMinute = Math.floor(at / MINUTE) * MINUTE;
  for (let start = latestMinute; start > at - durationMs; start -= MINUTE) {
    if (matcher.match(new Date(start))) return start;
  }
  return undefined;
}

function activeFreeze(config: ChangeWindowConfig, at: number) {
  return config.freezes.find((freeze) => {
    if (freeze.from !== undefined && freeze.to !== undefined) {
      return Date.parse(freeze.from) <= at && at < Date.parse(freeze.to);
    }
    if (freeze.cron !== undefined && freeze.duration !== undefined) {
      return coveringStart(freeze.cron, parseDuration(freeze.duration), config.timezone, at) !== undefined;
    }
    return false;
  });
}

function openWindow(config: ChangeWindowConfig, at: number) {
  if (config.windows.length === 0) return { name: "always" };
  return config.windows.find(
    (window) => coveringStart(window.cron, parseDuration(window.duration), config.timezone, at) !== undefined,
  );
}

const lastAnswer = new WeakMap<ChangeWindowConfig, { minute: number; answer: ChangeWindowObservation }>();

/** Whether a release may start at `now`; answers are the same for a whole minute, so they are cached per minute. */
export function evaluateChangeWindow(config: ChangeWindowConfig, now: string): ChangeWindowObservation {
  const at = Date.parse(now);
  const minute = Math.floor(at / MINUTE);
  const cached = lastAnswer.get(config);
  if (cached?.minute === minute) return cached.answer;
  const answer = evaluateAt(config, at);
  lastAnswer.set(config, { minute, answer });
  return answer;
}

function evaluateAt(config: ChangeWindowConfig, at: number): ChangeWindowObservation {
  const freeze = activeFreeze(config, at);
  const window = openWindow(config, at);
  if (window && !freeze) {
    return { open: true, frozen: false, note: `inside change window "${window.name}"` };
  }
  const nextOpenAt = findNextOpening(config, at);
  const note = freeze
    ? `change freeze "${freeze.name}"${freeze.reason ? `: ${freeze.reason}` : ""}`
    : "outside every change window";
  return {
    open: window !== undefined,
    frozen: freeze !== undefined,
    note,
    ...(nextOpenAt ? { nextOpenAt } : {}),
  };
}

/** The first instant after `at` inside a window and outside every freeze: a window start or a freeze end. */
function findNextOpening(config: ChangeWindowConfig, at: number): string | undefined {
  const candidates: number[] = [];
  const firstMinute = Math.floor(at / MINUTE) * MINUTE + MINUTE;
  const horizon = at + LOOKAHEAD_MINUTES * MINUTE;
  for (const window of config.windows) {
    const matcher = matcherFor(window.cron, config.timezone);
    let found = 0;
    for (let minute = firstMinute; minute < horizon && found < 64; minute += MINUTE) {
      if (matcher.match(new Date(minute))) {
        candidates.push(minute);
        found += 1;
      }
    }
  }
  for (const freeze of config.freezes) {
    if (freeze.to !== undefined && Date.parse(freeze.to) > at) candidates.push(Date.parse(freeze.to));
    if (freeze.cron !== undefined && freeze.duration !== undefined) {
      const durationMs = parseDuration(freeze.duration);
      const start = coveringStart(freeze.cron, durationMs, config.timezone, at);
      if (start !== undefined) candidates.push(start + durationMs);
    }
  }
  const opening = candidates
    .filter((candidate) => candidate > at && candidate < horizon)
    .sort((a, b) => a - b)
    .find((candidate) => openWindow(config, candidate) !== undefined && !activeFreeze(config, candidate));
  return opening === undefined ? undefined : new Date(opening).toISOString();
}
