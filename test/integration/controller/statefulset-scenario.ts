// Given/When/Then helpers for a StatefulSet target (docs/statefulsets.md): a StatefulSet
// of 4 behind a Service, Releases of it with the replica split, and what a release may
// change on it, compared field by field.
import type { V1Pod, V1StatefulSet } from "@kubernetes/client-node";
import { createNamespace, deleteNamespace, kubeClients, mergePatch, waitFor } from "../../harness/context.ts";
import type { Release } from "../../../src/api/index.ts";
import { FINISHED, imageOf, STABLE_VERSION } from "./scenario.ts";

const group = "glidepath.dev";
const version = "v1alpha1";
const plural = "releases";
export const NAME = "ledger";
export const REPLICAS = 4;

export interface StatefulSetScenario {
  namespace: string;
  statefulSet(): Promise<V1StatefulSet>;
  pods(): Promise<V1Pod[]>;
  release(name: string, newVersion: string, stages: unknown[]): Promise<void>;
  read(name: string): Promise<Release>;
  waitFor(name: string, description: string, check: (release: Release) => boolean): Promise<Release>;
  control(name: string, control: Record<string, unknown>): Promise<void>;
  remove(name: string): Promise<void>;
}

export async function withStatefulSet(
  prefix: string,
  test: (scenario: StatefulSetScenario) => Promise<void>,
) {
  const { apps, core, custom } = kubeClients();
  const namespace = await createNamespace(prefix);
  try {
    const labels = { app: NAME };
    await core.createNamespacedService({
      namespace,
      body: { metadata: { name: NAME }, spec: { selector: labels, ports: [{ port: 80, targetPort: 8080 }] } },
    });
    await apps.createNamespacedStatefulSet({
      namespace,
      body: {
        metadata: { name: NAME, labels },
        spec: {
          replicas: REPLICAS,
          serviceName: NAME,
          selector: { matchLabels: labels },
          // The default OrderedReady: the policy under which a StatefulSet never replaces a
          // pod that is not Ready (the Kubernetes docs' "forced rollback").
          updateStrategy: { type: "RollingUpdate", rollingUpdate: { partition: 0 } },
          template: {
            metadata: { labels: { ...labels, version: STABLE_VERSION } },
            spec: { containers: [{ name: NAME, image: imageOf(STABLE_VERSION) }] },
          },
        },
      },
    });
    const read = async (name: string) =>
      (await custom.getNamespacedCustomObject({ group, version, namespace, plural, name })) as Release;
    const scenario: StatefulSetScenario = {
      namespace,
      statefulSet: () => apps.readNamespacedStatefulSet({ name: NAME, namespace }),
      pods: async () => (await core.listNamespacedPod({ namespace, labelSelector: `app=${NAME}` })).items,
      async release(name, newVersion, stages) {
        await custom.createNamespacedCustomObject({
          group,
          version,
          namespace,
          plural,
          body: {
            apiVersion: `${group}/${version}`,
            kind: "Release",
            metadata: { name },
            spec: {
              target: { kind: "StatefulSet", deployment: NAME, service: NAME },
              version: newVersion,
              images: { [NAME]: imageOf(newVersion) },
              stages,
              traffic: { replicas: {} },
              // Stages are judged on a metric; this one always passes (the rollback test aborts by hand).
              analysis: { interval: "1s", metrics: [{ name: "always-fine", query: "vector(0)", max: 0.05 }] },
              progressDeadline: "90s",
              bake: "2s",
              changeRequest: {
                id: `CHG-${name}`,
                type: "standard",
                title: `Release ${newVersion}`,
                why: "integration test",
                risk: "low",
                requestedBy: "integration-test",
                rollbackPlan: `Revert to ${STABLE_VERSION}`,
              },
            },
          },
        });
      },
      read,
      waitFor: (name, description, check) =>
        waitFor(
          async () => {
            const release = await read(name);
            if (check(release)) return release;
            if (FINISHED.includes(release.status?.phase ?? "Pending"))
              throw new Error(`Release ${name} finished (${release.status?.message}) before ${description}`);
            return undefined;
          },
          { timeoutMs: 240_000, intervalMs: 200, description: `Release ${name}: ${description}` },
        ),
      remove: async (name) => {
        await custom.deleteNamespacedCustomObject({ group, version, namespace, plural, name });
      },
      control: async (name, control) => {
        await custom.patchNamespacedCustomObject(
          { group, version, namespace, plural, name, body: { spec: { control } } },
          mergePatch,
        );
      },
    };
    await waitFor(
      async () => {
        const statefulSet = await scenario.statefulSet();
        return statefulSet.status?.readyReplicas === REPLICAS ? statefulSet : undefined;
      },
      { timeoutMs: 120_000, description: `StatefulSet ${NAME} Ready with ${REPLICAS} pods` },
    );
    await test(scenario);
  } finally {
    await deleteNamespace(namespace);
  }
}

/** What a release may change on the StatefulSet, compared field by field. */
export function releasedFields(statefulSet: V1StatefulSet) {
  return JSON.parse(
    JSON.stringify({
      annotations: statefulSet.metadata?.annotations ?? {},
      replicas: statefulSet.spec?.replicas,
      updateStrategy: statefulSet.spec?.updateStrategy,
      template: statefulSet.spec?.template,
    }),
  ) as unknown;
}

/** Pods by revision: "old" on `revision`, "new" on any other. */
export function podsOn(pods: V1Pod[], revision: string | undefined) {
  const live = pods.filter((pod) => !pod.metadata?.deletionTimestamp);
  const ready = (pod: V1Pod) =>
    pod.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True");
  const old = live.filter((pod) => pod.metadata?.labels?.["controller-revision-hash"] === revision);
  return { old: old.length, oldReady: old.filter(ready).length, other: live.length - old.length };
}
