import { RbacAuthorizationV1Api, type CoreV1Event, type V1PolicyRule } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ControllerProcess } from "../../harness/controller.ts";
import { kubeClients, kubeConfig, mergePatch, waitFor } from "../../harness/context.ts";
import type { Release } from "../../../src/api/index.ts";
import {
  FINISHED,
  givenController,
  givenUser,
  grantRole,
  imageOf,
  phasesOf,
  quickStages,
  releaseLogLines,
  stageNames,
  withService,
  type ServiceScenario,
} from "./scenario.ts";

// A release that cannot move says why, on the Release, where a person looks: a
// condition (Progressing=False with the reason, or Valid=False for a Release that does
// not fit its target), an Event with one line to act on, the same line in the log and
// never client-node's raw dump; and once the cause is fixed it goes on from where it
// stood, no stage repeated or skipped. The controller runs under its own
// ServiceAccount with manifests/install/rbac.yaml; a test takes a verb away from that
// ClusterRole mid-release and gives it back (so these tests run one after another).

const CLUSTER_ROLE = "glidepath-controller";
const CONTROLLER_ACCOUNT = "ServiceAccount glidepath-system/glidepath-controller";

let controller: ControllerProcess;
/** Approvals open a gate only through the admission webhook, written by someone RBAC lets approve. */
let approver: Awaited<ReturnType<typeof givenUser>>;
beforeAll(async () => {
  controller = await givenController({ admission: true });
  approver = await givenUser("carol", ["release-managers"]);
});

/** carol (glidepath-approve in the namespace) approves, as the webhook requires. */
async function approveAsCarol(scenario: ServiceScenario, name: string): Promise<void> {
  await grantRole(scenario.namespace, { kind: "Group", name: "release-managers" }, "glidepath-approve");
  await scenario.control(
    name,
    { approvals: [{ by: "carol", at: new Date().toISOString() }] },
    approver.kubeConfig,
  );
}
afterAll(async () => {
  await controller?.stop();
});

/** Quick stages, nothing to analyse, and a deadline far beyond the test: only the block holds the release. */
const quick = {
  stages: quickStages(),
  analysis: { interval: "1s", metrics: [] },
  bake: "2s",
  progressDeadline: "10m",
};

function condition(release: Release, type: string) {
  return release.status?.conditions.find((candidate) => candidate.type === type);
}

async function eventsWithReason(
  scenario: ServiceScenario,
  name: string,
  reason: string,
): Promise<CoreV1Event[]> {
  return (await scenario.events(name)).filter((event) => event.reason === reason);
}

/** Waits for an Event of this reason on the Release and returns its message. */
async function eventMessage(scenario: ServiceScenario, name: string, reason: string): Promise<string> {
  const events = await waitFor(
    async () => {
      const found = await eventsWithReason(scenario, name, reason);
      return found.length > 0 ? found : undefined;
    },
    { timeoutMs: 60_000, description: `an Event ${reason} on ${name}` },
  );
  return events[0]?.message ?? "";
}

/** Waits until the Progressing condition records this block reason. */
function blockedWith(scenario: ServiceScenario, name: string, reason: string): Promise<Release> {
  return scenario.waitForRelease(
    name,
    `Progressing=False with reason ${reason}`,
    (release) => condition(release, "Progressing")?.reason === reason,
    { timeoutMs: 90_000 },
  );
}

/** Each stage entered once, in plan order, and one StageEntered Event for each. */
async function expectEachStageOnce(scenario: ServiceScenario, name: string, release: Release): Promise<void> {
  expect(stageNames(release), release.status?.message).toEqual(["canary", "ga", "bake"]);
  const entered = await waitFor(
    async () => {
      const events = await eventsWithReason(scenario, name, "StageEntered");
      const count = events.reduce((sum, event) => sum + (event.count ?? 1), 0);
      return count >= 3 ? events : undefined;
    },
    { timeoutMs: 10_000, description: `three StageEntered Events on ${name}` },
  );
  expect(entered.reduce((sum, event) => sum + (event.count ?? 1), 0)).toBe(3);
}

/** The message of the controller's first log line about this release that contains `text`. */
function loggedLine(namespace: string, text: string): string | undefined {
  for (const line of releaseLogLines(controller, namespace)) {
    const message = (JSON.parse(line) as { msg?: string }).msg ?? "";
    if (message.includes(text)) return message;
  }
  return undefined;
}

