import type { V1Deployment } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import {
  deploymentConverged,
  findUnhealthyContainer,
  labelSelectorString,
  observeWorkload,
  ownedPods,
} from "../../../src/workload/index.ts";
import { templateHash } from "../../../src/workload/stable-template.ts";
import { pod, replicaSet, running, stableDeployment, waiting } from "./objects.ts";

function withStatus(status: V1Deployment["status"], generation = 7): V1Deployment {
  const deployment = stableDeployment();
  deployment.metadata = { ...deployment.metadata, generation };
  deployment.status = status;
  return deployment;
}

describe("reading a Deployment", () => {
  it("reports images (init containers too), version, replicas and readiness of a converged Deployment", () => {
    expect(observeWorkload(stableDeployment(), [])).toEqual({
      exists: true,
      images: {
        migrate: "registry.example.com/checkout-migrate:2.3.1",
        checkout: "registry.example.com/checkout:2.3.1",
        envoy: "envoyproxy/envoy:v1.30.0",
      },
      version: "2.3.1",
      templateHash: templateHash(stableDeployment().spec?.template),
      desiredReplicas: 4,
      readyReplicas: 4,
      ready: true,
      progressDeadlineExceeded: false,
    });
  });

  it("reports a Deployment that does not exist", () => {
    expect(observeWorkload(undefined, [])).toEqual({
      exists: false,
      images: {},
      desiredReplicas: 0,
      readyReplicas: 0,
      ready: false,
      progressDeadlineExceeded: false,
    });
  });

  it("is not ready while the controller has not seen the latest generation", () => {
    const deployment = withStatus({ ...stableDeployment().status, observedGeneration: 6 }, 7);
    expect(deploymentConverged(deployment)).toBe(false);
  });

  it("is not ready while replicas of the old template remain", () => {
    const deployment = withStatus({
      observedGeneration: 7,
      replicas: 5,
      updatedReplicas: 4,
      readyReplicas: 5,
      availableReplicas: 5,
    });
    expect(observeWorkload(deployment, []).ready).toBe(false);
  });

  it("is not ready until every updated replica is available", () => {
    const deployment = withStatus({
      observedGeneration: 7,
      replicas: 4,
      updatedReplicas: 4,
      readyReplicas: 4,
      availableReplicas: 3,
    });
    expect(observeWorkload(deployment, []).ready).toBe(false);
  });

  it("is ready scaled to zero (the API server leaves zero counts out)", () => {
    const deployment = withStatus({ observedGeneration: 7 });
    deployment.spec = { ...deployment.spec!, replicas: 0 };
    expect(observeWorkload(deployment, [])).toMatchObject({
      ready: true,
      desiredReplicas: 0,
      readyReplicas: 0,
    });
  });

  it("is not ready with no status yet", () => {
    expect(deploymentConverged(withStatus(undefined))).toBe(false);
  });

  it("reports the Deployment's own progress deadline", () => {
    const deployment = withStatus({
      observedGeneration: 7,
      replicas: 4,
      updatedReplicas: 4,
      readyReplicas: 0,
      conditions: [
        { type: "Available", status: "False", reason: "MinimumReplicasUnavailable" },
        { type: "Progressing", status: "False", reason: "ProgressDeadlineExceeded" },
      ],
    });
    expect(observeWorkload(deployment, [])).toMatchObject({
      progressDeadlineExceeded: true,
      ready: false,
      readyReplicas: 0,
    });
  });

  it("leaves out the version when the template has no version label", () => {
    const deployment = stableDeployment();
    delete deployment.spec!.template.metadata!.labels!.version;
    expect(observeWorkload(deployment, [])).not.toHaveProperty("version");
  });
});

describe("unhealthy containers", () => {
  it.each(["CrashLoopBackOff", "ImagePullBackOff", "ErrImagePull", "CreateContainerError"])(
    "reports a container waiting in %s with its pod, name and restarts",
    (reason) => {
      const pods = [
        pod("checkout-b", "rs", [running("checkout"), running("envoy")]),
        pod("checkout-a", "rs", [running("checkout"), waiting("envoy", reason, 2)]),
      ];
      expect(observeWorkload(stableDeployment(), pods).unhealthy).toEqual({
        pod: "checkout-a",
        container: "envoy",
        reason,
        restarts: 2,
      });
    },
  );

  it("reports a running container restarted more often than the threshold, with why it last ended", () => {
    const restarting = {
      ...running("checkout", 5),
      lastState: { terminated: { exitCode: 137, reason: "OOMKilled" } },
    };
    const pods = [pod("checkout-a", "rs", [running("checkout", 4)]), pod("checkout-b", "rs", [restarting])];
    expect(findUnhealthyContainer(pods, 3)).toEqual({
      pod: "checkout-b",
      container: "checkout",
      reason: "OOMKilled",
      restarts: 5,
    });
    expect(findUnhealthyContainer(pods, 5)).toBeUndefined();
  });

  it("prefers a container that cannot start over one that restarts", () => {
    const pods = [
      pod("checkout-a", "rs", [running("checkout", 9)]),
      pod("checkout-b", "rs", [waiting("checkout", "ImagePullBackOff")]),
    ];
    expect(findUnhealthyContainer(pods)?.reason).toBe("ImagePullBackOff");
  });

  it("ignores pods that are being deleted and waiting reasons that pass (ContainerCreating)", () => {
    const terminating = pod("checkout-a", "rs", [waiting("checkout", "CrashLoopBackOff", 7)]);
    terminating.metadata = { ...terminating.metadata, deletionTimestamp: new Date() };
    const creating = pod("checkout-b", "rs", [waiting("checkout", "ContainerCreating")]);
    expect(findUnhealthyContainer([terminating, creating])).toBeUndefined();
  });

  it("finds a failing init container", () => {
    const failing = pod("checkout-a", "rs");
    failing.status = { initContainerStatuses: [waiting("migrate", "CrashLoopBackOff", 4)] };
    expect(findUnhealthyContainer([failing])).toMatchObject({
      container: "migrate",
      reason: "CrashLoopBackOff",
    });
  });
});

describe("a Deployment's own pods", () => {
  it("keeps the pods of ReplicaSets the Deployment controls, not those of a canary with the same labels", () => {
    const deployment = stableDeployment();
    const sets = [
      replicaSet("checkout-1", "rs-stable", "deployment-uid-1"),
      replicaSet("canary-1", "rs-canary", "canary-uid"),
    ];
    const pods = [pod("stable-pod", "rs-stable"), pod("canary-pod", "rs-canary"), pod("orphan", "gone")];
    expect(ownedPods(deployment, sets, pods).map((p) => p.metadata?.name)).toEqual(["stable-pod"]);
  });
});

describe("label selectors as list calls take them", () => {
  it("writes matchLabels and every expression operator", () => {
    expect(
      labelSelectorString({
        matchLabels: { app: "checkout", tier: "web" },
        matchExpressions: [
          { key: "zone", operator: "In", values: ["b", "a"] },
          { key: "env", operator: "NotIn", values: ["dev"] },
          { key: "canary", operator: "Exists" },
          { key: "legacy", operator: "DoesNotExist" },
        ],
      }),
    ).toBe("app=checkout,tier=web,zone in (a,b),env notin (dev),canary,!legacy");
  });

  it("refuses an empty selector, which would select every pod", () => {
    expect(() => labelSelectorString({})).toThrow(/empty label selector/);
  });
});
