// Given/When/Then helpers for controller tests: the controller as its own process,
// a service with a stable Deployment, Service and HTTPRoute (or Ingress), gateway-style
// traffic from the simulator scraped by the shared Prometheus, Releases applied and
// steered (spec.control) as a team and the CLI would, and the record they leave.
import { randomBytes } from "node:crypto";
import { isDeepStrictEqual } from "node:util";
import { CustomObjectsApi, NetworkingV1Api, RbacAuthorizationV1Api } from "@kubernetes/client-node";
import type { CoreV1Event, KubeConfig, V1Deployment, V1ReplicaSet } from "@kubernetes/client-node";
import {
  coverNamespace,
  prepareAdmission,
  registerAdmissionWebhook,
  userKubeconfig,
} from "../../harness/admission.ts";
import { loadKubeConfig } from "../../harness/control-plane.ts";
import { afterAll, beforeAll, expect } from "vitest";
import {
  installControllerRbac,
  startControllerProcess,
  type ControllerProcess,
} from "../../harness/controller.ts";
import { ProcessSupervisor } from "../../harness/processes.ts";
import { spawnTrafficSimulator, type SpawnedSimulator } from "../../harness/traffic-simulator-client.ts";
import {
  createNamespace,
  deleteNamespace,
  kubeClients,
  kubeConfig,
  mergePatch,
  prometheus,
  stackInfo,
  waitFor,
  type WaitForOptions,
} from "../../harness/context.ts";
import type { Release, ReleasePhase, ReleaseSpecInput } from "../../../src/api/index.ts";
import { exampleRelease } from "../../fixtures/releases.ts";

const group = "glidepath.dev";
const version = "v1alpha1";
const plural = "releases";
export const STABLE_VERSION = "1.0.0";
export const IMAGE_REPOSITORY = "registry.example.com/checkout";
export const FINISHED: ReleasePhase[] = ["Succeeded", "RolledBack", "Failed"];

// ---- the controller ----

export interface ControllerOptions {
  /** The Lease holder identity; reuse it to restart "the same pod" after a crash. */
  identity?: string;
  config?: Record<string, unknown>;
  /**
   * Serve the admission webhook (stamps, four-eyes, RBAC for approvals) and register it
   * for the namespaces givenService creates from then on in this file.
   */
  admission?: boolean;
  /** Another kubeconfig for the controller, e.g. a copy of controllerKubeconfigPath() through a proxy. */
  kubeconfigPath?: string;
}

/** The webhook covering this file's namespaces, when its controller serves one. */
let coveringWebhook: string | undefined;
let coveringWebhookPort: number | undefined;

/** The admission webhook's own URL (on 127.0.0.1), as anyone who reaches its port could call it. */
export function admissionWebhookUrl(): string {
  if (coveringWebhookPort === undefined)
    throw new Error("this file's controller serves no admission webhook");
  return `https://127.0.0.1:${coveringWebhookPort}/admission/releases`;
}

let controllerKubeconfig: Promise<string> | undefined;

/** The controller's kubeconfig: its ServiceAccount's token, held to manifests/install/rbac.yaml. */
export function controllerKubeconfigPath(): Promise<string> {
  const info = stackInfo();
  controllerKubeconfig ??= installControllerRbac({
    kubectlPath: info.kubectlPath,
    adminKubeconfigPath: info.kubeconfigPath,
  });
  return controllerKubeconfig;
}

