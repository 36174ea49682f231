import { NetworkingV1Api } from "@kubernetes/client-node";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { kubeConfig, mergePatch, waitFor } from "../../harness/context.ts";
import { API_GROUP, API_VERSION, type Release } from "../../../src/api/index.ts";
import { Informer, RELEASE_PLURAL } from "../../../src/kube/index.ts";
import {
  expectOrderlyRecord,
  expectRouteAsBefore,
  FINISHED,
  givenControllerForFile,
  quickStages,
  shortStages,
  STABLE_VERSION,
  imageOf,
  withService,
  type ServiceScenario,
} from "./scenario.ts";

// People steer a running release through spec.control, as the glidepath CLI does
// (approve, pause, resume, abort); and a weight someone else changes is put back. This
// file's controller serves no admission webhook: approvals cannot be verified here.

givenControllerForFile();

const passes = (release: Release) => release.status?.stages.at(-1)?.tallies[0]?.pass ?? 0;
const stageIs = (release: Release, stage: string) =>
  release.status?.phase === "Progressing" && release.status.currentStage?.name === stage;

/** A stage that holds for ten minutes and has nothing to analyse: nothing but a watch event wakes it. */
const idleStages = [
  { name: "canary", weight: 10, hold: "10m" },
  { name: "ga", weight: 100, hold: "0s" },
];

/**
 * Enters the idle canary stage and waits until the reconciles that follow entering it
 * (a look soon after each action) are over: from then on only an event wakes the release.
 */
async function inIdleStage(scenario: ServiceScenario, name: string): Promise<void> {
  const release = await scenario.waitForRelease(name, "in the canary stage", (current) =>
    stageIs(current, "canary"),
  );
  const enteredMs = Date.parse(release.status?.currentStage?.startedAt ?? "");
  await waitFor(() => Date.now() > enteredMs + 3_000, { description: "the stage settled" });
}

async function abort(scenario: ServiceScenario, name: string, by: string, reason: string): Promise<Release> {
  await scenario.control(name, { abort: { by, at: new Date().toISOString(), reason } });
  return scenario.waitForPhase(name, FINISHED);
}

