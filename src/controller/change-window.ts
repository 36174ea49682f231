import { createTask, type ScheduledTask } from "node-cron";
import { parseDuration, type ChangeWindowConfig } from "../api/index.ts";
import type { ChangeWindowObservation } from "../engine/types.ts";

// Change windows and freezes: whether `now` is inside a window (cron start + duration)
// and outside every freeze, exact to the millisecond at both edges. Pure: the time comes
// in as an argument. An answer holds until the next edge (a window or freeze begins or
// ends), so it is cached until that edge and the engine requeues at it.

const MINUTE = 60_000;
const DAY = 24 * 3_600_000;
/** How far ahead to look for the next edge or opening. */
const LOOKAHEAD_MS = 14 * DAY;
/** With no edge within the lookahead, the answer is recomputed after this long. */
const RECHECK_MS = 3_600_000;
/** Edges followed when looking for the next opening: more than any real calendar has in two weeks. */
const MAX_EDGES = 2_000;

type ChangeWindow = ChangeWindowConfig["windows"][number];
type ChangeFreeze = ChangeWindowConfig["freezes"][number];

/**
 * The minutes at which one cron expression matches. Matching a minute costs about 10 µs
 * (a time-zone conversion), so each minute is matched once and the starts are kept.
 */
class CronStarts {
  readonly #matcher: Pick<ScheduledTask, "match">;
  /** Minutes [from, to) have been matched; `starts` holds those that matched, ascending. */
  #from = 0;
  #to = 0;
  #starts: number[] = [];

  constructor(cron: string, timezone: string) {
    // A task that is never started: only its matcher is used.
    this.#matcher = createTask(cron, () => undefined, { timezone });
  }

  /** Starts s with from ≤ s < to. */
  between(from: number, to: number): number[] {
    const first = Math.ceil(from / MINUTE) * MINUTE;
    const end = Math.ceil(to / MINUTE) * MINUTE;
    if (first >= end) return [];
    this.#cover(first, end);
    return this.#starts.slice(lowerBound(this.#starts, from), lowerBound(this.#starts, to));
  }

  /** The first start s with from ≤ s < limit, scanning a day at a time: most crons match within one. */
  firstFrom(from: number, limit: number): number | undefined {
    for (let chunk = from; chunk < limit; chunk += DAY) {
      const found = this.between(chunk, Math.min(chunk + DAY, limit))[0];
      if (found !== undefined) return found;
    }
    return undefined;
  }

  #cover(first: number, end: number): void {
    if (this.#to <= this.#from || end < this.#from || first > this.#to) {
      this.#from = first;
      this.#to = first;
      this.#starts = [];
    }
    if (first < this.#from) {
      this.#starts = [...this.#scan(first, this.#from), ...this.#starts];
      this.#from = first;
    }
    if (end > this.#to) {
      this.#starts.push(...this.#scan(this.#to, end));
      this.#to = end;
    }
    // Keep about a month behind the newest question: time only moves forward.
    const keepFrom = first - 32 * DAY;
    if (this.#from < keepFrom) {
      this.#starts = this.#starts.slice(lowerBound(this.#starts, keepFrom));
      this.#from = keepFrom;
    }
  }

  #scan(from: number, to: number): number[] {
    const found: number[] = [];
    for (let minute = from; minute < to; minute += MINUTE) {
      if (this.#matcher.match(new Date(minute))) found.push(minute);
    }
    return found;
  }
}

/** The first index whose value is ≥ `value`. */
function lowerBound(sorted: number[], value: number): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if ((sorted[middle] as number) < value) low = middle + 1;
    else high = middle;
  }
  return low;
}

const cronStarts = new Map<string, CronStarts>();

function startsOf(cron: string, timezone: string): CronStarts {
  const key = `${timezone}\u0000${cron}`;
  let starts = cronStarts.get(key);
  if (!starts) {
    starts = new CronStarts(cron, timezone);
    cronStarts.set(key, starts);
  }
  return starts;
}

/** One recurring or one-off period: is it on at `at`, until when, and when does it next begin. */
interface PeriodState {
  /** The end of the occurrence that covers `at` (the latest, if several overlap). */
  endsAt?: number;
  /** The first start after `at`. */
  nextStartAt?: number;
}

function recurringState(cron: string, duration: string, timezone: string, at: number): PeriodState {
  const durationMs = parseDuration(duration);
  const starts = startsOf(cron, timezone);
  // Occurrences that began in (at − duration, at] cover `at`.
  const covering = starts.between(at - durationMs + 1, at + 1);
  const latest = covering.at(-1);
  const next = starts.firstFrom(at + 1, at + LOOKAHEAD_MS);
  return {
    ...(latest === undefined ? {} : { endsAt: latest + durationMs }),
    ...(next === undefined ? {} : { nextStartAt: next }),
  };
}

