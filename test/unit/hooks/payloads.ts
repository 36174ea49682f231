import type { Release, ReleaseStatus } from "../../../src/api/index.ts";
import type { WebhookAlert } from "../../../src/hooks/index.ts";
import { aRelease, iso, T0 } from "../engine/builders.ts";

// Webhook bodies as Alertmanager 0.25 sends them (version 4), and releases in the
// phases the hook cares about, for the hook's unit tests.

export const STARTED_AT = iso(T0);

/** One alert: firing, in namespace shop, critical, service checkout, begun 1 s after T0 (written with an offset and nanoseconds). */
export function anAlert(overrides: Partial<WebhookAlert> = {}): WebhookAlert {
  return {
    status: "firing",
    labels: {
      alertname: "CheckoutCanaryErrors",
      namespace: "shop",
      service: "checkout",
      severity: "critical",
    },
    annotations: { summary: "canary error ratio above 20%" },
    startsAt: "2026-03-02T11:00:01.123456789+01:00",
    endsAt: "0001-01-01T00:00:00Z",
    generatorURL: "http://prometheus:9090/graph?g0.expr=canary_error_ratio+%3E+0.2",
    fingerprint: "c6c3ac3e1b6f5c8d",
    ...overrides,
  };
}

export function aPayload(alerts: unknown[] = [anAlert()], overrides: Record<string, unknown> = {}) {
  return {
    receiver: "glidepath",
    status: "firing",
    alerts,
    groupLabels: { alertname: "CheckoutCanaryErrors" },
    commonLabels: { alertname: "CheckoutCanaryErrors", namespace: "shop", severity: "critical" },
    commonAnnotations: {},
    externalURL: "http://alertmanager.monitoring:9093",
    version: "4",
    groupKey: '{}:{alertname="CheckoutCanaryErrors"}',
    truncatedAlerts: 0,
    ...overrides,
  };
}

export function startedStatus(overrides: Partial<ReleaseStatus> = {}): ReleaseStatus {
  return {
    phase: "Progressing",
    startedAt: STARTED_AT,
    stages: [],
    approvals: [],
    transitions: [],
    conditions: [],
    ...overrides,
  } as ReleaseStatus;
}

/** checkout 2.4.0 in namespace shop, Progressing since T0, with these alert rules. */
export function aStartedRelease(
  alerts?: { matchLabels?: Record<string, string>; severities?: string[] },
  options: { name?: string; namespace?: string; status?: Partial<ReleaseStatus> } = {},
): Release {
  const release = aRelease(alerts ? { analysis: { alerts } } : {}, startedStatus(options.status));
  return {
    ...release,
    metadata: {
      ...release.metadata,
      name: options.name ?? release.metadata.name,
      namespace: options.namespace ?? release.metadata.namespace,
    },
  };
}
