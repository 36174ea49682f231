// Over 400 lines on purpose: the composition root, every part of the process built in one place, in the order below.
import { AdmissionregistrationV1Api, AuthorizationV1Api, CoreV1Api } from "@kubernetes/client-node";
import type { KubeConfig, KubernetesObject, V1Deployment, V1Ingress } from "@kubernetes/client-node";
import type { Logger } from "pino";
import { SelfManagedCertificate, startAdmissionWebhook, type AdmissionWebhook } from "./admission/index.ts";
import { createPrometheusProvider } from "./analysis/index.ts";
import {
  MIN_STAMP_KEY_BYTES,
  parseDuration,
  webhookConfigurationName,
  type ControllerConfig,
  type Release,
  type StrategyFile,
} from "./api/index.ts";
import { createSecretReader, type SecretReader } from "./config/index.ts";
import { Controller } from "./controller/controller.ts";
import { countPhases, doraSamples } from "./controller/metric-sources.ts";
import { ReleaseReconciler, type ReconcilerDeps } from "./controller/reconciler.ts";
import { RouteWatch } from "./controller/route-watch.ts";
import { RouterCache } from "./controller/router-cache.ts";
import { StatusEchoFilter } from "./controller/status-echo.ts";
import { TargetIndex } from "./controller/target-index.ts";
import { WebhookCoverageReader } from "./controller/webhook-coverage-reader.ts";
import { WorkloadWatch } from "./controller/workload-watch.ts";
import { AlertInboxStore, createAlertmanagerHook, ReleaseAlertAnnotator } from "./hooks/index.ts";
import { startHttpServer, type HttpServer, type RouteHandler } from "./http/server.ts";
import {
  EventPublisher,
  LeaderElector,
  makeKubeClients,
  NamespacedInformers,
  ReleaseFinalizers,
  ReleaseRecordStore,
  ReleaseStatusWriter,
  namespaceOfApiPath,
  parseObjectKey,
  ShardLeases,
  WorkQueue,
  type KubeClients,
  type KubeRequestLabels,
  type ShardLeasesOptions,
} from "./kube/index.ts";
import { createNotifier } from "./notify/index.ts";
import { createControllerMetrics, type ControllerMetrics } from "./telemetry/metrics.ts";
import { createTrafficRouter } from "./traffic/index.ts";
import { AutoscalerManager, servedAutoscalingVersion, WorkloadManager } from "./workload/index.ts";

// The controller's composition root: every part of the running process is built here, in
// the order they depend on each other, and nowhere else. src/main.ts reads the command line
// and the files, then starts what this returns.
//
//   secrets   the Alertmanager hook's token and the identity stamps' key, read once now
//   metrics   the registry /metrics serves, reading the caches when scraped
//   clients   Kubernetes calls: bounded, stopped by `halt`, writes only with a fresh Lease
//   caches    informers of Releases, Deployments, ReleaseRecords; the route and workload watches
//   reconcile the work queue, the reconciler and what it acts through, the leader elector
//   ways in   the Alertmanager hook, the admission webhook, notifiers, the HTTP servers

export interface WiringOptions {
  config: ControllerConfig;
  strategy: StrategyFile;
  kubeConfig: KubeConfig;
  logger: Logger;
  /** The Lease holder identity: unique per replica. */
  identity: string;
  /** The address the HTTP servers listen on. */
  host: string;
  /** Leadership lost: the process should exit, as client-go's controllers do. */
  onLeadershipLost: (reason: string) => void;
}

export interface WiredController {
  controller: Controller;
  metrics: ControllerMetrics;
  /** Serves, watches and (once leading) reconciles; resolves when the servers listen. */
  start(): Promise<void>;
  /** The controller's graceful stop, then the servers and the last notifications; resolves whether it drained. */
  stop(): Promise<{ drained: boolean }>;
  /** What the "controller started" log line says. */
  describe(): Record<string, unknown>;
}

const RELEASES_PATH = "/apis/glidepath.dev/v1alpha1/releases";
const RELEASE_RECORDS_PATH = "/apis/glidepath.dev/v1alpha1/releaserecords";
const DEPLOYMENTS_PATH = "/apis/apps/v1/deployments";

