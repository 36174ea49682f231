import { describe, expect, it } from "vitest";
import { parseControllerConfig, type ChangeWindowConfig } from "../../../src/api/index.ts";
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
