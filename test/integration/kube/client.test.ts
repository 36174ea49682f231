// The client bundle and the paged LIST against the real API server.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { abortWith, loadKubeConfig, makeKubeClients } from "../../../src/kube/client.ts";
import { listCollection } from "../../../src/kube/list.ts";
import { createNamespace, deleteNamespace, stackInfo } from "../../harness/context.ts";

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