/** The controller's log never carries client-node's dump of an ApiException. */
function expectNoRawDumps(namespace: string): void {
  const lines = releaseLogLines(controller, namespace);
  for (const line of lines) {
    expect(line).not.toContain("HTTP-Code");
    expect(line).not.toContain("Unknown API Status Code");
    expect(line).not.toContain("Headers:");
  }
}

/**
 * When: the controller's ClusterRole loses `verb` on `resource` (API group `group`);
 * returns how to give it back. The harness applied manifests/install/rbac.yaml.
 */
async function removeVerb(group: string, resource: string, verb: string): Promise<() => Promise<void>> {
  const rbac = kubeConfig().makeApiClient(RbacAuthorizationV1Api);
  const role = await rbac.readClusterRole({ name: CLUSTER_ROLE });
  const original: V1PolicyRule[] = structuredClone(role.rules ?? []);
  const narrowed = original.map((rule) =>
    rule.apiGroups?.includes(group) && rule.resources?.includes(resource)
      ? { ...rule, verbs: rule.verbs.filter((candidate) => candidate !== verb) }
      : rule,
  );
  expect(narrowed, `the ClusterRole grants ${verb} on ${resource}`).not.toEqual(original);
  await rbac.replaceClusterRole({ name: CLUSTER_ROLE, body: { ...role, rules: narrowed } });
  let restored = false;
  return async () => {
    if (restored) return;
    restored = true;
    const current = await rbac.readClusterRole({ name: CLUSTER_ROLE });
    await rbac.replaceClusterRole({ name: CLUSTER_ROLE, body: { ...current, rules: original } });
  };
}

/** Runs `body` with the verb taken away, and always gives it back. */
async function withoutVerb<T>(
  rule: { group: string; resource: string; verb: string },
  body: (restore: () => Promise<void>) => Promise<T>,
): Promise<T> {
  const restore = await removeVerb(rule.group, rule.resource, rule.verb);
  try {
    return await body(restore);
  } finally {
    await restore();
  }
}

/** Failed reconciles of this release the controller logged (each one retried after a backoff). */
function failedReconciles(namespace: string, name: string): number {
  return controller.process
    .logTail(100_000)
    .split("\n")
    .filter((line) => line.includes(`reconcile of ${namespace}/${name} failed`)).length;
}