export async function wireController(options: WiringOptions): Promise<WiredController> {
  const { config, strategy, kubeConfig, logger } = options;
  const { hookToken, stampKey } = await readSecrets(config);

  // `controller` is made last: the callbacks below that name it run only once it has started.
  const metrics = createControllerMetrics({
    sources: {
      phases: () => countPhases(releases.list() as Release[]),
      queueDepth: () => queue.stats().depth,
      leading: () => controller.isLeader(),
      dora: () =>
        controller.isLeader() && releaseRecords ? doraSamples(releaseRecords.list(), new Date()) : [],
    },
  });

  const requestTimeoutMs = parseDuration(config.kubernetes.requestTimeout);
  // glidepath_kube_requests_total: every request of the controller's clients and its Lease.
  const onRequest = (request: KubeRequestLabels) => metrics.kubeRequests.inc(request);
  const election = config.leaderElection;
  const shards =
    config.sharding.replicas > 1
      ? makeShardLeases(options, onRequest, {
          onGained: (shard) => controller.gainedShard(shard),
          onLost: (shard) => controller.lostShard(shard),
        })
      : undefined;
  const elector =
    election.enabled && !shards
      ? new LeaderElector({
          // Its own calls go outside the Lease guard: renewing is how the Lease stays fresh.
          coordination: makeKubeClients(kubeConfig, { requestTimeoutMs, onRequest }).coordination,
          namespace: election.leaseNamespace,
          name: election.leaseName,
          logger,
          leaseDurationMs: parseDuration(election.leaseDuration),
          renewDeadlineMs: parseDuration(election.renewDeadline),
          retryPeriodMs: parseDuration(election.retryPeriod),
          identity: options.identity,
          onStartedLeading: (leadership) => controller.startedLeading(leadership),
          onStoppedLeading: (reason) => controller.stoppedLeading(reason),
        })
      : undefined;
  const halt = new AbortController();
  // Every call bounded and stoppable; every write only while the Lease is fresh.
  const clients = makeKubeClients(kubeConfig, {
    requestTimeoutMs,
    signal: halt.signal,
    beforeWrite: (url) =>
      shards ? shards.assertFresh(namespaceOfApiPath(url)) : elector?.assertFreshLease(),
    ...(shards ? { signalFor: (url: string) => shards.signalOf(namespaceOfApiPath(url) ?? "") } : {}),
    onRequest,
  });

  const cache = { kubeConfig, logger, namespaces: config.namespaces };
  const releases = new NamespacedInformers<KubernetesObject>({ ...cache, path: RELEASES_PATH });
  const deployments = new NamespacedInformers<V1Deployment>({ ...cache, path: DEPLOYMENTS_PATH });
  const releaseRecords = config.records.enabled
    ? new NamespacedInformers<KubernetesObject>({ ...cache, path: RELEASE_RECORDS_PATH })
    : undefined;
  const queue = new WorkQueue({
    workers: config.workers,
    logger,
    name: "releases",
    // Sharded: only the Releases of the shards this replica holds.
    ...(shards ? { accepts: (key: string) => shards.owns(parseObjectKey(key).namespace ?? "") } : {}),
  });
  const targets = new TargetIndex();
  const routeWatch = new RouteWatch({
    kubeConfig,
    namespaces: config.namespaces,
    logger,
    targets,
    wake: (key) => queue.add(key),
  });
  // ReplicaSets, Pods, StatefulSets and canary Endpoints: with the caches above, an idle reconcile reads nothing.
  const autoscalingVersion = await servedAutoscalingVersion(kubeConfig);
  const workloadWatch = new WorkloadWatch({
    ...cache,
    targets,
    deployments,
    routeWatch,
    wake: (key) => queue.add(key),
    autoscalingVersion,
  });
  // One WorkloadManager: the engine's actions and the replica split scale the canary through it.
  const workloads = new WorkloadManager(
    { apps: clients.apps, core: clients.core },
    {
      cachedDeployment: (namespace, name) => deployments.get(`${namespace}/${name}`),
      caches: workloadWatch,
    },
  );
  const routers = new RouterCache((release) =>
    createTrafficRouter(release, {
      custom: clients.customObjects,
      networking: clients.networking,
      workloads,
      // Routers read their objects from RouteWatch's caches, not with a GET per look.
      cached: {
        httpRoute: (namespace, name) => routeWatch.cached("httproute", namespace, name),
        ingress: (namespace, name) => routeWatch.cached("ingress", namespace, name) as V1Ingress | undefined,
      },
    }),
  );
  const echoes = new StatusEchoFilter();

  const hookRetention = config.hooks.alertmanager?.retention;
  const alerts = new AlertInboxStore(hookRetention ? { retentionMs: parseDuration(hookRetention) } : {});
  const notifier = await createNotifier(config.notifiers, {
    logger: logger.child({ component: "notifier" }),
    onOutcome: (name, outcome) => metrics.notifications.inc({ notifier: name, outcome }),
  });
  const reconciler = new ReleaseReconciler({
    strategy,
    changeWindows: config.changeWindows,
    releases,
    workloads,
    autoscalers: new AutoscalerManager(clients.customObjects, {
      version: autoscalingVersion,
      cache: workloadWatch,
    }),
    routerFor: (release) => routers.routerFor(release),
    metricsProvider: createPrometheusProvider({
      url: config.prometheus.url,
      requestTimeoutMs: parseDuration(config.prometheus.timeout),
    }),
    minimumRateWindowMs: parseDuration(config.prometheus.minimumRateWindow),
    finalizers: new ReleaseFinalizers({ customObjects: clients.customObjects }),
    statusWriter: echoes.watching(new ReleaseStatusWriter({ customObjects: clients.customObjects })),
    events: new EventPublisher({ core: clients.core, logger }),
    notifier,
    alerts,
    metrics,
    logger,
    stamps: withWebhookCoverage(
      { key: stampKey, webhook: config.trust.webhook !== undefined },
      config,
      clients,
    ),
    wake: (key) => queue.add(key),
    ...(config.records.enabled
      ? {
          records: new ReleaseRecordStore(clients.customObjects, {
            keepLast: config.records.keepLast,
            maxAgeMs: parseDuration(config.records.maxAge),
          }),
        }
      : {}),
  });

  const controller = new Controller({
    logger,
    releases,
    deployments,
    ...(releaseRecords ? { releaseRecords } : {}),
    routeWatch,
    workloadWatch,
    queue,
    targets,
    routers,
    echoes,
    reconciler,
    metrics,
    ...(elector ? { elector } : {}),
    ...(shards ? { shards } : {}),
    halt,
    drainTimeoutMs: parseDuration(config.shutdown.drainTimeout),
    onLeadershipLost: options.onLeadershipLost,
  });

  const routes: Record<string, RouteHandler> = {};
  const hookConfig = config.hooks.alertmanager;
  if (hookConfig && hookToken) {
    routes["POST /hooks/alertmanager"] = createAlertmanagerHook({
      host: controller,
      strategy,
      inbox: alerts,
      // Not the controller's clients: their writes need a fresh Lease, and a follower has none.
      annotator: new ReleaseAlertAnnotator(makeKubeClients(kubeConfig, { requestTimeoutMs }).customObjects),
      token: hookToken,
      maxBodyBytes: hookConfig.maxBodyBytes,
      metrics,
      logger,
    });
  } else {
    logger.warn("no hooks.alertmanager token configured: POST /hooks/alertmanager is not served");
  }

  let servers: HttpServer[] = [];
  let admission: { webhook: AdmissionWebhook; selfManaged?: SelfManagedCertificate } | undefined;
  let url: string | undefined;
  let metricsUrl: string | undefined;
  let stopping: Promise<{ drained: boolean }> | undefined;
  const stop = async (): Promise<{ drained: boolean }> => {
    admission?.selfManaged?.stop();
    const [stopped] = await Promise.all([
      // The servers last: readiness fails and hooks answer 503 while the controller drains.
      controller.stop().then(async (result) => {
        await Promise.all(servers.map((server) => server.close()));
        return result;
      }),
      admission?.webhook.close(),
    ]);
    // The last notifications (a rollback just finished) get a few seconds to go out.
    await notifier.close(5_000);
    return stopped;
  };
  return {
    controller,
    metrics,
    async start() {
      admission = await startAdmission(options, stampKey);
      const served = {
        host: options.host,
        registry: metrics.registry,
        isHealthy: () => !controller.isStopping(),
        isReady: () => controller.isReady(),
        logger,
      };
      // /metrics on its own plain port, so the hook's port (perhaps HTTPS) admits Alertmanager only.
      const metricsServer =
        config.metricsPort === undefined
          ? undefined
          : await startHttpServer({ ...served, port: config.metricsPort });
      const server = await startHttpServer({
        ...served,
        port: config.port,
        metrics: config.metricsPort === undefined,
        ...(config.tls ? { tls: config.tls } : {}),
        routes,
      });
      servers = metricsServer ? [server, metricsServer] : [server];
      url = server.url;
      metricsUrl = (metricsServer ?? server).url;
      controller.start();
    },
    stop: () => (stopping ??= stop()),
    describe: () => ({
      url,
      metricsUrl,
      identity: controller.identity,
      alertmanagerHook: Boolean(hookToken),
      admissionWebhook: admission?.webhook.url,
      notifiers: notifier.notifiers,
    }),
  };
}

