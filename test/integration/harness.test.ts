// The harness proves itself: a real control plane with a fake kubelet runs Deployments
// and rollouts, Prometheus scrapes and alerts through Alertmanager, the Gateway API CRDs
// accept weighted routes, and RBAC holds a ServiceAccount to its bindings.
import { randomBytes } from "node:crypto";
import { VersionApi } from "@kubernetes/client-node";
import type { V1Deployment, V1Pod } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CRASH_LOOP_ANNOTATION,
  READY_ANNOTATION,
  alertmanager,
  createNamespace,
  deleteNamespace,
  helm,
  kubeClients,
  kubeConfig,
  kubectl,
  mergePatch,
  prometheus,
  serveMetrics,
  serviceAccountKubeconfig,
  stackInfo,
  startPrivatePrometheus,
  startWebhookRecorder,
  waitFor,
} from "../harness/context.ts";

const { core, apps, custom } = kubeClients();
let namespace: string;

beforeAll(async () => {
  namespace = await createNamespace("harness");
});

afterAll(async () => {
  await deleteNamespace(namespace);
});

function deployment(
  name: string,
  image: string,
  options: Partial<V1Deployment["spec"]> = {},
  annotations = {},
) {
  const labels = { app: name };
  return {
    metadata: { name, namespace },
    spec: {
      replicas: 2,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels, annotations },
        spec: { containers: [{ name: "app", image }] },
      },
      ...options,
    },
  } satisfies V1Deployment;
}

function condition(deploymentObject: V1Deployment, type: string) {
  return deploymentObject.status?.conditions?.find((candidate) => candidate.type === type);
}

async function podsOf(app: string): Promise<V1Pod[]> {
  return (await core.listNamespacedPod({ namespace, labelSelector: `app=${app}` })).items;
}

describe("control plane", () => {
  it("answers /readyz and reports its version", async () => {
    const readyz = await kubectl(["get", "--raw", "/readyz"]);
    expect(readyz.stdout.trim()).toBe("ok");

    const version = await kubeConfig().makeApiClient(VersionApi).getCode();
    expect(version.gitVersion).toBe(stackInfo().kubernetesVersion.gitVersion);
    expect(Number(version.minor.replace(/\D/g, ""))).toBeGreaterThanOrEqual(20);
  });

  it("has a Ready, untainted fake node that kubectl and helm can reach", async () => {
    const nodes = JSON.parse((await kubectl(["get", "nodes", "-o", "json"])).stdout) as {
      items: {
        metadata: { name: string };
        spec: { taints?: unknown[] };
        status: { conditions: { type: string; status: string }[] };
      }[];
    };
    const node = nodes.items.find((item) => item.metadata.name === stackInfo().nodeName);
    expect(node?.status.conditions.find((item) => item.type === "Ready")?.status).toBe("True");
    expect(node?.spec.taints ?? []).toEqual([]);

    const releases = await helm(["list", "--all-namespaces", "--output", "json"]);
    expect(JSON.parse(releases.stdout)).toEqual([]);
  });
});

