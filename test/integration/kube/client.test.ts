// The client bundle and the paged LIST against the real API server.
import { join } from "node:path";
import { RbacAuthorizationV1Api } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { abortWith, loadKubeConfig, makeKubeClients } from "../../../src/kube/client.ts";
import { LeaseNotHeldError } from "../../../src/kube/leader-election.ts";
import { listCollection } from "../../../src/kube/list.ts";
import { kubeconfigThrough, startApiProxy, type ApiProxy } from "../../harness/api-proxy.ts";
import {
  createNamespace,
  deleteNamespace,
  serviceAccountKubeconfig,
  stackInfo,
  waitFor,
} from "../../harness/context.ts";

const kubeConfig = loadKubeConfig({ kubeconfigPath: stackInfo().kubeconfigPath });
const clients = makeKubeClients(kubeConfig);
let namespace: string;

beforeAll(async () => {
  namespace = await createNamespace("client");
});
afterAll(async () => {
  await deleteNamespace(namespace);
});

describe("kube clients", () => {
  it("reach the API server through every API of the bundle", async () => {
    await expect(clients.core.readNamespace({ name: namespace })).resolves.toMatchObject({
      metadata: { name: namespace },
    });
    await expect(clients.apps.listNamespacedDeployment({ namespace })).resolves.toHaveProperty("items");
    await expect(clients.coordination.listNamespacedLease({ namespace })).resolves.toHaveProperty("items");
    await expect(clients.networking.listNamespacedIngress({ namespace })).resolves.toHaveProperty("items");
    await expect(clients.events.listNamespacedEvent({ namespace })).resolves.toHaveProperty("items");
    await expect(
      clients.customObjects.listNamespacedCustomObject({
        group: "glidepath.dev",
        version: "v1alpha1",
        namespace,
        plural: "releases",
      }),
    ).resolves.toHaveProperty("items");
  });

  it("abort a call when the signal given to abortWith fires", async () => {
    await expect(
      clients.core.readNamespace({ name: namespace }, abortWith(AbortSignal.abort())),
    ).rejects.toMatchObject({ name: "AbortError" });
  });

  it("list a collection page by page from one snapshot, filling in apiVersion and kind", async () => {
    const labels = { "glidepath.dev/paged": "true" };
    for (let index = 0; index < 5; index++) {
      await clients.core.createNamespacedConfigMap({
        namespace,
        body: { metadata: { name: `page-${index}`, labels } },
      });
    }
    const listed = await listCollection(kubeConfig, `/api/v1/namespaces/${namespace}/configmaps`, {
      labelSelector: "glidepath.dev/paged=true",
      pageSize: 2,
    });
    expect(listed.items.map((item) => item.metadata?.name).sort()).toEqual([
      "page-0",
      "page-1",
      "page-2",
      "page-3",
      "page-4",
    ]);
    expect(listed.items.every((item) => item.apiVersion === "v1" && item.kind === "ConfigMap")).toBe(true);
    expect(Number(listed.resourceVersion)).toBeGreaterThan(0);
  });
});

// Every call bounded and every write guarded, in one place (makeKubeClients): a hung API
// server is stood in for by a proxy that holds the requests a test picks and never answers.
describe("kube clients with a deadline, a stop signal and a write guard", () => {
  let proxy: ApiProxy;
  let proxiedConfig: ReturnType<typeof loadKubeConfig>;

  beforeAll(async () => {
    const info = stackInfo();
    proxy = await startApiProxy({ apiServerUrl: info.apiServerUrl, caCertPath: info.caCertPath });
    // A token (not a client certificate) authenticates through a plain-http proxy.
    const account = await serviceAccountKubeconfig(namespace, "bounded-client");
    await kubeConfig
      .makeApiClient(RbacAuthorizationV1Api)
      .createNamespacedRoleBinding({
        namespace,
        body: {
          metadata: { name: "bounded-client-edit" },
          roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "edit" },
          subjects: [{ kind: "ServiceAccount", name: "bounded-client", namespace }],
        },
      })
      .catch(() => undefined);
    const path = kubeconfigThrough(
      account.path,
      proxy.url,
      join(info.runDir, `proxied-${namespace}.kubeconfig`),
    );
    proxiedConfig = loadKubeConfig({ kubeconfigPath: path });
  });
  afterAll(async () => {
    await proxy?.close();
  });

  it("abandon a call the API server never answers at the deadline, not after undici's 300 s", async () => {
    const bounded = makeKubeClients(proxiedConfig, { requestTimeoutMs: 1_000 });
    await waitFor(async () => (await bounded.core.readNamespace({ name: namespace })).metadata?.name, {
      description: "the proxied client to reach the API server",
    });
    proxy.hold(
      (method, path) => method === "GET" && path.includes(`/namespaces/${namespace}/configmaps/hung`),
    );
    const started = performance.now();
    await expect(bounded.core.readNamespacedConfigMap({ name: "hung", namespace })).rejects.toMatchObject({
      name: "TimeoutError",
    });
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(900);
    expect(elapsed).toBeLessThan(5_000);
    await waitFor(() => (proxy.heldNow().length === 0 ? true : undefined), {
      description: "the proxy to see the client give up",
    });
    expect(proxy.held()).toEqual([
      expect.objectContaining({ method: "GET", abandonedAfterMs: expect.any(Number) }),
    ]);
    // A per-call signal still works alongside the deadline.
    await expect(
      bounded.core.readNamespace({ name: namespace }, abortWith(AbortSignal.abort())),
    ).rejects.toMatchObject({ name: "AbortError" });
    proxy.forwardAll();
  });

  it("abort calls in flight, and refuse new ones, once the stop signal fires", async () => {
    const stop = new AbortController();
    const bounded = makeKubeClients(proxiedConfig, { requestTimeoutMs: 60_000, signal: stop.signal });
    proxy.hold(
      (method, path) => method === "GET" && path.includes(`/namespaces/${namespace}/configmaps/stuck`),
    );
    const inFlight = bounded.core.readNamespacedConfigMap({ name: "stuck", namespace });
    await waitFor(() => (proxy.heldNow().length === 1 ? true : undefined), {
      description: "the call to be held",
    });
    const started = performance.now();
    stop.abort(new Error("stopping"));
    await expect(inFlight).rejects.toThrow("stopping");
    expect(performance.now() - started).toBeLessThan(2_000);
    await expect(bounded.core.readNamespace({ name: namespace })).rejects.toThrow("stopping");
    proxy.forwardAll();
  });

  it("refuse every write the guard refuses, before it is sent; reads still go", async () => {
    const guarded = makeKubeClients(kubeConfig, {
      beforeWrite: () => {
        throw new LeaseNotHeldError("refusing to write: the Lease is stale");
      },
    });
    await expect(
      guarded.core.createNamespacedConfigMap({ namespace, body: { metadata: { name: "refused" } } }),
    ).rejects.toThrow("refusing to write: the Lease is stale");
    await expect(guarded.core.readNamespace({ name: namespace })).resolves.toMatchObject({
      metadata: { name: namespace },
    });
    await expect(clients.core.readNamespacedConfigMap({ name: "refused", namespace })).rejects.toMatchObject({
      code: 404,
    });
  });
});
