import { describe, expect, it } from "vitest";
import {
  FIRING_ALERTS_ANNOTATION,
  mergeAnnotatedAlerts,
  observationOf,
  readAnnotatedAlerts,
} from "../../../src/hooks/index.ts";
import { anAlert, aStartedRelease } from "./payloads.ts";

function at(second: number, fingerprint = `fp-${second}`) {
  return observationOf(
    anAlert({ fingerprint, startsAt: `2026-03-02T10:00:${String(second).padStart(2, "0")}Z` }),
  );
}

describe("alerts a follower records on a Release", () => {
  it("round-trip through the annotation", () => {
    const value = mergeAnnotatedAlerts(undefined, [at(1)]);
    const release = aStartedRelease();
    release.metadata.annotations = { [FIRING_ALERTS_ANNOTATION]: value as string };
    expect(readAnnotatedAlerts(release)).toEqual([at(1)]);
  });

  it("need no write when the annotation already holds them (a repeat, or another follower was first)", () => {
    const value = mergeAnnotatedAlerts(undefined, [at(1), at(2)]);
    expect(mergeAnnotatedAlerts(value, [at(2)])).toBeUndefined();
    expect(mergeAnnotatedAlerts(value, [])).toBeUndefined();
  });

  it("keep the earliest few, in order, however many arrive", () => {
    let value: string | undefined;
    for (const second of [30, 5, 12, 40, 1, 7, 22, 18, 50, 3, 9])
      value = mergeAnnotatedAlerts(value, [at(second)]) ?? value;
    const kept = JSON.parse(value as string) as { startsAt: string }[];
    expect(kept.map((alert) => Number(alert.startsAt.slice(17, 19)))).toEqual([1, 3, 5, 7, 9, 12, 18, 22]);
  });

  it("read as none when someone wrote something else there", () => {
    const release = aStartedRelease();
    for (const junk of ["not json", "{}", '[{"name":1}]', ""]) {
      release.metadata.annotations = { [FIRING_ALERTS_ANNOTATION]: junk };
      expect(readAnnotatedAlerts(release)).toEqual([]);
    }
    expect(mergeAnnotatedAlerts("not json", [at(1)])).toBe(JSON.stringify([at(1)]));
  });
});
