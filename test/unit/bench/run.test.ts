import { describe, expect, it } from "vitest";
import { failureMessage, inPhase, PhaseFailure, reasonOf } from "../../../bench/lib/run.ts";

describe("a benchmark that could not complete", () => {
  it("names the phase that failed and why", async () => {
    const failure = await inPhase("active 1000", async () => {
      throw new Error("controller scale-active not ready after 180000 ms:\n(log tail)");
    }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(PhaseFailure);
    expect((failure as PhaseFailure).phase).toBe("active 1000");
    const message = failureMessage(failure);
    expect(message.split("\n")[0]).toBe(
      "benchmark could not complete: the active 1000 phase failed: controller scale-active not ready after 180000 ms:",
    );
    // The cause's stack follows, for whoever has to find out more.
    expect(message).toContain("(log tail)");
  });

  it("keeps the innermost phase's name when phases nest", async () => {
    const failure = await inPhase("stack", () =>
      inPhase("build (compiling the controller)", async () => {
        throw new Error("tsc did not produce dist/main.js");
      }),
    ).catch((error: unknown) => error);
    expect((failure as PhaseFailure).phase).toBe("build (compiling the controller)");
  });

  it("passes a phase's value through when it completes", async () => {
    expect(await inPhase("setup", async () => 42)).toBe(42);
  });

  it("says why in one line, from any error", () => {
    expect(reasonOf(new Error("first\nsecond"))).toBe("first");
    expect(reasonOf("a string")).toBe("a string");
    expect(failureMessage(new Error("boom"))).toMatch(/^benchmark could not complete: Error: boom\n/);
  });
});
