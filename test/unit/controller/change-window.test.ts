import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseControllerConfig, parseDuration, type ChangeWindowConfig } from "../../../src/api/index.ts";
import { evaluateChangeWindow } from "../../../src/controller/change-window.ts";

function windows(changeWindows: unknown): ChangeWindowConfig {
  return parseControllerConfig({ changeWindows }).changeWindows;
}

// 2026-11-23 is a Monday.
const weekdayMornings = windows({
  windows: [{ name: "weekday-mornings", cron: "0 9 * * 1-5", duration: "3h" }],
});

describe("change windows", () => {
  it("are always open when none are configured", () => {
    expect(evaluateChangeWindow(windows({}), "2026-11-22T03:00:00Z")).toEqual({
      open: true,
      frozen: false,
      note: 'inside change window "always"',
    });
  });

  it("are open from the cron match for the duration", () => {
    expect(evaluateChangeWindow(weekdayMornings, "2026-11-23T09:00:00Z").open).toBe(true);
    expect(evaluateChangeWindow(weekdayMornings, "2026-11-23T11:59:59Z").open).toBe(true);
    expect(evaluateChangeWindow(weekdayMornings, "2026-11-23T12:00:00Z").open).toBe(false);
    expect(evaluateChangeWindow(weekdayMornings, "2026-11-23T08:59:59Z").open).toBe(false);
  });

  it("say when they open next, across a weekend", () => {
    expect(evaluateChangeWindow(weekdayMornings, "2026-11-21T10:00:00Z")).toEqual({
      open: false,
      frozen: false,
      note: "outside every change window",
      nextOpenAt: "2026-11-23T09:00:00.000Z",
      changesAt: "2026-11-23T09:00:00.000Z",
    });
  });

  it("are closed by a freeze, which names itself and when it ends", () => {
    const config = windows({
      windows: [{ name: "business-hours", cron: "0 8 * * *", duration: "10h" }],
      freezes: [
        {
          name: "black-friday",
          reason: "peak sales",
          from: "2026-11-27T00:00:00Z",
          to: "2026-11-30T12:00:00Z",
        },
      ],
    });
    expect(evaluateChangeWindow(config, "2026-11-28T09:00:00Z")).toEqual({
      open: true,
      frozen: true,
      note: 'change freeze "black-friday": peak sales',
      nextOpenAt: "2026-11-30T12:00:00.000Z",
      changesAt: "2026-11-28T18:00:00.000Z",
      freeze: { name: "black-friday", endsAt: "2026-11-30T12:00:00.000Z", holdsInFlight: false },
    });
    expect(evaluateChangeWindow(config, "2026-11-30T12:00:00Z").frozen).toBe(false);
  });

  it("honour recurring freezes", () => {
    const config = windows({ freezes: [{ name: "friday-evening", cron: "0 16 * * 5", duration: "8h" }] });
    expect(evaluateChangeWindow(config, "2026-11-27T20:00:00Z")).toMatchObject({
      frozen: true,
      nextOpenAt: "2026-11-28T00:00:00.000Z",
    });
    expect(evaluateChangeWindow(config, "2026-11-27T15:59:00Z").frozen).toBe(false);
  });

  it("reject a configuration that is not a cron expression, saying where", () => {
    expect(() => windows({ windows: [{ name: "x", cron: "every day", duration: "1h" }] })).toThrow(
      /\$\.changeWindows\.windows\[0\]\.cron: must be a cron expression/,
    );
    expect(() => windows({ freezes: [{ name: "y", cron: "0 1 * * *" }] })).toThrow(
      /\$\.changeWindows\.freezes\[0\]: a recurring freeze needs both cron and duration/,
    );
  });
});