/** Given: the controller running as its own process under its ServiceAccount (manifests/install/rbac.yaml). */
export async function givenController(options: ControllerOptions = {}): Promise<ControllerProcess> {
  const info = stackInfo();
  const { admission: withAdmission, kubeconfigPath: ownKubeconfig, ...rest } = options;
  const kubeconfigPath = ownKubeconfig ?? (await controllerKubeconfigPath());
  if (!withAdmission)
    return startControllerProcess({
      supervisor: new ProcessSupervisor(info.runDir),
      kubeconfigPath,
      prometheusUrl: info.prometheus.url,
      runDir: info.runDir,
      ...rest,
    });
  const admission = await prepareAdmission({
    ...info,
    runDir: info.runDir,
    name: `webhook-${randomBytes(3).toString("hex")}`,
  });
  const controller = await startControllerProcess({
    supervisor: new ProcessSupervisor(info.runDir),
    kubeconfigPath,
    prometheusUrl: info.prometheus.url,
    runDir: info.runDir,
    ...rest,
    config: { ...rest.config, trust: admission.trust },
  });
  const probeNamespace = await createNamespace("webhook-probe");
  await coverNamespace(info.kubeconfigPath, probeNamespace, admission.name);
  const webhook = await registerAdmissionWebhook({
    adminKubeconfigPath: info.kubeconfigPath,
    caCertPath: info.caCertPath,
    admission,
    probeNamespace,
    probeRelease: { ...exampleRelease(), metadata: { name: "probe" } },
  });
  await deleteNamespace(probeNamespace);
  coveringWebhook = admission.name;
  coveringWebhookPort = admission.port;
  return {
    ...controller,
    stop: async () => {
      coveringWebhook = undefined;
      coveringWebhookPort = undefined;
      await webhook.unregister();
      await controller.stop();
    },
  };
}

/** A person the API server authenticates by a client certificate, with these groups. */
export async function givenUser(
  user: string,
  groups: string[] = [],
): Promise<{ kubeconfigPath: string; kubeConfig: KubeConfig }> {
  const info = stackInfo();
  const kubeconfigPath = await userKubeconfig({
    ...info,
    runDir: info.runDir,
    adminKubeconfigPath: info.kubeconfigPath,
    user,
    groups,
  });
  return { kubeconfigPath, kubeConfig: loadKubeConfig(kubeconfigPath) };
}

/** Binds a ClusterRole (glidepath-edit, glidepath-approve, …) to a user or a group in one namespace. */
export async function grantRole(
  namespace: string,
  subject: { kind: "User" | "Group"; name: string },
  clusterRole: string,
): Promise<void> {
  const rbac = kubeConfig().makeApiClient(RbacAuthorizationV1Api);
  await rbac.createNamespacedRoleBinding({
    namespace,
    body: {
      metadata: { name: `${subject.name}-${clusterRole}`.toLowerCase() },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: clusterRole },
      subjects: [{ apiGroup: "rbac.authorization.k8s.io", ...subject }],
    },
  });
}

/** What a team that owns checkout holds: update its Deployment, patch its route. */
export async function grantDeployer(namespace: string, user: string): Promise<void> {
  const rbac = kubeConfig().makeApiClient(RbacAuthorizationV1Api);
  await rbac.createNamespacedRole({
    namespace,
    body: {
      metadata: { name: "checkout-deployer" },
      rules: [
        {
          apiGroups: ["apps"],
          resources: ["deployments"],
          resourceNames: ["checkout"],
          verbs: ["get", "update"],
        },
        {
          apiGroups: ["gateway.networking.k8s.io"],
          resources: ["httproutes"],
          resourceNames: ["checkout"],
          verbs: ["get", "patch"],
        },
      ],
    },
  });
  await rbac.createNamespacedRoleBinding({
    namespace,
    body: {
      metadata: { name: `checkout-deployer-${user}` },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "checkout-deployer" },
      subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: user }],
    },
  });
}

/** Given, for every test of the file: one controller, started before them and stopped after. */
export function givenControllerForFile(options: ControllerOptions = {}): void {
  let controller: ControllerProcess | undefined;
  beforeAll(async () => {
    controller = await givenController(options);
  });
  afterAll(async () => {
    await controller?.stop();
  });
}

/** The controller's JSON log lines about one release (its reconciles log under `release`). */
export function releaseLogLines(controller: ControllerProcess, namespace: string): string[] {
  return controller.process
    .logTail(100_000)
    .split("\n")
    .filter((line) => line.includes(`"namespace":"${namespace}"`) && line.includes('"release"'));
}

// ---- stage plans and metrics a team could write ----

export function shortStages(holdSeconds = 4) {
  return [
    { name: "canary", weight: 1, hold: `${holdSeconds}s`, minMeasurements: 2 },
    { name: "early-adopter", weight: 10, hold: `${holdSeconds}s`, minMeasurements: 2 },
    { name: "expansion", weight: 50, hold: `${holdSeconds}s`, minMeasurements: 2 },
    { name: "ga", weight: 100, hold: "0s" },
  ];
}

