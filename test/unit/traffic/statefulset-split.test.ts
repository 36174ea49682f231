import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { canaryPodsForWeight, reachedCanaryWeight } from "../../../src/traffic/index.ts";
import { partitionForCanaryPods } from "../../../src/workload/statefulset.ts";

// The StatefulSet split's pure decisions (docs/statefulsets.md): pods on the new revision
// for a weight, and the partition that puts them there.

describe("canary pods of a StatefulSet for a weight", () => {
  it.each([
    // weight, replicas, canary pods, partition, why
    [0, 4, 0, 4, "no weight, no pod on the new revision"],
    [1, 4, 1, 3, "at least one pod while the weight is above 0"],
    [25, 4, 1, 3, "1 of 4"],
    [50, 4, 2, 2, "2 of 4"],
    [90, 4, 3, 1, "stable keeps a pod until 100%"],
    [100, 4, 4, 0, "every pod at 100%"],
    [10, 10, 1, 9, "1 of 10"],
    [50, 1, 1, 0, "one replica: the canary is all of it"],
    [30, 0, 0, 0, "no replicas, nothing to move"],
  ])("%i%% of %i replicas → %i pods, partition %i (%s)", (weight, replicas, pods, partition) => {
    expect(canaryPodsForWeight(weight, replicas)).toBe(pods);
    expect(partitionForCanaryPods(replicas, pods)).toBe(partition);
  });

  it("refuses weights outside 0–100 and fractions, and fractional replicas", () => {
    expect(() => canaryPodsForWeight(101, 4)).toThrow(/whole percentage from 0 to 100, not 101/);
    expect(() => canaryPodsForWeight(2.5, 4)).toThrow(/not 2.5/);
    expect(() => canaryPodsForWeight(10, 1.5)).toThrow(/replicas must be a whole number ≥ 0, not 1.5/);
    expect(() => partitionForCanaryPods(4, -1)).toThrow(/must be whole numbers ≥ 0/);
  });

  it("never skips a stage's share: more weight never means fewer pods, and the partition stays within the StatefulSet (property)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 100 }),
        fc.integer({ min: 0, max: 100 }),
        fc.integer({ min: 1, max: 60 }),
        (a, b, replicas) => {
          const [low, high] = a <= b ? [a, b] : [b, a];
          const lowPods = canaryPodsForWeight(low, replicas);
          const highPods = canaryPodsForWeight(high, replicas);
          expect(highPods).toBeGreaterThanOrEqual(lowPods);
          // A weight going down (as on the way back) never raises the pods on the new revision.
          expect(partitionForCanaryPods(replicas, highPods)).toBeLessThanOrEqual(
            partitionForCanaryPods(replicas, lowPods),
          );
          for (const pods of [lowPods, highPods]) {
            const partition = partitionForCanaryPods(replicas, pods);
            expect(partition).toBeGreaterThanOrEqual(0);
            expect(partition).toBeLessThanOrEqual(replicas);
          }
        },
      ),
    );
  });

  it("puts at least one pod on the new revision for any weight above 0, every pod only at 100%, and reaches the nearest share (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 100 }), fc.integer({ min: 2, max: 60 }), (weight, replicas) => {
        const pods = canaryPodsForWeight(weight, replicas);
        expect(pods).toBeGreaterThanOrEqual(1);
        if (weight === 100) expect(pods).toBe(replicas);
        else expect(pods).toBeLessThan(replicas);
        // Unless held at 1 pod or at all-but-one, the share is the nearest reachable one.
        if (pods > 1 && pods < replicas - 1) {
          expect(Math.abs(pods / replicas - weight / 100)).toBeLessThanOrEqual(0.5 / replicas + 1e-12);
        }
        const reached = reachedCanaryWeight(replicas - pods, pods);
        expect(reached).toBeGreaterThanOrEqual(1);
        expect(reached).toBeLessThanOrEqual(100);
      }),
    );
  });
});
