// The informer against the real control plane, including the failures it exists for:
// connections reset and refused, a connection that goes silent (half-open), and a
// resourceVersion compacted away in etcd while it was not watching (410 → relist).
// Faults are real: a TCP proxy between the informer and kube-apiserver that the test
// cuts or freezes, and etcd's own compaction.
import { readdirSync, readFileSync } from "node:fs";
import { createServer, connect } from "node:net";
import type { Server, Socket } from "node:net";
import { join } from "node:path";
import { KubeConfig } from "@kubernetes/client-node";
import type { CoreV1Event, KubernetesObject, RequestContext, V1ConfigMap } from "@kubernetes/client-node";
import { pino } from "pino";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { API_GROUP, API_VERSION } from "../../../src/api/release.ts";
import { Informer } from "../../../src/kube/informer.ts";
import type { InformerChange, InformerOptions } from "../../../src/kube/index.ts";
import { RELEASE_PLURAL } from "../../../src/kube/status-writer.ts";
import { exampleRelease } from "../../fixtures/releases.ts";
import {
  createNamespace,
  deleteNamespace,
  kubeClients,
  kubeConfig,
  mergePatch,
  stackInfo,
  waitFor,
} from "../../harness/context.ts";

const logger = pino({ level: process.env.GLIDEPATH_TEST_LOG ?? "silent" });
const { core, custom } = kubeClients();
const releases = { group: API_GROUP, version: API_VERSION, plural: RELEASE_PLURAL };
const fastRetries = { initialDelayMs: 100, maxDelayMs: 1_000 };

let namespace: string;
const informers: { stop(): Promise<void> }[] = [];
const proxies: FaultyProxy[] = [];

beforeAll(async () => {
  namespace = await createNamespace("informer");
});
afterEach(async () => {
  await Promise.all(informers.splice(0).map((informer) => informer.stop()));
  await Promise.all(proxies.splice(0).map((proxy) => proxy.close()));
});
afterAll(async () => {
  await deleteNamespace(namespace);
});

/** Starts an informer that records every change it emits. */
async function startInformer<T extends KubernetesObject>(
  options: Partial<InformerOptions> & Pick<InformerOptions, "path">,
): Promise<{ informer: Informer<T>; changes: InformerChange<T>[] }> {
  const informer = new Informer<T>({ kubeConfig: kubeConfig(), logger, backoff: fastRetries, ...options });
  informers.push(informer);
  const changes: InformerChange<T>[] = [];
  informer.on((change) => changes.push(change));
  informer.start();
  await informer.whenSynced();
  return { informer, changes };
}

function summary(changes: readonly InformerChange<KubernetesObject>[]): string[] {
  return changes.map((change) => `${change.type} ${change.key}`);
}

