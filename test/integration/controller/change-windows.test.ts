import { describe, expect, it } from "vitest";
import { waitFor } from "../../harness/context.ts";
import type { ControllerProcess } from "../../harness/controller.ts";
import type { Release } from "../../../src/api/index.ts";
import { givenController, quickStages, withService, type ServiceScenario } from "./scenario.ts";

// Issue 11, item 5: change windows and freezes are honoured to the second at both edges,
// a freeze that begins mid-release is said (and, if asked, holds the release between
// stages), and an emergency with inline stages passes a freeze. Each test runs its own
// controller with its own changeWindows configuration.

const MINUTE = 60_000;

/** Waits (without asserting anything) until the wall clock satisfies `ready`. */
async function untilClock(description: string, ready: (now: Date) => boolean): Promise<void> {
  await waitFor(() => ready(new Date()), { timeoutMs: 90_000, intervalMs: 50, description });
}

async function withController<T>(
  changeWindows: Record<string, unknown>,
  body: (controller: ControllerProcess) => Promise<T>,
): Promise<T> {
  const controller = await givenController({ config: { changeWindows } });
  try {
    return await body(controller);
  } finally {
    await controller.stop();
  }
}

function condition(release: Release, type: string) {
  return release.status?.conditions.find((candidate) => candidate.type === type);
}

async function eventsOf(scenario: ServiceScenario, name: string) {
  return (await scenario.events(name)).map((event) => ({
    type: event.type,
    reason: event.reason,
    message: event.message ?? "",
  }));
}

