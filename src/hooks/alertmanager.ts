import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "pino";
import type { Release, StrategyFile } from "../api/index.ts";
import type { AlertObservation } from "../engine/index.ts";
import { parseObjectKey } from "../kube/index.ts";
import type { ControllerMetrics } from "../telemetry/metrics.ts";
import type { AlertInboxStore } from "./alert-inbox.ts";
import { alertTargets, dedupeKeyOf, matchAlert } from "./alert-matching.ts";
import { parseAlertmanagerPayload, type AlertmanagerPayload } from "./alertmanager-payload.ts";
import { bearerTokenMatches } from "./bearer-token.ts";
import type { ReleaseAlertAnnotator } from "./release-alert-annotator.ts";
import { readBody } from "../http/body.ts";
import { sendJson, type RouteHandler } from "../http/server.ts";
import type { SecretReader } from "../config/index.ts";

// POST /hooks/alertmanager — Alertmanager's webhook (version 4). In order: the bearer
// token (401), the size (413), the body (400), then every alert on its own. A firing
// alert that matches an active release goes into the AlertInbox and the release is
// enqueued at once, so the rollback starts now rather than at the next analysis tick.
// Leader or follower, the alert is also written onto the Release (an annotation) and the
// hook answers 200 only once that is stored: a leader that crashes or loses the Lease
// between its answer and the rollback loses nothing, the next leader finds it there. If
// it cannot be stored, or the replica is stopping, the hook answers 503 and Alertmanager
// retries (it does not retry a 4xx, so those are kept for requests that would fail again).

/** What the hook needs from the controller. */
export interface AlertHookHost {
  isLeader(): boolean;
  /**
   * Sharded controllers: whether this replica reconciles the Release (holds its shard). A
   * replica that does not hands the alert to the shard's holder through the annotation,
   * as a follower hands it to the leader. Without it, isLeader() decides for every Release.
   */
  actsOn?(releaseKey: string): boolean;
  /** Shutting down: alerts are refused with 503 so that Alertmanager sends them again. */
  isStopping(): boolean;
  /** The Release cache has had its first list: until then an alert cannot be matched. */
  isSynced(): boolean;
  /** The Releases in the informer cache. */
  releases(): Release[];
  /** Reconcile this release now. */
  enqueue(key: string): void;
}

export interface AlertmanagerHookOptions {
  host: AlertHookHost;
  strategy: StrategyFile;
  inbox: AlertInboxStore;
  /** Stores matched alerts on their Releases (a follower's hand-off; a leader's insurance). */
  annotator: Pick<ReleaseAlertAnnotator, "annotate">;
  token: SecretReader;
  maxBodyBytes: number;
  /** Requests handled at once; more get 503 (Alertmanager retries 5xx). Default 32. */
  maxConcurrent?: number;
  metrics: Pick<ControllerMetrics, "alertsReceived">;
  logger: Logger;
}

export type AlertOutcome =
  | "matched"
  | "duplicate"
  | "unmatched"
  | "resolved"
  | "ignored"
  | "unauthorized"
  | "invalid"
  | "too_large"
  | "handoff_failed"
  | "unavailable"
  | "busy"
  | "stopping"
  | "not_ready";

export interface HookSummary {
  alerts: number;
  /** Release keys that this request's alerts will roll back. */
  matched: string[];
  duplicates: number;
  unmatched: number;
  resolved: number;
  ignored: number;
  /** Whether this replica acts (leader; sharded: holds their shards) or annotated the Releases for another (follower). */
  handledBy: "leader" | "follower";
}

const DEFAULT_MAX_CONCURRENT = 32;
/** Seconds Alertmanager is asked to wait before sending again to a stopping replica. */
const STOPPING_RETRY_AFTER_SECONDS = "5";