/** One canary stage and GA: for tests about what happens around a release rather than in it. */
export function quickStages(holdSeconds = 2) {
  return [
    { name: "canary", weight: 10, hold: `${holdSeconds}s`, minMeasurements: 1 },
    { name: "ga", weight: 100, hold: "0s" },
  ];
}

/**
 * The share of 5xx of the new version over a short window, as a team with a lot of traffic
 * would write it: a bad version shows within seconds, not after the built-in 1m window.
 */
export function errorRateMetric(window = "5s", max = 0.05) {
  const selector = `namespace="{{namespace}}", service="{{service}}", version="{{version}}"`;
  return {
    name: "error-rate",
    query:
      `(sum(rate(http_requests_total{${selector}, code=~"5.."}[${window}])) or vector(0))` +
      ` / sum(rate(http_requests_total{${selector}}[${window}]))`,
    unit: "ratio" as const,
    max,
    inconclusiveLimit: 30,
  };
}

export function imageOf(releaseVersion: string): string {
  return `${IMAGE_REPOSITORY}:${releaseVersion}`;
}

// ---- a service under release ----

type SpecOverrides = Partial<Omit<ReleaseSpecInput, "changeRequest">> & {
  changeRequest?: Partial<ReleaseSpecInput["changeRequest"]>;
};

export interface ServiceOptions {
  replicas?: number;
  /** Each new pod counts as available only after this long: promotions and reverts take a while. */
  minReadySeconds?: number;
  /** "gatewayAPI" (default): an HTTPRoute; "nginx": a stable Ingress. */
  router?: "gatewayAPI" | "nginx";
  /** Default 400 requests a second. */
  requestsPerSecond?: number;
  /** false: leave the namespace outside the file's admission webhook (the webhook "off" for it). */
  admission?: boolean;
}

export interface ServiceScenario {
  namespace: string;
  service: string;
  simulator: SpawnedSimulator;
  /** Given: a Release of `newVersion`, with short stages (from the spec, as a team could write it); `as` a person, or the admin. */
  release(name: string, newVersion: string, spec?: SpecOverrides, as?: KubeConfig): Promise<void>;
  /** Given: a Release exactly as written, for objects the controller must refuse. */
  applyRaw(name: string, spec: Record<string, unknown>): Promise<void>;
  read(name: string): Promise<Release>;
  waitForPhase(name: string, phases: ReleasePhase[], options?: WaitForOptions): Promise<Release>;
  /** Waits until `check` holds for the Release, failing at once if it finishes first. */
  waitForRelease(
    name: string,
    description: string,
    check: (release: Release) => boolean,
    options?: WaitForOptions,
  ): Promise<Release>;
  /** When: a person steers the release, as the CLI does (a merge patch of spec.control); `as` them, or the admin. */
  control(name: string, control: Record<string, unknown>, as?: KubeConfig): Promise<void>;
  /** When: someone writes straight into the Release (a merge patch of `body`); `as` them, or the admin. */
  patch(name: string, body: Record<string, unknown>, as?: KubeConfig): Promise<void>;
  /** The HTTPRoute's backend weights by backend name. */
  routeWeights(): Promise<Record<string, number>>;
  /** The HTTPRoute's metadata.generation: one more for each change of its spec. */
  routeGeneration(): Promise<number | undefined>;
  /** The HTTPRoute's labels, annotations and spec: what a router may change, compared field by field. */
  routeFields(): Promise<RoutedFields>;
  /** When: someone else edits the route's weights. */
  setRouteWeights(weights: Record<string, number>): Promise<void>;
  deployment(name: string): Promise<V1Deployment | undefined>;
  replicaSets(deployment: string): Promise<V1ReplicaSet[]>;
  /** The Kubernetes Events about a Release. */
  events(name: string): Promise<CoreV1Event[]>;
  tearDown(): Promise<void>;
}

interface RoutedObject {
  metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: unknown;
}

/** What a router may change on an object it routes through (a route, an Ingress, a Service). */
export interface RoutedFields {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  spec: unknown;
}

export function routedFields(object: RoutedObject): RoutedFields {
  return {
    labels: { ...object.metadata?.labels },
    annotations: { ...object.metadata?.annotations },
    spec: JSON.parse(JSON.stringify(object.spec ?? null)),
  };
}

/**
 * Then: the HTTPRoute is field by field what it was before the release (the router puts
 * it back right after the release's last status write, so this waits for it a while).
 */