describe("informer", () => {
  it("given Releases created, changed and deleted, emits each change once and caches the latest", async () => {
    const { informer, changes } = await startInformer({
      path: `/apis/${API_GROUP}/${API_VERSION}/${RELEASE_PLURAL}`,
      namespace,
      // Relists every 300 ms meanwhile: they must not repeat anything the watch delivered.
      relistIntervalMs: 300,
    });
    expect(informer.hasSynced()).toBe(true);
    expect(informer.list()).toEqual([]);

    const release = exampleRelease();
    release.metadata = { name: "checkout", namespace };
    await custom.createNamespacedCustomObject({ ...releases, namespace, body: release });
    const key = `${namespace}/checkout`;
    await waitFor(() => informer.get(key), { description: "the new Release in the cache" });

    await custom.patchNamespacedCustomObject(
      { ...releases, namespace, name: "checkout", body: { spec: { control: { paused: true } } } },
      mergePatch,
    );
    await waitFor(
      () => (informer.get(key) as { spec?: { control?: { paused?: boolean } } }).spec?.control?.paused,
    );

    await custom.deleteNamespacedCustomObject({ ...releases, namespace, name: "checkout" });
    await waitFor(() => informer.get(key) === undefined, { description: "the Release gone from the cache" });
    await waitFor(() => informer.stats().lists >= 4, { description: "a few periodic relists" });

    expect(summary(changes)).toEqual([`added ${key}`, `updated ${key}`, `deleted ${key}`]);
    const [, updated] = changes;
    expect(updated?.type === "updated" && updated.previous.metadata?.resourceVersion).not.toBe(
      updated?.object.metadata?.resourceVersion,
    );
    expect(informer.stats()).toMatchObject({ objects: 0, failures: 0, expired: 0 });
  });

  it("watches all namespaces with a label selector", async () => {
    const otherNamespace = await createNamespace("informer-other");
    try {
      const label = `run-${Date.now().toString(36)}`;
      const { informer, changes } = await startInformer<V1ConfigMap>({
        path: "/api/v1/configmaps",
        labelSelector: `glidepath.dev/test-run=${label}`,
      });
      const labels = { "glidepath.dev/test-run": label };
      await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: "one", labels } } });
      await core.createNamespacedConfigMap({
        namespace: otherNamespace,
        body: { metadata: { name: "two", labels } },
      });
      await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: "unlabelled" } } });

      await waitFor(() => informer.list().length === 2, { description: "both labelled ConfigMaps" });
      expect(informer.keys().sort()).toEqual([`${namespace}/one`, `${otherNamespace}/two`].sort());
      // Listed and watched objects look alike: apiVersion and kind are filled in.
      expect(informer.get(`${namespace}/one`)).toMatchObject({ apiVersion: "v1", kind: "ConfigMap" });
      expect(summary(changes).every((line) => !line.includes("unlabelled"))).toBe(true);
    } finally {
      await deleteNamespace(otherNamespace);
    }
  });

  it("given a watch quiet for the HTTP client's body timeout, watches again without a warning", async () => {
    // undici ends a response body silent for 300 s ("stream timeout after 300000"); here for 1 s.
    class QuickBodyTimeout extends KubeConfig {
      override async applySecurityAuthentication(context: RequestContext): Promise<void> {
        await super.applySecurityAuthentication(context);
        type Dispatcher = NonNullable<ReturnType<RequestContext["getDispatcher"]>>;
        type Dispatch = (options: Record<string, unknown>, handler: unknown) => boolean;
        const dispatcher = context.getDispatcher() as
          (Dispatcher & { compose(interceptor: (dispatch: Dispatch) => Dispatch): Dispatcher }) | undefined;
        if (!dispatcher) return;
        context.setDispatcher(
          dispatcher.compose(
            (dispatch) => (options, handler) => dispatch({ ...options, bodyTimeout: 1_000 }, handler),
          ),
        );
      }
    }
    const quick = new QuickBodyTimeout();
    quick.loadFromFile(stackInfo().kubeconfigPath);
    const logged: { level: number; msg: string; err?: unknown }[] = [];
    const recording = pino({ level: "debug" }, { write: (line: string) => logged.push(JSON.parse(line)) });
    const quiet = await createNamespace("informer-quiet");
    try {
      const informer = new Informer<V1ConfigMap>({
        kubeConfig: quick,
        logger: recording,
        backoff: fastRetries,
        path: "/api/v1/configmaps",
        namespace: quiet,
        // Nothing happens in this namespace: only the body timeout ends these watches.
        labelSelector: "glidepath.dev/never=set",
      });
      informers.push(informer);
      informer.start();
      await informer.whenSynced();
      await waitFor(() => informer.stats().watches >= 4, {
        timeoutMs: 60_000,
        description: "several watches ended by the body timeout",
      });
      expect(logged.filter((line) => line.level >= 40).map((line) => line.msg)).toEqual([]);
      expect(informer.stats()).toMatchObject({ failures: 0 });
      const quietEnds = logged.filter((line) => /quiet for the HTTP client's body timeout/.test(line.msg));
      expect(quietEnds.length).toBeGreaterThanOrEqual(3);
      expect(quietEnds.every((line) => line.level === 20 && line.err === undefined)).toBe(true);
    } finally {
      await deleteNamespace(quiet);
    }
  });

  it("given a resource the API server does not serve, says so instead of waiting forever", async () => {
    const informer = new Informer({
      kubeConfig: kubeConfig(),
      logger,
      backoff: fastRetries,
      path: `/apis/${API_GROUP}/${API_VERSION}/rollouts`,
      namespace,
    });
    informers.push(informer);
    informer.start();
    await expect(informer.whenSynced(1_500)).rejects.toThrow(
      /has not synced after 1500 ms \(last error: 404 page not found \(no such resource: is the CRD installed/,
    );
    expect(informer.hasSynced()).toBe(false);
  });

  it("given its connections reset and refused for a while, catches up with what changed meanwhile", async () => {
    const proxy = await FaultyProxy.start(stackInfo().apiServerUrl);
    const { informer, changes } = await startInformer<V1ConfigMap>({
      kubeConfig: proxy.kubeConfig(),
      path: "/api/v1/configmaps",
      namespace,
      labelSelector: "glidepath.dev/outage=true",
    });
    const labels = { "glidepath.dev/outage": "true" };
    await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: "before", labels } } });
    await waitFor(() => informer.get(`${namespace}/before`));

    proxy.cut();
    await waitFor(() => informer.stats().failures >= 2, { description: "the informer noticing the outage" });
    await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: "during", labels } } });
    await core.deleteNamespacedConfigMap({ namespace, name: "before" });

    proxy.heal();
    await waitFor(() => informer.get(`${namespace}/during`) && !informer.get(`${namespace}/before`), {
      description: "the changes made during the outage",
    });
    expect(summary(changes)).toEqual([
      `added ${namespace}/before`,
      // Order depends on whether the resumed watch or a relist delivered them.
      ...summary(changes.slice(1)).sort(),
    ]);
    expect(summary(changes.slice(1)).sort()).toEqual([
      `added ${namespace}/during`,
      `deleted ${namespace}/before`,
    ]);
    expect(informer.stats().lastError).toBeTruthy();
  });

  it(
    "given a silent connection and etcd compacted past its resourceVersion, restarts the watch, " +
      "relists on 410 and reports what changed while it was not watching",
    async () => {
      // Events: kube-apiserver serves their watches straight from etcd (no watch cache),
      // so compaction is what expires a resourceVersion, as for any resource in a big cluster.
      const proxy = await FaultyProxy.start(stackInfo().apiServerUrl);
      const event = (name: string, message: string): CoreV1Event => ({
        metadata: { name, namespace },
        involvedObject: { kind: "ConfigMap", name: "subject", namespace },
        reason: "Test",
        message,
        type: "Normal",
      });
      await core.createNamespacedEvent({ namespace, body: event("kept", "unchanged") });
      await core.createNamespacedEvent({ namespace, body: event("edited", "first") });
      await core.createNamespacedEvent({ namespace, body: event("removed", "soon gone") });
      const { informer, changes } = await startInformer<CoreV1Event>({
        kubeConfig: proxy.kubeConfig(),
        path: "/api/v1/events",
        namespace,
        watchdogMs: 1_500,
      });
      expect(informer.keys().sort()).toEqual(
        ["edited", "kept", "removed"].map((name) => `${namespace}/${name}`),
      );
      const seenBefore = changes.length;
      const resourceVersionBefore = informer.stats().resourceVersion;

      // The connection goes quiet without closing, as a half-open TCP connection does.
      proxy.freeze();
      await core.createNamespacedEvent({ namespace, body: event("created", "while frozen") });
      await core.patchNamespacedEvent({ namespace, name: "edited", body: { message: "second" } }, mergePatch);
      await core.deleteNamespacedEvent({ namespace, name: "removed" });
      const compactedAt = await compactEtcd();
      expect(compactedAt).toBeGreaterThan(Number(resourceVersionBefore) + 1);
      await waitFor(() => informer.stats().silentRestarts >= 1, { description: "the watchdog firing" });

      proxy.heal();
      await waitFor(() => informer.stats().expired >= 1 && informer.get(`${namespace}/created`), {
        description: "a 410 and the relist after it",
        timeoutMs: 20_000,
      });
      const missed = changes.slice(seenBefore);
      expect(summary(missed).sort()).toEqual([
        `added ${namespace}/created`,
        `deleted ${namespace}/removed`,
        `updated ${namespace}/edited`,
      ]);
      expect(informer.get(`${namespace}/edited`)?.message).toBe("second");
      expect(Number(informer.stats().resourceVersion)).toBeGreaterThanOrEqual(compactedAt);
    },
  );
});

