// Kubernetes Events on Releases (what `kubectl describe release` shows). Best effort:
// a failed Event is logged and never surfaces in the reconcile that published it.
// Repeats of the same event are folded into one object with a growing count, as
// client-go's EventCorrelator does, so a release stuck in a retry loop does not spam.
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import type { CoreV1Api, CoreV1Event } from "@kubernetes/client-node";
import type { Logger } from "pino";
import { API_GROUP, API_VERSION, RELEASE_KIND } from "../api/release.ts";
import { abortWith } from "./client.ts";
import { apiStatusCode, describeApiError } from "./errors.ts";
import { timerDelay } from "./timer-delay.ts";

export type EventType = "Normal" | "Warning";

/** The object the event is about; apiVersion/kind default to Release's. */
export interface EventSubject {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; uid?: string; resourceVersion?: string };
}

export interface EventPublisherOptions {
  core: CoreV1Api;
  logger: Logger;
  /** reportingComponent and source.component. Default "glidepath". */
  component?: string;
  /** reportingInstance and source.host, e.g. the Pod name. Default the hostname. */
  instance?: string;
  /** Identical events within this window raise one Event's count. Default 10 min. */
  aggregateWindowMs?: number;
  /** One request may take this long. Default 10 s. */
  timeoutMs?: number;
}

const MAX_MESSAGE_LENGTH = 1024;
const MAX_REMEMBERED = 512;

interface Published {
  namespace: string;
  eventName: string;
  count: number;
  at: number;
}

export class EventPublisher {
  readonly #core: CoreV1Api;
  readonly #logger: Logger;
  readonly #component: string;
  readonly #instance: string;
  readonly #aggregateWindowMs: number;
  readonly #timeoutMs: number;
  /** Insertion-ordered, so the oldest entry is dropped first. */
  readonly #recent = new Map<string, Published>();

  constructor(options: EventPublisherOptions) {
    this.#core = options.core;
    this.#logger = options.logger;
    this.#component = options.component ?? "glidepath";
    this.#instance = options.instance ?? hostname();
    this.#aggregateWindowMs = options.aggregateWindowMs ?? 10 * 60_000;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
  }

  /** Publishes an Event; resolves when done or given up, and never rejects. */
  async publish(subject: EventSubject, type: EventType, reason: string, message: string): Promise<void> {
    const { name, namespace, uid } = subject.metadata;
    const text =
      message.length > MAX_MESSAGE_LENGTH ? `${message.slice(0, MAX_MESSAGE_LENGTH - 1)}…` : message;
    try {
      if (!namespace) throw new Error("the subject has no namespace");
      const key = [namespace, name, uid ?? "", type, reason, text].join("\u0000");
      const now = Date.now();
      const recent = this.#recent.get(key);
      if (recent && now - recent.at < this.#aggregateWindowMs && (await this.#bump(recent, now))) return;
      const event = await this.#create(subject, namespace, type, reason, text, now);
      this.#remember(key, { namespace, eventName: event.metadata?.name ?? "", count: 1, at: now });
    } catch (error) {
      this.#logger.warn(
        { err: error, reason, involvedObject: `${namespace ?? "?"}/${name}` },
        `could not publish event ${reason} on ${subject.kind ?? RELEASE_KIND} ${namespace ?? "?"}/${name}: ${describeApiError(error)}`,
      );
    }
  }

  async #create(
    subject: EventSubject,
    namespace: string,
    type: EventType,
    reason: string,
    message: string,
    now: number,
  ): Promise<CoreV1Event> {
    const { name, uid, resourceVersion } = subject.metadata;
    const at = new Date(now);
    const body: CoreV1Event = {
      metadata: { name: `${name}.${now.toString(16)}${randomBytes(3).toString("hex")}`, namespace },
      involvedObject: {
        apiVersion: subject.apiVersion ?? `${API_GROUP}/${API_VERSION}`,
        kind: subject.kind ?? RELEASE_KIND,
        name,
        namespace,
        uid,
        resourceVersion,
      },
      type,
      reason,
      message,
      count: 1,
      firstTimestamp: at,
      lastTimestamp: at,
      source: { component: this.#component, host: this.#instance },
      reportingComponent: this.#component,
      reportingInstance: this.#instance,
    };
    return this.#core.createNamespacedEvent(
      { namespace, body },
      abortWith(AbortSignal.timeout(timerDelay(this.#timeoutMs))),
    );
  }

  /** Raises the count of an Event published before; false if it is gone (Events expire). */
  async #bump(recent: Published, now: number): Promise<boolean> {
    const count = recent.count + 1;
    try {
      await this.#core.patchNamespacedEvent(
        {
          name: recent.eventName,
          namespace: recent.namespace,
          body: { count, lastTimestamp: new Date(now).toISOString() },
        },
        setHeaderOptions(
          "Content-Type",
          PatchStrategy.MergePatch,
          abortWith(AbortSignal.timeout(timerDelay(this.#timeoutMs))),
        ),
      );
    } catch (error) {
      if (apiStatusCode(error) === 404) return false;
      throw error;
    }
    recent.count = count;
    recent.at = now;
    return true;
  }

  #remember(key: string, published: Published): void {
    this.#recent.delete(key);
    this.#recent.set(key, published);
    if (this.#recent.size > MAX_REMEMBERED) {
      const oldest = this.#recent.keys().next();
      if (!oldest.done) this.#recent.delete(oldest.value);
    }
  }
}
