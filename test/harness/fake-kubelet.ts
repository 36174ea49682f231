// A fake kubelet (what kwok does): registers a Ready Node, keeps its Lease fresh, and
// plays the kubelet's part for Pods bound to it — marks them Running/Ready and finishes
// graceful deletions — so Deployments, ReplicaSets and rollouts behave for real.
//
// Pod annotations let a test build a broken version:
//   test.glidepath.dev/ready: "false"       Running, containers started, never Ready
//   test.glidepath.dev/crash-loop: "true"   containers waiting in CrashLoopBackOff,
//                                           restartCount growing every crashLoopIntervalMs
// and so do images, as a broken build would: a container whose image tag ends in
// "-crash-loop" crash-loops, one whose tag ends in "-never-ready" never gets Ready
// (options.imageBehaviours changes the patterns). A canary Deployment copies the stable
// pod template and changes only the images, so this is how a test gives the new version
// alone a fault.
import {
  CoordinationV1Api,
  CoreV1Api,
  PatchStrategy,
  V1MicroTime,
  setHeaderOptions,
} from "@kubernetes/client-node";
import type { KubeConfig, V1ContainerStatus, V1Node, V1Pod, V1PodCondition } from "@kubernetes/client-node";
import { startResilientWatch } from "./resilient-watch.ts";
import type { ResilientWatch } from "./resilient-watch.ts";

export const READY_ANNOTATION = "test.glidepath.dev/ready";
export const CRASH_LOOP_ANNOTATION = "test.glidepath.dev/crash-loop";
/** Image tags that make a container crash-loop or never get Ready, unless options say otherwise. */
export const CRASH_LOOP_IMAGE_SUFFIX = "-crash-loop";
export const NEVER_READY_IMAGE_SUFFIX = "-never-ready";

export interface ImageBehaviours {
  /** Containers whose image matches crash-loop. */
  crashLoop: RegExp;
  /** Containers whose image matches run but never get Ready. */
  neverReady: RegExp;
}

export const DEFAULT_IMAGE_BEHAVIOURS: ImageBehaviours = {
  crashLoop: new RegExp(`:[^/:]*${CRASH_LOOP_IMAGE_SUFFIX}$`),
  neverReady: new RegExp(`:[^/:]*${NEVER_READY_IMAGE_SUFFIX}$`),
};

export interface FakeKubeletOptions {
  kubeConfig: KubeConfig;
  nodeName?: string;
  capacity?: { cpu?: string; memory?: string; pods?: string };
  crashLoopIntervalMs?: number;
  /** Which images misbehave; default DEFAULT_IMAGE_BEHAVIOURS. */
  imageBehaviours?: Partial<ImageBehaviours>;
  /** Pod status writes in flight at once. */
  concurrency?: number;
  log?: (message: string) => void;
}

export interface FakeKubelet {
  nodeName: string;
  /** Resolves once the Node is Ready and untainted and the Pod watch has synced. */
  ready: Promise<void>;
  stop(): Promise<void>;
}

const mergePatch = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);
const LEASE_RENEW_MS = 10_000;
const NODE_STATUS_MS = 30_000;

