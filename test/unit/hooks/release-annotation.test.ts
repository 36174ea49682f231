import { describe, expect, it } from "vitest";
import {
  FIRING_ALERTS_ANNOTATION,
  MAX_ANNOTATION_BYTES,
  mergeAnnotatedAlerts,
  observationOf,
  readAnnotatedAlerts,
} from "../../../src/hooks/index.ts";
import { addDroppedAlerts } from "../../../src/hooks/release-annotation.ts";
import { anAlert, aStartedRelease } from "./payloads.ts";

function at(second: number, fingerprint = `fp-${second}`, labels?: Record<string, string>) {
  return observationOf(
    anAlert({
      fingerprint,
      startsAt: `2026-03-02T10:00:${String(second).padStart(2, "0")}Z`,
      ...(labels ? { labels } : {}),
    }),
  );
}

/** What the leader reads back from a follower's annotation value. */
function readBack(value: string | undefined) {
  const release = aStartedRelease();
  release.metadata.annotations = { [FIRING_ALERTS_ANNOTATION]: value ?? "" };
  return readAnnotatedAlerts(release);
}

describe("alerts a follower records on a Release", () => {
  it("round-trip through the annotation", () => {
    expect(readBack(mergeAnnotatedAlerts(undefined, [at(1)])?.annotation)).toEqual([at(1)]);
  });

  it("need no write when the annotation already holds them (a repeat, or another follower was first)", () => {
    const value = mergeAnnotatedAlerts(undefined, [at(1), at(2)])?.annotation;
    expect(mergeAnnotatedAlerts(value, [at(2)])).toBeUndefined();
    expect(mergeAnnotatedAlerts(value, [])).toBeUndefined();
  });

  it("keep the earliest few, in order, however many arrive, and count the others", () => {
    let value: string | undefined;
    let dropped = 0;
    for (const second of [30, 5, 12, 40, 1, 7, 22, 18, 50, 3, 9]) {
      const update = mergeAnnotatedAlerts(value, [at(second)]);
      value = update?.annotation ?? value;
      dropped += update?.dropped ?? 0;
    }
    const kept = JSON.parse(value as string) as { startsAt: string }[];
    expect(kept.map((alert) => Number(alert.startsAt.slice(17, 19)))).toEqual([1, 3, 5, 7, 9, 12, 18, 22]);
    // 50 found eight earlier ones there; 40 and 30 were pushed out when 3 and 9 came.
    expect(dropped).toBe(3);
  });

  it("read as none when someone wrote something else there", () => {
    for (const junk of ["not json", "{}", '[{"name":1}]', ""]) expect(readBack(junk)).toEqual([]);
    expect(mergeAnnotatedAlerts("not json", [at(1)])?.annotation).toBe(JSON.stringify([at(1)]));
  });

  it("read entry by entry: one bad entry never hides the others", () => {
    const good = JSON.parse(mergeAnnotatedAlerts(undefined, [at(1), at(2)])?.annotation ?? "[]") as unknown[];
    const value = JSON.stringify([good[0], { name: "x".repeat(300), fingerprint: "f" }, good[1]]);
    expect(readBack(value)).toEqual([at(1), at(2)]);
  });

  it("survive an alertname far longer than the annotation allows (clipped, never unreadable)", () => {
    const long = at(1, "fp-long", { alertname: "A".repeat(300), namespace: "shop", severity: "critical" });
    const read = readBack(mergeAnnotatedAlerts(undefined, [long])?.annotation);
    expect(read).toHaveLength(1);
    expect(read[0]?.name).toHaveLength(256);
    expect(read[0]?.name.endsWith("…")).toBe(true);
  });

  it("stay within the byte budget when labels are full of control characters, keeping every alert readable", () => {
    // Each control character becomes six bytes of JSON (\u0001): 8 such alerts were 829,705 bytes,
    // over the API server's 262,144-byte limit for all annotations, so the patch was refused.
    const noisyLabels = (index: number) => {
      const labels: Record<string, string> = {
        alertname: `Noisy${index}`,
        namespace: "shop",
        severity: "critical",
      };
      for (let label = 0; label < 40; label++)
        labels[`l${String(label).padStart(2, "0")}`] = "\u0001".repeat(2000);
      return labels;
    };
    const alerts = Array.from({ length: 8 }, (_, index) => at(index + 1, `fp-${index}`, noisyLabels(index)));
    const update = mergeAnnotatedAlerts(undefined, alerts);
    expect(Buffer.byteLength(update?.annotation ?? "", "utf8")).toBeLessThanOrEqual(MAX_ANNOTATION_BYTES);
    const read = readBack(update?.annotation);
    expect(read.map((alert) => alert.name)).toEqual(alerts.map((alert) => alert.name));
    expect(update?.dropped).toBe(0);
    expect(read[0]?.labels.alertname).toBe("Noisy0");
  });
});

describe("the count of alerts that did not fit", () => {
  it("adds up, and starts again from what is there when someone wrote nonsense", () => {
    expect(addDroppedAlerts(undefined, 2)).toBe("2");
    expect(addDroppedAlerts("2", 3)).toBe("5");
    expect(addDroppedAlerts("lots", 1)).toBe("1");
  });
});
