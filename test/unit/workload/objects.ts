// Plain Kubernetes objects as the API server returns them, for the pure workload and
// traffic tests: a checkout Deployment and Service, and the Release that ships 2.4.0.
import type { V1Deployment, V1Pod, V1ReplicaSet, V1Service } from "@kubernetes/client-node";
import type { ReleaseRef } from "../../../src/workload/index.ts";

export const NAMESPACE = "shop";

export function release(
  traffic: ReleaseRef["spec"]["traffic"] = { gatewayAPI: { httpRoute: "checkout" } },
): ReleaseRef {
  return {
    metadata: { name: "checkout-2-4-0", namespace: NAMESPACE, uid: "release-uid-1" },
    spec: {
      target: { deployment: "checkout", service: "checkout" },
      version: "2.4.0",
      traffic,
    },
  };
}

export function stableDeployment(): V1Deployment {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: {
      name: "checkout",
      namespace: NAMESPACE,
      uid: "deployment-uid-1",
      generation: 7,
      labels: { app: "checkout", "app.kubernetes.io/instance": "shop" },
    },
    spec: {
      replicas: 4,
      selector: { matchLabels: { app: "checkout", tier: "web" } },
      minReadySeconds: 5,
      progressDeadlineSeconds: 120,
      revisionHistoryLimit: 3,
      strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: "25%", maxUnavailable: 0 } },
      template: {
        metadata: {
          labels: { app: "checkout", tier: "web", version: "2.3.1", team: "payments" },
          annotations: { "prometheus.io/scrape": "true" },
        },
        spec: {
          initContainers: [{ name: "migrate", image: "registry.example.com/checkout-migrate:2.3.1" }],
          containers: [
            {
              name: "checkout",
              image: "registry.example.com/checkout:2.3.1",
              ports: [{ containerPort: 8080, name: "http" }],
              env: [{ name: "MODE", value: "prod" }],
            },
            { name: "envoy", image: "envoyproxy/envoy:v1.30.0" },
          ],
        },
      },
    },
    status: {
      observedGeneration: 7,
      replicas: 4,
      updatedReplicas: 4,
      readyReplicas: 4,
      availableReplicas: 4,
      conditions: [
        { type: "Available", status: "True", reason: "MinimumReplicasAvailable" },
        { type: "Progressing", status: "True", reason: "NewReplicaSetAvailable" },
      ],
    },
  };
}

export function stableService(): V1Service {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "checkout", namespace: NAMESPACE, uid: "service-uid-1" },
    spec: {
      type: "LoadBalancer",
      clusterIP: "10.0.0.17",
      selector: { app: "checkout", tier: "web" },
      ports: [
        { name: "http", port: 80, targetPort: "http", protocol: "TCP", nodePort: 31080 },
        { name: "grpc", port: 9090, targetPort: 9090, protocol: "TCP", appProtocol: "grpc", nodePort: 31090 },
      ],
    },
  };
}

export function replicaSet(name: string, uid: string, ownerUid: string): V1ReplicaSet {
  return {
    metadata: {
      name,
      namespace: NAMESPACE,
      uid,
      ownerReferences: [
        { apiVersion: "apps/v1", kind: "Deployment", name: "x", uid: ownerUid, controller: true },
      ],
    },
  };
}

export function pod(
  name: string,
  ownerUid: string,
  containerStatuses: NonNullable<V1Pod["status"]>["containerStatuses"] = [],
): V1Pod {
  return {
    metadata: {
      name,
      namespace: NAMESPACE,
      uid: `${name}-uid`,
      ownerReferences: [
        { apiVersion: "apps/v1", kind: "ReplicaSet", name: "rs", uid: ownerUid, controller: true },
      ],
    },
    status: { phase: "Running", containerStatuses },
  };
}

export function running(name: string, restartCount = 0) {
  return { name, image: "x", imageID: "", ready: true, restartCount, state: { running: {} } };
}

export function waiting(name: string, reason: string, restartCount = 0) {
  return { name, image: "x", imageID: "", ready: false, restartCount, state: { waiting: { reason } } };
}