export async function startFakeKubelet(options: FakeKubeletOptions): Promise<FakeKubelet> {
  const nodeName = options.nodeName ?? "glidepath-node-1";
  const log = options.log ?? (() => {});
  const core = options.kubeConfig.makeApiClient(CoreV1Api);
  const coordination = options.kubeConfig.makeApiClient(CoordinationV1Api);
  const capacity = { cpu: "32", memory: "128Gi", pods: "500", ...options.capacity };
  const crashLoopIntervalMs = options.crashLoopIntervalMs ?? 2_000;
  const concurrency = options.concurrency ?? 4;
  const behaviours: ImageBehaviours = { ...DEFAULT_IMAGE_BEHAVIOURS, ...options.imageBehaviours };

  await registerNode(core, nodeName, capacity);
  await renewLease(coordination, nodeName, true);

  const pods = new Map<string, V1Pod>();
  const podIps = new Map<string, string>();
  const restartCounts = new Map<string, number>();
  let nextIp = 2;
  const queued = new Set<string>();
  const inFlight = new Set<string>();
  let stopped = false;
  const idleWaiters: (() => void)[] = [];

  const keyOf = (pod: V1Pod): string => `${pod.metadata?.namespace}/${pod.metadata?.name}`;
  const enqueue = (key: string): void => {
    queued.add(key);
    pump();
  };
  // Work happens here, never in the watch callbacks.
  const pump = (): void => {
    for (const key of queued) {
      if (stopped || inFlight.size >= concurrency) break;
      if (inFlight.has(key)) continue;
      queued.delete(key);
      inFlight.add(key);
      void syncPod(key)
        .catch((error: unknown) => {
          const status = (error as { code?: number }).code;
          // 404: gone meanwhile; 409: stale, a newer event is on its way.
          if (status !== 404 && status !== 409) {
            log(`fake kubelet: pod ${key}: ${(error as Error).message}`);
            setTimeout(() => enqueue(key), 500).unref();
          }
        })
        .finally(() => {
          inFlight.delete(key);
          // Once stopped, pump() takes nothing more from `queued`: only what is in flight counts.
          if (inFlight.size === 0 && (stopped || queued.size === 0))
            idleWaiters.splice(0).forEach((resolve) => resolve());
          pump();
        });
    }
  };

  const syncPod = async (key: string): Promise<void> => {
    const pod = pods.get(key);
    if (!pod?.metadata?.name || !pod.metadata.namespace) return;
    const { name, namespace, uid } = pod.metadata;
    if (pod.metadata.deletionTimestamp) {
      // The containers "stopped" at once: finish the graceful deletion.
      await core.deleteNamespacedPod({
        name,
        namespace,
        gracePeriodSeconds: 0,
        body: { gracePeriodSeconds: 0, preconditions: uid ? { uid } : undefined },
      });
      return;
    }
    if (pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed") return;
    const podUid = uid ?? key;
    let podIp = podIps.get(podUid) ?? pod.status?.podIP;
    if (!podIp) {
      podIp = `10.244.${Math.floor(nextIp / 250)}.${(nextIp % 250) + 2}`;
      nextIp++;
    }
    podIps.set(podUid, podIp);
    const desired = desiredPodStatus(pod, podIp, restartCounts.get(podUid) ?? 0, behaviours);
    if (sameStatus(pod, desired)) return;
    await core.patchNamespacedPodStatus({ name, namespace, body: { status: desired } }, mergePatch);
  };

  const watch: ResilientWatch = startResilientWatch<V1Pod>({
    kubeConfig: options.kubeConfig,
    path: "/api/v1/pods",
    fieldSelector: `spec.nodeName=${nodeName}`,
    log,
    async list() {
      const list = await core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${nodeName}` });
      return { items: list.items, resourceVersion: list.metadata?.resourceVersion ?? "" };
    },
    onSync(items) {
      const seen = new Set(items.map(keyOf));
      for (const key of pods.keys()) if (!seen.has(key)) pods.delete(key);
      for (const pod of items) {
        pods.set(keyOf(pod), pod);
        enqueue(keyOf(pod));
      }
    },
    onEvent(type, pod) {
      const key = keyOf(pod);
      if (type === "DELETED") {
        pods.delete(key);
        if (pod.metadata?.uid) {
          podIps.delete(pod.metadata.uid);
          restartCounts.delete(pod.metadata.uid);
        }
        return;
      }
      pods.set(key, pod);
      enqueue(key);
    },
  });

  // A crash-looping container "restarts" on a timer.
  const crashLoopTimer = setInterval(() => {
    for (const [key, pod] of pods) {
      const uid = pod.metadata?.uid;
      if (!uid || pod.metadata?.deletionTimestamp || !hasCrashLoopingContainer(pod, behaviours)) continue;
      const observed = Math.max(
        ...(pod.status?.containerStatuses ?? []).map((status) => status.restartCount),
        0,
      );
      restartCounts.set(uid, Math.max(restartCounts.get(uid) ?? 0, observed) + 1);
      enqueue(key);
    }
  }, crashLoopIntervalMs);
  const leaseTimer = setInterval(() => {
    renewLease(coordination, nodeName, false).catch((error: unknown) =>
      log(`fake kubelet: lease renewal failed: ${(error as Error).message}`),
    );
  }, LEASE_RENEW_MS);
  const nodeStatusTimer = setInterval(() => {
    patchNodeStatus(core, nodeName, capacity).catch((error: unknown) =>
      log(`fake kubelet: node status update failed: ${(error as Error).message}`),
    );
  }, NODE_STATUS_MS);
  for (const timer of [crashLoopTimer, leaseTimer, nodeStatusTimer]) timer.unref();

  const ready = (async () => {
    await watch.synced;
    const node = await core.readNode({ name: nodeName });
    if (!isNodeReady(node))
      throw new Error(`fake node ${nodeName} is not Ready and untainted: ${JSON.stringify(node.spec)}`);
  })();

  return {
    nodeName,
    ready,
    async stop() {
      stopped = true;
      watch.stop();
      for (const timer of [crashLoopTimer, leaseTimer, nodeStatusTimer]) clearInterval(timer);
      // Let in-flight pod updates finish, but never wait on one that hangs: the API server
      // may be going away too.
      if (inFlight.size > 0) {
        await Promise.race([
          new Promise<void>((resolve) => idleWaiters.push(resolve)),
          new Promise<void>((resolve) => setTimeout(resolve, 5_000).unref()),
        ]);
      }
    },
  };
}

export function isNodeReady(node: V1Node): boolean {
  const readyCondition = node.status?.conditions?.find((condition) => condition.type === "Ready");
  return readyCondition?.status === "True" && (node.spec?.taints ?? []).length === 0;
}

function hasCrashLoopingContainer(pod: V1Pod, behaviours: ImageBehaviours): boolean {
  return (pod.spec?.containers ?? []).some((container) => crashLoops(pod, container.image, behaviours));
}

function crashLoops(pod: V1Pod, image: string | undefined, behaviours: ImageBehaviours): boolean {
  return (
    pod.metadata?.annotations?.[CRASH_LOOP_ANNOTATION] === "true" ||
    (image !== undefined && behaviours.crashLoop.test(image))
  );
}

function becomesReady(pod: V1Pod, image: string | undefined, behaviours: ImageBehaviours): boolean {
  return (
    pod.metadata?.annotations?.[READY_ANNOTATION] !== "false" &&
    !(image !== undefined && behaviours.neverReady.test(image))
  );
}

/** What a kubelet would report for this Pod now, given its annotations and images. */
export function desiredPodStatus(
  pod: V1Pod,
  podIp: string,
  restartCount: number,
  behaviours: ImageBehaviours = DEFAULT_IMAGE_BEHAVIOURS,
): NonNullable<V1Pod["status"]> {
  const now = new Date();
  const containers = pod.spec?.containers ?? [];
  const containersReady = containers.every(
    (container) =>
      !crashLoops(pod, container.image, behaviours) && becomesReady(pod, container.image, behaviours),
  );
  const startedAt = pod.status?.startTime ?? now;
  const containerStatuses: V1ContainerStatus[] = containers.map((container) => {
    const crashLooping = crashLoops(pod, container.image, behaviours);
    const previous = pod.status?.containerStatuses?.find((status) => status.name === container.name);
    const base = {
      name: container.name,
      image: container.image ?? "",
      imageID: `fake://${container.image ?? ""}`,
      containerID: `fake://${pod.metadata?.uid ?? ""}/${container.name}`,
    };
    if (crashLooping) {
      const count = Math.max(restartCount, previous?.restartCount ?? 0);
      return {
        ...base,
        ready: false,
        started: false,
        restartCount: count,
        state: {
          waiting: {
            reason: "CrashLoopBackOff",
            message: `back-off restarting failed container ${container.name} (fake kubelet)`,
          },
        },
        lastState: { terminated: { exitCode: 1, reason: "Error", startedAt: now, finishedAt: now } },
      };
    }
    const running = previous?.state?.running?.startedAt ? previous.state.running : { startedAt: now };
    return {
      ...base,
      ready: becomesReady(pod, container.image, behaviours),
      started: true,
      restartCount: previous?.restartCount ?? 0,
      state: { running },
      ...(previous?.lastState ? { lastState: previous.lastState } : {}),
    };
  });
  const initContainerStatuses: V1ContainerStatus[] = (pod.spec?.initContainers ?? []).map((container) => ({
    name: container.name,
    image: container.image ?? "",
    imageID: `fake://${container.image ?? ""}`,
    ready: true,
    restartCount: 0,
    state: { terminated: { exitCode: 0, reason: "Completed", startedAt: now, finishedAt: now } },
  }));
  const existing = pod.status?.conditions ?? [];
  const gatesReady = (pod.spec?.readinessGates ?? []).every(
    (gate) => existing.find((condition) => condition.type === gate.conditionType)?.status === "True",
  );
  const condition = (type: string, ok: boolean, reason?: string): V1PodCondition => {
    const previous = existing.find((candidate) => candidate.type === type);
    const status = ok ? "True" : "False";
    return {
      type,
      status,
      lastTransitionTime: previous?.status === status ? (previous.lastTransitionTime ?? now) : now,
      ...(ok || !reason ? {} : { reason }),
    };
  };
  const managed = new Set(["Initialized", "ContainersReady", "Ready", "PodScheduled"]);
  const conditions: V1PodCondition[] = [
    condition("Initialized", true),
    condition("ContainersReady", containersReady, "ContainersNotReady"),
    condition(
      "Ready",
      containersReady && gatesReady,
      containersReady ? "ReadinessGatesNotReady" : "ContainersNotReady",
    ),
    condition("PodScheduled", true),
    // Readiness-gate conditions belong to whoever sets them.
    ...existing.filter((candidate) => !managed.has(candidate.type)),
  ];
  return {
    phase: "Running",
    conditions,
    hostIP: "127.0.0.1",
    podIP: podIp,
    podIPs: [{ ip: podIp }],
    startTime: startedAt,
    containerStatuses,
    ...(initContainerStatuses.length > 0 ? { initContainerStatuses } : {}),
  };
}

/** Compares what matters, so our own status write does not trigger another one. */
function sameStatus(pod: V1Pod, desired: NonNullable<V1Pod["status"]>): boolean {
  const current = pod.status;
  if (!current || current.phase !== desired.phase || current.podIP !== desired.podIP) return false;
  const conditionKey = (conditions: V1PodCondition[] | undefined): string =>
    (conditions ?? [])
      .map((condition) => `${condition.type}=${condition.status}`)
      .sort()
      .join(",");
  if (conditionKey(current.conditions) !== conditionKey(desired.conditions)) return false;
  const containerKey = (statuses: V1ContainerStatus[] | undefined): string =>
    (statuses ?? [])
      .map(
        (status) =>
          `${status.name}:${status.image}:${status.ready}:${status.restartCount}:` +
          `${Object.keys(status.state ?? {}).join()}:${status.state?.waiting?.reason ?? ""}`,
      )
      .join(",");
  return containerKey(current.containerStatuses) === containerKey(desired.containerStatuses);
}

async function registerNode(core: CoreV1Api, name: string, capacity: Record<string, string>): Promise<void> {
  const body: V1Node = {
    metadata: {
      name,
      labels: {
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "glidepath.dev/fake-node": "true",
      },
    },
    spec: { taints: [] },
  };
  try {
    await core.createNode({ body });
  } catch (error) {
    if ((error as { code?: number }).code !== 409) throw error;
  }
  // The TaintNodesByCondition admission plugin adds node.kubernetes.io/not-ready on
  // create; nothing would remove it (no node lifecycle controller), so we do.
  await core.patchNode({ name, body: { spec: { taints: [] } } }, mergePatch);
  await patchNodeStatus(core, name, capacity);
}

async function patchNodeStatus(
  core: CoreV1Api,
  name: string,
  capacity: Record<string, string>,
): Promise<void> {
  const now = new Date();
  const condition = (type: string, status: string, reason: string) => ({
    type,
    status,
    reason,
    message: "fake kubelet",
    lastHeartbeatTime: now,
    lastTransitionTime: now,
  });
  const status = {
    capacity,
    allocatable: capacity,
    conditions: [
      condition("MemoryPressure", "False", "KubeletHasSufficientMemory"),
      condition("DiskPressure", "False", "KubeletHasNoDiskPressure"),
      condition("PIDPressure", "False", "KubeletHasSufficientPID"),
      condition("Ready", "True", "KubeletReady"),
    ],
    addresses: [
      { type: "InternalIP", address: "127.0.0.1" },
      { type: "Hostname", address: name },
    ],
    daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
    nodeInfo: {
      architecture: "amd64",
      bootID: "fake",
      containerRuntimeVersion: "fake://1.0.0",
      kernelVersion: "fake",
      kubeProxyVersion: "fake",
      kubeletVersion: "v1.20.2-fake",
      machineID: "fake",
      operatingSystem: "linux",
      osImage: "glidepath fake kubelet",
      systemUUID: "fake",
    },
  };
  await core.patchNodeStatus({ name, body: { status } }, mergePatch);
}

async function renewLease(coordination: CoordinationV1Api, nodeName: string, create: boolean): Promise<void> {
  const namespace = "kube-node-lease";
  const spec = { holderIdentity: nodeName, leaseDurationSeconds: 40, renewTime: new V1MicroTime() };
  if (create) {
    try {
      await coordination.createNamespacedLease({
        namespace,
        body: { metadata: { name: nodeName, namespace }, spec },
      });
      return;
    } catch (error) {
      if ((error as { code?: number }).code !== 409) throw error;
    }
  }
  await coordination.patchNamespacedLease({ name: nodeName, namespace, body: { spec } }, mergePatch);
}