/**
 * A TCP proxy in front of kube-apiserver (TLS passes through untouched; the serving
 * certificate is for 127.0.0.1). cut(): reset every connection and refuse new ones.
 * freeze(): stop forwarding without closing anything. heal(): reset what was frozen
 * and forward new connections again.
 */
class FaultyProxy {
  readonly #server: Server;
  readonly #target: URL;
  readonly #connections = new Set<{ client: Socket; upstream?: Socket }>();
  #mode: "forward" | "cut" | "freeze" = "forward";

  private constructor(server: Server, target: URL) {
    this.#server = server;
    this.#target = target;
  }

  static async start(targetUrl: string): Promise<FaultyProxy> {
    const target = new URL(targetUrl);
    const server = createServer();
    const proxy = new FaultyProxy(server, target);
    server.on("connection", (client) => proxy.#accept(client));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    proxies.push(proxy);
    return proxy;
  }

  get url(): string {
    const address = this.#server.address();
    if (!address || typeof address === "string") throw new Error("proxy is not listening");
    return `https://127.0.0.1:${address.port}`;
  }

  /** The admin kubeconfig, pointed at this proxy. */
  kubeConfig(): KubeConfig {
    const admin = kubeConfig();
    const viaProxy = new KubeConfig();
    viaProxy.loadFromOptions({
      clusters: admin.clusters.map((cluster) => ({ ...cluster, server: this.url })),
      users: admin.users,
      contexts: admin.contexts,
      currentContext: admin.currentContext,
    });
    return viaProxy;
  }

  cut(): void {
    this.#mode = "cut";
    this.#resetAll();
  }

  freeze(): void {
    this.#mode = "freeze";
    for (const { client, upstream } of this.#connections) {
      client.unpipe();
      upstream?.unpipe();
      client.pause();
      upstream?.pause();
    }
  }

  heal(): void {
    if (this.#mode === "freeze") this.#resetAll();
    this.#mode = "forward";
  }

  async close(): Promise<void> {
    this.#resetAll();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #accept(client: Socket): void {
    if (this.#mode === "cut") {
      client.resetAndDestroy();
      return;
    }
    const connection: { client: Socket; upstream?: Socket } = { client };
    this.#connections.add(connection);
    client.on("error", () => {});
    client.on("close", () => {
      connection.upstream?.destroy();
      this.#connections.delete(connection);
    });
    // Frozen: accepted, never answered.
    if (this.#mode === "freeze") return;
    const upstream = connect(Number(this.#target.port), this.#target.hostname);
    connection.upstream = upstream;
    upstream.on("error", () => client.destroy());
    upstream.on("close", () => client.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
  }

  #resetAll(): void {
    for (const { client, upstream } of this.#connections) {
      client.resetAndDestroy();
      upstream?.destroy();
    }
    this.#connections.clear();
  }
}

/** Compacts etcd up to its current revision; returns that revision. */
async function compactEtcd(): Promise<number> {
  const etcd = etcdClientUrl();
  const key = Buffer.from("/").toString("base64");
  const range = await fetch(`${etcd}/v3/kv/range`, { method: "POST", body: JSON.stringify({ key }) });
  if (!range.ok) throw new Error(`etcd range at ${etcd}: ${range.status} ${await range.text()}`);
  const revision = Number(((await range.json()) as { header: { revision: string } }).header.revision);
  const compaction = await fetch(`${etcd}/v3/kv/compaction`, {
    method: "POST",
    body: JSON.stringify({ revision: String(revision), physical: true }),
  });
  if (!compaction.ok)
    throw new Error(`etcd compaction to ${revision}: ${compaction.status} ${await compaction.text()}`);
  return revision;
}

/**
 * etcd's client URL: from the stack info when the harness provides it, otherwise from
 * the command line of the etcd process the harness recorded in its run directory.
 */
function etcdClientUrl(): string {
  const info = stackInfo() as ReturnType<typeof stackInfo> & { etcdUrl?: string; etcd?: { url?: string } };
  const known = info.etcdUrl ?? info.etcd?.url;
  if (known) return known;
  for (const file of readdirSync(info.runDir).filter((name) => name.startsWith("processes-"))) {
    for (const line of readFileSync(join(info.runDir, file), "utf8").split("\n")) {
      const [pid, , name] = line.split(" ");
      if (name !== "etcd") continue;
      try {
        const args = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
        const flag = args.find((arg) => arg.startsWith("--listen-client-urls="));
        if (flag) return flag.slice("--listen-client-urls=".length).split(",")[0]!;
      } catch {
        // That process is gone; try the next record.
      }
    }
  }
  throw new Error(`cannot find etcd's client URL: not in the stack info, nor in ${info.runDir}/processes-*`);
}