/** Sharded controllers' shard Leases, on leaderElection's namespace and timings; they call back into the controller. */
function makeShardLeases(
  options: WiringOptions,
  onRequest: (request: KubeRequestLabels) => void,
  callbacks: Pick<ShardLeasesOptions, "onGained" | "onLost">,
): ShardLeases {
  const { config, kubeConfig, logger } = options;
  const election = config.leaderElection;
  const requestTimeoutMs = parseDuration(config.kubernetes.requestTimeout);
  return new ShardLeases({
    // As the leader's: renewing is how a shard's Lease stays fresh, so outside the guard.
    coordination: makeKubeClients(kubeConfig, { requestTimeoutMs, onRequest }).coordination,
    namespace: election.leaseNamespace,
    prefix: config.sharding.leasePrefix,
    shards: config.sharding.shards,
    replicas: config.sharding.replicas,
    identity: options.identity,
    logger,
    leaseDurationMs: parseDuration(election.leaseDuration),
    renewDeadlineMs: parseDuration(election.renewDeadline),
    retryPeriodMs: parseDuration(election.retryPeriod),
    ...callbacks,
  });
}

/** Read at start-up, so a missing Secret or a short key stops it with a clear message (never the value). */
async function readSecrets(
  config: ControllerConfig,
): Promise<{ hookToken?: SecretReader; stampKey: () => Promise<Buffer | undefined> }> {
  const hookConfig = config.hooks.alertmanager;
  const hookToken = hookConfig ? createSecretReader(hookConfig.token) : undefined;
  await hookToken?.value();
  const stampKeyReader = config.trust.stampKey ? createSecretReader(config.trust.stampKey) : undefined;
  const stampKey = async (): Promise<Buffer | undefined> => {
    if (!stampKeyReader) return undefined;
    const key = Buffer.from(await stampKeyReader.value(), "utf8");
    if (key.length < MIN_STAMP_KEY_BYTES)
      throw new Error(
        `trust.stampKey (${stampKeyReader.source}) holds ${key.length} bytes; it needs at least ${MIN_STAMP_KEY_BYTES} (e.g. openssl rand -hex 32)`,
      );
    return key;
  };
  await stampKey();
  return { ...(hookToken ? { hookToken } : {}), stampKey };
}

