// Where the controller's Kubernetes clients come from: one KubeConfig, loaded the way
// controller-runtime does it, and one bundle of the typed APIs built from it.
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import {
  AdmissionregistrationV1Api,
  AppsV1Api,
  CoordinationV1Api,
  CoreV1Api,
  createConfiguration,
  CustomObjectsApi,
  EventsV1Api,
  HttpMethod,
  KubeConfig,
  NetworkingV1Api,
  Observable,
  ServerConfiguration,
} from "@kubernetes/client-node";
import type { ConfigurationOptions, RequestContext, ResponseContext } from "@kubernetes/client-node";
import { observedHttpLibrary, type KubeRequestObserver } from "./request-metric.ts";
import { timerDelay } from "./timer-delay.ts";

type Dispatcher = NonNullable<ReturnType<RequestContext["getDispatcher"]>>;

/**
 * client-node 2.0.1 makes a new undici Agent, with a connection pool of its own, for every
 * request to a TLS server (applySecurityAuthentication), so no connection is ever reused:
 * each call pays a TCP and TLS handshake, and idle sockets pile up until collected. On the
 * benchmark stack that was 3× the latency and 3× the client CPU per request
 * (docs/performance.md). This KubeConfig gives every request of the same cluster and user
 * the first Agent it made, as client-node already does for its https.Agent; TLS options
 * come from the cluster and user entries, which do not change while the process runs.
 */
class PooledKubeConfig extends KubeConfig {
  readonly #dispatchers = new Map<string, Dispatcher>();

  override async applySecurityAuthentication(context: RequestContext): Promise<void> {
    await super.applySecurityAuthentication(context);
    const made = context.getDispatcher();
    if (!made) return;
    const key = JSON.stringify([this.getCurrentCluster()?.name ?? "", this.getCurrentUser()?.name ?? ""]);
    const shared = this.#dispatchers.get(key);
    if (!shared) {
      this.#dispatchers.set(key, made);
      return;
    }
    context.setDispatcher(shared);
    // Never connected: closing it releases nothing but the object.
    made.close().catch(() => undefined);
  }
}

export interface LoadKubeConfigOptions {
  /** A kubeconfig file (e.g. from --kubeconfig). Wins over everything else. */
  kubeconfigPath?: string;
  /** A context of that configuration other than its current-context. */
  context?: string;
}

/**
 * Loads the client configuration, first match wins: `kubeconfigPath`; $KUBECONFIG
 * (a list of files, merged as kubectl does); the in-cluster ServiceAccount when
 * running in a Pod; ~/.kube/config. Throws when none exists, rather than falling back
 * to http://localhost:8080 as client-node's loadFromDefault() does.
 */
export function loadKubeConfig(options: LoadKubeConfigOptions = {}): KubeConfig {
  const kubeConfig: KubeConfig = new PooledKubeConfig();
  const homeConfig = join(homedir(), ".kube", "config");
  let source: string;
  if (options.kubeconfigPath) {
    if (!existsSync(options.kubeconfigPath)) {
      throw new Error(`kubeconfig ${options.kubeconfigPath} does not exist`);
    }
    kubeConfig.loadFromFile(options.kubeconfigPath);
    source = options.kubeconfigPath;
  } else if (process.env.KUBECONFIG) {
    kubeConfig.loadFromDefault();
    source = `$KUBECONFIG (${process.env.KUBECONFIG})`;
  } else if (process.env.KUBERNETES_SERVICE_HOST && process.env.KUBERNETES_SERVICE_PORT) {
    kubeConfig.loadFromCluster();
    source = "the in-cluster ServiceAccount";
  } else if (existsSync(homeConfig)) {
    kubeConfig.loadFromFile(homeConfig);
    source = homeConfig;
  } else {
    throw new Error(
      "no Kubernetes client configuration: pass a kubeconfig path, set KUBECONFIG, " +
        `run in a Pod with a ServiceAccount, or create ${homeConfig}`,
    );
  }

  if (options.context) {
    const known = kubeConfig.getContexts().map((context) => context.name);
    if (!known.includes(options.context)) {
      throw new Error(
        `context "${options.context}" is not in ${source}; it has: ${known.join(", ") || "no contexts"}`,
      );
    }
    kubeConfig.setCurrentContext(options.context);
  }
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) {
    throw new Error(
      `context "${kubeConfig.getCurrentContext()}" in ${source} names no cluster that the file defines`,
    );
  }
  if (cluster.server.startsWith("http:") && !cluster.skipTLSVerify) {
    // client-node refuses plain http unless skipTLSVerify is set, though there is no TLS
    // to verify; a local apiserver (or kubectl proxy) on http:// is legitimate.
    kubeConfig.loadFromOptions({
      clusters: kubeConfig.clusters.map((entry) =>
        entry.name === cluster.name ? { ...entry, skipTLSVerify: true } : entry,
      ),
      contexts: kubeConfig.contexts,
      users: kubeConfig.users,
      currentContext: kubeConfig.currentContext,
    });
  }
  return kubeConfig;
}

/** The namespace the current context (or the in-cluster ServiceAccount) names, if any. */
export function contextNamespace(kubeConfig: KubeConfig): string | undefined {
  return kubeConfig.getContextObject(kubeConfig.getCurrentContext())?.namespace || undefined;
}