describe("a release that cannot move says why", () => {
  it("marks a Release naming a container the Deployment lacks as invalid against it, and starts once it fits", () =>
    withService("stuck-container", {}, async (scenario) => {
      const name = "checkout-2-0-0";
      await scenario.release(name, "2.0.0", {
        ...quick,
        images: { checkout: imageOf("2.0.0"), nope3: "registry.example.com/nope:3" },
      });
      const stuck = await scenario.waitForRelease(
        name,
        "Valid=False with reason TargetInvalid",
        (release) => condition(release, "Valid")?.reason === "TargetInvalid",
        { timeoutMs: 60_000 },
      );
      const expected = `spec.images names container "nope3", which Deployment ${scenario.namespace}/checkout does not have (its containers: checkout)`;
      expect(condition(stuck, "Valid")).toMatchObject({ status: "False", message: expected });
      expect(condition(stuck, "Progressing")).toMatchObject({ status: "False", reason: "TargetInvalid" });
      expect(stuck.status?.phase).toBe("Pending");
      expect(stuck.status?.message).toContain(`blocked: ${expected}`);
      expect(stuck.status?.startedAt).toBeUndefined();
      expect(await eventMessage(scenario, name, "TargetInvalid")).toBe(expected);
      // Nothing was changed: no canary, no weight.
      expect(await scenario.deployment("checkout-canary")).toBeUndefined();
      expect(await scenario.routeWeights()).toEqual({ checkout: 1 });

      // A person fixes the Release: the release starts and runs as any other.
      const { custom } = kubeClients();
      await custom.patchNamespacedCustomObject(
        {
          group: "glidepath.dev",
          version: "v1alpha1",
          namespace: scenario.namespace,
          plural: "releases",
          name,
          body: { spec: { images: { nope3: null } } },
        },
        mergePatch,
      );
      const done = await scenario.waitForPhase(name, FINISHED);
      expect(done.status?.phase, done.status?.message).toBe("Succeeded");
      expect(condition(done, "Valid")).toMatchObject({ status: "True", reason: "Resolved" });
      expect(await eventMessage(scenario, name, "Unblocked")).toContain("was TargetInvalid");
      await expectEachStageOnce(scenario, name, done);
      expectNoRawDumps(scenario.namespace);
    }));

  it("says the HTTPRoute it names does not exist, and goes on once it does", () =>
    withService("stuck-route", {}, async (scenario) => {
      const name = "checkout-2-0-0";
      await scenario.release(name, "2.0.0", {
        ...quick,
        traffic: { gatewayAPI: { httpRoute: "storefront" } },
      });
      const stuck = await blockedWith(scenario, name, "RouteNotFound");
      const expected = `HTTPRoute ${scenario.namespace}/storefront (spec.traffic.gatewayAPI.httpRoute) does not exist`;
      expect(condition(stuck, "Progressing")).toMatchObject({ status: "False", message: expected });
      expect(stuck.status?.phase).toBe("Pending");
      expect(stuck.status?.message).toBe(`blocked: ${expected}`);
      expect(await eventMessage(scenario, name, "RouteNotFound")).toBe(expected);
      expect(await scenario.deployment("checkout-canary")).toBeUndefined();

      // The route appears (a GitOps sync catching up): the release runs on it.
      const { custom } = kubeClients();
      await custom.createNamespacedCustomObject({
        group: "gateway.networking.k8s.io",
        version: "v1",
        namespace: scenario.namespace,
        plural: "httproutes",
        body: {
          apiVersion: "gateway.networking.k8s.io/v1",
          kind: "HTTPRoute",
          metadata: { name: "storefront" },
          spec: {
            parentRefs: [{ name: "public-gateway" }],
            rules: [{ backendRefs: [{ name: "checkout", port: 80 }] }],
          },
        },
      });
      const done = await scenario.waitForPhase(name, FINISHED);
      expect(done.status?.phase, done.status?.message).toBe("Succeeded");
      expect(await eventMessage(scenario, name, "Unblocked")).toContain("was RouteNotFound");
      await expectEachStageOnce(scenario, name, done);
      expectNoRawDumps(scenario.namespace);
    }));

  it(
    "says it may not patch the HTTPRoute when that permission goes mid-release, and goes on from there once it is back",
    () =>
      withService("stuck-patch", {}, async (scenario) => {
        const name = "checkout-2-0-0";
        await scenario.release(name, "2.0.0", { ...quick, changeRequest: { requiresApproval: true } });
        await scenario.waitForPhase(name, ["AwaitingApproval"]);
        expect(await scenario.routeWeights()).toEqual({ checkout: 90, "checkout-canary": 10 });

        await withoutVerb(
          { group: "gateway.networking.k8s.io", resource: "httproutes", verb: "patch" },
          async (restore) => {
            const blockedSince = Date.now();
            const failedBefore = failedReconciles(scenario.namespace, name);
            await approveAsCarol(scenario, name);
            const stuck = await blockedWith(scenario, name, "Forbidden");
            const expected =
              `the controller may not patch httproutes.gateway.networking.k8s.io "checkout" in namespace ${scenario.namespace}: ` +
              `grant patch on httproutes.gateway.networking.k8s.io to ${CONTROLLER_ACCOUNT}`;
            expect(condition(stuck, "Progressing")?.message).toContain(expected);
            expect(condition(stuck, "Progressing")?.message).toContain("403 Forbidden");
            expect(stuck.status?.message).toContain(`blocked: ${expected}`);
            expect(stuck.status?.currentStage?.name).toBe("ga");
            expect(await eventMessage(scenario, name, "Forbidden")).toContain(expected);
            // The weight stayed where it was; the log says the same line.
            expect(await scenario.routeWeights()).toEqual({ checkout: 90, "checkout-canary": 10 });
            const logged = await waitFor(() => loggedLine(scenario.namespace, expected), {
              description: "the block in the controller's log",
            });
            expect(logged).toMatch(/^blocked \(Forbidden\): the controller may not patch/);

            // Blocked for a while: the controller backs off rather than spinning.
            await waitFor(() => Date.now() - blockedSince > 15_000, { timeoutMs: 20_000 });
            const seconds = (Date.now() - blockedSince) / 1000;
            const failures = failedReconciles(scenario.namespace, name) - failedBefore;
            expect(failures / seconds, `${failures} failed reconciles in ${seconds} s`).toBeLessThan(0.6);
            await restore();
          },
        );

        const done = await scenario.waitForPhase(name, FINISHED, { timeoutMs: 400_000 });
        expect(done.status?.phase, done.status?.message).toBe("Succeeded");
        expect(phasesOf(done)).toEqual([
          "Pending",
          "Progressing",
          "AwaitingApproval",
          "Progressing",
          "Baking",
          "Succeeded",
        ]);
        expect(await eventMessage(scenario, name, "Unblocked")).toContain("was Forbidden");
        await expectEachStageOnce(scenario, name, done);
        expectNoRawDumps(scenario.namespace);
      }),
    600_000,
  );

  it(
    "says it may not create the canary Deployment, creates nothing, and releases once it may",
    () =>
      withService("stuck-create", {}, async (scenario) => {
        const name = "checkout-2-0-0";
        await withoutVerb({ group: "apps", resource: "deployments", verb: "create" }, async (restore) => {
          await scenario.release(name, "2.0.0", quick);
          const stuck = await blockedWith(scenario, name, "Forbidden");
          const expected =
            `the controller may not create deployments.apps in namespace ${scenario.namespace}: ` +
            `grant create on deployments.apps to ${CONTROLLER_ACCOUNT}`;
          expect(condition(stuck, "Progressing")?.message).toContain(expected);
          expect(stuck.status?.message).toContain(`blocked: ${expected}`);
          expect(await eventMessage(scenario, name, "Forbidden")).toContain(expected);
          expect(await scenario.deployment("checkout-canary")).toBeUndefined();
          expect(await scenario.routeWeights()).toEqual({ checkout: 1 });
          await restore();
        });
        const done = await scenario.waitForPhase(name, FINISHED, { timeoutMs: 400_000 });
        expect(done.status?.phase, done.status?.message).toBe("Succeeded");
        expect(phasesOf(done)).toEqual(["Pending", "Progressing", "Baking", "Succeeded"]);
        expect(await eventMessage(scenario, name, "Unblocked")).toContain("was Forbidden");
        await expectEachStageOnce(scenario, name, done);
        expectNoRawDumps(scenario.namespace);
      }),
    600_000,
  );

  it(
    "says by an Event that it may not write the status, changes nothing meanwhile, and goes on once it may",
    () =>
      withService("stuck-status", {}, async (scenario) => {
        const name = "checkout-2-0-0";
        await scenario.release(name, "2.0.0", { ...quick, changeRequest: { requiresApproval: true } });
        await scenario.waitForPhase(name, ["AwaitingApproval"]);

        await withoutVerb(
          { group: "glidepath.dev", resource: "releases/status", verb: "update" },
          async (restore) => {
            await approveAsCarol(scenario, name);
            const expected =
              `the controller may not update releases.glidepath.dev/status "${name}" in namespace ${scenario.namespace}: ` +
              `grant update on releases.glidepath.dev/status to ${CONTROLLER_ACCOUNT}`;
            expect(await eventMessage(scenario, name, "Forbidden")).toContain(expected);
            const logged = await waitFor(() => loggedLine(scenario.namespace, expected), {
              description: "the block in the controller's log",
            });
            expect(logged).toMatch(/^cannot write the status \(Forbidden\): the controller may not update/);
            // The status cannot say it, and nothing moved: the decision is never acted on before it is stored.
            const held = await scenario.read(name);
            expect(held.status?.phase).toBe("AwaitingApproval");
            expect(held.status?.currentStage?.name).toBe("canary");
            expect(await scenario.routeWeights()).toEqual({ checkout: 90, "checkout-canary": 10 });
            await restore();
          },
        );

        const done = await scenario.waitForPhase(name, FINISHED, { timeoutMs: 400_000 });
        expect(done.status?.phase, done.status?.message).toBe("Succeeded");
        expect(phasesOf(done)).toEqual([
          "Pending",
          "Progressing",
          "AwaitingApproval",
          "Progressing",
          "Baking",
          "Succeeded",
        ]);
        expect(await eventMessage(scenario, name, "Unblocked")).toContain("can write the status again");
        await expectEachStageOnce(scenario, name, done);
        expectNoRawDumps(scenario.namespace);
      }),
    600_000,
  );
});