/** Stamps count only where the webhook this controller serves guards writes (src/api/webhook-coverage.ts). */
function withWebhookCoverage(
  stamps: NonNullable<ReconcilerDeps["stamps"]>,
  config: ControllerConfig,
  clients: KubeClients,
): NonNullable<ReconcilerDeps["stamps"]> {
  const webhook = config.trust.webhook;
  if (!stamps.webhook || !webhook) return stamps;
  const reader = new WebhookCoverageReader({
    registration: clients.registration,
    core: clients.core,
    configurationName: webhookConfigurationName(webhook),
  });
  return { ...stamps, coverage: (release) => reader.coverage(release) };
}

/** The admission webhook, when trust.webhook is configured: its certificate first, then its server. */
async function startAdmission(
  options: WiringOptions,
  stampKey: () => Promise<Buffer | undefined>,
): Promise<{ webhook: AdmissionWebhook; selfManaged?: SelfManagedCertificate } | undefined> {
  const { config, kubeConfig, logger } = options;
  const webhookConfig = config.trust.webhook;
  if (!webhookConfig) {
    logger.warn(
      "trust.webhook is not configured: no approval can be verified, so approval gates stay closed (docs/security.md)",
    );
    return undefined;
  }
  let certificate: Parameters<typeof startAdmissionWebhook>[0]["certificate"];
  let selfManaged: SelfManagedCertificate | undefined;
  if (webhookConfig.selfManagedCertificate) {
    // The controller's own CA: the certificate exists and the API server trusts it before the webhook serves.
    selfManaged = new SelfManagedCertificate({
      config: webhookConfig.selfManagedCertificate,
      core: kubeConfig.makeApiClient(CoreV1Api),
      registration: kubeConfig.makeApiClient(AdmissionregistrationV1Api),
      logger,
    });
    certificate = { pair: await selfManaged.ensure() };
  } else {
    certificate = { certFile: webhookConfig.certFile ?? "", keyFile: webhookConfig.keyFile ?? "" };
  }
  const webhook = await startAdmissionWebhook({
    port: webhookConfig.port,
    host: options.host,
    certificate,
    maxBodyBytes: webhookConfig.maxBodyBytes,
    ...(webhookConfig.clientCAFile ? { clientCaFile: webhookConfig.clientCAFile } : {}),
    stampKey: async () => (await stampKey()) as Buffer,
    strategy: options.strategy,
    authorization: kubeConfig.makeApiClient(AuthorizationV1Api),
    logger,
  });
  if (selfManaged && "pair" in certificate)
    selfManaged.start((pair) => webhook.setCertificate(pair), certificate.pair);
  return { webhook, ...(selfManaged ? { selfManaged } : {}) };
}
