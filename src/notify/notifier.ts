import type { AxiosInstance } from "axios";
import type { Logger } from "pino";
import {
  notificationEvents,
  parseDuration,
  type NotificationEvent,
  type NotifierConfig,
  type SecretSource,
} from "../api/index.ts";
import type { Notification, Notifier } from "../controller/ports.ts";
import { createSecretReader, type SecretReader } from "../config/index.ts";
import { createHttpClient, deliver, DEFAULT_BACKOFF, type DeliveryRequest } from "./delivery.ts";
import { describeNotification, type NotificationFacts } from "./facts.ts";
import { alertmanagerAlerts, slackBody, webhookBody } from "./formats.ts";
import { timerDelay } from "../kube/timer-delay.ts";

// The on-call notifiers of the controller configuration behind the one Notifier port.
// notify() returns at once: each configured notifier that wants the event gets its own
// background delivery with retries, so a slow or broken endpoint never delays a
// rollback. Outcomes: delivered, failed (logged), dropped (too many in flight).

export type NotificationOutcome = "delivered" | "failed" | "dropped";

export interface NotifierDeps {
  logger: Logger;
  /** Counts every outcome (glidepath_notifications_total). */
  onOutcome(notifier: string, outcome: NotificationOutcome): void;
  /** Default process.env (for `env` secrets). */
  env?: Record<string, string | undefined>;
  http?: AxiosInstance;
  /** In flight per notifier, retries included; beyond it a notification is dropped. Default 100. */
  maxInFlight?: number;
  clock?: () => Date;
}

interface Channel {
  name: string;
  type: NotifierConfig["type"];
  events: ReadonlySet<NotificationEvent>;
  attempts: number;
  timeoutMs: number;
  request(facts: NotificationFacts): Promise<DeliveryRequest>;
}

/** Events a notifier gets unless it lists its own: on-call paging is for trouble only. */
const DEFAULT_ALERTMANAGER_EVENTS: NotificationEvent[] = ["rolledBack", "failed", "deleted"];

export class OnCallNotifier implements Notifier {
  readonly #channels: Channel[];
  readonly #deps: NotifierDeps;
  readonly #http: AxiosInstance;
  readonly #inFlight = new Map<string, Set<Promise<void>>>();
  readonly #stopping = new AbortController();

  constructor(channels: Channel[], deps: NotifierDeps) {
    this.#channels = channels;
    this.#deps = deps;
    this.#http = deps.http ?? createHttpClient();
  }

  get notifiers(): string[] {
    return this.#channels.map((channel) => channel.name);
  }

  notify(notification: Notification): void {
    const facts = describeNotification(notification, (this.#deps.clock ?? (() => new Date()))());
    const log = this.#deps.logger;
    log.info(
      { event: facts.event, release: { namespace: facts.release.namespace, name: facts.release.name } },
      `notification: ${facts.title}: ${facts.message}`,
    );
    for (const channel of this.#channels) {
      if (!channel.events.has(facts.event)) continue;
      const running = this.#inFlight.get(channel.name) ?? new Set<Promise<void>>();
      this.#inFlight.set(channel.name, running);
      if (running.size >= (this.#deps.maxInFlight ?? 100)) {
        log.warn({ notifier: channel.name, event: facts.event }, "too many notifications in flight; dropped");
        this.#deps.onOutcome(channel.name, "dropped");
        continue;
      }
      const delivery = this.#send(channel, facts).finally(() => running.delete(delivery));
      running.add(delivery);
    }
  }

  /** Waits for deliveries in flight (a last attempt each, no more backoff), at most timeoutMs. */
  async close(timeoutMs = 5_000): Promise<void> {
    this.#stopping.abort();
    const all = [...this.#inFlight.values()].flatMap((set) => [...set]);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled(all),
      new Promise((resolve) => (timer = setTimeout(resolve, timerDelay(timeoutMs)))),
    ]);
    clearTimeout(timer);
  }

  async #send(channel: Channel, facts: NotificationFacts): Promise<void> {
    const context = {
      notifier: channel.name,
      event: facts.event,
      release: { namespace: facts.release.namespace, name: facts.release.name },
    };
    let outcome: NotificationOutcome;
    try {
      const request = await channel.request(facts);
      outcome = await deliver(
        this.#http,
        request,
        { attempts: channel.attempts, timeoutMs: channel.timeoutMs, backoff: DEFAULT_BACKOFF },
        context,
        this.#deps.logger,
        this.#stopping.signal,
      );
    } catch (error) {
      // A secret that cannot be read: say which source, never its value.
      this.#deps.logger.warn({ ...context, err: (error as Error).message }, "notification not sent");
      outcome = "failed";
    }
    this.#deps.onOutcome(channel.name, outcome);
  }
}

/** Builds the notifiers of the configuration; rejects when one of their secrets cannot be read. */
export async function createNotifier(
  configs: readonly NotifierConfig[],
  deps: NotifierDeps,
): Promise<OnCallNotifier> {
  const channels: Channel[] = [];
  for (const config of configs) channels.push(await channelFor(config, deps));
  return new OnCallNotifier(channels, deps);
}

async function channelFor(config: NotifierConfig, deps: NotifierDeps): Promise<Channel> {
  const secretOptions = deps.env ? { env: deps.env } : {};
  const defaultEvents = config.type === "alertmanager" ? DEFAULT_ALERTMANAGER_EVENTS : notificationEvents;
  const common = {
    name: config.name,
    type: config.type,
    events: new Set(config.events ?? defaultEvents),
    attempts: config.attempts,
    timeoutMs: parseDuration(config.timeout),
  };
  const token =
    "bearerToken" in config && config.bearerToken
      ? createSecretReader(config.bearerToken, secretOptions)
      : undefined;
  const authorization = async (): Promise<Record<string, string>> =>
    token ? { authorization: `Bearer ${await token.value()}` } : {};

  if (config.type === "alertmanager") {
    const url = `${config.url.replace(/\/+$/, "")}/api/v2/alerts`;
    const resolveAfterMs = parseDuration(config.resolveAfter);
    await token?.value();
    return {
      ...common,
      request: async (facts) => ({
        url,
        headers: await authorization(),
        body: alertmanagerAlerts(facts, { labels: config.labels, resolveAfterMs }),
      }),
    };
  }

  const address = urlSource(config, secretOptions);
  await address.value();
  await token?.value();
  const format = config.type === "slack" ? slackBody : webhookBody;
  return {
    ...common,
    request: async (facts) => ({
      url: await address.value(),
      headers: await authorization(),
      body: format(facts),
    }),
  };
}

/** The webhook URL, inline or from a secret; a URL from a secret is checked without being shown. */
function urlSource(
  config: { url?: string | undefined; urlFrom?: SecretSource | undefined },
  options: { env?: Record<string, string | undefined> },
): Pick<SecretReader, "value"> {
  if (config.url !== undefined) {
    const url = config.url;
    return { value: async () => url };
  }
  if (!config.urlFrom) throw new Error("a notifier needs url or urlFrom");
  const reader = createSecretReader(config.urlFrom, options);
  return {
    async value() {
      const url = await reader.value();
      if (!/^https?:\/\/[^\s]+$/.test(url) || !URL.canParse(url))
        throw new Error(`the notifier URL from ${reader.source} is not an http(s) URL`);
      return url;
    },
  };
}
