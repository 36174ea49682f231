// A leader on its way out, and a leader whose API calls hang: a controller whose API
// server is reached through a proxy that holds every request of one namespace (the hung
// call of a stuck connection), and a leader killed right after it answered an alert.
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { CoordinationV1Api } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Release } from "../../../src/api/index.ts";
import { FIRING_ALERTS_ANNOTATION } from "../../../src/hooks/index.ts";
import { kubeconfigThrough, startApiProxy, type ApiProxy } from "../../harness/api-proxy.ts";
import { CONTROLLER_NAMESPACE, type ControllerProcess } from "../../harness/controller.ts";
import { kubeConfig, stackInfo, waitFor } from "../../harness/context.ts";
import { fingerprint, postHook, webhookBody } from "../alerting/hook-client.ts";
import {
  controllerKubeconfigPath,
  FINISHED,
  givenController,
  givenService,
  quickStages,
  type ServiceScenario,
} from "./scenario.ts";

const LEASE = "glidepath-controller";
const TOKEN = randomBytes(24).toString("base64url");
const auth = { authorization: `Bearer ${TOKEN}` };
const REQUEST_TIMEOUT_MS = 6_000;
const DRAIN_TIMEOUT_MS = 3_000;
let hooks: Record<string, unknown>;

beforeAll(() => {
  const tokenFile = join(stackInfo().runDir, `shutdown-hook-token-${process.pid}`);
  writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
  hooks = { alertmanager: { token: { file: tokenFile } } };
});

async function leaseHolder(): Promise<string | undefined> {
  const coordination = kubeConfig().makeApiClient(CoordinationV1Api);
  const lease = await coordination.readNamespacedLease({ name: LEASE, namespace: CONTROLLER_NAMESPACE });
  return lease.spec?.holderIdentity || undefined;
}

function atCanary(release: Release): boolean {
  return release.status?.phase === "Progressing" && release.status.currentStage?.name === "canary";
}

/** A release held at a 1% canary for ten minutes, analysed rarely: only an alert ends it soon. */
function heldRelease(scenario: ServiceScenario, name: string, version: string): Promise<void> {
  return scenario.release(name, version, {
    stages: [
      { name: "canary", weight: 1, hold: "10m" },
      { name: "ga", weight: 100, hold: "0s" },
    ],
    analysis: {
      interval: "2m",
      metrics: [{ name: "error-rate", template: "http-error-ratio", max: 0.99, inconclusiveLimit: 30 }],
      alerts: { matchLabels: { service: "checkout" }, severities: ["critical"] },
    },
  });
}

