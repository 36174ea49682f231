import { describe, expect, it } from "vitest";
import type { Release } from "../../../src/api/index.ts";
import { analysisLags } from "../../../bench/scale/lag.ts";

const at = (second: number) => new Date(Date.UTC(2026, 11, 6, 20, 0, second)).toISOString();

function releaseWith(rounds: Record<string, number[]>): Release {
  const measurements = Object.entries(rounds).flatMap(([metric, seconds]) =>
    seconds.map((second) => ({ metric, verdict: "inconclusive", at: at(second) })),
  );
  return {
    status: { stages: [{ name: "canary", weight: 1, enteredAt: at(0), tallies: [], measurements }] },
  } as unknown as Release;
}

describe("analysis lag", () => {
  it("is how much later than one interval each round of a metric came after the one before", () => {
    const release = releaseWith({ "error-rate": [0, 30, 64], latency: [1, 31] });
    expect(analysisLags([release], 30, Date.parse(at(0)), Date.parse(at(59)) + 10_000).sort()).toEqual([
      0, 0, 4,
    ]);
  });

  it("counts only the rounds that began inside the window", () => {
    const release = releaseWith({ "error-rate": [0, 30, 64] });
    expect(analysisLags([release], 30, Date.parse(at(40)), Date.parse(at(59)) + 10_000)).toEqual([4]);
    expect(analysisLags([releaseWith({})], 30, 0, Date.now())).toEqual([]);
  });
});
