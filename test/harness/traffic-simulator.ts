// A traffic simulator for tests and the demo: it pretends to be a gateway in front of a
// stable and a canary version of one service, and serves what such a gateway would
// export for Prometheus:
//
//   http_requests_total{namespace, service, version, code}           counter
//   http_request_duration_seconds{namespace, service, version}       histogram
//
// Requests arrive at a steady rate and are split between the versions by the canary
// weight, which is either read from an HTTPRoute (backendRef weights; the canary is the
// backend named <service>-canary) or set over HTTP. Following a route, it also plays a
// share of requests that carry some headers (`tagged`: internal users, say), routed by the
// rule whose header matches they satisfy, as a gateway would; and a RequestMirror filter
// to the canary copies its share of requests there: the copies count on the canary's
// metrics, but their answers are thrown away, so they are not requests served. Error ratio and latency of each
// version can be changed while it runs. Counts are deterministic (fractions carry over
// between ticks), so an error ratio of 0.08 is 8% of the requests, not 8% on average.
//
// HTTP: GET /metrics, GET /healthz, GET /config (the state), POST /config (a JSON patch,
// see configPatchSchema; setting canaryWeight switches to manual weights).
//
// Standalone:
//   node_modules/.bin/node test/harness/traffic-simulator.ts --port 9101 --namespace shop \
//     --service checkout --stable-version 2.3.1 --canary-version 2.4.0 --rps 50 \
//     [--canary-weight 10 | --route checkout --kubeconfig ~/.kube/config [--deployment checkout]]
// Every flag also reads TRAFFIC_SIM_<FLAG> (e.g. TRAFFIC_SIM_RPS=50). It prints one JSON
// line {"event":"listening","url":…} when ready, and stops on SIGTERM/SIGINT.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { AppsV1Api, CustomObjectsApi, KubeConfig } from "@kubernetes/client-node";
import { Counter, Histogram, Registry } from "prom-client";
import { z } from "zod";

const versionPatchSchema = z
  .object({
    version: z.string().min(1).max(128).optional(),
    errorRatio: z.number().min(0).max(1).optional(),
    /** Mean latency; each request varies ±25% around it. */
    latencyMs: z.number().min(0).max(60_000).optional(),
  })
  .strict();

export const configPatchSchema = z
  .object({
    requestsPerSecond: z.number().min(0).max(20_000).optional(),
    /**
     * Requests a smoke test sends straight to the preview (the canary Service), outside the
     * route, while the canary Deployment has pods: what a blue/green preview is analysed on.
     */
    previewRequestsPerSecond: z.number().min(0).max(20_000).optional(),
    /** Percent of requests to the canary, 0–100; switches weightsFrom to "manual". */
    canaryWeight: z.number().min(0).max(100).optional(),
    /** "route" (needs a route configured at start) or "manual". */
    weightsFrom: z.enum(["route", "manual"]).optional(),
    /** A share of requests that carry these headers (e.g. a cookie header); the route decides where they go. */
    tagged: z
      .object({
        percent: z.number().min(0).max(100),
        headers: z.record(z.string().min(1).max(256), z.string().max(4096)),
      })
      .strict()
      .optional(),
    stable: versionPatchSchema.optional(),
    canary: versionPatchSchema.optional(),
    /** Behaviour by version, over the role's: a bad version stays bad after it is promoted to stable. */
    versions: z
      .record(
        z.string().min(1).max(128),
        z
          .object({
            errorRatio: z.number().min(0).max(1).optional(),
            latencyMs: z.number().min(0).max(60_000).optional(),
          })
          .strict(),
      )
      .optional(),
  })
  .strict();

export type ConfigPatch = z.infer<typeof configPatchSchema>;

export interface VersionBehaviour {
  version: string;
  errorRatio: number;
  latencyMs: number;
}

export interface RouteSource {
  /** The HTTPRoute to read backendRef weights from. */
  name: string;
  /** Default: the simulator's namespace. */
  namespace?: string;
  /** Default: $KUBECONFIG or ~/.kube/config. */
  kubeconfigPath?: string;
  /** Default 500 ms. */
  pollMs?: number;
  /**
   * The stable Deployment: when set, each role's version is read from the `version` label
   * of its Deployment's pod template (`<deployment>` and `<deployment>-canary`), as a real
   * gateway's metrics would follow what the pods run.
   */
  deployment?: string;
}