/** The typed APIs the controller uses, all made from one KubeConfig. */
export interface KubeClients {
  kubeConfig: KubeConfig;
  core: CoreV1Api;
  apps: AppsV1Api;
  customObjects: CustomObjectsApi;
  coordination: CoordinationV1Api;
  networking: NetworkingV1Api;
  /** events.k8s.io/v1, for reading; the EventPublisher writes core/v1 Events through `core`. */
  events: EventsV1Api;
  /** admissionregistration.k8s.io/v1: whether the admission webhook covers a namespace. */
  registration: AdmissionregistrationV1Api;
}

/** Kubernetes' default: no call may run longer than this unless told otherwise. */
export const DEFAULT_KUBE_REQUEST_TIMEOUT_MS = 15_000;

export interface KubeClientOptions {
  /**
   * Every call is aborted after this long (default 15 s): without it only undici's 300 s
   * body timeout applies, and one stuck call holds a worker for five minutes.
   */
  requestTimeoutMs?: number;
  /** Aborts every call in flight and refuses new ones (the controller stopping or deposed). */
  signal?: AbortSignal;
  /**
   * Asked before every write (any method but GET): throws to refuse it, e.g. when this
   * replica's Lease is no longer fresh. Reads are never refused. `url` is the request's,
   * so sharded controllers check the Lease of the shard the object's namespace is in.
   */
  beforeWrite?: (url: string) => void;
  /** An extra abort signal for the call to `url` (sharded: the Lease of its namespace's shard). */
  signalFor?: (url: string) => AbortSignal | undefined;
  /** Told of every request once answered (or failed): the glidepath_kube_requests_total metric. */
  onRequest?: KubeRequestObserver;
}

/**
 * The typed APIs, each call bounded by `options.requestTimeoutMs` and `options.signal` and
 * each write checked by `options.beforeWrite` — here, once, rather than at every call site.
 * Watches (client-node's Watch) do not go through these clients and are not bounded so.
 */
export function makeKubeClients(kubeConfig: KubeConfig, options: KubeClientOptions = {}): KubeClients {
  const configuration = createConfiguration({
    baseServer: new ServerConfiguration(currentServer(kubeConfig), {}),
    authMethods: { default: kubeConfig },
    ...(options.onRequest ? { httpApi: observedHttpLibrary(options.onRequest) } : {}),
    middleware: [
      setHeaderMiddleware("User-Agent", USER_AGENT),
      boundedCalls({
        requestTimeoutMs: options.requestTimeoutMs ?? DEFAULT_KUBE_REQUEST_TIMEOUT_MS,
        ...(options.signal ? { signal: options.signal } : {}),
        ...(options.beforeWrite ? { beforeWrite: options.beforeWrite } : {}),
        ...(options.signalFor ? { signalFor: options.signalFor } : {}),
      }),
    ],
  });
  return {
    kubeConfig,
    core: new CoreV1Api(configuration),
    apps: new AppsV1Api(configuration),
    customObjects: new CustomObjectsApi(configuration),
    coordination: new CoordinationV1Api(configuration),
    networking: new NetworkingV1Api(configuration),
    events: new EventsV1Api(configuration),
    registration: new AdmissionregistrationV1Api(configuration),
  };
}

const USER_AGENT = "glidepath";

function currentServer(kubeConfig: KubeConfig): string {
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) throw new Error("No active cluster!");
  return cluster.server;
}

/** The signal a call gets: its own (if any) and `more`, whichever aborts first. */
function combinedSignal(request: RequestContext, more: AbortSignal[]): AbortSignal {
  const own = request.getSignal() as AbortSignal | undefined;
  const all = own ? [own, ...more] : more;
  return all.length === 1 ? all[0]! : AbortSignal.any(all);
}

function boundedCalls(options: Required<Pick<KubeClientOptions, "requestTimeoutMs">> & KubeClientOptions) {
  return {
    pre(request: RequestContext): Observable<RequestContext> {
      if (request.getHttpMethod() !== HttpMethod.GET) options.beforeWrite?.(request.getUrl());
      options.signal?.throwIfAborted();
      const scoped = options.signalFor?.(request.getUrl());
      scoped?.throwIfAborted();
      request.setSignal(
        combinedSignal(request, [
          AbortSignal.timeout(timerDelay(options.requestTimeoutMs)),
          ...(options.signal ? [options.signal] : []),
          ...(scoped ? [scoped] : []),
        ]),
      );
      return new Observable(Promise.resolve(request));
    },
    post(response: ResponseContext): Observable<ResponseContext> {
      return new Observable(Promise.resolve(response));
    },
  };
}

/** Sets a header on every request (client-node's own User-Agent middleware, which makeApiClient adds). */
function setHeaderMiddleware(name: string, value: string) {
  return {
    pre(request: RequestContext): Observable<RequestContext> {
      request.setHeaderParam(name, value);
      return new Observable(Promise.resolve(request));
    },
    post(response: ResponseContext): Observable<ResponseContext> {
      return new Observable(Promise.resolve(response));
    },
  };
}

/**
 * Per-call options that abort the request when `signal` fires (e.g. AbortSignal.timeout):
 * `api.readNamespacedLease({ name, namespace }, abortWith(signal))`. Combined with the
 * clients' own deadline and stop signal (makeKubeClients), whichever comes first.
 */
export function abortWith(signal: AbortSignal): ConfigurationOptions {
  return {
    middleware: [
      {
        pre(request: RequestContext) {
          request.setSignal(combinedSignal(request, [signal]));
          return new Observable(Promise.resolve(request));
        },
        post(response) {
          return new Observable(Promise.resolve(response));
        },
      },
    ],
    // Keep the clients' own middleware (the User-Agent header, the deadline).
    middlewareMergeStrategy: "append",
  };
}
