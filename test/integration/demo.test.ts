import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";

// README command 1 runs demo/run.ts after installing what it needs; this runs the same
// script, so the README cannot promise a demo that does not work.
describe("the demo", () => {
  it("takes the good release to GA and rolls the bad one back by itself", () => {
    const run = spawnSync("node_modules/.bin/node", ["demo/run.ts"], { encoding: "utf8", timeout: 300_000 });
    const output = `${run.stdout}\n${run.stderr}`;
    expect(run.status, output.slice(-3000)).toBe(0);
    expect(output).toMatch(/checkout-2-4-0: Succeeded/);
    expect(output).toMatch(/checkout-2-5-0: RolledBack \(error-rate failed/);
    expect(output).toMatch(/# CHG-1042: Fix checkout timeout/);
    expect(output).toMatch(/# CHG-1043: New payment provider client/);
  });
});