export async function expectRouteAsBefore(scenario: ServiceScenario, before: RoutedFields): Promise<void> {
  await waitFor(async () => isDeepStrictEqual(await scenario.routeFields(), before), {
    timeoutMs: 30_000,
    description: "the HTTPRoute as before the release",
  }).catch(() => undefined);
  expect(await scenario.routeFields()).toEqual(before);
}

export async function givenService(prefix: string, options: ServiceOptions = {}): Promise<ServiceScenario> {
  const { apps, core, custom } = kubeClients();
  const networking = kubeConfig().makeApiClient(NetworkingV1Api);
  const namespace = await createNamespace(prefix);
  if (coveringWebhook && options.admission !== false)
    await coverNamespace(stackInfo().kubeconfigPath, namespace, coveringWebhook);
  const service = "checkout";
  const labels = { app: service };
  const router = options.router ?? "gatewayAPI";
  await apps.createNamespacedDeployment({
    namespace,
    body: {
      metadata: { name: service, labels },
      spec: {
        replicas: options.replicas ?? 2,
        selector: { matchLabels: labels },
        progressDeadlineSeconds: 60,
        ...(options.minReadySeconds ? { minReadySeconds: options.minReadySeconds } : {}),
        template: {
          metadata: { labels: { ...labels, version: STABLE_VERSION } },
          spec: { containers: [{ name: service, image: imageOf(STABLE_VERSION) }] },
        },
      },
    },
  });
  await core.createNamespacedService({
    namespace,
    body: {
      metadata: { name: service },
      spec: { selector: labels, ports: [{ port: 80, targetPort: 8080 }] },
    },
  });
  await custom.createNamespacedCustomObject({
    group: "gateway.networking.k8s.io",
    version: "v1",
    namespace,
    plural: "httproutes",
    body: {
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "HTTPRoute",
      metadata: { name: service },
      spec: {
        parentRefs: [{ name: "public-gateway" }],
        rules: [{ backendRefs: [{ name: service, port: 80 }] }],
      },
    },
  });
  if (router === "nginx") {
    await networking.createNamespacedIngress({
      namespace,
      body: {
        metadata: { name: service },
        spec: {
          ingressClassName: "nginx",
          rules: [
            {
              host: "checkout.example.com",
              http: {
                paths: [
                  {
                    path: "/",
                    pathType: "Prefix",
                    backend: { service: { name: service, port: { number: 80 } } },
                  },
                ],
              },
            },
          ],
        },
      },
    });
  }
  await waitFor(
    async () => (await apps.readNamespacedDeployment({ name: service, namespace })).status?.readyReplicas,
    { description: "the stable Deployment ready", timeoutMs: 60_000 },
  );

  const info = stackInfo();
  const supervisor = new ProcessSupervisor(info.runDir);
  const simulator = await spawnTrafficSimulator(supervisor, {
    name: `traffic-${namespace}`,
    namespace,
    service,
    requestsPerSecond: options.requestsPerSecond ?? 400,
    stable: { version: STABLE_VERSION },
    canary: { version: "none" },
    route: { name: service, kubeconfigPath: info.kubeconfigPath, deployment: service, pollMs: 200 },
  });
  const job = `traffic-${namespace}`;
  const instance = new URL(simulator.client.url).host;
  await prometheus().setScrapeTargets(job, [instance]);
  await prometheus().waitForTarget(job, instance);

  const read = async (name: string) =>
    (await custom.getNamespacedCustomObject({ group, version, namespace, plural, name })) as Release;
  const clientFor = (as?: KubeConfig) => (as ? as.makeApiClient(CustomObjectsApi) : custom);
  const patch = async (name: string, body: Record<string, unknown>, as?: KubeConfig): Promise<void> => {
    await clientFor(as).patchNamespacedCustomObject(
      { group, version, namespace, plural, name, body },
      mergePatch,
    );
  };
  const create = (name: string, spec: Record<string, unknown>, as?: KubeConfig) =>
    clientFor(as).createNamespacedCustomObject({
      group,
      version,
      namespace,
      plural,
      body: { apiVersion: `${group}/${version}`, kind: "Release", metadata: { name }, spec },
    });
  const routeRef = {
    group: "gateway.networking.k8s.io",
    version: "v1",
    namespace,
    plural: "httproutes",
    name: service,
  };

  return {
    namespace,
    service,
    simulator,
    async release(name, newVersion, spec = {}, as) {
      const { changeRequest, ...rest } = spec;
      await create(
        name,
        {
          target: { deployment: service, service },
          version: newVersion,
          images: { [service]: imageOf(newVersion) },
          stages: shortStages(),
          traffic:
            router === "nginx" ? { nginx: { ingress: service } } : { gatewayAPI: { httpRoute: service } },
          analysis: {
            interval: "1s",
            metrics: [{ name: "error-rate", template: "http-error-ratio", max: 0.05, inconclusiveLimit: 30 }],
          },
          progressDeadline: "60s",
          bake: "4s",
          ...rest,
          changeRequest: {
            id: `CHG-${name}`,
            type: "standard",
            title: `Release ${newVersion}`,
            why: "integration test",
            risk: "low",
            requestedBy: "integration-test",
            rollbackPlan: `Revert to ${STABLE_VERSION}`,
            ...changeRequest,
          },
        },
        as,
      );
    },
    applyRaw: async (name, spec) => {
      await create(name, spec);
    },
    read,
    waitForPhase: (name, phases, options = {}) =>
      waitFor(
        async () => {
          const release = await read(name);
          return phases.includes(release.status?.phase as ReleasePhase) ? release : undefined;
        },
        {
          timeoutMs: 120_000,
          intervalMs: 200,
          description: `Release ${name} in ${phases.join(" or ")}`,
          ...options,
        },
      ),
    async waitForRelease(name, description, check, options = {}) {
      let finished: Release | undefined;
      const release = await waitFor(
        async () => {
          const current = await read(name);
          if (check(current)) return current;
          if (FINISHED.includes(current.status?.phase as ReleasePhase)) finished = current;
          return undefined;
        },
        { timeoutMs: 120_000, intervalMs: 100, description: `Release ${name}: ${description}`, ...options },
      ).catch((error: unknown) => {
        if (finished) {
          throw new Error(
            `Release ${name} finished (${finished.status?.phase}: ${finished.status?.message}) before ${description}`,
          );
        }
        throw error;
      });
      return release;
    },
    control: (name, control, as) => patch(name, { spec: { control } }, as),
    patch,
    async routeWeights() {
      const route = (await custom.getNamespacedCustomObject(routeRef)) as {
        spec: { rules: { backendRefs?: { name: string; weight?: number }[] }[] };
      };
      const weights: Record<string, number> = {};
      for (const ref of route.spec.rules[0]?.backendRefs ?? []) weights[ref.name] = ref.weight ?? 1;
      return weights;
    },
    async routeFields() {
      return routedFields((await custom.getNamespacedCustomObject(routeRef)) as RoutedObject);
    },
    async routeGeneration() {
      const route = (await custom.getNamespacedCustomObject(routeRef)) as {
        metadata: { generation?: number };
      };
      return route.metadata.generation;
    },
    async setRouteWeights(weights) {
      const route = (await custom.getNamespacedCustomObject(routeRef)) as {
        spec: { rules: { backendRefs?: { name: string; weight?: number }[] }[] };
      };
      const rules = route.spec.rules.map((rule) => ({
        ...rule,
        backendRefs: (rule.backendRefs ?? []).map((ref) =>
          weights[ref.name] === undefined ? ref : { ...ref, weight: weights[ref.name] },
        ),
      }));
      await custom.patchNamespacedCustomObject({ ...routeRef, body: { spec: { rules } } }, mergePatch);
    },
    async deployment(name) {
      try {
        return await apps.readNamespacedDeployment({ name, namespace });
      } catch {
        return undefined;
      }
    },
    async replicaSets(deployment) {
      const owner = (await apps.readNamespacedDeployment({ name: deployment, namespace })).metadata?.uid;
      const list = await apps.listNamespacedReplicaSet({ namespace });
      return list.items.filter((set) => set.metadata?.ownerReferences?.some((ref) => ref.uid === owner));
    },
    async events(name) {
      const list = await core.listNamespacedEvent({
        namespace,
        fieldSelector: `involvedObject.name=${name},involvedObject.kind=Release`,
      });
      return list.items;
    },
    async tearDown() {
      await prometheus().removeScrapeTargets(job);
      await simulator.process.stop();
      await deleteNamespace(namespace);
    },
  };
}