describe("change window and freeze edges", () => {
  it("a Release applied just after a 20 s window closed does not start; it starts when the next one opens", () =>
    withService("window-edge", {}, (scenario) =>
      // Open for the first 20 seconds of every minute.
      withController({ windows: [{ name: "first-20s", cron: "* * * * *", duration: "20s" }] }, async () => {
        await untilClock(
          "a few seconds into a window",
          (now) => now.getUTCSeconds() >= 2 && now.getUTCSeconds() <= 8,
        );
        // Another Release is decided while the window is open (it fails: its Deployment does not exist).
        await scenario.release("ghost-1-0-1", "1.0.1", { target: { deployment: "ghost", service: "ghost" } });
        await scenario.waitForPhase("ghost-1-0-1", ["Failed"], { timeoutMs: 15_000 });
        await untilClock("the window closed a few seconds ago", (now) => now.getUTCSeconds() >= 25);

        const appliedAt = Date.now();
        await scenario.release("checkout-2-0-0", "2.0.0", { stages: quickStages() });
        const waiting = await scenario.waitForRelease("checkout-2-0-0", "decided", (release) =>
          Boolean(release.status?.phase),
        );
        const nextWindow = Math.ceil(appliedAt / MINUTE) * MINUTE;
        expect(waiting.status?.phase, waiting.status?.message).toBe("WaitingForWindow");
        expect(waiting.status?.message).toContain(
          `next window opens at ${new Date(nextWindow).toISOString()}`,
        );

        const started = await scenario.waitForRelease(
          "checkout-2-0-0",
          "started",
          (release) => release.status?.startedAt !== undefined,
          { timeoutMs: 90_000 },
        );
        const startedAt = Date.parse(started.status?.startedAt ?? "");
        expect(startedAt).toBeGreaterThanOrEqual(nextWindow);
        expect(startedAt - nextWindow, "started within 2 s of the window opening").toBeLessThan(2_500);
      }),
    ));

  it("a Release waiting for a freeze that ends mid-minute starts within about 2 s of its end, not 60 s later", () =>
    withService("freeze-end", {}, async (scenario) => {
      // The freeze ends at second 45 of a minute at least 25 s away.
      let end = Math.floor(Date.now() / MINUTE) * MINUTE + 45_000;
      while (end < Date.now() + 25_000) end += MINUTE;
      const to = new Date(end).toISOString();
      await withController(
        { freezes: [{ name: "incident", from: "2020-01-01T00:00:00Z", to }] },
        async () => {
          // Applied in the same minute the freeze ends, so that minute's answer is looked at early.
          await untilClock("the minute the freeze ends", (now) => now.getTime() >= end - 45_000);
          expect(Date.now(), "applied well before the freeze ends").toBeLessThan(end - 5_000);
          await scenario.release("checkout-2-0-0", "2.0.0", { stages: quickStages() });
          const waiting = await scenario.waitForPhase("checkout-2-0-0", ["WaitingForWindow"], {
            timeoutMs: 10_000,
          });
          expect(waiting.status?.message).toContain('change freeze "incident"');
          expect(waiting.status?.message).toContain(`next window opens at ${to}`);

          const started = await scenario.waitForRelease(
            "checkout-2-0-0",
            "started",
            (release) => release.status?.startedAt !== undefined,
            { timeoutMs: 120_000 },
          );
          const lateMs = Date.parse(started.status?.startedAt ?? "") - end;
          console.log(`freeze end: started ${lateMs} ms after the freeze ended`);
          expect(lateMs).toBeGreaterThanOrEqual(0);
          expect(lateMs).toBeLessThan(2_500);
        },
      );
    }));

  it("a freeze that begins mid-release is said (condition, Event, notification) and, with holdBetweenStages, no stage is entered while it lasts", () =>
    withService("freeze-inflight", {}, async (scenario) => {
      // The freeze begins after the release starts and before it can reach GA (two 15 s holds).
      const from = Date.now() + 25_000;
      const to = from + 25_000;
      await withController(
        {
          freezes: [
            {
              name: "payments-incident",
              reason: "payments provider outage",
              from: new Date(from).toISOString(),
              to: new Date(to).toISOString(),
              inFlight: "holdBetweenStages",
            },
          ],
        },
        async (controller) => {
          await scenario.release("checkout-2-0-0", "2.0.0", {
            stages: [
              { name: "canary", weight: 10, hold: "15s", minMeasurements: 1 },
              { name: "early-adopter", weight: 50, hold: "15s", minMeasurements: 1 },
              { name: "ga", weight: 100, hold: "0s" },
            ],
          });
          const started = await scenario.waitForRelease("checkout-2-0-0", "started", (release) =>
            Boolean(release.status?.startedAt),
          );
          expect(Date.parse(started.status?.startedAt ?? ""), "started before the freeze").toBeLessThan(from);

          const frozen = await scenario.waitForRelease(
            "checkout-2-0-0",
            "ChangeFreeze=True",
            (release) => condition(release, "ChangeFreeze")?.status === "True",
            { timeoutMs: 60_000 },
          );
          expect(condition(frozen, "ChangeFreeze")).toMatchObject({
            reason: "HoldingBetweenStages",
            message: expect.stringContaining('change freeze "payments-incident": payments provider outage'),
          });
          expect(Date.now()).toBeLessThan(to);
          const held = await scenario.waitForRelease(
            "checkout-2-0-0",
            "held between stages",
            (release) =>
              (release.status?.message ?? "").includes('holding for the change freeze "payments-incident"'),
            { timeoutMs: 60_000 },
          );
          expect(held.status?.phase).toBe("Progressing");
          const warning = await waitFor(
            async () =>
              (await eventsOf(scenario, "checkout-2-0-0")).find((event) => event.reason === "ChangeFreeze"),
            { timeoutMs: 10_000, description: "the ChangeFreeze Event" },
          );
          expect(warning.type).toBe("Warning");
          expect(warning.message).toContain("payments-incident");
          // No notifier is configured: the controller logs the notification it would send.
          await waitFor(
            () =>
              /"event":"freeze".*is in flight during a change freeze.*payments-incident/.test(
                controller.process.logTail(100_000),
              ),
            { timeoutMs: 10_000, description: "the freeze notification" },
          );

          const done = await scenario.waitForPhase("checkout-2-0-0", ["Succeeded", "RolledBack", "Failed"], {
            timeoutMs: 150_000,
          });
          expect(done.status?.phase, done.status?.message).toBe("Succeeded");
          const entered = (done.status?.stages ?? []).map((stage) => ({
            name: stage.name,
            at: Date.parse(stage.enteredAt),
          }));
          const duringFreeze = entered.filter((stage) => stage.at >= from && stage.at < to);
          expect(duringFreeze, "no stage entered while the freeze lasted").toEqual([]);
          expect(entered.some((stage) => stage.at >= to)).toBe(true);
          expect(condition(done, "ChangeFreeze")?.status).toBe("False");
          const reasons = (await eventsOf(scenario, "checkout-2-0-0")).map((event) => event.reason);
          expect(reasons).toContain("ChangeFreezeEnded");
        },
      );
    }));

  it("an emergency change with inline stages passes a freeze, and the record says so", () =>
    withService("freeze-emergency", {}, (scenario) =>
      withController(
        {
          freezes: [
            {
              name: "year-end",
              from: "2020-01-01T00:00:00Z",
              to: new Date(Date.now() + 3_600_000).toISOString(),
            },
          ],
        },
        async () => {
          await scenario.release("checkout-2-0-1", "2.0.1", {
            stages: quickStages(),
            changeRequest: { type: "emergency", rollbackPlan: "Revert to 1.0.0" },
          });
          const started = await scenario.waitForRelease(
            "checkout-2-0-1",
            "started",
            (release) => release.status?.startedAt !== undefined,
            { timeoutMs: 30_000 },
          );
          expect(started.status?.changeWindow).toMatchObject({ bypassed: true });
          expect(started.status?.changeWindow?.note).toContain('change freeze "year-end"');
          expect(started.status?.postMortemDue).toBe(true);
          expect(condition(started, "ChangeFreeze")?.reason).toBe("MayPassFreeze");
        },
      ),
    ));
});
