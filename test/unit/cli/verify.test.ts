import { describe, expect, it } from "vitest";
import { metricSchema, type Measurement } from "../../../src/api/index.ts";
import type { WorkloadObservation } from "../../../src/engine/types.ts";
import { verificationMetrics } from "../../../src/cli/rollback-command.ts";
import { judgeVerification } from "../../../src/cli/verify.ts";
import { ROLLBACK_OF_LABEL } from "../../../src/cli/audit.ts";
import { aRelease, aSucceededRelease, image, iso, MINUTE, strategy, T0 } from "./fixtures.ts";

const restored = { version: "2.4.0", images: { checkout: image("2.4.0") } };
const errorRate = metricSchema.parse({ name: "error-rate", template: "http-error-ratio", max: 0.05 });
const healthy: WorkloadObservation = {
  exists: true,
  images: { checkout: image("2.4.0") },
  version: "2.4.0",
  desiredReplicas: 2,
  readyReplicas: 2,
  ready: true,
  progressDeadlineExceeded: false,
};
const at = iso(T0);
const measured = (verdict: Measurement["verdict"], value: string, reason = ""): Measurement[] => [
  { metric: "error-rate", verdict, value, at, reason },
];

describe("verifying a rollback", () => {
  it("passes with the pods Ready on the restored version and every metric within its threshold", () => {
    expect(judgeVerification("checkout", restored, healthy, [errorRate], measured("pass", "0.001"))).toEqual({
      ok: true,
      summary: "checkout on 2.4.0: 2/2 pods Ready; error-rate 0.1% (max 5%) pass",
      problems: [],
    });
  });

  it("fails while the error ratio stays above the threshold, or there is no data", () => {
    const high = judgeVerification(
      "checkout",
      restored,
      healthy,
      [errorRate],
      measured("fail", "0.5", "0.5 above max 0.05"),
    );
    expect(high.ok).toBe(false);
    expect(high.problems).toEqual(["error-rate 50% (max 5%) is fail: 0.5 above max 0.05"]);
    const none = judgeVerification(
      "checkout",
      restored,
      healthy,
      [errorRate],
      measured("inconclusive", "NaN", "no data"),
    );
    expect(none.problems).toEqual(["error-rate NaN (max 5%) is inconclusive: no data"]);
    expect(judgeVerification("checkout", restored, healthy, [errorRate], []).problems).toEqual([
      "error-rate: not measured",
    ]);
  });

  it("fails while pods are not Ready, crash, or run another version or image", () => {
    const rolling: WorkloadObservation = {
      ...healthy,
      version: "2.6.0",
      images: { checkout: image("2.6.0") },
      readyReplicas: 1,
      ready: false,
      unhealthy: { pod: "checkout-abc", container: "checkout", reason: "CrashLoopBackOff", restarts: 4 },
    };
    expect(
      judgeVerification("checkout", restored, rolling, [errorRate], measured("pass", "0")).problems,
    ).toEqual([
      "deployment checkout runs version 2.6.0, not 2.4.0",
      `container checkout runs ${image("2.6.0")}, not ${image("2.4.0")}`,
      "pod checkout-abc container checkout is CrashLoopBackOff (4 restarts)",
      "pods not Ready: 1/2 ready",
    ]);
    const gone = { ...healthy, exists: false };
    expect(judgeVerification("checkout", restored, gone, [], []).problems).toEqual([
      "deployment checkout does not exist",
    ]);
  });

  it("does not pass before the rate window holds only traffic since the rollback", () => {
    const settling = { at: iso(T0 + MINUTE), now: at, window: "1m" };
    const early = judgeVerification(
      "checkout",
      restored,
      healthy,
      [errorRate],
      measured("pass", "0"),
      settling,
    );
    expect(early.ok).toBe(false);
    expect(early.problems).toEqual([
      `metrics count from ${iso(T0 + MINUTE)}, once their 1m window holds only traffic since the rollback`,
    ]);
    const later = { ...settling, now: iso(T0 + 2 * MINUTE) };
    expect(
      judgeVerification("checkout", restored, healthy, [errorRate], measured("pass", "0"), later).ok,
    ).toBe(true);
  });
});

describe("the metrics that judge the restored version", () => {
  const latency = metricSchema.parse({ name: "latency-p99", template: "http-latency-p99", max: 0.3 });
  const withLatency = aSucceededRelease("2.6.0", "2.4.0", T0, { spec: { analysis: { metrics: [latency] } } });

  it("are the undone release's own", () => {
    expect(verificationMetrics(withLatency, strategy)).toEqual({
      metrics: [latency],
      from: `release ${withLatency.metadata.name}`,
    });
  });

  it("for a rollback Release (which analyses nothing), the strategy file's defaults, never another release's", () => {
    const undo = aSucceededRelease("2.4.0", "2.6.0", T0 + MINUTE, {
      labels: { [ROLLBACK_OF_LABEL]: "checkout-2-6-0" },
      spec: { analysis: { metrics: [] } },
    });
    const chosen = verificationMetrics(undo, strategy);
    expect(chosen.metrics.map((metric) => metric.name)).toEqual(["error-rate"]);
    expect(chosen.from).toBe("the strategy file's defaults");
  });

  it("else the strategy file's defaults, or none", () => {
    const bare = aRelease({ spec: { analysis: undefined } });
    expect(verificationMetrics(bare, strategy).metrics.map((metric) => metric.name)).toEqual(["error-rate"]);
    expect(verificationMetrics(bare, undefined)).toEqual({ metrics: [], from: "nowhere" });
  });
});