/** Runs `body` with a fresh service and always tears it down, for tests that run side by side. */
export async function withService<T>(
  prefix: string,
  options: ServiceOptions,
  body: (scenario: ServiceScenario) => Promise<T>,
): Promise<T> {
  const scenario = await givenService(prefix, options);
  try {
    return await body(scenario);
  } finally {
    await scenario.tearDown();
  }
}

// ---- then: the record ----

/** Stage names in status.stages, in order. */
export function stageNames(release: Release): string[] {
  return (release.status?.stages ?? []).map((stage) => stage.name);
}

/** The phases the release went through, from its transitions. */
export function phasesOf(release: Release): string[] {
  const transitions = release.status?.transitions ?? [];
  return [transitions[0]?.from ?? "Pending", ...transitions.map((transition) => transition.to)];
}

/** The Events a status announces: one per transition (its phase), one per stage entered. */
function announcedBy(status: Release["status"], decidedAt?: string): string[] {
  return [
    ...(status?.transitions ?? [])
      .filter((transition) => decidedAt === undefined || transition.at === decidedAt)
      .map((transition) => transition.to),
    ...(status?.stages ?? [])
      .filter((stage) => decidedAt === undefined || stage.enteredAt === decidedAt)
      .map((stage) => `StageEntered:${stage.name}`),
  ].sort();
}