describe.concurrent("people steering a release", () => {
  // With the webhook, an approval by someone else opens the gate: trust.test.ts.
  it("stops before GA for an approval; without the admission webhook none is verified, so the gate stays shut and says how to turn it on", () =>
    withService("approval", {}, async (scenario) => {
      const name = "checkout-2-0-0";
      await scenario.release(name, "2.0.0", {
        stages: quickStages(),
        bake: "2s",
        changeRequest: { requiresApproval: true },
      });
      const awaiting = await scenario.waitForPhase(name, ["AwaitingApproval", ...FINISHED]);
      expect(awaiting.status?.phase, awaiting.status?.message).toBe("AwaitingApproval");
      expect(awaiting.status?.currentStage?.name).toBe("canary");
      expect(awaiting.status?.message).toContain(`glidepath approve ${name} --by`);

      // An approval anyone with patch could write: recorded, unverified, and it opens nothing.
      const approval = { by: "carol", at: new Date().toISOString(), comment: "canary looks fine" };
      await scenario.control(name, { approvals: [approval] });
      const recorded = await scenario.waitForRelease(
        name,
        "the approval recorded",
        (release) => release.status?.approvals.length === 1,
      );
      expect(recorded.status?.approvals).toEqual([
        expect.objectContaining({
          ...approval,
          verified: false,
          problem: expect.stringContaining("not stamped"),
        }),
      ]);

      // It stays there while analysis goes on: three more rounds and no move.
      const held = await scenario.waitForRelease(
        name,
        "three more analysis rounds",
        (release) => passes(release) >= passes(recorded) + 3,
      );
      expect(held.status?.phase).toBe("AwaitingApproval");
      expect(held.status?.currentStage?.name).toBe("canary");
      expect(await scenario.routeWeights()).toEqual({ checkout: 90, "checkout-canary": 10 });
      expect((await scenario.deployment("checkout"))?.spec?.template.spec?.containers[0]?.image).toBe(
        imageOf(STABLE_VERSION),
      );
      const condition = held.status?.conditions.find((candidate) => candidate.type === "Approved");
      expect(condition).toMatchObject({ status: "False", reason: "WebhookDisabled" });
      expect(condition?.message).toContain("the admission webhook is off");
      expect(condition?.message).toContain("trust.webhook");
      expect(condition?.message).toContain("carol's approval is unverified");
    }));

  it("pauses past the end of a stage's hold, and resumes where it was", () =>
    withService("pause", {}, async (scenario) => {
      const name = "checkout-2-0-0";
      await scenario.release(name, "2.0.0", { stages: quickStages(3), bake: "2s" });
      await scenario.waitForRelease(name, "in the canary stage", (release) => stageIs(release, "canary"));
      await scenario.control(name, { paused: true });
      const paused = await scenario.waitForPhase(name, ["Paused", ...FINISHED]);
      expect(paused.status?.phase, paused.status?.message).toBe("Paused");
      expect(paused.status?.currentStage?.name).toBe("canary");

      // Analysed well past the end of the hold, and still where it was.
      const holdEndsMs = Date.parse(paused.status?.currentStage?.startedAt ?? "") + 3_000;
      const held = await scenario.waitForRelease(
        name,
        "analysed 2 s past the hold",
        (release) => Date.parse(release.status?.currentStage?.lastAnalysisAt ?? "") > holdEndsMs + 2_000,
      );
      expect(held.status?.phase).toBe("Paused");
      expect(held.status?.currentStage?.name).toBe("canary");

      await scenario.control(name, { paused: null });
      const release = await scenario.waitForPhase(name, FINISHED);
      expect(release.status?.phase, release.status?.message).toBe("Succeeded");
      await expectOrderlyRecord(scenario, name, {
        stages: ["canary", "ga", "bake"],
        phases: ["Pending", "Progressing", "Paused", "Progressing", "Baking", "Succeeded"],
      });
    }));

  it("writes a paused release's status once a round, for its measurement, never for a timestamp alone", () =>
    withService("pause-writes", {}, async (scenario) => {
      const name = "checkout-2-0-0";
      await scenario.release(name, "2.0.0", { stages: quickStages(600) });
      await scenario.waitForRelease(name, "in the canary stage", (release) => stageIs(release, "canary"));
      await scenario.control(name, { paused: true });
      const paused = await scenario.waitForPhase(name, ["Paused", ...FINISHED]);
      expect(paused.status?.phase, paused.status?.message).toBe("Paused");

      // Every write of the Release, as a watch sees it.
      const informer = new Informer<{ metadata?: { name?: string } }>({
        kubeConfig: kubeConfig(),
        logger: pino({ level: "silent" }),
        path: `/apis/${API_GROUP}/${API_VERSION}/${RELEASE_PLURAL}`,
        namespace: scenario.namespace,
        fieldSelector: `metadata.name=${name}`,
      });
      const writes: { before: Release; after: Release }[] = [];
      informer.on((change) => {
        if (change.type === "updated")
          writes.push({ before: change.previous as Release, after: change.object as Release });
      });
      informer.start();
      try {
        await informer.whenSynced(30_000);
        // Rounds measured so far, whatever their verdict: a loaded machine gives the odd
        // round without data, and that round's write carries its tally as much as a pass does.
        const measured = (release: Release) => {
          const tally = release.status?.stages.at(-1)?.tallies[0];
          return tally ? tally.pass + tally.fail + tally.inconclusive + tally.error : 0;
        };
        const from = measured(
          (informer.get(`${scenario.namespace}/${name}`) as Release | undefined) ?? paused,
        );
        await waitFor(() => writes.length > 0 && measured(writes.at(-1)!.after) >= from + 5, {
          timeoutMs: 60_000,
          description: "five more analysis rounds while paused",
        });
        const withoutWatermark = (release: Release) =>
          JSON.stringify({
            ...release.status,
            currentStage: { ...release.status?.currentStage, lastAnalysisAt: undefined },
          });
        const timestampOnly = writes.filter(
          ({ before, after }) => withoutWatermark(before) === withoutWatermark(after),
        );
        expect(timestampOnly.map(({ after }) => after.status?.currentStage?.lastAnalysisAt)).toEqual([]);
        // One write per round at most, each carrying the round's measurement.
        const changedFields = writes.map(({ before, after }) =>
          Object.keys({ ...before.status, ...after.status })
            .filter(
              (key) =>
                JSON.stringify(before.status?.[key as keyof typeof before.status]) !==
                JSON.stringify(after.status?.[key as keyof typeof after.status]),
            )
            .join(","),
        );
        expect(
          writes.length,
          `status fields each write changed: ${changedFields.join(" | ")}`,
        ).toBeLessThanOrEqual(measured(writes.at(-1)!.after) - from + 1);
        expect(writes.every(({ after }) => after.status?.phase === "Paused")).toBe(true);
      } finally {
        await informer.stop();
      }
    }));

  it("aborts: rolls back at once, recording who and why", () =>
    withService("abort", {}, async (scenario) => {
      const name = "checkout-2-0-0";
      const routeBefore = await scenario.routeFields();
      await scenario.release(name, "2.0.0", { stages: shortStages(3) });
      await scenario.waitForRelease(name, "in stage early-adopter", (release) =>
        stageIs(release, "early-adopter"),
      );
      const release = await abort(scenario, name, "dave", "customers report slow checkouts");
      expect(release.status?.phase, release.status?.message).toBe("RolledBack");
      expect(release.status?.rollback).toMatchObject({ trigger: "manual", by: "dave", verified: true });
      expect(release.status?.rollback?.reason).toContain("customers report slow checkouts");
      expect(release.status?.stages.map((stage) => [stage.name, stage.outcome])).toEqual([
        ["canary", "passed"],
        ["early-adopter", "aborted"],
      ]);
      await expectOrderlyRecord(scenario, name, {
        stages: ["canary", "early-adopter"],
        phases: ["Pending", "Progressing", "RollingBack", "RolledBack"],
      });
      await expectRouteAsBefore(scenario, routeBefore);
      expect((await scenario.deployment("checkout-canary"))?.spec?.replicas).toBe(0);
      expect((await scenario.deployment("checkout"))?.metadata?.generation).toBe(1);
    }));
});

