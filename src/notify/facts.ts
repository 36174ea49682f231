import type { NotificationEvent } from "../api/index.ts";
import type { Notification } from "../controller/ports.ts";

// What a notification says, gathered once from the engine's message and the Release;
// every format (JSON webhook, Slack, Alertmanager) is written from these facts. Pure.

export type Severity = "critical" | "warning" | "info";

export interface NotificationFacts {
  event: NotificationEvent;
  severity: Severity;
  /** "shop/checkout-2-4-0: checkout 2.4.0 rolled back" */
  title: string;
  /** The engine's own sentence: why, with the evidence. */
  message: string;
  /** When the notification was made, ISO 8601. */
  at: string;
  release: { namespace: string; name: string; uid?: string };
  /** The phase the release is in now. */
  phase: string;
  target: string;
  version: string;
  previousVersion?: string;
  changeRequest: {
    id: string;
    title: string;
    type: string;
    risk: string;
    requestedBy: string;
    ticketUrl?: string;
  };
  rollback?: { trigger: string; reason: string; alert?: string };
}

/** Without a phase of its own, an event reports the phase the release is in. */
const EVENT_TEXT: Record<NotificationEvent, { verb: string; phase?: string; severity: Severity }> = {
  rolledBack: { verb: "rolled back", phase: "RolledBack", severity: "critical" },
  failed: { verb: "failed", phase: "Failed", severity: "critical" },
  paused: { verb: "paused", phase: "Paused", severity: "warning" },
  awaitingApproval: { verb: "waits for approval", phase: "AwaitingApproval", severity: "info" },
  succeeded: { verb: "succeeded", phase: "Succeeded", severity: "info" },
  // Not a phase the Release records: it is gone once its traffic is back on stable.
  deleted: { verb: "deleted mid-release, traffic back on stable", phase: "Deleted", severity: "warning" },
  freeze: { verb: "is in flight during a change freeze", severity: "warning" },
};

export function describeNotification(notification: Notification, now: Date): NotificationFacts {
  const { release, event } = notification;
  const text = EVENT_TEXT[event];
  const namespace = release.metadata.namespace ?? "";
  const name = release.metadata.name;
  const spec = release.spec;
  const status = release.status;
  const changeRequest = spec.changeRequest;
  const rollback = status?.rollback;
  return {
    event,
    severity: text.severity,
    title: `${namespace ? `${namespace}/` : ""}${name}: ${spec.target.deployment} ${spec.version} ${text.verb}`,
    message: notification.message,
    at: now.toISOString(),
    release: { namespace, name, ...(release.metadata.uid ? { uid: release.metadata.uid } : {}) },
    phase: text.phase ?? status?.phase ?? "Pending",
    target: spec.target.deployment,
    version: spec.version,
    ...(status?.previous?.version ? { previousVersion: status.previous.version } : {}),
    changeRequest: {
      id: changeRequest.id,
      title: changeRequest.title,
      type: changeRequest.type,
      risk: changeRequest.risk,
      requestedBy: changeRequest.requestedBy,
      ...(changeRequest.ticketUrl ? { ticketUrl: changeRequest.ticketUrl } : {}),
    },
    ...(rollback && (event === "rolledBack" || event === "failed")
      ? {
          rollback: {
            trigger: rollback.trigger,
            reason: rollback.reason,
            ...(rollback.alert ? { alert: rollback.alert.name } : {}),
          },
        }
      : {}),
  };
}