describe("a leader whose Kubernetes calls hang (a proxy holds every request of one namespace)", () => {
  let proxy: ApiProxy;
  let controller: ControllerProcess;
  let hung: ServiceScenario;
  let healthy: ServiceScenario;

  beforeAll(async () => {
    const info = stackInfo();
    proxy = await startApiProxy({ apiServerUrl: info.apiServerUrl, caCertPath: info.caCertPath });
    const identity = `hung-leader-${process.pid}`;
    controller = await givenController({
      identity,
      kubeconfigPath: kubeconfigThrough(
        await controllerKubeconfigPath(),
        proxy.url,
        join(info.runDir, `${identity}.kubeconfig`),
      ),
      config: {
        // One worker: a call that held it would hold every release.
        workers: 1,
        kubernetes: { requestTimeout: `${REQUEST_TIMEOUT_MS}ms` },
        shutdown: { drainTimeout: `${DRAIN_TIMEOUT_MS}ms` },
        hooks,
      },
    });
    await waitFor(async () => ((await leaseHolder()) === controller.identity ? true : undefined), {
      timeoutMs: 30_000,
      description: "the controller to lead",
    });
    hung = await givenService("hung-api");
    healthy = await givenService("healthy-api");
  });

  afterAll(async () => {
    await controller?.stop();
    await proxy?.close();
    await Promise.all([hung?.tearDown(), healthy?.tearDown()]);
  });

  it("abandons a call that never comes back at the deadline: the one worker goes on to other releases", async () => {
    // Every request about the hung namespace's objects gets no answer, ever (watches are cluster-wide).
    proxy.hold((_method, path) => path.includes(`/namespaces/${hung.namespace}/`));
    await hung.release("checkout-2-0-0", "2.0.0", { stages: quickStages(2) });
    await healthy.release("checkout-2-0-0", "2.0.0", { stages: quickStages(2) });

    const done = await healthy.waitForPhase("checkout-2-0-0", FINISHED, { timeoutMs: 120_000 });
    expect(done.status?.phase, done.status?.message).toBe("Succeeded");
    // The hung release's calls were given up at the deadline, each, not held for minutes.
    const abandoned = proxy.held().filter((request) => request.abandonedAfterMs !== undefined);
    expect(abandoned.length).toBeGreaterThan(0);
    for (const request of abandoned)
      expect(request.abandonedAfterMs).toBeLessThan(REQUEST_TIMEOUT_MS + 3_000);
    // Nothing of it got through.
    expect((await hung.read("checkout-2-0-0")).status?.phase).toBeUndefined();
  });

  it("stopping, answers the hook 503 with Retry-After at once and, the drain run out, exits without releasing the Lease", async () => {
    // A reconcile of the hung release is in flight, its call just sent: the drain cannot end in time.
    // (An Event is sent beside the reconcile, not in it: its POST being held says nothing of the drain.)
    const reconcileCall = (request: { path: string }) => !request.path.endsWith("/events");
    await waitFor(
      () =>
        proxy.heldNow().some((request) => request.heldForMs < 1_000 && reconcileCall(request))
          ? true
          : undefined,
      {
        timeoutMs: 60_000,
        intervalMs: 20,
        description: "a call of the hung release's reconcile just held",
      },
    );
    process.kill(controller.process.pid, "SIGTERM");
    await waitFor(async () => ((await fetch(`${controller.url}/readyz`)).status === 503 ? true : undefined), {
      timeoutMs: DRAIN_TIMEOUT_MS,
      intervalMs: 20,
      description: "readiness to fail as the stop begins",
    });
    const answer = await fetch(`${controller.url}/hooks/alertmanager`, {
      method: "POST",
      headers: { "content-type": "application/json", ...auth },
      body: webhookBody([
        {
          status: "firing",
          labels: { alertname: "CheckoutDown", namespace: healthy.namespace, severity: "critical" },
          startsAt: new Date().toISOString(),
        },
      ]),
    });
    expect(answer.status).toBe(503);
    expect(answer.headers.get("retry-after")).toBe("5");
    expect(await answer.json()).toEqual({ error: "this replica is shutting down; send again" });

    const exit = await controller.process.exited;
    expect(exit.code).toBe(1);
    expect(controller.process.logTail(200)).toContain("leaving the Lease to expire");
    // Still held by the replica that left: nobody takes over while its call might still land.
    expect(await leaseHolder()).toBe(controller.identity);
  });
});

describe("a leader killed right after it answered an alert", () => {
  let scenario: ServiceScenario;

  beforeAll(async () => {
    scenario = await givenService("alert-kill");
  });
  afterAll(async () => scenario?.tearDown());

  it("stored the alert on the Release before its 200, so the next leader rolls the release back", async () => {
    const first = await givenController({ identity: `alert-leader-a-${process.pid}`, config: { hooks } });
    const name = "checkout-5-0-0";
    await waitFor(async () => ((await leaseHolder()) === first.identity ? true : undefined), {
      timeoutMs: 30_000,
      description: "the first controller to lead",
    });
    await heldRelease(scenario, name, "5.0.0");
    await scenario.waitForRelease(name, "at the canary stage", atCanary);

    const alertFingerprint = fingerprint();
    const answer = await postHook(
      first.url,
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
          fingerprint: alertFingerprint,
        },
      ]),
      auth,
    );
    // When: it dies the moment it has answered.
    await first.kill();
    expect(answer.status, JSON.stringify(answer.json)).toBe(200);
    expect(answer.json).toMatchObject({ handledBy: "leader", matched: [`${scenario.namespace}/${name}`] });
    // Then: the alert was already on the Release when the 200 went out.
    const stored = await scenario.read(name);
    expect(JSON.parse(stored.metadata.annotations?.[FIRING_ALERTS_ANNOTATION] ?? "[]")).toEqual([
      expect.objectContaining({ fingerprint: alertFingerprint, name: "CheckoutErrorBudgetBurn" }),
    ]);

    const second = await givenController({ identity: `alert-leader-b-${process.pid}`, config: { hooks } });
    try {
      const release = await scenario.waitForPhase(name, FINISHED, { timeoutMs: 90_000 });
      expect(release.status?.phase, release.status?.message).toBe("RolledBack");
      expect(release.status?.rollback).toMatchObject({
        trigger: "alert",
        alert: { name: "CheckoutErrorBudgetBurn", fingerprint: alertFingerprint },
      });
      const weights = await scenario.routeWeights();
      expect(weights["checkout-canary"] ?? 0).toBe(0);
    } finally {
      await second.stop();
    }
  });
});