export function createAlertmanagerHook(options: AlertmanagerHookOptions): RouteHandler {
  const log = options.logger.child({ component: "alertmanager-hook" });
  // Whether this replica reconciles the Release itself (sharded: holds its shard; else: leads).
  const actsOn = (releaseKey: string): boolean =>
    options.host.actsOn ? options.host.actsOn(releaseKey) : options.host.isLeader();
  const count = (outcome: AlertOutcome, by = 1): void => {
    if (by > 0) options.metrics.alertsReceived.inc({ outcome }, by);
  };

  const reject = (
    response: ServerResponse,
    status: number,
    outcome: AlertOutcome,
    error: string,
    extra: Record<string, unknown> = {},
    headers: Record<string, string> = {},
  ): void => {
    count(outcome);
    // The body may be unread: close the connection rather than read what we refuse.
    sendJson(response, status, { error, ...extra }, { connection: "close", ...headers });
  };

  const maxConcurrent = options.maxConcurrent ?? DEFAULT_MAX_CONCURRENT;
  let inFlight = 0;

  return async (request: IncomingMessage, response: ServerResponse) => {
    // Bodies are read into memory: a cap on how many at once bounds what a flood can take.
    if (inFlight >= maxConcurrent) {
      reject(
        response,
        503,
        "busy",
        `${maxConcurrent} webhook requests are being handled; try again`,
        {},
        {
          "retry-after": "1",
        },
      );
      return;
    }
    inFlight++;
    try {
      await serve(request, response);
    } finally {
      inFlight--;
    }
  };

  async function serve(request: IncomingMessage, response: ServerResponse): Promise<void> {
    let expected: string;
    try {
      expected = await options.token.value();
    } catch (error) {
      log.error({ err: (error as Error).message }, "the webhook token cannot be read; refusing alerts");
      reject(response, 503, "unavailable", "the webhook token is not available");
      return;
    }
    if (!bearerTokenMatches(request.headers.authorization, expected)) {
      log.warn({ remote: request.socket.remoteAddress }, "webhook request without a valid bearer token");
      reject(
        response,
        401,
        "unauthorized",
        "missing or wrong bearer token",
        {},
        {
          "www-authenticate": 'Bearer realm="glidepath"',
        },
      );
      return;
    }
    // First thing on a stop, before the work queue stops taking keys: an alert taken now
    // might be answered 200 and never acted on.
    if (options.host.isStopping()) {
      reject(
        response,
        503,
        "stopping",
        "this replica is shutting down; send again",
        {},
        { "retry-after": STOPPING_RETRY_AFTER_SECONDS },
      );
      return;
    }
    // A replica just started has not listed the Releases yet: an alert judged now would
    // match nothing and be answered 200, lost. 503: Alertmanager sends it again.
    if (!options.host.isSynced()) {
      reject(
        response,
        503,
        "not_ready",
        "this replica has not loaded the Releases yet; send again",
        {},
        { "retry-after": STOPPING_RETRY_AFTER_SECONDS },
      );
      return;
    }
    const tooLarge = `the body is larger than ${options.maxBodyBytes} bytes`;
    if (Number(request.headers["content-length"] ?? 0) > options.maxBodyBytes) {
      reject(response, 413, "too_large", tooLarge);
      return;
    }
    const body = await readBody(request, options.maxBodyBytes);
    if (body === undefined) {
      reject(response, 413, "too_large", tooLarge);
      return;
    }
    const parsed = parseAlertmanagerPayload(body.toString("utf8"));
    if (!parsed.ok) {
      log.warn({ issues: parsed.issues }, "invalid Alertmanager webhook payload");
      reject(response, 400, "invalid", "invalid Alertmanager webhook payload", { issues: parsed.issues });
      return;
    }
    const outcome = await handle(parsed.payload);
    if (!outcome.ok) {
      reject(response, 503, "handoff_failed", outcome.error);
      return;
    }
    // The stop may have begun while the alerts were being stored: stored, they are safe.
    if (options.host.isStopping() && outcome.summary.matched.length > 0)
      log.info({ matched: outcome.summary.matched }, "alerts stored on their Releases while stopping");
    sendJson(response, 200, outcome.summary);
  }

  async function handle(
    payload: AlertmanagerPayload,
  ): Promise<{ ok: true; summary: HookSummary } | { ok: false; error: string }> {
    const leading = options.host.isLeader();
    const targets = alertTargets(options.host.releases(), options.strategy);
    const summary: HookSummary = {
      alerts: payload.alerts.length,
      matched: [],
      duplicates: 0,
      unmatched: 0,
      resolved: 0,
      ignored: 0,
      handledBy: leading ? "leader" : "follower",
    };
    const handOff = new Map<string, { observation: AlertObservation; dedupeKey: string }[]>();
    if (payload.truncatedAlerts > 0) {
      log.warn(
        { truncatedAlerts: payload.truncatedAlerts, groupKey: payload.groupKey },
        "Alertmanager truncated this notification (max_alerts); the alerts left out arrive with the next one",
      );
    }

    // Truncation happens before group status and commonLabels are computed: each alert
    // is judged on its own status and labels only.
    for (const alert of payload.alerts) {
      const about = {
        alert: alert.labels.alertname,
        fingerprint: alert.fingerprint,
        namespace: alert.labels.namespace,
        severity: alert.labels.severity,
        startsAt: alert.startsAt,
      };
      const decision = matchAlert(alert, targets);
      const dedupeKey = dedupeKeyOf(alert);
      switch (decision.outcome) {
        case "resolved": {
          const dropped = options.inbox.resolve(dedupeKey);
          summary.resolved++;
          count("resolved");
          log.info({ ...about, dropped }, "alert resolved; it rolls nothing back");
          break;
        }
        case "ignored":
          summary.ignored++;
          count("ignored");
          log.debug({ ...about, reason: decision.reason }, "alert ignored");
          break;
        case "unmatched":
          summary.unmatched++;
          count("unmatched");
          log.info({ ...about, reason: decision.reason }, "firing alert matches no active release");
          break;
        case "matched":
          for (const target of decision.targets) {
            if (options.inbox.take(target.key, decision.observation, dedupeKey) === "duplicate") {
              summary.duplicates++;
              count("duplicate");
              log.debug({ ...about, release: releaseRef(target.key) }, "repeat of an alert already taken");
              continue;
            }
            summary.matched.push(target.key);
            count("matched");
            log.warn(
              { ...about, release: releaseRef(target.key), leading },
              "firing alert matches a release: rolling it back",
            );
            const pending = handOff.get(target.key) ?? [];
            pending.push({ observation: decision.observation, dedupeKey });
            handOff.set(target.key, pending);
          }
          break;
      }
    }

    // Sharded: "leader" only if this replica holds the shard of every Release it matched.
    if (summary.matched.length > 0) summary.handledBy = summary.matched.every(actsOn) ? "leader" : "follower";
    const failures = await annotateReleases(handOff);
    // The leader acts on what it holds in memory at once; the Release was written first,
    // so the reconcile does not race its own annotation (a status write would conflict).
    for (const releaseKey of handOff.keys()) if (actsOn(releaseKey)) options.host.enqueue(releaseKey);
    if (failures.length > 0)
      return { ok: false, error: `could not write the alerts onto ${failures.join(", ")}` };
    return { ok: true, summary };
  }

  /**
   * Writes matched alerts onto their Releases (an annotation), before the answer: a follower's hand-off
   * to the leader, and the leader's own insurance against a crash or a lost Lease before
   * it has rolled back. Returns the keys it could not annotate.
   */
  async function annotateReleases(
    handOff: Map<string, { observation: AlertObservation; dedupeKey: string }[]>,
  ): Promise<string[]> {
    const results = await Promise.all(
      [...handOff].map(async ([releaseKey, alerts]) => {
        const leading = actsOn(releaseKey);
        try {
          const outcome = await options.annotator.annotate(
            releaseKey,
            alerts.map((alert) => alert.observation),
          );
          log.info(
            { release: releaseRef(releaseKey), outcome },
            leading
              ? "leader annotated the Release with the alert"
              : "follower annotated the Release with the alert for the leader",
          );
          return undefined;
        } catch (error) {
          // Alertmanager's retry must be taken as new rather than as a repeat. A leader
          // still acts on the alert it holds; a follower holds nothing worth keeping.
          for (const alert of alerts) {
            if (leading) options.inbox.unremember(releaseKey, alert.dedupeKey);
            else options.inbox.forget(releaseKey, alert.dedupeKey);
          }
          log.error(
            { release: releaseRef(releaseKey), err: (error as Error).message },
            leading
              ? "could not annotate the Release with the alert"
              : "could not hand the alert to the leader",
          );
          return releaseKey;
        }
      }),
    );
    return results.filter((key): key is string => key !== undefined);
  }
}

/** The release as every log line about a release names it (telemetry/logger.ts). */
function releaseRef(releaseKey: string): { namespace?: string; name: string } {
  return parseObjectKey(releaseKey);
}