describe.concurrent("a weight changed by someone else", () => {
  it("on the HTTPRoute is put back at once", () =>
    withService("drift", {}, async (scenario) => {
      const name = "checkout-2-0-0";
      await scenario.release(name, "2.0.0", { stages: idleStages, analysis: { metrics: [] } });
      await inIdleStage(scenario, name);
      expect((await scenario.routeWeights())["checkout-canary"]).toBe(10);

      const generation = (await scenario.routeGeneration()) ?? 0;
      await scenario.setRouteWeights({ checkout: 100, "checkout-canary": 0 });
      // The stage holds for ten minutes: only the route's watch event can bring this about.
      await waitFor(
        async () => {
          const weights = await scenario.routeWeights();
          const changed = ((await scenario.routeGeneration()) ?? 0) >= generation + 2;
          return changed && weights.checkout === 90 && weights["checkout-canary"] === 10;
        },
        { timeoutMs: 15_000, description: "the route back at 90/10 after the edit" },
      );
      const release = await abort(scenario, name, "integration-test", "done");
      expect(release.status?.phase, release.status?.message).toBe("RolledBack");
    }));

  it("on the canary Ingress is put back at once", () =>
    withService("drift-nginx", { router: "nginx" }, async (scenario) => {
      const networking = kubeConfig().makeApiClient(NetworkingV1Api);
      const weightAnnotation = "nginx.ingress.kubernetes.io/canary-weight";
      const canaryWeight = async () =>
        (await networking.readNamespacedIngress({ name: "checkout-canary", namespace: scenario.namespace }))
          .metadata?.annotations?.[weightAnnotation];
      const name = "checkout-2-0-0";
      await scenario.release(name, "2.0.0", { stages: idleStages, analysis: { metrics: [] } });
      await inIdleStage(scenario, name);
      expect(await canaryWeight()).toBe("10");

      const edited = await networking.patchNamespacedIngress(
        {
          name: "checkout-canary",
          namespace: scenario.namespace,
          body: { metadata: { annotations: { [weightAnnotation]: "0" } } },
        },
        mergePatch,
      );
      // The stage holds for ten minutes: only the Ingress's watch event can bring this about.
      await waitFor(
        async () => {
          const ingress = await networking.readNamespacedIngress({
            name: "checkout-canary",
            namespace: scenario.namespace,
          });
          return (
            ingress.metadata?.resourceVersion !== edited.metadata?.resourceVersion &&
            ingress.metadata?.annotations?.[weightAnnotation] === "10"
          );
        },
        { timeoutMs: 15_000, description: "the canary Ingress back at weight 10 after the edit" },
      );
      const release = await abort(scenario, name, "integration-test", "done");
      expect(release.status?.phase, release.status?.message).toBe("RolledBack");
    }));
});
