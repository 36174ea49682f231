import { OWN_NOTIFICATION_LABEL } from "../api/index.ts";
import type { NotificationFacts } from "./facts.ts";

// The three wire formats, each a pure function of the facts.

/** A generic JSON webhook: the facts as they are, with a kind and a schema version. */
export function webhookBody(facts: NotificationFacts): Record<string, unknown> {
  return { kind: "GlidepathNotification", schemaVersion: 1, ...facts };
}

// ---- Slack (incoming webhooks: https://api.slack.com/messaging/webhooks) ----

const SLACK_EMOJI: Record<NotificationFacts["event"], string> = {
  rolledBack: ":rotating_light:",
  failed: ":x:",
  paused: ":double_vertical_bar:",
  awaitingApproval: ":raised_hand:",
  succeeded: ":white_check_mark:",
  deleted: ":wastebasket:",
  freeze: ":snowflake:",
};

/** Slack's mrkdwn needs &, < and > escaped; nothing else is special in plain text. */
export function slackEscape(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
}

export function slackBody(facts: NotificationFacts): Record<string, unknown> {
  const emoji = SLACK_EMOJI[facts.event];
  const change = facts.changeRequest;
  const changeText = change.ticketUrl
    ? `<${slackEscape(change.ticketUrl)}|${slackEscape(change.id)}>`
    : slackEscape(change.id);
  const fields = [
    field("Release", `${facts.release.namespace}/${facts.release.name}`),
    field("Version", `${facts.version}${facts.previousVersion ? ` (was ${facts.previousVersion})` : ""}`),
    { type: "mrkdwn", text: clip(`*Change*\n${changeText}: ${slackEscape(change.title)}`, 2000) },
    field("Type and risk", `${change.type}, ${change.risk} risk`),
    ...(facts.rollback
      ? [
          field(
            "Trigger",
            `${facts.rollback.trigger}${facts.rollback.alert ? ` (${facts.rollback.alert})` : ""}`,
          ),
        ]
      : []),
  ];
  return {
    // The notification text and what clients without blocks show.
    text: clip(`${emoji} ${facts.title}: ${facts.message}`, 3000),
    blocks: [
      { type: "header", text: { type: "plain_text", text: clip(facts.title, 150), emoji: true } },
      {
        type: "section",
        text: { type: "mrkdwn", text: clip(`${emoji} ${slackEscape(facts.message)}`, 3000) },
      },
      { type: "section", fields },
      {
        type: "context",
        elements: [
          {
            type: "mrkdwn",
            text: clip(
              `requested by ${slackEscape(change.requestedBy)} · ${facts.phase} · ${facts.at}`,
              3000,
            ),
          },
        ],
      },
    ],
  };
}

function field(name: string, value: string): { type: "mrkdwn"; text: string } {
  return { type: "mrkdwn", text: clip(`*${name}*\n${slackEscape(value)}`, 2000) };
}

// ---- Alertmanager API v2 (POST /api/v2/alerts) ----

export interface PostableAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
}

export const NOTIFICATION_ALERT_NAMES: Record<NotificationFacts["event"], string> = {
  rolledBack: "GlidepathReleaseRolledBack",
  failed: "GlidepathReleaseFailed",
  paused: "GlidepathReleasePaused",
  awaitingApproval: "GlidepathReleaseAwaitingApproval",
  succeeded: "GlidepathReleaseSucceeded",
  deleted: "GlidepathReleaseDeleted",
  freeze: "GlidepathReleaseInFreeze",
};

/**
 * One alert, so the organisation's Alertmanager routes apply (team, severity, …). It
 * carries `release_namespace` rather than `namespace`, and the label
 * glidepath_notification="true", so that if a route sends it back to Glidepath's own
 * webhook it can never be mistaken for evidence against another release.
 */
export function alertmanagerAlerts(
  facts: NotificationFacts,
  options: { labels?: Record<string, string>; resolveAfterMs: number },
): PostableAlert[] {
  const labels: Record<string, string> = {
    ...options.labels,
    alertname: NOTIFICATION_ALERT_NAMES[facts.event],
    severity: facts.severity,
    release: facts.release.name,
    release_namespace: facts.release.namespace,
    target: facts.target,
    version: facts.version,
    event: facts.event,
    change_request: facts.changeRequest.id,
    [OWN_NOTIFICATION_LABEL]: "true",
  };
  const annotations: Record<string, string> = {
    summary: facts.title,
    description: facts.message,
    change_title: facts.changeRequest.title,
    requested_by: facts.changeRequest.requestedBy,
    ...(facts.previousVersion ? { previous_version: facts.previousVersion } : {}),
    ...(facts.rollback
      ? { rollback_trigger: facts.rollback.trigger, rollback_reason: facts.rollback.reason }
      : {}),
    ...(facts.rollback?.alert ? { rollback_alert: facts.rollback.alert } : {}),
  };
  const startsMs = Date.parse(facts.at);
  return [
    {
      // Alertmanager treats an empty label as absent, and rejects some as invalid.
      labels: Object.fromEntries(Object.entries(labels).filter(([, value]) => value !== "")),
      annotations,
      startsAt: facts.at,
      endsAt: new Date(startsMs + options.resolveAfterMs).toISOString(),
    },
  ];
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
