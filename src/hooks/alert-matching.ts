import {
  OWN_NOTIFICATION_LABEL,
  terminalPhases,
  validateRelease,
  type Release,
  type ReleasePlan,
  type StrategyFile,
} from "../api/index.ts";
import type { AlertObservation } from "../engine/index.ts";
import type { WebhookAlert } from "./alertmanager-payload.ts";

// Which active releases a firing alert rolls back. Pure: plain releases and alerts in,
// a decision out. The rules (PRODUCT.md, "Alert hooks"):
//   - the alert is firing (a resolved alert never rolls back);
//   - its `namespace` label equals the release's namespace — always, so an alert about
//     one team's namespace can never roll back another team's release;
//   - every label in the plan's alerts.matchLabels is equal on the alert;
//   - its `severity` label is one of the plan's alerts.severities;
//   - the release has started and not yet acted (no rollback, not finished), and the
//     alert began at or after the start — the engine's rule too: an alert already firing
//     when a release began is not evidence against it.

export interface AlertTarget {
  /** "namespace/name", the work queue key. */
  key: string;
  namespace: string;
  name: string;
  startedAt: string;
  alerts: ReleasePlan["alerts"];
}

export type AlertDecision =
  | { outcome: "resolved" }
  | { outcome: "ignored"; reason: string }
  | { outcome: "unmatched"; reason: string }
  | { outcome: "matched"; targets: AlertTarget[]; observation: AlertObservation };

/** A release that an alert may still roll back: started, not rolling back, not finished. */
export function canActOnAlerts(release: Pick<Release, "status">): boolean {
  const status = release.status;
  if (!status?.startedAt || status.rollback) return false;
  const phase = status.phase ?? "Pending";
  return phase !== "RollingBack" && !terminalPhases.includes(phase);
}

/** The releases an alert could match now, with the alert rules of their plans. Invalid releases are skipped. */
export function alertTargets(releases: readonly Release[], strategy: StrategyFile): AlertTarget[] {
  const targets: AlertTarget[] = [];
  for (const raw of releases) {
    if (!canActOnAlerts(raw) || !raw.metadata?.namespace) continue;
    const validation = validateRelease(raw, strategy);
    if (!validation.ok) continue;
    const { release, plan } = validation;
    targets.push({
      key: `${raw.metadata.namespace}/${release.metadata.name}`,
      namespace: raw.metadata.namespace,
      name: release.metadata.name,
      startedAt: release.status?.startedAt as string,
      alerts: plan.alerts,
    });
  }
  return targets;
}

/** Decides what one alert of a webhook does, from its own status and labels. */
export function matchAlert(alert: WebhookAlert, targets: readonly AlertTarget[]): AlertDecision {
  if (alert.status === "resolved") return { outcome: "resolved" };
  const labels = alert.labels;
  if (labels[OWN_NOTIFICATION_LABEL] !== undefined)
    return { outcome: "ignored", reason: "a Glidepath notification, not evidence against a release" };
  const namespace = labels.namespace;
  if (!namespace) return { outcome: "unmatched", reason: "the alert has no namespace label" };
  const startsAtMs = Date.parse(alert.startsAt);

  const inNamespace = targets.filter((target) => target.namespace === namespace);
  if (inNamespace.length === 0)
    return { outcome: "unmatched", reason: `no active release in namespace ${namespace}` };
  const byLabels = inNamespace.filter(
    (target) =>
      target.alerts.severities.includes(labels.severity ?? "") &&
      Object.entries(target.alerts.matchLabels).every(([name, value]) => labels[name] === value),
  );
  if (byLabels.length === 0) {
    return {
      outcome: "unmatched",
      reason: `no active release in ${namespace} matches its labels and severity ${JSON.stringify(labels.severity ?? "")} (${inNamespace.map(describeRule).join("; ")})`,
    };
  }
  const matched = byLabels.filter((target) => !(startsAtMs < Date.parse(target.startedAt)));
  if (matched.length === 0) {
    return {
      outcome: "unmatched",
      reason: `it began (${alert.startsAt}) before the matching releases started (${byLabels.map((t) => t.key).join(", ")})`,
    };
  }
  return { outcome: "matched", targets: matched, observation: observationOf(alert) };
}

/** What the engine and the record get: bounded, and startsAt in UTC so times compare as strings. */
export function observationOf(alert: WebhookAlert): AlertObservation {
  const labels = Object.fromEntries(
    Object.entries(alert.labels)
      .sort(([a], [b]) => a.localeCompare(b))
      .slice(0, MAX_LABELS)
      .map(([name, value]) => [clip(name, MAX_LABEL_NAME), clip(value, MAX_LABEL_VALUE)]),
  );
  return {
    // Clipped to what the hand-off annotation accepts (release-annotation.ts), so a long
    // name can never make a follower's record unreadable to the leader.
    name: clip(alert.labels.alertname ?? "(unnamed alert)", MAX_ALERT_NAME),
    fingerprint: alert.fingerprint,
    startsAt: new Date(Date.parse(alert.startsAt)).toISOString(),
    labels,
  };
}

/** fingerprint + startsAt: Alertmanager repeats an alert with both unchanged until it resolves. */
export function dedupeKeyOf(alert: Pick<WebhookAlert, "fingerprint" | "startsAt">): string {
  return `${alert.fingerprint}@${new Date(Date.parse(alert.startsAt)).toISOString()}`;
}

const MAX_LABELS = 32;
const MAX_LABEL_NAME = 256;
const MAX_LABEL_VALUE = 512;
const MAX_ALERT_NAME = 256;

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function describeRule(target: AlertTarget): string {
  const labels = Object.entries(target.alerts.matchLabels)
    .map(([name, value]) => `${name}=${JSON.stringify(value)}`)
    .join(",");
  return `${target.name} wants severity in [${target.alerts.severities.join(",")}]${labels ? ` and ${labels}` : ""}`;
}
