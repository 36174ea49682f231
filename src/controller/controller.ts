import { isDeepStrictEqual } from "node:util";
import type { KubeConfig, KubernetesObject, V1Deployment } from "@kubernetes/client-node";
import type { Logger } from "pino";
import {
  parseDuration,
  releaseRecordSchema,
  webhookConfigurationName,
  type ControllerConfig,
  type Release,
  type StrategyFile,
} from "../api/index.ts";
import { createPrometheusProvider, type MetricsProvider } from "../analysis/index.ts";
import { startHttpServer, type HttpServer, type RouteHandler } from "../http/server.ts";
import {
  EventRecorder,
  Informer,
  LeaderElector,
  makeKubeClients,
  ReleaseFinalizers,
  ReleaseRecordStore,
  ReleaseStatusWriter,
  WorkQueue,
  type KubeClients,
} from "../kube/index.ts";
import { doraByGroup, DORA_WINDOW_MS } from "../record/dora.ts";
import { createControllerMetrics, type ControllerMetrics, type DoraSample } from "../telemetry/metrics.ts";
import { createTrafficRouter, type TrafficRouter } from "../traffic/index.ts";
import { WorkloadManager } from "../workload/index.ts";
import type { AlertInbox, Notifier } from "./ports.ts";
import { ReleaseReconciler, type ReconcilerDeps } from "./reconciler.ts";
import { RouteWatch } from "./route-watch.ts";
import { TargetIndex } from "./target-index.ts";
import { releasesWaitingOn } from "./target-lock.ts";
import { WebhookCoverageReader } from "./webhook-coverage-reader.ts";

// Wiring: informers feed release keys to the work queue; the leader's workers
// reconcile them; the HTTP server serves telemetry and hooks. Followers keep
// their caches warm so a takeover starts at once.

export interface ControllerOptions {
  config: ControllerConfig;
  strategy: StrategyFile;
  kubeConfig: KubeConfig;
  logger: Logger;
  /** Unique per replica; default hostname + random. */
  identity?: string;
  /** Default: the Prometheus in the configuration. */
  metricsProvider?: MetricsProvider;
  notifier?: Notifier;
  alerts?: AlertInbox;
  /** Extra HTTP routes ("POST /hooks/alertmanager"). */
  routes?: Record<string, RouteHandler>;
  /** Called when leadership is lost: the process should exit, as client-go's controllers do. */
  onLeadershipLost?: (reason: string) => void;
  /** Default 127.0.0.1 outside a cluster is the caller's choice; default 0.0.0.0. */
  host?: string;
  /** Verifies identity stamps (the key and whether the webhook runs); none: nothing verifies. */
  stamps?: ReconcilerDeps["stamps"];
}

const RELEASES_PATH = "/apis/glidepath.dev/v1alpha1/releases";
const RELEASE_RECORDS_PATH = "/apis/glidepath.dev/v1alpha1/releaserecords";
const DEPLOYMENTS_PATH = "/apis/apps/v1/deployments";

const noAlerts: AlertInbox = { firingFor: () => [], receivedAt: () => undefined };

export class Controller {
  readonly metrics: ControllerMetrics;
  readonly clients: KubeClients;
  readonly #options: ControllerOptions;
  readonly #log: Logger;
  readonly #releases: Informer<KubernetesObject>[];
  readonly #deployments: Informer<V1Deployment>[];
  /** ReleaseRecords, for the DORA figures on /metrics; none when records are off. */
  readonly #records: Informer<KubernetesObject>[];
  readonly #queue: WorkQueue;
  readonly #targets = new TargetIndex();
  readonly #routes: RouteWatch;
  readonly #routers = new Map<string, TrafficRouter>();
  /** Release key → how the Release looks after our status write in flight (or just made). */
  readonly #ownWrites = new Map<string, OwnWrite>();
  readonly #reconciler: ReleaseReconciler;
  readonly #elector: LeaderElector | undefined;
  #server: HttpServer | undefined;
  #metricsServer: HttpServer | undefined;
  #leading = false;
  #stopped = false;
  /**
   * Aborts every Kubernetes call and analysis round of the leader's work: when leadership
   * ends, or when a shutdown's drain ran out of time (nothing of ours may still be in flight
   * once the next leader acts).
   */
  readonly #halt = new AbortController();

