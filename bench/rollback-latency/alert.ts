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

export async function alertRun(bench: RollbackStack, run: number): Promise<AlertRun> {
  const name = `${bench.service}-alert-${run}`;
  await startRelease(bench, {
    name,
    version: `2.0.${run}`,
    run,
    analysis: {
      interval: "5s",
      metrics: [{ name: "error-rate", template: "http-error-ratio", max: 0.5, inconclusiveLimit: 100 }],
      alerts: { matchLabels: { service: bench.service }, severities: ["critical"] },
    },
  });
  const body = firingAlertWebhook({
    namespace: bench.namespace,
    service: bench.service,
    externalURL: bench.stack.info.alertmanager.url,
  });
  const sent = performance.now();
  const onStable = bench.route.changed(allOnStable(bench.service), sent, 30_000);
  // A failed run must not leave an unhandled rejection behind.
  onStable.catch(() => undefined);
  await postAlert(bench, body);
  const hookAnswerMs = performance.now() - sent;
  const stableAt = await onStable;
  const finished = await waitRolledBack(bench, name);
  if (finished.rollback?.trigger !== "alert")
    throw new Error(`${name} ended ${finished.phase}, rolled back by ${finished.rollback?.trigger}`);
  return { run, alertToRouteMs: stableAt - sent, hookAnswerMs };
}
