// On-call notifications: a generic JSON webhook, Slack incoming webhooks, and
// Alertmanager's API v2 (so the organisation's existing routing pages on-call).
export { createNotifier, OnCallNotifier } from "./notifier.ts";
export type { NotificationOutcome, NotifierDeps } from "./notifier.ts";
export { describeNotification } from "./facts.ts";
export type { NotificationFacts, Severity } from "./facts.ts";
export {
  alertmanagerAlerts,
  NOTIFICATION_ALERT_NAMES,
  slackBody,
  slackEscape,
  webhookBody,
} from "./formats.ts";
export type { PostableAlert } from "./formats.ts";
export { isRetryableStatus, retryAfter } from "./delivery.ts";
