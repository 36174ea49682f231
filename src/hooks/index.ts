// The controller's HTTP side: the server (/metrics, /healthz, /readyz) and the
// Alertmanager webhook that rolls matching releases back at once.
export { createAlertmanagerHook } from "./alertmanager.ts";
export type { AlertHookHost, AlertmanagerHookOptions, AlertOutcome, HookSummary } from "./alertmanager.ts";
export { AlertInboxStore } from "./alert-inbox.ts";
export type { AlertInboxOptions } from "./alert-inbox.ts";
export { alertTargets, canActOnAlerts, dedupeKeyOf, matchAlert, observationOf } from "./alert-matching.ts";
export type { AlertDecision, AlertTarget } from "./alert-matching.ts";
export { alertmanagerPayloadSchema, parseAlertmanagerPayload } from "./alertmanager-payload.ts";
export type { AlertmanagerPayload, WebhookAlert } from "./alertmanager-payload.ts";
export { bearerTokenMatches, bearerTokenOf } from "./bearer-token.ts";
export {
  DROPPED_ALERTS_ANNOTATION,
  FIRING_ALERTS_ANNOTATION,
  MAX_ANNOTATION_BYTES,
  mergeAnnotatedAlerts,
  readAnnotatedAlerts,
} from "./release-annotation.ts";
export { ReleaseAlertAnnotator } from "./release-alert-annotator.ts";
export type { AnnotationOutcome } from "./release-alert-annotator.ts";
