// The alert trigger: a Release at its canary, then a firing alert POSTed to the
// controller's /hooks/alertmanager exactly as Alertmanager would send it; timed from just
// before the POST until the route watch shows all traffic on stable.
import { randomBytes } from "node:crypto";
import { startRelease, waitRolledBack } from "./release.ts";
import { allOnStable } from "./route-watch.ts";
import type { RollbackStack } from "./stack.ts";

export interface AlertRun {
  run: number;
  /** POST sent → HTTPRoute watched at 100% stable. */
  alertToRouteMs: number;
  /** POST sent → the hook's 200 answer. */
  hookAnswerMs: number;
}

/** A version 4 Alertmanager webhook with one firing critical alert for `service`. */
export function firingAlertWebhook(options: {
  namespace: string;
  service: string;
  externalURL: string;
}): string {
  return JSON.stringify({
    receiver: "glidepath",
    status: "firing",
    alerts: [
      {
        status: "firing",
        labels: {
          alertname: "BenchCanaryErrors",
          namespace: options.namespace,
          service: options.service,
          severity: "critical",
        },
        annotations: { summary: "benchmark" },
        startsAt: new Date().toISOString(),
        endsAt: "0001-01-01T00:00:00Z",
        generatorURL: "http://prometheus.bench/graph",
        fingerprint: randomBytes(8).toString("hex"),
      },
    ],
    groupLabels: { alertname: "BenchCanaryErrors" },
    commonLabels: {},
    commonAnnotations: {},
    externalURL: options.externalURL,
    version: "4",
    groupKey: '{}:{alertname="BenchCanaryErrors"}',
    truncatedAlerts: 0,
  });
}

/** POSTs the webhook to the controller's hook; throws unless it answers 200. */
export async function postAlert(bench: RollbackStack, body: string): Promise<void> {
  const answer = await fetch(`${bench.controller.url}/hooks/alertmanager`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${bench.hookToken}` },
    body,
  });
  if (answer.status !== 200) throw new Error(`the hook answered ${answer.status}: ${await answer.text()}`);
}

/**
 * Starts the Release of a run timed from the webhook POST (`<service>-<trigger>-<run>`) with
 * analysis every `interval` whose rounds run but never fail, matching the service's critical
 * alerts; returns its name once it is at its canary.
 */
export async function startAlertRelease(
  bench: RollbackStack,
  trigger: "alert" | "hung",
  run: number,
  interval: string,
): Promise<string> {
  const name = `${bench.service}-${trigger}-${run}`;
  await startRelease(bench, {
    name,
    // Each trigger its own series (breach runs 2.1.x), so no two runs share a version.
    version: `${trigger === "alert" ? "2.0" : "2.2"}.${run}`,
    run,
    analysis: {
      interval,
      metrics: [{ name: "error-rate", template: "http-error-ratio", max: 0.5, inconclusiveLimit: 100 }],
      alerts: { matchLabels: { service: bench.service }, severities: ["critical"] },
    },
  });
  return name;
}

/**
 * POSTs a firing alert for the Release `name` (at its canary) and times it until the route
 * is all on stable; `onStable` runs then, before the Release's end is checked (trigger alert).
 */
export async function timeAlertRollback(
  bench: RollbackStack,
  name: string,
  run: number,
  onStable: () => void = () => undefined,
): Promise<AlertRun> {
  const body = firingAlertWebhook({
    namespace: bench.namespace,
    service: bench.service,
    externalURL: bench.stack.info.alertmanager.url,
  });
  const sent = performance.now();
  // 60 s: a rollback that waited on a hung round (30 s client limit) is measured, not cut off.
  const routeOnStable = bench.route.changed(allOnStable(bench.service), sent, 60_000);
  // A failed run must not leave an unhandled rejection behind.
  routeOnStable.catch(() => undefined);
  await postAlert(bench, body);
  const hookAnswerMs = performance.now() - sent;
  const stableAt = await routeOnStable;
  onStable();
  const finished = await waitRolledBack(bench, name);
  if (finished.rollback?.trigger !== "alert")
    throw new Error(`${name} ended ${finished.phase}, rolled back by ${finished.rollback?.trigger}`);
  return { run, alertToRouteMs: stableAt - sent, hookAnswerMs };
}

export async function alertRun(bench: RollbackStack, run: number): Promise<AlertRun> {
  const name = await startAlertRelease(bench, "alert", run, "5s");
  return timeAlertRollback(bench, name, run);
}
