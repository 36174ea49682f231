import { describe, expect, it } from "vitest";
import { CREATED_BY_ANNOTATION, releaseRecordSchema } from "../../../src/api/index.ts";
import {
  RECORD_OUTCOME_LABEL,
  RECORD_TARGET_LABEL,
  recordsToPrune,
  releaseFromRecord,
  releaseRecordName,
  releaseRecordOf,
  withRecordedReleases,
} from "../../../src/record/release-record.ts";
import { aRelease, aReleaseInStage, aSucceededRelease, iso, MINUTE, T0 } from "../cli/fixtures.ts";

const DAY = 24 * 60 * MINUTE;

function recordOf(...args: Parameters<typeof aSucceededRelease>) {
  const record = releaseRecordOf(aSucceededRelease(...args));
  if (!record) throw new Error("no record");
  return record;
}

describe("the ReleaseRecord of a release", () => {
  it("is taken only once the release has finished", () => {
    expect(releaseRecordOf(aRelease())).toBeUndefined();
    expect(releaseRecordOf(aReleaseInStage("2.4.0", "2.3.0", T0, 1))).toBeUndefined();
  });

  it("keeps the whole spec and status, the summary for columns and DORA, and the identity stamps", () => {
    const release = aSucceededRelease("2.4.0", "2.3.0", T0, {
      annotations: { [CREATED_BY_ANNOTATION]: '{"user":"alice"}', unrelated: "x" },
      spec: { changeRequest: { committedAt: iso(T0 - 60 * MINUTE) } },
    });
    release.metadata.uid = "0a1b2c3d-4e5f-6789-abcd-ef0123456789";
    const record = releaseRecordOf(release);
    expect(releaseRecordSchema.parse(record)).toEqual(record);
    expect(record?.metadata).toEqual({
      name: "checkout-2-4-0-0a1b2c3d",
      namespace: "shop",
      labels: { [RECORD_TARGET_LABEL]: "checkout", [RECORD_OUTCOME_LABEL]: "Succeeded" },
      annotations: { [CREATED_BY_ANNOTATION]: '{"user":"alice"}' },
    });
    expect(record?.spec).toMatchObject({
      release: {
        name: "checkout-2-4-0",
        uid: release.metadata.uid,
        createdAt: release.metadata.creationTimestamp,
      },
      target: "checkout",
      version: "2.4.0",
      outcome: "Succeeded",
      changeType: "standard",
      changeId: "CHG-2.4.0",
      startedAt: release.status?.startedAt,
      finishedAt: release.status?.finishedAt,
      duration: "39m59s",
      committedAt: iso(T0 - 60 * MINUTE),
    });
    expect(record?.spec.releaseSpec).toEqual(release.spec);
    expect(record?.spec.releaseStatus).toEqual(release.status);
  });

  it("has a name of at most 253 characters that tells two Releases of one name apart", () => {
    const long = aSucceededRelease("2.4.0", "2.3.0", T0, { name: `a${"b".repeat(252)}` });
    long.metadata.uid = "ffffffff-0000";
    const name = releaseRecordName(long);
    expect(name.length).toBeLessThanOrEqual(253);
    expect(name.endsWith("-ffffffff")).toBe(true);
    const again = { ...long, metadata: { ...long.metadata, uid: "eeeeeeee-0000" } };
    expect(releaseRecordName(again)).not.toBe(name);
  });
});

describe("record retention", () => {
  const now = new Date(T0 + 100 * DAY);
  const records = [0, 1, 2, 3, 4].map((day) => recordOf(`2.${day}.0`, "2.0.0", T0 + day * DAY));
  const other = recordOf("9.0.0", "8.0.0", T0, { target: "payments", name: "payments-9-0-0" });
  const names = (list: readonly { metadata: { name: string } }[]) => list.map((r) => r.metadata.name).sort();

  it("keeps the newest N per target", () => {
    expect(names(recordsToPrune([...records, other], { keepLast: 2 }, now))).toEqual(
      ["checkout-2-0-0", "checkout-2-1-0", "checkout-2-2-0"].sort(),
    );
  });

  it("lets go of records older than the maximum age, and of nothing without a policy", () => {
    const maxAgeMs = 100 * DAY - 2 * DAY;
    // Finished 40 minutes after each day's start: days 0 and 1 are older than 98 days.
    expect(names(recordsToPrune(records, { maxAgeMs }, now))).toEqual(["checkout-2-0-0", "checkout-2-1-0"]);
    expect(recordsToPrune([...records, other], {}, now)).toEqual([]);
  });
});

describe("a gone Release, from its record", () => {
  it("comes back whole: spec, status, labels and stamps", () => {
    const release = aSucceededRelease("2.4.0", "2.3.0", T0, {
      labels: { "glidepath.dev/rollback-of": "checkout-2-5-0" },
      annotations: { [CREATED_BY_ANNOTATION]: '{"user":"alice"}' },
    });
    release.metadata.uid = "uid-1";
    const record = releaseRecordOf(release);
    if (!record) throw new Error("no record");
    expect(releaseFromRecord(record)).toEqual({
      ...release,
      metadata: {
        name: release.metadata.name,
        namespace: "shop",
        uid: "uid-1",
        creationTimestamp: release.metadata.creationTimestamp,
        labels: release.metadata.labels,
        annotations: { [CREATED_BY_ANNOTATION]: '{"user":"alice"}' },
      },
    });
  });

  it("joins the live Releases only when its own Release is gone", () => {
    const live = aSucceededRelease("2.4.0", "2.3.0", T0);
    live.metadata.uid = "uid-live";
    const gone = aSucceededRelease("2.3.0", "2.2.0", T0 - DAY);
    gone.metadata.uid = "uid-gone";
    const records = [live, gone].map((release) => releaseRecordOf(release)).filter((r) => r !== undefined);
    const names = withRecordedReleases([live], records).map((release) => release.metadata.name);
    expect(names).toEqual(["checkout-2-4-0", "checkout-2-3-0"]);
    // A Release deleted and created again under the same name: the old record is another release.
    const again = { ...live, metadata: { ...live.metadata, uid: "uid-new" } };
    expect(withRecordedReleases([again], records)).toHaveLength(3);
  });
});