describe("workloads through the fake kubelet", () => {
  it("makes a 2-replica Deployment Available", async () => {
    await apps.createNamespacedDeployment({ namespace, body: deployment("web", "example.com/web:1.0.0") });

    const available = await waitFor(
      async () => {
        const current = await apps.readNamespacedDeployment({ name: "web", namespace });
        return (
          condition(current, "Available")?.status === "True" && current.status?.readyReplicas === 2 && current
        );
      },
      { description: "deployment web Available with 2 ready replicas" },
    );
    expect(available.status?.availableReplicas).toBe(2);

    const pods = await podsOf("web");
    expect(pods).toHaveLength(2);
    for (const pod of pods) {
      expect(pod.status?.phase).toBe("Running");
      expect(pod.status?.podIP).toMatch(/^10\.244\./);
      expect(pod.status?.containerStatuses?.[0]).toMatchObject({
        image: "example.com/web:1.0.0",
        ready: true,
      });
    }
  });

  it("rolls an image change out to a new ReplicaSet", async () => {
    await apps.patchNamespacedDeployment(
      {
        name: "web",
        namespace,
        body: {
          spec: { template: { spec: { containers: [{ name: "app", image: "example.com/web:2.0.0" }] } } },
        },
      },
      mergePatch,
    );

    await waitFor(
      async () => {
        const current = await apps.readNamespacedDeployment({ name: "web", namespace });
        const status = current.status;
        return (
          status?.observedGeneration === current.metadata?.generation &&
          status?.updatedReplicas === 2 &&
          status.readyReplicas === 2 &&
          status.replicas === 2
        );
      },
      { description: "deployment web rolled out to 2.0.0" },
    );
    const replicaSets = (await apps.listNamespacedReplicaSet({ namespace, labelSelector: "app=web" })).items;
    expect(replicaSets).toHaveLength(2);
    const byImage = new Map(replicaSets.map((rs) => [rs.spec?.template?.spec?.containers[0]?.image, rs]));
    expect(byImage.get("example.com/web:2.0.0")?.status?.readyReplicas).toBe(2);
    expect(byImage.get("example.com/web:1.0.0")?.spec?.replicas).toBe(0);

    // Old pods were deleted gracefully and the fake kubelet finished the deletion.
    const pods = await waitFor(async () => {
      const current = await podsOf("web");
      return current.length === 2 && current;
    });
    expect(pods.map((pod) => pod.status?.containerStatuses?.[0]?.image)).toEqual([
      "example.com/web:2.0.0",
      "example.com/web:2.0.0",
    ]);
  });

  it("keeps a Pod annotated not-ready unready, and its Deployment exceeds the progress deadline", async () => {
    await apps.createNamespacedDeployment({
      namespace,
      body: deployment(
        "broken",
        "example.com/broken:1.0.0",
        { replicas: 1, progressDeadlineSeconds: 2 },
        { [READY_ANNOTATION]: "false" },
      ),
    });

    const stalled = await waitFor(
      async () => {
        const current = await apps.readNamespacedDeployment({ name: "broken", namespace });
        return condition(current, "Progressing")?.reason === "ProgressDeadlineExceeded" && current;
      },
      { description: "deployment broken to reach ProgressDeadlineExceeded" },
    );
    expect(condition(stalled, "Progressing")?.status).toBe("False");
    expect(stalled.status?.readyReplicas ?? 0).toBe(0);

    const [pod] = await podsOf("broken");
    expect(pod?.status?.phase).toBe("Running");
    expect(pod?.status?.conditions?.find((item) => item.type === "Ready")?.status).toBe("False");
    expect(pod?.status?.containerStatuses?.[0]).toMatchObject({ ready: false, started: true });
  });

  it("reports a Pod annotated crash-loop as CrashLoopBackOff with a growing restart count", async () => {
    await apps.createNamespacedDeployment({
      namespace,
      body: deployment(
        "crashing",
        "example.com/crashing:1.0.0",
        { replicas: 1 },
        { [CRASH_LOOP_ANNOTATION]: "true" },
      ),
    });

    const status = await waitFor(
      async () => {
        const container = (await podsOf("crashing"))[0]?.status?.containerStatuses?.[0];
        return container && container.restartCount >= 2 && container;
      },
      { description: "crash-looping container restarted twice" },
    );
    expect(status.state?.waiting?.reason).toBe("CrashLoopBackOff");
    expect(status.ready).toBe(false);
  });
});

describe("Prometheus and Alertmanager", () => {
  it("scrapes a target added at run time and answers a query", async () => {
    const metrics = await serveMetrics(() => 'glidepath_harness_probe{case="scrape"} 42\n');
    try {
      prometheus().setScrapeTargets("harness-scrape", [metrics.target], { team: "glidepath" });
      await prometheus().waitForTarget("harness-scrape", metrics.target);

      const [sample] = await prometheus().waitForQuery('glidepath_harness_probe{job="harness-scrape"}');
      expect(sample?.value[1]).toBe("42");
      expect(sample?.metric).toMatchObject({ case: "scrape", team: "glidepath", instance: metrics.target });
    } finally {
      prometheus().removeScrapeTargets("harness-scrape");
      await metrics.close();
    }
  });

  it("fires a rule set at run time and Alertmanager POSTs it to the test's webhook", async () => {
    const token = randomBytes(12).toString("hex");
    const marker = randomBytes(4).toString("hex");
    const webhook = await startWebhookRecorder({ bearerToken: token });
    try {
      await alertmanager().setWebhookReceiver(webhook.url, { bearerToken: token });
      await prometheus().setRules(
        "harness-alert",
        [
          "groups:",
          "  - name: harness",
          "    rules:",
          "      - alert: GlidepathHarnessAlert",
          "        expr: vector(1)",
          "        for: 0s",
          "        labels:",
          `          marker: "${marker}"`,
          "        annotations:",
          "          summary: the harness alert fires at once",
        ].join("\n"),
      );

      const request = await webhook.waitForRequest((candidate) => {
        const payload = candidate.json as { alerts?: { status: string; labels: Record<string, string> }[] };
        return Boolean(
          payload.alerts?.some((alert) => alert.labels.marker === marker && alert.status === "firing"),
        );
      }, 30_000);
      expect(request.headers.authorization).toBe(`Bearer ${token}`);
      expect(request.json).toMatchObject({
        version: "4",
        status: "firing",
        externalURL: stackInfo().alertmanager.url,
        commonLabels: { alertname: "GlidepathHarnessAlert", marker },
      });
    } finally {
      await prometheus().removeRules("harness-alert");
      await alertmanager().clearReceiver();
      await webhook.close();
    }
  });

  it("rejects a broken rule file and keeps working", async () => {
    await expect(
      prometheus().setRules("harness-broken", "groups: [{ name: x, rules: [{ alert: A, expr: '(' }] }]"),
    ).rejects.toThrow(/reload failed/);
    const [sample] = await prometheus().query("vector(7)");
    expect(sample?.value[1]).toBe("7");
  });

  it("starts and stops a second, private Prometheus", async () => {
    const privatePrometheus = await startPrivatePrometheus();
    expect(privatePrometheus.url).not.toBe(stackInfo().prometheus.url);
    const [sample] = await privatePrometheus.query("vector(1)");
    expect(sample?.value[1]).toBe("1");

    await privatePrometheus.stop();
    await expect(fetch(`${privatePrometheus.url}/-/ready`)).rejects.toThrow();
  });
});

