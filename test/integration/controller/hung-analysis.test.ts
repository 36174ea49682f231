// A rollback trigger never waits on analysis (issue 13, item 1, "behind a slow query").
// The controller queries a Prometheus of its own that the test stops (SIGSTOP): a round
// in flight then hangs until the client's time limit (30 s for all attempts together).
// Given a release at its canary with analysis every 2 s and Prometheus stopped, when an
// alert arrives or a person aborts, then all traffic is back on stable and the release
// rolled back while Prometheus is still stopped, and no measurement of the hung round
// reached the record. Before analysis ran beside the reconcile, the trigger waited for
// the hung round to end (~25 s later) and the round's timeouts were folded in first.
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ControllerProcess } from "../../harness/controller.ts";
import { stackInfo, startPrivatePrometheus, waitFor } from "../../harness/context.ts";
import type { PrometheusServer } from "../../harness/prometheus.ts";
import type { Release } from "../../../src/api/index.ts";
import { postHook, webhookBody } from "../alerting/hook-client.ts";
import { givenController, givenService, type ServiceScenario } from "./scenario.ts";

const TOKEN = randomBytes(24).toString("base64url");
const ANALYSIS_INTERVAL_S = 2;
/**
 * Far below the hung round's 30 s, far above the usual few hundred milliseconds: a
 * loaded machine never fails it, a trigger that waits for the round always does.
 */
const ROLLBACK_WITHIN_MS = 20_000;

let hungPrometheus: PrometheusServer;
let controller: ControllerProcess;
let stopped = false;

function stopPrometheus(): number {
  process.kill(hungPrometheus.process.pid, "SIGSTOP");
  stopped = true;
  return Date.now();
}

function continuePrometheus(): void {
  if (!stopped) return;
  process.kill(hungPrometheus.process.pid, "SIGCONT");
  stopped = false;
}

beforeAll(async () => {
  hungPrometheus = await startPrivatePrometheus({ name: "prometheus-hung" });
  const tokenFile = join(stackInfo().runDir, `hung-analysis-hook-token-${process.pid}`);
  writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
  controller = await givenController({
    identity: `hung-analysis-${process.pid}`,
    config: {
      // Each attempt may take a minute: a stopped Prometheus holds a round for the client's
      // whole time limit (30 s), as a Prometheus stuck on a heavy query would.
      prometheus: { url: hungPrometheus.url, timeout: "60s" },
      hooks: { alertmanager: { token: { file: tokenFile } } },
    },
  });
});

afterAll(async () => {
  continuePrometheus();
  await controller?.stop();
  await hungPrometheus?.stop();
});

/** A release held at a 1% canary for 10 minutes, analysed every 2 s against the Prometheus the test stops. */
async function releaseAtCanary(scenario: ServiceScenario, name: string, version: string): Promise<void> {
  await scenario.release(name, version, {
    stages: [
      { name: "canary", weight: 1, hold: "10m" },
      { name: "ga", weight: 100, hold: "0s" },
    ],
    analysis: {
      interval: `${ANALYSIS_INTERVAL_S}s`,
      // This Prometheus scrapes nothing: every round is "no data", tolerated throughout.
      metrics: [{ name: "error-rate", template: "http-error-ratio", max: 0.5, inconclusiveLimit: 100 }],
      alerts: { matchLabels: { service: "checkout" }, severities: ["critical"] },
    },
  });
  // Rounds run and are recorded while Prometheus answers.
  await scenario.waitForRelease(
    name,
    "at its canary with two analysis rounds recorded",
    (release) =>
      release.status?.phase === "Progressing" &&
      release.status.currentStage?.name === "canary" &&
      (release.status.stages.at(-1)?.measurements.length ?? 0) >= 2,
  );
}

/** Stops Prometheus and waits past two analysis intervals, so a round is certainly in flight, hung. */
async function hangAnalysis(): Promise<number> {
  const stoppedAt = stopPrometheus();
  await new Promise((resolve) => setTimeout(resolve, (2 * ANALYSIS_INTERVAL_S + 1) * 1000));
  return stoppedAt;
}

async function allOnStable(scenario: ServiceScenario, what: string): Promise<void> {
  await waitFor(
    async () => {
      const weights = await scenario.routeWeights();
      return (weights["checkout-canary"] ?? 0) === 0 && (weights.checkout ?? 0) > 0 ? weights : undefined;
    },
    { timeoutMs: ROLLBACK_WITHIN_MS, intervalMs: 100, description: `all traffic on stable after ${what}` },
  );
}

/** Measurements the record holds that were taken once Prometheus was stopped: a hung round's. */
function measurementsSince(release: Release, stoppedAt: number): string[] {
  return (release.status?.stages ?? []).flatMap((stage) =>
    stage.measurements
      .filter((measurement) => Date.parse(measurement.at) >= stoppedAt)
      .map((measurement) => `${measurement.at} ${measurement.verdict}: ${measurement.reason}`),
  );
}

describe("with Prometheus stopped while a release analyses every 2 s", () => {
  let scenario: ServiceScenario;

  beforeAll(async () => {
    scenario = await givenService("hung-analysis");
  });

  afterAll(async () => {
    continuePrometheus();
    await scenario?.tearDown();
  });

  it("a matching alert puts all traffic back on stable while the round still hangs", async () => {
    const name = "checkout-6-0-0";
    await releaseAtCanary(scenario, name, "6.0.0");
    const stoppedAt = await hangAnalysis();
    try {
      const answer = await postHook(
        controller.url,
        webhookBody([
          {
            status: "firing",
            labels: {
              alertname: "CheckoutErrorBudgetBurn",
              namespace: scenario.namespace,
              service: "checkout",
              severity: "critical",
            },
            startsAt: new Date().toISOString(),
          },
        ]),
        { authorization: `Bearer ${TOKEN}` },
      );
      expect(answer.status).toBe(200);
      await allOnStable(scenario, "the alert");
      const release = await scenario.waitForPhase(name, ["RolledBack", "Failed", "Succeeded"], {
        timeoutMs: ROLLBACK_WITHIN_MS,
      });
      // Still stopped: nothing Prometheus could have answered was waited for.
      expect(stopped).toBe(true);
      expect(release.status?.phase, release.status?.message).toBe("RolledBack");
      expect(release.status?.rollback?.trigger).toBe("alert");
      expect(measurementsSince(release, stoppedAt)).toEqual([]);
    } finally {
      continuePrometheus();
    }
  });

  it("an abort puts all traffic back on stable while the round still hangs", async () => {
    const name = "checkout-6-0-1";
    await releaseAtCanary(scenario, name, "6.0.1");
    const stoppedAt = await hangAnalysis();
    try {
      await scenario.control(name, {
        abort: { by: "oncall@example.com", at: new Date().toISOString(), reason: "checkout is slow" },
      });
      await allOnStable(scenario, "the abort");
      const release = await scenario.waitForPhase(name, ["RolledBack", "Failed", "Succeeded"], {
        timeoutMs: ROLLBACK_WITHIN_MS,
      });
      expect(stopped).toBe(true);
      expect(release.status?.phase, release.status?.message).toBe("RolledBack");
      expect(release.status?.rollback?.trigger).toBe("manual");
      expect(measurementsSince(release, stoppedAt)).toEqual([]);
    } finally {
      continuePrometheus();
    }
  });
});
