import { describe, expect, it } from "vitest";
import {
  AlertInboxStore,
  dedupeKeyOf,
  FIRING_ALERTS_ANNOTATION,
  mergeAnnotatedAlerts,
  observationOf,
} from "../../../src/hooks/index.ts";
import { iso, T0 } from "../engine/builders.ts";
import { anAlert, aStartedRelease } from "./payloads.ts";

const KEY = "shop/checkout-2-4-0";
const alert = anAlert();
const observation = observationOf(alert);
const dedupeKey = dedupeKeyOf(alert);

function clockAt(start: number) {
  const clock = { now: start };
  return { clock, read: () => clock.now };
}

describe("the alert inbox", () => {
  it("gives a matched alert to every reconcile of its release until the release has acted", () => {
    const inbox = new AlertInboxStore();
    expect(inbox.take(KEY, observation, dedupeKey)).toBe("new");
    const release = aStartedRelease();
    // A status write that conflicts, a reconcile that fails: the alert is still there.
    expect(inbox.firingFor(release)).toEqual([observation]);
    expect(inbox.firingFor(release)).toEqual([observation]);
    expect(inbox.firingFor(release)).toEqual([observation]);

    const rolledBack = aStartedRelease(undefined, {
      status: {
        phase: "RollingBack",
        rollback: { trigger: "alert", reason: "alert CheckoutCanaryErrors is firing", at: iso(T0 + 2000) },
      },
    });
    expect(inbox.firingFor(rolledBack)).toEqual([]);
    expect(inbox.size()).toMatchObject({ releases: 0, alerts: 0 });
    // Read again with the older cached object: nothing comes back.
    expect(inbox.firingFor(release)).toEqual([]);
  });

  it("knows when it took an alert, for the alert-to-rollback latency; the first time for a repeat", () => {
    const { clock, read } = clockAt(T0);
    const inbox = new AlertInboxStore({ clock: read });
    inbox.take(KEY, observation, dedupeKey);
    clock.now = T0 + 500;
    const refired = { ...observation, startsAt: iso(T0 + 400) };
    inbox.take(KEY, refired, `${alert.fingerprint}@${refired.startsAt}`);
    expect(inbox.receivedAt(KEY, observation.fingerprint)).toBe(T0);
    expect(inbox.receivedAt(KEY, "0000000000000000")).toBeUndefined();
    expect(inbox.receivedAt("shop/another-release", observation.fingerprint)).toBeUndefined();
  });

  it("takes a repeat (same fingerprint and startsAt) once, a new firing of the same alert again", () => {
    const inbox = new AlertInboxStore();
    expect(inbox.take(KEY, observation, dedupeKey)).toBe("new");
    expect(inbox.take(KEY, observation, dedupeKey)).toBe("duplicate");
    const again = anAlert({ startsAt: "2026-03-02T10:30:00Z" });
    expect(inbox.take(KEY, observationOf(again), dedupeKeyOf(again))).toBe("new");
    expect(inbox.firingFor(aStartedRelease())).toHaveLength(2);
  });

  it("drops an alert that resolved before its release acted", () => {
    const inbox = new AlertInboxStore();
    inbox.take(KEY, observation, dedupeKey);
    expect(inbox.resolve(dedupeKeyOf(anAlert({ status: "resolved" })))).toBe(1);
    expect(inbox.firingFor(aStartedRelease())).toEqual([]);
  });

  it("forgets after the retention, and a repeat then counts as new", () => {
    const { clock, read } = clockAt(T0);
    const inbox = new AlertInboxStore({ retentionMs: 60_000, clock: read });
    inbox.take(KEY, observation, dedupeKey);
    clock.now = T0 + 59_999;
    expect(inbox.firingFor(aStartedRelease())).toHaveLength(1);
    clock.now = T0 + 60_000;
    expect(inbox.firingFor(aStartedRelease())).toEqual([]);
    expect(inbox.take(KEY, observation, dedupeKey)).toBe("new");
  });

  it("forget() undoes a record whose hand-off failed, so Alertmanager's retry is taken", () => {
    const inbox = new AlertInboxStore();
    inbox.take(KEY, observation, dedupeKey);
    inbox.forget(KEY, dedupeKey);
    expect(inbox.size()).toEqual({ releases: 0, alerts: 0, remembered: 0 });
    expect(inbox.take(KEY, observation, dedupeKey)).toBe("new");
  });

  it("does not grow without bound: alerts per release, releases, remembered repeats", () => {
    const inbox = new AlertInboxStore({ maxAlertsPerRelease: 3, maxReleases: 5, maxRemembered: 50 });
    for (let index = 0; index < 200; index++) {
      const many = anAlert({ fingerprint: `fp-${index}` });
      inbox.take(`shop/release-${Math.floor(index / 10)}`, observationOf(many), dedupeKeyOf(many));
    }
    const size = inbox.size();
    expect(size.releases).toBe(5);
    expect(size.alerts).toBe(15);
    expect(size.remembered).toBe(50);
  });

  it("also reads the alerts a follower recorded on the Release, without doubling one it holds too", () => {
    const inbox = new AlertInboxStore();
    inbox.take(KEY, observation, dedupeKey);
    const other = observationOf(
      anAlert({ fingerprint: "aaaaaaaaaaaaaaaa", startsAt: "2026-03-02T10:00:05Z" }),
    );
    const annotated = aStartedRelease();
    annotated.metadata.annotations = {
      [FIRING_ALERTS_ANNOTATION]: mergeAnnotatedAlerts(undefined, [observation, other])?.annotation ?? "",
    };
    expect(inbox.firingFor(annotated)).toEqual([observation, other]);
    // A fresh replica (a new leader) has nothing in memory and still sees them.
    expect(new AlertInboxStore().firingFor(annotated)).toEqual([observation, other]);
  });
});
