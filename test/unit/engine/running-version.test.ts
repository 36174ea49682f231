// One test of "runs this version" for the engine's finished rollback and the CLI's
// rollback verification (issue 14, item 4).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { judgeVerification } from "../../../src/cli/verify.ts";
import { runsVersion, versionMismatches } from "../../../src/engine/index.ts";
import type { WorkloadObservation } from "../../../src/engine/types.ts";

const stable = (version: string | undefined, images: Record<string, string>): WorkloadObservation => ({
  exists: true,
  images,
  ...(version === undefined ? {} : { version }),
  desiredReplicas: 2,
  readyReplicas: 2,
  ready: true,
  progressDeadlineExceeded: false,
});

describe("whether a Deployment runs a version", () => {
  it("given the version label and every named image, it runs it; other containers may run anything", () => {
    const running = stable("2.4.0", { checkout: "shop/checkout:2.4.0", proxy: "envoy:1.30" });
    expect(
      versionMismatches(running, { version: "2.4.0", images: { checkout: "shop/checkout:2.4.0" } }),
    ).toEqual([]);
    expect(runsVersion(running, { version: "2.4.0", images: { checkout: "shop/checkout:2.4.0" } })).toBe(
      true,
    );
  });

  it("given another version label and image, says both, the version first", () => {
    const running = stable("2.6.0", { checkout: "shop/checkout:2.6.0" });
    expect(
      versionMismatches(running, { version: "2.4.0", images: { checkout: "shop/checkout:2.4.0" } }),
    ).toEqual([
      { kind: "version", running: "2.6.0", wanted: "2.4.0" },
      { kind: "image", container: "checkout", running: "shop/checkout:2.6.0", wanted: "shop/checkout:2.4.0" },
    ]);
  });

  it("given a version with no label on record, looks at the images only", () => {
    const running = stable(undefined, { checkout: "shop/checkout:2.4.0" });
    expect(runsVersion(running, { images: { checkout: "shop/checkout:2.4.0" } })).toBe(true);
  });

  it("given no Deployment, it runs nothing", () => {
    const missing: WorkloadObservation = { ...stable(undefined, {}), exists: false, ready: false };
    expect(runsVersion(missing, { images: {} })).toBe(false);
  });

  it("the CLI's verification finds a version problem exactly when the engine would not count stable restored", () => {
    const tag = fc.constantFrom("2.4.0", "2.6.0");
    fc.assert(
      fc.property(
        fc.option(tag, { nil: undefined }),
        fc.dictionary(fc.constantFrom("checkout", "proxy"), tag),
        tag,
        fc.dictionary(fc.constantFrom("checkout", "proxy"), tag),
        (runningVersion, runningImages, wantedVersion, wantedImages) => {
          const running = stable(runningVersion, runningImages);
          const restored = { version: wantedVersion, images: wantedImages };
          const verdict = judgeVerification("checkout", restored, running, [], []);
          expect(verdict.ok).toBe(runsVersion(running, restored));
        },
      ),
      { numRuns: 300 },
    );
  });
});