/**
 * The Events the newest decision in this status announced. A controller killed right
 * after storing a status may not have sent them: they are said at most once.
 */
export function lastAnnouncements(release: Release): string[] {
  const status = release.status;
  const times = [
    ...(status?.transitions ?? []).map((transition) => transition.at),
    ...(status?.stages ?? []).map((stage) => stage.enteredAt),
  ].sort();
  const newest = times.at(-1);
  return newest === undefined ? [] : announcedBy(status, newest);
}

/**
 * Each stage entered once and in plan order (then the bake), each transition a real
 * change of phase, and every transition and stage announced by one Event — never two;
 * `mayBeLost` names Events a killed controller may not have sent (lastAnnouncements).
 */
export async function expectOrderlyRecord(
  scenario: ServiceScenario,
  name: string,
  expected: { stages: string[]; phases: string[]; mayBeLost?: string[] },
): Promise<Release> {
  const release = await scenario.read(name);
  const status = release.status;
  expect(stageNames(release), status?.message).toEqual(expected.stages);
  for (const [index, stage] of (status?.stages ?? []).entries()) {
    const next = status?.stages[index + 1];
    if (next) expect(stage.exitedAt, `stage ${stage.name} ends as ${next.name} begins`).toBe(next.enteredAt);
  }
  expect(phasesOf(release)).toEqual(expected.phases);
  for (const transition of status?.transitions ?? []) expect(transition.from).not.toBe(transition.to);

  // Events are sent right after the status that decided them is stored (asynchronously,
  // so they are waited for a moment).
  const wanted = announcedBy(status);
  const mayBeLost = expected.mayBeLost ?? [];
  const summarise = (events: CoreV1Event[]) =>
    events.flatMap((event) => Array.from({ length: event.count ?? 1 }, () => eventKey(event))).sort();
  const events = await waitFor(
    async () => {
      const seen = summarise(await scenario.events(name));
      return seen.length >= wanted.length - mayBeLost.length ? seen : undefined;
    },
    { timeoutMs: 10_000, description: `the Events of ${name}` },
  ).catch(async () => summarise(await scenario.events(name)));
  const missing = [...wanted];
  for (const event of events) {
    const index = missing.indexOf(event);
    expect(
      index,
      `Event ${event} of ${name} is one the status announces, and only once`,
    ).toBeGreaterThanOrEqual(0);
    missing.splice(index, 1);
  }
  for (const event of missing) expect(mayBeLost, `Event ${event} of ${name} is missing`).toContain(event);
  return release;
}

/** "Progressing" for a transition's Event, "StageEntered:canary" for a stage's. */
function eventKey(event: CoreV1Event): string {
  if (event.reason !== "StageEntered") return event.reason ?? "?";
  const message = event.message ?? "";
  const stage = message.startsWith("bake") ? "bake" : /^stage (\S+) entered/.exec(message)?.[1];
  return `StageEntered:${stage ?? "?"}`;
}
