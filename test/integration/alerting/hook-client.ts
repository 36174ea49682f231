// What the alerting tests send to the controller's webhook, and how they read its
// answers and counters: Alertmanager's version-4 body, built as Alertmanager does.
import { randomBytes } from "node:crypto";

export interface HookAlert {
  status: "firing" | "resolved";
  labels: Record<string, string>;
  annotations?: Record<string, string>;
  startsAt: string;
  endsAt?: string;
  fingerprint?: string;
}

/** A random 16-hex-digit fingerprint, the form Alertmanager's take. */
export function fingerprint(): string {
  return randomBytes(8).toString("hex");
}

export function webhookBody(alerts: HookAlert[], extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    receiver: "glidepath",
    status: alerts.some((alert) => alert.status === "firing") ? "firing" : "resolved",
    alerts: alerts.map((alert) => ({
      annotations: {},
      endsAt: "0001-01-01T00:00:00Z",
      generatorURL: "http://prometheus.example/graph",
      fingerprint: fingerprint(),
      ...alert,
    })),
    groupLabels: {},
    commonLabels: {},
    commonAnnotations: {},
    externalURL: "http://alertmanager.example",
    version: "4",
    groupKey: "{}:{}",
    truncatedAlerts: 0,
    ...extra,
  });
}

export interface HookAnswer {
  status: number;
  json: Record<string, unknown>;
  elapsedMs: number;
}

export async function postHook(
  controllerUrl: string,
  body: string,
  headers: Record<string, string> = {},
): Promise<HookAnswer> {
  const started = performance.now();
  const response = await fetch(`${controllerUrl}/hooks/alertmanager`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body,
    signal: AbortSignal.timeout(15_000),
  });
  const text = await response.text();
  const elapsedMs = performance.now() - started;
  return {
    status: response.status,
    json: text ? (JSON.parse(text) as Record<string, unknown>) : {},
    elapsedMs,
  };
}

/** A counter's value on the controller's /metrics (0 when the series does not exist yet). */
export async function counterValue(
  controllerUrl: string,
  name: string,
  labels: Record<string, string>,
): Promise<number> {
  const text = await (
    await fetch(`${controllerUrl}/metrics`, { signal: AbortSignal.timeout(10_000) })
  ).text();
  const wanted = Object.entries(labels)
    .map(([label, value]) => `${label}="${value}"`)
    .sort();
  for (const line of text.split("\n")) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\} (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const have = (match[2] ?? "").split(",").sort();
    if (wanted.every((pair) => have.includes(pair))) return Number(match[3]);
  }
  return 0;
}
