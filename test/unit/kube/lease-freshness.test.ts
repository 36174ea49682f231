// When a leader may still write: the pure predicate behind every write's guard.
import { describe, expect, it } from "vitest";
import { leaseIsFresh } from "../../../src/kube/leader-election.ts";

describe("lease freshness", () => {
  const renewDeadlineMs = 10_000;

  it("given a renewal begun less than renewDeadline ago, the leader may write", () => {
    expect(leaseIsFresh(1_000, 1_000, renewDeadlineMs)).toBe(true);
    expect(leaseIsFresh(1_000, 10_999, renewDeadlineMs)).toBe(true);
  });

  it("given renewDeadline or more since the last renewal began, it may not (another may take over at leaseDuration)", () => {
    expect(leaseIsFresh(1_000, 11_000, renewDeadlineMs)).toBe(false);
    expect(leaseIsFresh(1_000, 61_000, renewDeadlineMs)).toBe(false);
  });

  it("given a leader that never renewed (lastRenewAt 0 on a clock far past it), it may not", () => {
    expect(leaseIsFresh(0, 3_600_000, renewDeadlineMs)).toBe(false);
  });

  it("given a time that is not a number, it may not: a bug never opens the guard", () => {
    expect(leaseIsFresh(Number.NaN, 1_000, renewDeadlineMs)).toBe(false);
    expect(leaseIsFresh(1_000, Number.NaN, renewDeadlineMs)).toBe(false);
  });
});