  constructor(options: ControllerOptions) {
    this.#options = options;
    this.#log = options.logger;
    this.metrics = createControllerMetrics({
      sources: {
        phases: () => this.#countPhases(),
        queueDepth: () => this.#queue.stats().depth,
        leading: () => this.#leading,
        dora: () => (this.#leading ? this.#doraSamples() : []),
      },
    });
    const { config } = options;
    const requestTimeoutMs = parseDuration(config.kubernetes.requestTimeout);
    // Every call bounded and stoppable; every write only while the Lease is fresh. The
    // elector's own calls go outside the guard (renewing is how the Lease stays fresh).
    this.clients = makeKubeClients(options.kubeConfig, {
      requestTimeoutMs,
      signal: this.#halt.signal,
      beforeWrite: () => this.#elector?.assertFreshLease(),
    });
    const namespaces = config.namespaces.length > 0 ? config.namespaces : [undefined];
    this.#releases = namespaces.map(
      (namespace) =>
        new Informer<KubernetesObject>({
          kubeConfig: options.kubeConfig,
          path: RELEASES_PATH,
          logger: this.#log,
          ...(namespace ? { namespace } : {}),
        }),
    );
    this.#deployments = namespaces.map(
      (namespace) =>
        new Informer<V1Deployment>({
          kubeConfig: options.kubeConfig,
          path: DEPLOYMENTS_PATH,
          logger: this.#log,
          ...(namespace ? { namespace } : {}),
        }),
    );
    this.#records = config.records.enabled
      ? namespaces.map(
          (namespace) =>
            new Informer<KubernetesObject>({
              kubeConfig: options.kubeConfig,
              path: RELEASE_RECORDS_PATH,
              logger: this.#log,
              ...(namespace ? { namespace } : {}),
            }),
        )
      : [];
    this.#routes = new RouteWatch({
      kubeConfig: options.kubeConfig,
      namespaces: config.namespaces,
      logger: this.#log,
      targets: this.#targets,
      wake: (key) => this.#queue.add(key),
    });
    this.#queue = new WorkQueue({ workers: config.workers, logger: this.#log, name: "releases" });

    const releaseCache = {
      get: (key: string) => this.#releases.map((informer) => informer.get(key)).find(Boolean),
      list: () => this.#releases.flatMap((informer) => informer.list()),
    };
    this.#reconciler = new ReleaseReconciler({
      strategy: options.strategy,
      changeWindows: config.changeWindows,
      releases: releaseCache,
      workloads: new WorkloadManager(
        { apps: this.clients.apps, core: this.clients.core },
        {
          cachedDeployment: (namespace, name) =>
            this.#deployments.map((informer) => informer.get(`${namespace}/${name}`)).find(Boolean),
        },
      ),
      routerFor: (release) => this.#routerFor(release),
      metricsProvider:
        options.metricsProvider ??
        createPrometheusProvider({
          url: config.prometheus.url,
          requestTimeoutMs: parseDuration(config.prometheus.timeout),
        }),
      minimumRateWindowMs: parseDuration(config.prometheus.minimumRateWindow),
      finalizers: new ReleaseFinalizers({ customObjects: this.clients.customObjects }),
      statusWriter: this.#rememberingWrites(
        new ReleaseStatusWriter({ customObjects: this.clients.customObjects }),
      ),
      events: new EventRecorder({ core: this.clients.core, logger: this.#log }),
      notifier: options.notifier ?? {
        notify: ({ event, message, release }) =>
          this.#log.info({ event, release: release.metadata.name }, `notification: ${message}`),
      },
      alerts: options.alerts ?? noAlerts,
      metrics: this.metrics,
      logger: this.#log,
      ...(options.stamps ? { stamps: this.#withCoverage(options.stamps, config) } : {}),
      wake: (key) => this.#queue.add(key),
      ...(config.records.enabled
        ? {
            records: new ReleaseRecordStore(this.clients.customObjects, {
              keepLast: config.records.keepLast,
              maxAgeMs: parseDuration(config.records.maxAge),
            }),
          }
        : {}),
    });
    // Leadership over, or a drain run out: analysis rounds in flight stop with the calls.
    this.#halt.signal.addEventListener("abort", () => this.#reconciler.stopAnalysis(), { once: true });

    if (config.leaderElection.enabled) {
      const election = config.leaderElection;
      this.#elector = new LeaderElector({
        coordination: makeKubeClients(options.kubeConfig, { requestTimeoutMs }).coordination,
        namespace: election.leaseNamespace,
        name: election.leaseName,
        logger: this.#log,
        leaseDurationMs: parseDuration(election.leaseDuration),
        renewDeadlineMs: parseDuration(election.renewDeadline),
        retryPeriodMs: parseDuration(election.retryPeriod),
        ...(options.identity ? { identity: options.identity } : {}),
        onStartedLeading: (leadership) => {
          // Leadership over (lost, stale, handed over): whatever is still in flight must not land.
          leadership.addEventListener("abort", () => this.#halt.abort(leadership.reason), { once: true });
          this.#startLeading();
        },
        onStoppedLeading: (reason) => {
          this.#leading = false;
          if (!this.#stopped) options.onLeadershipLost?.(reason);
        },
      });
    }
  }

  get identity(): string | undefined {
    return this.#elector?.identity;
  }

  isLeader(): boolean {
    return this.#leading;
  }

  /** Stopping: not ready, and hooks answer 503 so their senders retry elsewhere or later. */
  isStopping(): boolean {
    return this.#stopped;
  }

  /** Starts serving, watching and (once leading) reconciling. Resolves when the HTTP server listens. */
  async start(): Promise<void> {
    const { config } = this.#options;
    const served = {
      host: this.#options.host ?? "0.0.0.0",
      registry: this.metrics.registry,
      isHealthy: () => !this.#stopped,
      // Not ready from the first moment of a stop: traffic goes to the other replica.
      isReady: () => !this.#stopped && this.#synced(),
      logger: this.#log,
    };
    // /metrics on its own plain port, so the hook's port (perhaps HTTPS) admits Alertmanager only.
    if (config.metricsPort !== undefined)
      this.#metricsServer = await startHttpServer({ ...served, port: config.metricsPort });
    this.#server = await startHttpServer({
      ...served,
      port: config.port,
      metrics: config.metricsPort === undefined,
      ...(config.tls ? { tls: config.tls } : {}),
      ...(this.#options.routes ? { routes: this.#options.routes } : {}),
    });

    for (const informer of this.#releases) {
      informer.on((change) => {
        if (change.type === "deleted") {
          this.#targets.remove(change.key);
          this.#routers.delete(change.key);
        } else {
          this.#targets.update(change.key, change.object as Release);
        }
        // The echo of our own status write: the reconcile that wrote it already decided from
        // it and asked for its next look; one more reconcile would find nothing to do, at the
        // price of a full observation (a third of all reconciles at 1,000 Releases).
        const own = this.#ownWrites.get(change.key);
        const echo =
          change.type === "updated" && own !== undefined && isDeepStrictEqual(own, ownWrite(change.object));
        if (change.type !== "updated" || echo) this.#ownWrites.delete(change.key);
        if (!echo) this.#queue.add(change.key);
        const gone = change.type === "deleted";
        for (const key of releasesWaitingOn(
          change.object as Release,
          gone,
          this.#releasesOfTarget(change.object),
        ))
          this.#queue.add(key);
      });
      informer.start();
    }
    this.#routes.start();
    for (const informer of this.#records) informer.start();
    for (const informer of this.#deployments) {
      informer.on((change) => {
        for (const key of this.#targets.releasesOf(change.object)) this.#queue.add(key);
      });
      informer.start();
    }
    if (this.#elector) {
      this.#elector.run().then(
        (end) => this.#log.info({ end }, "leader election ended"),
        (error: unknown) => {
          // A bug in the elector: nobody renews the Lease now, so nobody may act on it.
          this.#log.error({ err: error }, "leader election failed");
          this.#leading = false;
          this.#halt.abort(error);
          if (!this.#stopped) this.#options.onLeadershipLost?.(`leader election failed: ${String(error)}`);
        },
      );
    } else {
      this.#startLeading();
    }
  }

  get url(): string | undefined {
    return this.#server?.url;
  }

  /** Where /metrics is served: its own port when configured, else the main one. */
  get metricsUrl(): string | undefined {
    return (this.#metricsServer ?? this.#server)?.url;
  }

  /**
   * Graceful stop. First readiness fails and the hooks answer 503 (Alertmanager retries,
   * another replica takes the alert); then reconciles in flight get the drain timeout to
   * finish, and the Lease is handed over. If they do not finish, their calls are aborted and
   * the Lease is left to expire: a call still on its way must not overlap the next leader's
   * writes. Resolves whether the drain finished in time.
   */
  async stop(): Promise<{ drained: boolean }> {
    if (this.#stopped) return { drained: true };
    this.#stopped = true;
    // Rounds in flight are cancelled: the next leader asks for them again.
    this.#reconciler.stopAnalysis();
    const drainMs = parseDuration(this.#options.config.shutdown.drainTimeout);
    const drained = await this.#queue.shutdown(drainMs);
    if (drained) {
      await this.#elector?.release();
    } else {
      this.#log.warn(
        { drainTimeoutMs: drainMs },
        "reconciles still running after the drain timeout: aborting them and leaving the Lease to expire",
      );
      this.#halt.abort(new Error("the controller is stopping"));
      await this.#elector?.abandon();
    }
    await Promise.all([
      ...[...this.#releases, ...this.#deployments, ...this.#records].map((informer) => informer.stop()),
      this.#routes.stop(),
    ]);
    await Promise.all([this.#server?.close(), this.#metricsServer?.close()]);
    return { drained };
  }

  /** Enqueues a release key now (e.g. an alert arrived for it). */
  enqueue(key: string): void {
    this.#queue.add(key);
  }

  /** The releases in the cache, for hooks that match alerts against them. */
  releases(): Release[] {
    return this.#releases.flatMap((informer) => informer.list()) as Release[];
  }

  #startLeading(): void {
    this.#leading = true;
    this.#log.info({ identity: this.identity }, "leading: reconciling releases");
    // As client-go's WaitForCacheSync: no reconcile before the Release and Deployment caches
    // have listed. Earlier, a Release could start while an older one of its target is not in
    // the cache yet, and each cache's initial list would reconcile every Release once more.
    Promise.all([...this.#releases, ...this.#deployments].map((informer) => informer.whenSynced())).then(
      () => this.#startWorkers(),
      (error: unknown) => this.#log.info({ err: error }, "stopped before the caches synced"),
    );
  }

  #startWorkers(): void {
    if (this.#stopped) return;
    this.#queue.start(async (key) => {
      const started = performance.now();
      let outcome = "ok";
      try {
        return await this.#reconciler.reconcile(key);
      } catch (error) {
        outcome = "error";
        throw error;
      } finally {
        this.metrics.reconcileDuration.observe({ outcome }, (performance.now() - started) / 1000);
      }
    });
    // Informers may have synced before leadership: everything they hold is work now.
    for (const informer of this.#releases) for (const key of informer.keys()) this.#queue.add(key);
  }

  /**
   * The cached Releases of the same target, from the index: scanning every Release on each
   * event made the initial list of 10,000 quadratic (7.5 s of CPU, docs/performance.md).
   */
  #releasesOfTarget(object: KubernetesObject): Release[] {
    const target = (object as Partial<Release>).spec?.target?.deployment;
    if (typeof target !== "string") return [];
    const keys = this.#targets.releasesOf({
      metadata: { namespace: object.metadata?.namespace, name: target },
    });
    return keys.flatMap((key) =>
      this.#releases.map((informer) => informer.get(key)).filter((release) => release !== undefined),
    ) as Release[];
  }

  /**
   * Remembers, before each status write, how the Release will look once it is stored: its
   * watch event may come before the write's answer, so the resourceVersion cannot tell.
   */
  #rememberingWrites(writer: ReleaseStatusWriter): Pick<ReleaseStatusWriter, "writeStatus"> {
    return {
      writeStatus: async (release, status) => {
        const key = `${release.metadata.namespace}/${release.metadata.name}`;
        this.#ownWrites.set(
          key,
          ownWrite({ metadata: release.metadata, status: JSON.parse(JSON.stringify(status)) }),
        );
        try {
          const result = await writer.writeStatus(release, status);
          if (result.outcome !== "written") this.#ownWrites.delete(key);
          return result;
        } catch (error) {
          this.#ownWrites.delete(key);
          throw error;
        }
      },
    };
  }

  /** Stamps count only where the webhook this controller serves guards writes (src/api/webhook-coverage.ts). */
  #withCoverage(
    stamps: NonNullable<ReconcilerDeps["stamps"]>,
    config: ControllerConfig,
  ): NonNullable<ReconcilerDeps["stamps"]> {
    const webhook = config.trust.webhook;
    if (!stamps.webhook || !webhook) return stamps;
    const reader = new WebhookCoverageReader({
      registration: this.clients.registration,
      core: this.clients.core,
      configurationName: webhookConfigurationName(webhook),
    });
    return { ...stamps, coverage: (release) => reader.coverage(release) };
  }

  #routerFor(release: Release): TrafficRouter {
    const key = `${release.metadata.namespace}/${release.metadata.name}`;
    let router = this.#routers.get(key);
    if (!router) {
      router = createTrafficRouter(release, {
        custom: this.clients.customObjects,
        networking: this.clients.networking,
        apps: this.clients.apps,
      });
      this.#routers.set(key, router);
    }
    return router;
  }

  #synced(): boolean {
    return [...this.#releases, ...this.#deployments].every((informer) => informer.hasSynced());
  }

  /** DORA figures per target from the cached ReleaseRecords (records that do not parse are left out). */
  #doraSamples(): DoraSample[] {
    const records = this.#records.flatMap((informer) =>
      informer.list().flatMap((item) => {
        const parsed = releaseRecordSchema.safeParse(item);
        return parsed.success ? [parsed.data] : [];
      }),
    );
    return doraByGroup(records, "target", DORA_WINDOW_MS, new Date()).map(({ group, figures }) => {
      const [namespace = "", target = ""] = group.split("/");
      const seconds = (ms: number | undefined) => (ms === undefined ? undefined : ms / 1000);
      const leadTime = seconds(figures.leadTime.medianMs);
      const restore = seconds(figures.timeToRestore.toStable.medianMs);
      return {
        namespace,
        target,
        deployments: figures.deploymentFrequency.deployments,
        ...(figures.changeFailureRate.ratio === undefined
          ? {}
          : { changeFailureRatio: figures.changeFailureRate.ratio }),
        ...(leadTime === undefined ? {} : { leadTimeSeconds: leadTime }),
        ...(restore === undefined ? {} : { timeToRestoreSeconds: restore }),
      };
    });
  }

  #countPhases(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const release of this.releases()) {
      const phase = release.status?.phase ?? "Pending";
      counts.set(phase, (counts.get(phase) ?? 0) + 1);
    }
    return counts;
  }
}

/** What a status write of ours changes and what it leaves as it was: an event equal to it is our echo. */
interface OwnWrite {
  status: unknown;
  generation: unknown;
  labels: unknown;
  annotations: unknown;
  deletionTimestamp: unknown;
}

function ownWrite(object: KubernetesObject & { status?: unknown }): OwnWrite {
  const metadata = object.metadata as Release["metadata"] & { deletionTimestamp?: unknown };
  return {
    status: object.status,
    generation: metadata.generation,
    labels: metadata.labels,
    annotations: metadata.annotations,
    deletionTimestamp: metadata.deletionTimestamp,
  };
}