export interface TrafficSimulatorOptions {
  namespace: string;
  service: string;
  stable: Partial<VersionBehaviour> & { version: string };
  canary: Partial<VersionBehaviour> & { version: string };
  requestsPerSecond?: number;
  /** Initial manual weight (percent); ignored while weights come from a route. */
  canaryWeight?: number;
  route?: RouteSource;
  /** Default 0 (a free port). */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** How often requests are generated. Default 100 ms. */
  tickMs?: number;
}

export interface SimulatorState {
  namespace: string;
  service: string;
  requestsPerSecond: number;
  /** Requests straight to the preview while the canary Deployment has pods (read with the route's deployment). */
  previewRequestsPerSecond: number;
  weightsFrom: "route" | "manual";
  /** The canary's share of requests now, in percent. */
  canaryWeight: number;
  /** Percent of requests also copied to the canary (a RequestMirror filter in the route). */
  mirrorWeight: number;
  tagged?: { percent: number; headers: Record<string, string> };
  stable: VersionBehaviour;
  canary: VersionBehaviour;
  versions: Record<string, { errorRatio?: number; latencyMs?: number }>;
  route?: { name: string; namespace: string; lastReadAt?: string; error?: string };
  /** Requests and errors generated since start, by role. */
  totals: {
    stable: { requests: number; errors: number };
    canary: { requests: number; errors: number; mirrored: number };
  };
}

export interface TrafficSimulator {
  readonly url: string;
  readonly port: number;
  state(): SimulatorState;
  configure(patch: ConfigPatch): SimulatorState;
  stop(): Promise<void>;
}

const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const HTTPROUTE = { group: "gateway.networking.k8s.io", version: "v1", plural: "httproutes" } as const;

type Role = "stable" | "canary";