function windowState(window: ChangeWindow, timezone: string, at: number): PeriodState {
  return recurringState(window.cron, window.duration, timezone, at);
}

function freezeState(freeze: ChangeFreeze, timezone: string, at: number): PeriodState {
  if (freeze.from !== undefined && freeze.to !== undefined) {
    const from = Date.parse(freeze.from);
    const to = Date.parse(freeze.to);
    if (from <= at && at < to) return { endsAt: to };
    return from > at ? { nextStartAt: from } : {};
  }
  if (freeze.cron !== undefined && freeze.duration !== undefined) {
    return recurringState(freeze.cron, freeze.duration, timezone, at);
  }
  return {};
}

/** The state at one instant, and the next instant at which it may change. */
interface Moment {
  window?: ChangeWindow | { name: string };
  freezes: ChangeFreeze[];
  changesAt?: number;
}

function momentAt(config: ChangeWindowConfig, at: number): Moment {
  const edges: number[] = [];
  const edge = (state: PeriodState) => {
    if (state.endsAt !== undefined) edges.push(state.endsAt);
    if (state.nextStartAt !== undefined) edges.push(state.nextStartAt);
  };
  let window: Moment["window"] = config.windows.length === 0 ? { name: "always" } : undefined;
  for (const candidate of config.windows) {
    const state = windowState(candidate, config.timezone, at);
    edge(state);
    if (state.endsAt !== undefined && window === undefined) window = candidate;
  }
  const freezes: ChangeFreeze[] = [];
  for (const freeze of config.freezes) {
    const state = freezeState(freeze, config.timezone, at);
    edge(state);
    if (state.endsAt !== undefined) freezes.push(freeze);
  }
  const changesAt = edges.filter((instant) => instant > at).sort((a, b) => a - b)[0];
  return { ...(window ? { window } : {}), freezes, ...(changesAt === undefined ? {} : { changesAt }) };
}

/** The first edge at or after `from` at which `wanted` holds, within the lookahead. */
function firstEdgeWhere(
  config: ChangeWindowConfig,
  from: Moment,
  at: number,
  wanted: (moment: Moment) => boolean,
): number | undefined {
  let instant = from.changesAt;
  for (let edges = 0; instant !== undefined && instant < at + LOOKAHEAD_MS && edges < MAX_EDGES; edges++) {
    const moment = momentAt(config, instant);
    if (wanted(moment)) return instant;
    instant = moment.changesAt;
  }
  return undefined;
}

function evaluateAt(config: ChangeWindowConfig, at: number): ChangeWindowObservation {
  const moment = momentAt(config, at);
  const freeze = moment.freezes[0];
  const window = moment.window;
  const changesAt = moment.changesAt === undefined ? {} : { changesAt: iso(moment.changesAt) };
  if (window && !freeze) {
    return { open: true, frozen: false, note: `inside change window "${window.name}"`, ...changesAt };
  }
  const nextOpenAt = firstEdgeWhere(
    config,
    moment,
    at,
    (later) => later.window !== undefined && later.freezes.length === 0,
  );
  const note = freeze
    ? `change freeze "${freeze.name}"${freeze.reason ? `: ${freeze.reason}` : ""}`
    : "outside every change window";
  const freezeEndsAt = freeze
    ? firstEdgeWhere(config, moment, at, (later) => later.freezes.length === 0)
    : undefined;
  return {
    open: window !== undefined,
    frozen: freeze !== undefined,
    note,
    ...(nextOpenAt === undefined ? {} : { nextOpenAt: iso(nextOpenAt) }),
    ...changesAt,
    ...(freeze
      ? {
          freeze: {
            name: freeze.name,
            holdsInFlight: moment.freezes.some((active) => active.inFlight === "holdBetweenStages"),
            ...(freezeEndsAt === undefined ? {} : { endsAt: iso(freezeEndsAt) }),
          },
        }
      : {}),
  };
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

const answers = new WeakMap<
  ChangeWindowConfig,
  { from: number; until: number; answer: ChangeWindowObservation }
>();

/**
 * Whether a release may start at `now`. The answer is the same from one edge to the next,
 * so it is cached until the next edge — never past it.
 */
export function evaluateChangeWindow(config: ChangeWindowConfig, now: string): ChangeWindowObservation {
  const at = Date.parse(now);
  const cached = answers.get(config);
  if (cached && cached.from <= at && at < cached.until) return cached.answer;
  const answer = evaluateAt(config, at);
  const until = answer.changesAt === undefined ? at + RECHECK_MS : Date.parse(answer.changesAt);
  answers.set(config, { from: at, until, answer });
  return answer;
}