// Issue 11, item 5: exact to the millisecond at both edges, and an answer is never reused
// past the edge it was computed before (it was cached for a whole minute).
describe("change window edges", () => {
  const twentySeconds = () => windows({ windows: [{ name: "short", cron: "0 9 * * *", duration: "20s" }] });

  it("open at the start and close at the end of the duration, to the millisecond", () => {
    const config = twentySeconds();
    const openAt = (now: string) => evaluateChangeWindow(structuredClone(config), now).open;
    expect(openAt("2026-11-23T08:59:59.999Z")).toBe(false);
    expect(openAt("2026-11-23T09:00:00.000Z")).toBe(true);
    expect(openAt("2026-11-23T09:00:19.999Z")).toBe(true);
    expect(openAt("2026-11-23T09:00:20.000Z")).toBe(false);
  });

  it("given a window that closed 15 s ago in the same minute, say closed although it was open earlier in that minute", () => {
    const config = twentySeconds();
    expect(evaluateChangeWindow(config, "2026-11-23T09:00:05Z")).toMatchObject({
      open: true,
      changesAt: "2026-11-23T09:00:20.000Z",
    });
    expect(evaluateChangeWindow(config, "2026-11-23T09:00:35Z")).toEqual({
      open: false,
      frozen: false,
      note: "outside every change window",
      nextOpenAt: "2026-11-24T09:00:00.000Z",
      changesAt: "2026-11-24T09:00:00.000Z",
    });
  });

  it("given a freeze that ends mid-minute, say open from that instant, and name it as the next opening", () => {
    const config = windows({
      freezes: [{ name: "incident", from: "2026-11-23T11:00:00Z", to: "2026-11-23T12:00:30.500Z" }],
    });
    expect(evaluateChangeWindow(config, "2026-11-23T12:00:10Z")).toMatchObject({
      frozen: true,
      nextOpenAt: "2026-11-23T12:00:30.500Z",
      changesAt: "2026-11-23T12:00:30.500Z",
    });
    expect(evaluateChangeWindow(config, "2026-11-23T12:00:30.499Z").frozen).toBe(true);
    expect(evaluateChangeWindow(config, "2026-11-23T12:00:30.500Z")).toEqual({
      open: true,
      frozen: false,
      note: 'inside change window "always"',
    });
  });

  it("say when a freeze begins, so a release in flight is looked at then", () => {
    const config = windows({
      freezes: [{ name: "later", from: "2026-11-23T12:00:42Z", to: "2026-11-23T13:00:00Z" }],
    });
    expect(evaluateChangeWindow(config, "2026-11-23T12:00:10Z").changesAt).toBe("2026-11-23T12:00:42.000Z");
  });

  it("describe the freeze for releases in flight: its end across back-to-back freezes, and whether it holds them", () => {
    const config = windows({
      freezes: [
        { name: "first", from: "2026-11-23T12:00:00Z", to: "2026-11-23T13:00:00Z" },
        {
          name: "second",
          from: "2026-11-23T13:00:00Z",
          to: "2026-11-23T14:30:00Z",
          inFlight: "holdBetweenStages",
        },
      ],
    });
    expect(evaluateChangeWindow(config, "2026-11-23T12:30:00Z").freeze).toEqual({
      name: "first",
      endsAt: "2026-11-23T14:30:00.000Z",
      holdsInFlight: false,
    });
    expect(evaluateChangeWindow(config, "2026-11-23T13:00:00Z").freeze).toEqual({
      name: "second",
      endsAt: "2026-11-23T14:30:00.000Z",
      holdsInFlight: true,
    });
  });

  it("refuse a one-off freeze that ends before it begins, and a cron with a seconds field", () => {
    expect(() =>
      windows({ freezes: [{ name: "z", from: "2026-11-23T12:00:00Z", to: "2026-11-23T11:00:00Z" }] }),
    ).toThrow(/\$\.changeWindows\.freezes\[0\]\.to: to \(2026-11-23T11:00:00Z\) must be after from/);
    expect(() => windows({ windows: [{ name: "s", cron: "30 0 9 * * *", duration: "1h" }] })).toThrow(
      /must be a cron expression/,
    );
  });

  // The definition, by brute force: a window is open at t when a cron minute m ≤ t < m + duration.
  const MINUTE = 60_000;
  const base = Date.parse("2026-11-23T08:50:00Z");
  const crons = ["0 9 * * *", "*/5 * * * *", "30 9 * * *", "* * * * *"];
  function matches(cron: string, minute: number): boolean {
    const date = new Date(minute);
    const [m, h] = cron.split(" ");
    const minuteOk =
      m === "*" ||
      (m!.startsWith("*/")
        ? date.getUTCMinutes() % Number(m!.slice(2)) === 0
        : date.getUTCMinutes() === Number(m));
    const hourOk = h === "*" || date.getUTCHours() === Number(h);
    return minuteOk && hourOk;
  }
  function bruteForce(config: ChangeWindowConfig, at: number): { open: boolean; frozen: boolean } {
    const open = config.windows.some((window) => {
      const durationMs = parseDuration(window.duration);
      for (let minute = Math.floor(at / MINUTE) * MINUTE; minute > at - durationMs; minute -= MINUTE) {
        if (matches(window.cron, minute)) return true;
      }
      return false;
    });
    const frozen = config.freezes.some(
      (freeze) => Date.parse(freeze.from!) <= at && at < Date.parse(freeze.to!),
    );
    return { open, frozen };
  }
  const config = fc.record({
    windows: fc.array(
      fc.record({
        name: fc.constantFrom("a", "b", "c"),
        cron: fc.constantFrom(...crons),
        duration: fc.integer({ min: 1, max: 40 * 60 }).map((seconds) => `${seconds}s`),
      }),
      { minLength: 1, maxLength: 2 },
    ),
    freezes: fc.array(
      fc
        .tuple(fc.integer({ min: 0, max: 3_600_000 }), fc.integer({ min: 1, max: 1_800_000 }))
        .map(([offset, length]) => ({
          name: "f",
          from: new Date(base + offset).toISOString(),
          to: new Date(base + offset + length).toISOString(),
        })),
      { maxLength: 2 },
    ),
  });

  it("agree with the definition at any instant, however the answers before were cached", () => {
    fc.assert(
      fc.property(
        config,
        fc.array(fc.integer({ min: 0, max: 2 * 3_600_000 }), { minLength: 1, maxLength: 30 }),
        (raw, offsets) => {
          const parsed = windows(raw);
          for (const at of offsets.map((offset) => base + offset).sort((a, b) => a - b)) {
            const answer = evaluateChangeWindow(parsed, new Date(at).toISOString());
            expect({ open: answer.open, frozen: answer.frozen }, new Date(at).toISOString()).toEqual(
              bruteForce(parsed, at),
            );
            if (answer.changesAt !== undefined) {
              const before = Date.parse(answer.changesAt) - 1;
              if (before > at)
                expect(bruteForce(parsed, before)).toEqual({ open: answer.open, frozen: answer.frozen });
            }
            if (answer.nextOpenAt !== undefined) {
              expect(bruteForce(parsed, Date.parse(answer.nextOpenAt))).toEqual({
                open: true,
                frozen: false,
              });
            }
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});