export async function startTrafficSimulator(options: TrafficSimulatorOptions): Promise<TrafficSimulator> {
  const state: SimulatorState = {
    namespace: options.namespace,
    service: options.service,
    requestsPerSecond: options.requestsPerSecond ?? 20,
    previewRequestsPerSecond: 0,
    weightsFrom: options.route ? "route" : "manual",
    // With a route, no traffic reaches the canary until the route has been read.
    canaryWeight: options.route ? 0 : (options.canaryWeight ?? 0),
    mirrorWeight: 0,
    stable: { errorRatio: 0, latencyMs: 50, ...options.stable },
    canary: { errorRatio: 0, latencyMs: 50, ...options.canary },
    versions: {},
    totals: { stable: { requests: 0, errors: 0 }, canary: { requests: 0, errors: 0, mirrored: 0 } },
  };
  let manualWeight = options.canaryWeight ?? 0;
  let routeWeight: number | undefined;
  let routeMirror = 0;
  let lastRoute: unknown;

  const registry = new Registry();
  const labelNames = ["namespace", "service", "version", "code"] as const;
  const requests = new Counter({
    name: "http_requests_total",
    help: "Requests the gateway sent to the service, by version and status code.",
    labelNames,
    registers: [registry],
  });
  const durations = new Histogram({
    name: "http_request_duration_seconds",
    help: "Time to answer a request, by version.",
    labelNames: ["namespace", "service", "version"] as const,
    buckets: DURATION_BUCKETS,
    registers: [registry],
  });

  // Fractions of requests and errors carried from one tick to the next.
  const carry = { requests: 0, canary: 0, preview: 0, mirror: 0, errors: { stable: 0, canary: 0 } };
  /** The canary Deployment has pods (spec.replicas > 0): only then does the preview answer. */
  let previewUp = false;
  let lastTick = performance.now();
  const tick = (): void => {
    const now = performance.now();
    const elapsedMs = now - lastTick;
    carry.requests += (state.requestsPerSecond * elapsedMs) / 1000;
    lastTick = now;
    const total = Math.floor(carry.requests);
    carry.requests -= total;
    carry.canary += (total * state.canaryWeight) / 100;
    const toCanary = Math.min(total, Math.floor(carry.canary));
    carry.canary -= toCanary;
    serve("stable", total - toCanary);
    serve("canary", toCanary);
    carry.preview += previewUp ? (state.previewRequestsPerSecond * elapsedMs) / 1000 : 0;
    const toPreview = Math.floor(carry.preview);
    carry.preview -= toPreview;
    serve("canary", toPreview);
    carry.mirror += (total * state.mirrorWeight) / 100;
    const mirrored = Math.min(total, Math.floor(carry.mirror));
    carry.mirror -= mirrored;
    serve("canary", mirrored, true);
  };
  const initialised = new Set<string>();
  /** Requests a version answers (a mirrored copy: answered by the canary, its answer thrown away). */
  const serve = (role: Role, count: number, mirrored = false): void => {
    if (count <= 0) return;
    const behaviour = { ...state[role], ...state.versions[state[role].version] };
    carry.errors[role] += count * behaviour.errorRatio;
    const errors = Math.min(count, Math.floor(carry.errors[role]));
    carry.errors[role] -= errors;
    const labels = { namespace: state.namespace, service: state.service, version: behaviour.version };
    // Like a well-instrumented service, publish both codes from the first request on:
    // an error series that appears late makes rate() under-count it for a whole window.
    const series = `${labels.version}`;
    if (!initialised.has(series)) {
      initialised.add(series);
      requests.inc({ ...labels, code: "500" }, 0);
      requests.inc({ ...labels, code: "200" }, 0);
    }
    if (errors > 0) requests.inc({ ...labels, code: "500" }, errors);
    if (count - errors > 0) requests.inc({ ...labels, code: "200" }, count - errors);
    const histogram = durations.labels(labels);
    for (let index = 0; index < count; index++) {
      histogram.observe((behaviour.latencyMs * (0.75 + Math.random() * 0.5)) / 1000);
    }
    if (mirrored) {
      state.totals.canary.mirrored += count;
      return;
    }
    state.totals[role].requests += count;
    state.totals[role].errors += errors;
  };
  const ticker = setInterval(tick, options.tickMs ?? 100);

  const applyWeight = (): void => {
    if (lastRoute !== undefined) {
      const shares = routeShares(lastRoute, `${options.service}-canary`, state.tagged);
      routeWeight = shares.canaryPercent;
      routeMirror = shares.mirrorPercent;
    }
    state.canaryWeight = state.weightsFrom === "route" ? (routeWeight ?? 0) : manualWeight;
    state.mirrorWeight = state.weightsFrom === "route" ? routeMirror : 0;
  };

  let routePoller: NodeJS.Timeout | undefined;
  let stopped = false;
  if (options.route) {
    const route = options.route;
    const routeNamespace = route.namespace ?? options.namespace;
    state.route = { name: route.name, namespace: routeNamespace };
    const kubeConfig = new KubeConfig();
    if (route.kubeconfigPath) kubeConfig.loadFromFile(route.kubeconfigPath);
    else kubeConfig.loadFromDefault();
    const api = kubeConfig.makeApiClient(CustomObjectsApi);
    const apps = kubeConfig.makeApiClient(AppsV1Api);
    const readVersions = async (deployment: string): Promise<void> => {
      for (const [role, name] of [
        ["stable", deployment],
        ["canary", `${deployment}-canary`],
      ] as const) {
        try {
          const object = await apps.readNamespacedDeployment({ name, namespace: options.namespace });
          const version = object.spec?.template.metadata?.labels?.version;
          if (version) state[role].version = version;
          if (role === "canary") previewUp = (object.spec?.replicas ?? 1) > 0;
        } catch {
          if (role === "canary") previewUp = false;
          // No such Deployment (yet): the role keeps the version it has.
        }
      }
    };
    const poll = async (): Promise<void> => {
      try {
        if (route.deployment) await readVersions(route.deployment);
        const object: unknown = await api.getNamespacedCustomObject({
          ...HTTPROUTE,
          namespace: routeNamespace,
          name: route.name,
        });
        lastRoute = object;
        state.route = { name: route.name, namespace: routeNamespace, lastReadAt: new Date().toISOString() };
      } catch (error) {
        // Keep the last weight read: a gateway keeps routing while its control plane is away.
        state.route = { ...state.route!, error: describeError(error) };
      }
      applyWeight();
      if (!stopped) routePoller = setTimeout(() => void poll(), route.pollMs ?? 500);
    };
    await poll();
  }

  const configure = (patch: ConfigPatch): SimulatorState => {
    if (patch.weightsFrom === "route" && !options.route) {
      throw new Error("weightsFrom route needs a route: start the simulator with --route");
    }
    if (patch.requestsPerSecond !== undefined) state.requestsPerSecond = patch.requestsPerSecond;
    if (patch.previewRequestsPerSecond !== undefined)
      state.previewRequestsPerSecond = patch.previewRequestsPerSecond;
    if (patch.stable) Object.assign(state.stable, definedOnly(patch.stable));
    if (patch.canary) Object.assign(state.canary, definedOnly(patch.canary));
    for (const [version, behaviour] of Object.entries(patch.versions ?? {})) {
      state.versions[version] = { ...state.versions[version], ...definedOnly(behaviour) };
    }
    if (patch.canaryWeight !== undefined) {
      manualWeight = patch.canaryWeight;
      state.weightsFrom = "manual";
    }
    if (patch.weightsFrom !== undefined) state.weightsFrom = patch.weightsFrom;
    if (patch.tagged !== undefined) state.tagged = patch.tagged;
    applyWeight();
    return snapshot();
  };
  const snapshot = (): SimulatorState => structuredClone(state);

  const server = createServer((request, response) => {
    void handle(request, response).catch((error: unknown) => {
      if (!response.headersSent) sendJson(response, 500, { error: describeError(error) });
      else response.destroy();
    });
  });
  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const path = new URL(request.url ?? "/", "http://simulator").pathname;
    if (request.method === "GET" && path === "/metrics") {
      const text = await registry.metrics();
      response.writeHead(200, { "Content-Type": registry.contentType }).end(text);
    } else if (request.method === "GET" && path === "/healthz") {
      response.writeHead(200, { "Content-Type": "text/plain" }).end("ok\n");
    } else if (request.method === "GET" && path === "/config") {
      sendJson(response, 200, snapshot());
    } else if (request.method === "POST" && path === "/config") {
      let body: unknown;
      try {
        body = JSON.parse(await readBody(request));
      } catch {
        return sendJson(response, 400, { error: "the body must be JSON" });
      }
      const parsed = configPatchSchema.safeParse(body);
      if (!parsed.success) return sendJson(response, 400, { error: z.prettifyError(parsed.error) });
      try {
        sendJson(response, 200, configure(parsed.data));
      } catch (error) {
        sendJson(response, 409, { error: describeError(error) });
      }
    } else {
      sendJson(response, 404, {
        error: `no ${request.method} ${path}; try GET /metrics, GET or POST /config`,
      });
    }
  };

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;

  return {
    url: `http://${host}:${address.port}`,
    port: address.port,
    state: snapshot,
    configure,
    async stop() {
      stopped = true;
      clearInterval(ticker);
      clearTimeout(routePoller);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

interface RouteRule {
  matches?: { headers?: { type?: string; name: string; value: string }[] }[];
  filters?: {
    type?: string;
    requestMirror?: {
      backendRef?: { name?: string };
      percent?: number;
      fraction?: { numerator: number; denominator?: number };
    };
  }[];
  backendRefs?: { name?: string; weight?: number }[];
}

/**
 * How a gateway following this HTTPRoute shares requests out: the canary's percentage of
 * the requests served, and the percentage copied to it by a RequestMirror filter. Untagged
 * requests carry no headers; `tagged.percent` of them carry `tagged.headers`. Each request
 * takes the rule with the most header matches it satisfies (the first of equals), as
 * Gateway API's precedence does for rules with the same path; paths are all "/".
 */
export function routeShares(
  route: unknown,
  canaryBackend: string,
  tagged?: { percent: number; headers: Record<string, string> },
): { canaryPercent: number; mirrorPercent: number } {
  const rules = (route as { spec?: { rules?: RouteRule[] } }).spec?.rules ?? [];
  const lowerCased = (headers: Record<string, string>) =>
    Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
  const classes = [
    { percent: 100 - (tagged?.percent ?? 0), headers: {} as Record<string, string> },
    ...(tagged ? [{ percent: tagged.percent, headers: lowerCased(tagged.headers) }] : []),
  ];
  let canaryPercent = 0;
  let mirrorPercent = 0;
  for (const requests of classes) {
    const rule = ruleFor(rules, requests.headers);
    if (!rule || requests.percent <= 0) continue;
    let canary = 0;
    let total = 0;
    for (const ref of rule.backendRefs ?? []) {
      const weight = ref.weight ?? 1;
      total += weight;
      if (ref.name === canaryBackend) canary += weight;
    }
    if (total > 0) canaryPercent += (requests.percent * canary) / total;
    const mirror = (rule.filters ?? []).find(
      (filter) => filter.type === "RequestMirror" && filter.requestMirror?.backendRef?.name === canaryBackend,
    )?.requestMirror;
    if (mirror) {
      const copied = mirror.fraction
        ? (100 * mirror.fraction.numerator) / (mirror.fraction.denominator ?? 100)
        : (mirror.percent ?? 100);
      mirrorPercent += (requests.percent * copied) / 100;
    }
  }
  return { canaryPercent, mirrorPercent };
}

function ruleFor(rules: RouteRule[], headers: Record<string, string>): RouteRule | undefined {
  let best: { rule: RouteRule; score: number } | undefined;
  for (const rule of rules) {
    const matches = rule.matches && rule.matches.length > 0 ? rule.matches : [{}];
    for (const match of matches) {
      const wanted = match.headers ?? [];
      const satisfied = wanted.every((header) => {
        const value = headers[header.name.toLowerCase()];
        if (value === undefined) return false;
        return header.type === "RegularExpression"
          ? new RegExp(header.value).test(value)
          : value === header.value;
      });
      if (satisfied && (best === undefined || wanted.length > best.score))
        best = { rule, score: wanted.length };
    }
  }
  return best?.rule;
}

function definedOnly<T extends object>(patch: T): Partial<T> {
  return Object.fromEntries(Object.entries(patch).filter(([, value]) => value !== undefined)) as Partial<T>;
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { "Content-Type": "application/json" }).end(JSON.stringify(body) + "\n");
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > 64 * 1024) throw new Error("body too large");
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function describeError(error: unknown): string {
  const body = (error as { body?: unknown }).body;
  if (typeof body === "string") {
    try {
      return (JSON.parse(body) as { message?: string }).message ?? body;
    } catch {
      return body;
    }
  }
  return error instanceof Error ? error.message : String(error);
}

// ---- standalone ----

const flags = {
  port: { type: "string", default: "0" },
  host: { type: "string", default: "127.0.0.1" },
  namespace: { type: "string", default: "default" },
  service: { type: "string" },
  "stable-version": { type: "string", default: "stable" },
  "canary-version": { type: "string", default: "canary" },
  rps: { type: "string", default: "20" },
  "canary-weight": { type: "string", default: "0" },
  "stable-error-ratio": { type: "string", default: "0" },
  "canary-error-ratio": { type: "string", default: "0" },
  "stable-latency-ms": { type: "string", default: "50" },
  "canary-latency-ms": { type: "string", default: "50" },
  route: { type: "string" },
  "route-namespace": { type: "string" },
  kubeconfig: { type: "string" },
  "poll-ms": { type: "string", default: "500" },
  deployment: { type: "string" },
} as const;

/** Options from command-line flags, each defaulting to TRAFFIC_SIM_<FLAG> from the environment. */
export function optionsFromArgs(args: string[], env: NodeJS.ProcessEnv): TrafficSimulatorOptions {
  const { values } = parseArgs({ args, options: flags, strict: true, allowPositionals: false });
  const read = (flag: keyof typeof flags): string | undefined => {
    const fromEnv = env[`TRAFFIC_SIM_${flag.toUpperCase().replace(/-/g, "_")}`];
    const given = args.some((arg) => arg === `--${flag}` || arg.startsWith(`--${flag}=`));
    return given ? values[flag] : (fromEnv ?? values[flag]);
  };
  const number = (flag: keyof typeof flags): number => {
    const text = read(flag) ?? "";
    const value = Number(text);
    if (text.trim() === "" || !Number.isFinite(value))
      throw new Error(`--${flag} must be a number, not "${text}"`);
    return value;
  };
  const service = read("service");
  if (!service) throw new Error("--service is required (or TRAFFIC_SIM_SERVICE)");
  const namespace = read("namespace") ?? "default";
  const route = read("route");
  const kubeconfigPath = read("kubeconfig") ?? env.KUBECONFIG;
  const routeNamespace = read("route-namespace");
  const deployment = read("deployment");
  return {
    namespace,
    service,
    port: number("port"),
    host: read("host") ?? "127.0.0.1",
    requestsPerSecond: number("rps"),
    canaryWeight: number("canary-weight"),
    stable: {
      version: read("stable-version") ?? "stable",
      errorRatio: number("stable-error-ratio"),
      latencyMs: number("stable-latency-ms"),
    },
    canary: {
      version: read("canary-version") ?? "canary",
      errorRatio: number("canary-error-ratio"),
      latencyMs: number("canary-latency-ms"),
    },
    ...(route
      ? {
          route: {
            name: route,
            pollMs: number("poll-ms"),
            ...(routeNamespace ? { namespace: routeNamespace } : {}),
            ...(kubeconfigPath ? { kubeconfigPath } : {}),
            ...(deployment ? { deployment } : {}),
          },
        }
      : {}),
  };
}

function isMain(): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isMain()) {
  try {
    const simulator = await startTrafficSimulator(optionsFromArgs(process.argv.slice(2), process.env));
    console.log(JSON.stringify({ event: "listening", url: simulator.url, state: simulator.state() }));
    for (const signal of ["SIGTERM", "SIGINT"] as const) {
      process.once(signal, () => void simulator.stop().then(() => process.exit(0)));
    }
  } catch (error) {
    console.error(`traffic-simulator: ${(error as Error).message}`);
    process.exit(2);
  }
}
