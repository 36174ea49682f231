// The Alertmanager webhook that rolls matching releases back at once, and what it keeps of
// the alerts (the HTTP server it is served on is src/http); exports what wiring.ts and the tests use.
export { createAlertmanagerHook, type HookSummary } from "./alertmanager.ts";
export { AlertInboxStore } from "./alert-inbox.ts";
export { alertTargets, dedupeKeyOf, matchAlert, observationOf } from "./alert-matching.ts";
export { parseAlertmanagerPayload, type WebhookAlert } from "./alertmanager-payload.ts";
export { bearerTokenMatches, bearerTokenOf } from "./bearer-token.ts";
export {
  FIRING_ALERTS_ANNOTATION,
  MAX_ANNOTATION_BYTES,
  mergeAnnotatedAlerts,
  readAnnotatedAlerts,
} from "./release-annotation.ts";
export { ReleaseAlertAnnotator } from "./release-alert-annotator.ts";