describe("Gateway API", () => {
  const group = "gateway.networking.k8s.io";
  const route = (weights: [number, number]) => ({
    apiVersion: `${group}/v1`,
    kind: "HTTPRoute",
    metadata: { name: "web", namespace },
    spec: {
      parentRefs: [{ name: "gateway" }],
      rules: [
        {
          backendRefs: [
            { name: "web-stable", port: 80, weight: weights[0] },
            { name: "web-canary", port: 80, weight: weights[1] },
          ],
        },
      ],
    },
  });
  type HttpRoute = ReturnType<typeof route> & {
    spec: { rules: { backendRefs: { group?: string; kind?: string; weight: number }[] }[] };
  };
  const weightsOf = (object: HttpRoute) => object.spec.rules[0]?.backendRefs.map((ref) => ref.weight);

  it("has the HTTPRoute CRD Established", async () => {
    expect(stackInfo().crds).toContain(`httproutes.${group}`);
    const crd = await kubeClients().extensions.readCustomResourceDefinition({ name: `httproutes.${group}` });
    expect(crd.status?.conditions?.find((item) => item.type === "Established")?.status).toBe("True");
  });

  it("stores an HTTPRoute with weights 99/1 and reads back a merge patch to 90/10", async () => {
    const created = (await custom.createNamespacedCustomObject({
      group,
      version: "v1",
      namespace,
      plural: "httproutes",
      body: route([99, 1]),
    })) as HttpRoute;
    expect(weightsOf(created)).toEqual([99, 1]);
    expect(created.spec.rules[0]?.backendRefs[0]).toMatchObject({ group: "", kind: "Service" });

    await custom.patchNamespacedCustomObject(
      {
        group,
        version: "v1",
        namespace,
        plural: "httproutes",
        name: "web",
        body: { spec: route([90, 10]).spec },
      },
      mergePatch,
    );
    const read = (await custom.getNamespacedCustomObject({
      group,
      version: "v1",
      namespace,
      plural: "httproutes",
      name: "web",
    })) as HttpRoute;
    expect(weightsOf(read)).toEqual([90, 10]);
  });

  it("rejects a weight above 1,000,000 through the CRD schema", async () => {
    await expect(
      custom.createNamespacedCustomObject({
        group,
        version: "v1",
        namespace,
        plural: "httproutes",
        body: { ...route([2_000_000, 1]), metadata: { name: "too-heavy", namespace } },
      }),
    ).rejects.toMatchObject({ code: 422 });
  });
});

describe("RBAC", () => {
  it("refuses list pods to a ServiceAccount token without a binding, and allows it with one", async () => {
    const serviceAccount = await serviceAccountKubeconfig(namespace, "rbac-probe");
    const asServiceAccount = kubeClients(serviceAccount.kubeConfig).core;

    await expect(asServiceAccount.listNamespacedPod({ namespace })).rejects.toMatchObject({ code: 403 });

    const rbac = { apiGroup: "rbac.authorization.k8s.io" };
    await kubectl(["apply", "-f", "-"], {
      input: JSON.stringify({
        apiVersion: "v1",
        kind: "List",
        items: [
          {
            apiVersion: "rbac.authorization.k8s.io/v1",
            kind: "Role",
            metadata: { name: "pod-reader", namespace },
            rules: [{ apiGroups: [""], resources: ["pods"], verbs: ["list"] }],
          },
          {
            apiVersion: "rbac.authorization.k8s.io/v1",
            kind: "RoleBinding",
            metadata: { name: "rbac-probe-reads-pods", namespace },
            roleRef: { ...rbac, kind: "Role", name: "pod-reader" },
            subjects: [{ kind: "ServiceAccount", name: "rbac-probe", namespace }],
          },
        ],
      }),
    });
    await waitFor(() => asServiceAccount.listNamespacedPod({ namespace }), {
      description: "list pods allowed after the RoleBinding",
      timeoutMs: 10_000,
    });
    await expect(asServiceAccount.listNamespacedPod({ namespace: "default" })).rejects.toMatchObject({
      code: 403,
    });
  });
});
