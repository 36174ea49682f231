// On-call notifications: a generic JSON webhook, Slack incoming webhooks, and
// Alertmanager's API v2 (so the organisation's existing routing pages on-call).
export { createNotifier, OnCallNotifier, type NotificationOutcome } from "./notifier.ts";
export { describeNotification } from "./facts.ts";
export { alertmanagerAlerts, slackBody, slackEscape, webhookBody } from "./formats.ts";
export { isRetryableStatus, retryAfter } from "./delivery.ts";
