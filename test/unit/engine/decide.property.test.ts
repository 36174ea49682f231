import { isDeepStrictEqual } from "node:util";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  releaseStatusSchema,
  STATUS_LIMITS,
  terminalPhases,
  type Release,
  type ReleasePlan,
  type ReleaseStatus,
  type Verdict,
} from "../../../src/api/index.ts";
import { decide, type Action, type EngineResult, type Observations } from "../../../src/engine/index.ts";
import { aRelease, aStable, iso, MINUTE, planFor, SECOND, T0 } from "./builders.ts";
import {
  aCluster,
  carryOut,
  crashCanary,
  crashStable,
  observe,
  stallCanary,
  stampedByWebhook,
  type Cluster,
  type WorldExtras,
} from "./cluster.ts";

// Random releases driven through random histories against an ideal cluster: the
// clock jumps, analysis rounds pass, fail or lack data, alerts fire, canaries
// crash, windows close, people pause, resume, promote, abort and approve. After
// every reconcile the invariants below must hold; afterwards, with the trouble
// gone and people cooperating, every release must reach a terminal phase.

/** Runs of the two main properties (up to 80 random and 400 draining reconciles each). */
const NUM_RUNS = 200;
/** Runs of the long-history property (120 to 160 reconciles each, most of them a pause or a resume). */
const CHURN_RUNS = 25;
/** However long a release runs, its status stays under this (etcd allows ~1.5 MB). */
const STATUS_SIZE_BOUND = 64 * 1024;

type Command = "none" | "pause" | "resume" | "promote" | "promoteFull" | "abort" | "approve";

interface RandomTick {
  advanceMs: number;
  /** One roll per metric, 0..999, turned into a verdict by the run's profile. */
  verdictRolls: number[];
  command: Command;
  alert: boolean;
  /** "service": the canary Service is deleted and cannot be made again (no permission, no IP left). */
  crash: "none" | "canary" | "stable" | "stall" | "service";
  window: "open" | "closed" | "frozen";
  blocked: boolean;
}

/** How often a round fails, lacks data or errors, per mille: most services are healthy, some are not. */
interface VerdictProfile {
  fail: number;
  inconclusive: number;
  error: number;
}
const profileArb: fc.Arbitrary<VerdictProfile> = fc.constantFrom(
  { fail: 0, inconclusive: 0, error: 0 },
  { fail: 5, inconclusive: 60, error: 30 },
  { fail: 40, inconclusive: 100, error: 50 },
);

function verdictOf(roll: number, profile: VerdictProfile): Verdict {
  if (roll < profile.fail) return "fail";
  if (roll < profile.fail + profile.inconclusive) return "inconclusive";
  if (roll < profile.fail + profile.inconclusive + profile.error) return "error";
  return "pass";
}

const commandArb: fc.Arbitrary<Command> = fc.oneof(
  { arbitrary: fc.constant("none" as const), weight: 40 },
  { arbitrary: fc.constant("pause" as const), weight: 2 },
  { arbitrary: fc.constant("resume" as const), weight: 3 },
  { arbitrary: fc.constant("promote" as const), weight: 1 },
  { arbitrary: fc.constant("promoteFull" as const), weight: 1 },
  { arbitrary: fc.constant("abort" as const), weight: 1 },
  { arbitrary: fc.constant("approve" as const), weight: 2 },
);

const rarely = (weight: number) =>
  fc.oneof({ arbitrary: fc.constant(false), weight }, { arbitrary: fc.constant(true), weight: 1 });

const tickArb: fc.Arbitrary<RandomTick> = fc.record({
  advanceMs: fc.integer({ min: SECOND, max: 5 * MINUTE }),
  verdictRolls: fc.array(fc.nat(999), { minLength: 2, maxLength: 2 }),
  command: commandArb,
  alert: rarely(150),
  crash: fc.oneof(
    { arbitrary: fc.constant("none" as const), weight: 150 },
    { arbitrary: fc.constant("canary" as const), weight: 1 },
    { arbitrary: fc.constant("stable" as const), weight: 1 },
    { arbitrary: fc.constant("stall" as const), weight: 1 },
    { arbitrary: fc.constant("service" as const), weight: 1 },
  ),
  window: fc.oneof(
    { arbitrary: fc.constant("open" as const), weight: 12 },
    { arbitrary: fc.constant("closed" as const), weight: 1 },
    { arbitrary: fc.constant("frozen" as const), weight: 1 },
  ),
  blocked: rarely(20),
});

const metricPool = [
  { name: "error-rate", template: "http-error-ratio", max: 0.05 },
  {
    name: "latency",
    template: "http-latency-p99",
    max: 0.3,
    failureLimit: 1,
    inconclusiveLimit: 2,
    onInconclusive: "fail",
    consecutiveErrorLimit: 1,
  },
] as const;

/** Inline stages with random weights, holds, minimums and metrics, or one of the shipped presets. */
const releaseArb: fc.Arbitrary<Release> = fc.oneof(
  fc
    .record({
      weights: fc.subarray([1, 5, 10, 25, 50]),
      holds: fc.array(fc.constantFrom("0s", "30s", "1m", "3m"), { minLength: 6, maxLength: 6 }),
      minimums: fc.array(fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined }), {
        minLength: 6,
        maxLength: 6,
      }),
      metrics: fc.subarray([...metricPool]),
      interval: fc.constantFrom("10s", "30s"),
      bake: fc.constantFrom("0s", "2m", "10m"),
      progressDeadline: fc.constantFrom("2m", "10m"),
      requiresApproval: fc.boolean(),
    })
    .map((shape) =>
      aRelease({
        stages: [...shape.weights, 100].map((weight, index) => ({
          name: weight === 100 ? "ga" : `at-${weight}`,
          weight,
          hold: shape.holds[index] ?? "0s",
          ...(shape.minimums[index] === undefined ? {} : { minMeasurements: shape.minimums[index] }),
        })),
        analysis: { interval: shape.interval, metrics: shape.metrics.map((metric) => ({ ...metric })) },
        bake: shape.bake,
        progressDeadline: shape.progressDeadline,
        changeRequest: { requiresApproval: shape.requiresApproval },
      }),
    ),
  fc
    .record({ type: fc.constantFrom("standard", "expedited", "emergency"), requiresApproval: fc.boolean() })
    .map(({ type, requiresApproval }) => aRelease({ changeRequest: { type, requiresApproval } })),
  // Blue/green (issue 17.1): a preview at 0%, the switch at 100%, then the promotion.
  fc
    .record({
      preview: fc.constantFrom("0s", "30s", "3m"),
      scaleDownDelay: fc.constantFrom("0s", "1m", "5m"),
      requiresApproval: fc.boolean(),
      metrics: fc.subarray([...metricPool]),
      router: fc.constantFrom("gatewayAPI", "nginx"),
    })
    .map((shape) =>
      aRelease({
        blueGreen: {
          preview: shape.preview,
          scaleDownDelay: shape.scaleDownDelay,
          requiresApproval: shape.requiresApproval,
        },
        traffic:
          shape.router === "nginx"
            ? { nginx: { ingress: "checkout" } }
            : { gatewayAPI: { httpRoute: "checkout" } },
        analysis: { interval: "30s", metrics: shape.metrics.map((metric) => ({ ...metric })) },
        bake: "1m",
      }),
    ),
);

// ---- driving one reconcile, with every invariant checked ----

interface Run {
  release: Release;
  plan: ReleasePlan;
  cluster: Cluster;
  nowMs: number;
  control: NonNullable<Release["spec"]["control"]>;
  /** Highest weight sent to the canary so far, and whether it was later set back to 0. */
  highestWeight: number;
  weightWithdrawn: boolean;
  everRolledBack: boolean;
}

function startRun(release: Release, unlabelledStable: boolean): Run {
  const { version: _none, ...unlabelled } = aStable();
  return {
    release,
    plan: planFor(release),
    cluster: aCluster(unlabelledStable ? unlabelled : aStable()),
    nowMs: T0,
    control: {},
    highestWeight: 0,
    weightWithdrawn: false,
    everRolledBack: false,
  };
}

function applyCommand(run: Run, command: Command): Run["control"] {
  const at = iso(run.nowMs);
  const control = { ...run.control };
  switch (command) {
    case "none":
      return control;
    case "pause":
      return { ...control, paused: true };
    case "resume":
      return { ...control, paused: false };
    case "promote":
      return { ...control, promote: { by: "bob", at } };
    case "promoteFull":
      return { ...control, promote: { by: "bob", at, full: true } };
    case "abort":
      return { ...control, abort: { by: "carol", at, reason: "random abort" } };
    case "approve":
      return { ...control, approvals: [...(control.approvals ?? []), { by: "dave", at }].slice(-20) };
  }
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

const phaseOf = (status: ReleaseStatus | undefined) => status?.phase ?? "Pending";
const isTerminal = (status: ReleaseStatus | undefined) => terminalPhases.includes(phaseOf(status));
const announcementsIn = (actions: readonly Action[]) =>
  actions.filter((action) => action.type === "notify" || action.type === "emitEvent");

function reconcile(
  run: Run,
  advanceMs: number,
  verdicts: readonly Verdict[],
  control: Run["control"],
  extras: WorldExtras,
  trouble: (cluster: Cluster) => Cluster = (cluster) => cluster,
): Run {
  const nowMs = run.nowMs + advanceMs;
  const cluster = trouble(run.cluster);
  const release: Release = { ...run.release, spec: { ...run.release.spec, control } };
  const observations = { ...observe(cluster, nowMs, extras), identity: stampedByWebhook(release) };
  const before = release.status;
  const result = decide(deepFreeze({ release: structuredClone(release), plan: run.plan, observations }));

  checkInvariants(run, before, result, observations, release);

  const metricIndex = new Map(run.plan.metrics.map((metric, index) => [metric.name, index]));
  const verdictFor = (metric: string) => verdicts[metricIndex.get(metric) ?? 0] ?? "pass";
  const next: Run = {
    ...run,
    release: { ...release, status: result.status },
    cluster: carryOut(cluster, result.actions, run.plan, nowMs, verdictFor),
    nowMs,
    control,
    everRolledBack: run.everRolledBack || phaseOf(result.status) === "RollingBack",
  };
  return trackWeights(next, result, observations);
}

function checkInvariants(
  run: Run,
  before: ReleaseStatus | undefined,
  result: EngineResult,
  observations: Observations,
  release: Release,
): void {
  const status = result.status;

  // The status is always valid and small.
  const parsed = releaseStatusSchema.safeParse(status);
  if (!parsed.success) throw new Error(`invalid status: ${parsed.error.message}`);
  expect(JSON.stringify(status).length).toBeLessThan(STATUS_SIZE_BOUND);

  // A terminal phase never changes and acts no more.
  if (isTerminal(before)) {
    expectSame(status, before);
    expect(result.actions).toEqual([]);
  }

  // Deciding again on the same observations changes nothing and announces nothing.
  const repeat = decide({ release: { ...release, status }, plan: run.plan, observations });
  expectSame(repeat.status, status);
  expect(announcementsIn(repeat.actions)).toEqual([]);

  // Alarms raised since the start, and aborts, are obeyed in the same reconcile.
  const startedBefore = before?.startedAt;
  const activeBefore =
    startedBefore !== undefined && !isTerminal(before) && phaseOf(before) !== "RollingBack";
  const newAlarm = observations.alerts.some(
    (alert) => Date.parse(alert.startsAt) >= Date.parse(startedBefore ?? ""),
  );
  if (activeBefore && (newAlarm || release.spec.control?.abort)) {
    expect(["RollingBack", "RolledBack", "Failed"]).toContain(phaseOf(status));
    expect(status.rollback?.trigger).toBe(release.spec.control?.abort ? "manual" : "alert");
  }

  // Every phase change is in the record, as a chain from the old phase to the new, with one event each.
  const recorded = (s: ReleaseStatus | undefined) =>
    (s?.transitions.length ?? 0) + (s?.transitionsDropped ?? 0);
  const added = recorded(status) - recorded(before);
  const newEntries = added === 0 ? [] : status.transitions.slice(-added);
  expect(newEntries).toHaveLength(added);
  if (added === 0) expect(phaseOf(status)).toBe(phaseOf(before));
  else {
    expect(newEntries[0]?.from).toBe(phaseOf(before));
    expect(newEntries.at(-1)?.to).toBe(phaseOf(status));
    newEntries.slice(1).forEach((entry, index) => expect(entry.from).toBe(newEntries[index]?.to));
  }
  const isServiceEvent = (reason: string) => reason.startsWith("CanaryService");
  const freezeReasons = ["ChangeFreeze", "ChangeFreezeEnded"];
  const phaseEvents = result.actions.filter(
    (action) =>
      action.type === "emitEvent" &&
      action.reason !== "StageEntered" &&
      !isServiceEvent(action.reason) &&
      !freezeReasons.includes(action.reason),
  );
  expect(phaseEvents).toHaveLength(added);
  // The canary Service is said to be missing (or back) once, when WorkloadsReady says so first.
  const workloadsReason = (s: ReleaseStatus | undefined) =>
    s?.conditions.find((condition) => condition.type === "WorkloadsReady")?.reason;
  const serviceEvents = result.actions.filter(
    (action) => action.type === "emitEvent" && isServiceEvent(action.reason),
  );
  if (workloadsReason(status) === workloadsReason(before)) expect(serviceEvents).toEqual([]);
  expect(serviceEvents.length).toBeLessThanOrEqual(1);

  // A freeze in flight is announced once, when the ChangeFreeze condition turns True.
  const freezeOf = (s: ReleaseStatus | undefined) =>
    s?.conditions.find((condition) => condition.type === "ChangeFreeze")?.status;
  const freezeEvents = result.actions.filter(
    (action) => action.type === "emitEvent" && action.reason === "ChangeFreeze",
  );
  expect(freezeEvents).toHaveLength(freezeOf(status) === "True" && freezeOf(before) !== "True" ? 1 : 0);

  // No stage is skipped unless a person promoted in this very reconcile.
  const stageIndex = (name: string) =>
    name === "bake" ? run.plan.stages.length : run.plan.stages.findIndex((stage) => stage.name === name);
  const promotedNow = status.handledPromoteAt !== before?.handledPromoteAt;
  const previousRecords = before?.stages ?? [];
  const entered = status.stages.slice(previousRecords.length);
  let lastIndex = previousRecords.length === 0 ? -1 : stageIndex(previousRecords.at(-1)?.name ?? "");
  for (const record of entered) {
    const index = stageIndex(record.name);
    if (promotedNow) expect(index).toBeGreaterThan(lastIndex);
    else expect(index).toBe(lastIndex + 1);
    lastIndex = index;
  }

  // A rollback is declared done only when the cluster shows it done.
  if (phaseOf(status) === "RolledBack" && phaseOf(before) !== "RolledBack") {
    expectRolledBack(observations, status);
  }
}

/** toEqual, without its cost on the (common) equal case. */
function expectSame(actual: unknown, expected: unknown): void {
  if (!isDeepStrictEqual(actual, expected)) expect(actual).toEqual(expected);
}

function expectRolledBack(
  observations: Pick<Observations, "traffic" | "canary" | "stable">,
  status: ReleaseStatus,
) {
  expect(observations.traffic.canaryWeight).toBe(0);
  expect(!observations.canary.exists || observations.canary.desiredReplicas === 0).toBe(true);
  expect(observations.stable.images).toMatchObject(status.previous?.images ?? {});
  expect(observations.stable.version).toBe(status.previous?.version);
}

/**
 * Canary weights only rise; they drop, to 0 and for good, only on rollback or once stable
 * took over — or, until it can take traffic again, while the canary Service cannot (missing,
 * or no Ready pod behind it): no weight ever goes to a Service that cannot take it.
 */
function trackWeights(run: Run, result: EngineResult, observations: Observations): Run {
  let { highestWeight, weightWithdrawn } = run;
  const service = observations.canaryService;
  const serviceDown =
    run.release.spec.traffic.replicas === undefined && (!service.exists || service.readyEndpoints === 0);
  for (const action of result.actions) {
    if (action.type !== "setWeight") continue;
    if (action.canaryWeight > 0) {
      expect(serviceDown).toBe(false);
      expect(weightWithdrawn).toBe(false);
      expect(action.canaryWeight).toBeGreaterThanOrEqual(highestWeight);
      // More traffic only ever goes to a canary seen Ready on the new images.
      if (action.canaryWeight > highestWeight) {
        expect(observations.canary.ready).toBe(true);
        expect(observations.canary.images).toMatchObject(run.release.spec.images);
      }
      highestWeight = action.canaryWeight;
    } else if (highestWeight > 0) {
      const phase = phaseOf(result.status);
      if (serviceDown && phase !== "RollingBack" && result.status.bakeStartedAt === undefined) continue;
      expect(phase === "RollingBack" || result.status.bakeStartedAt !== undefined).toBe(true);
      weightWithdrawn = true;
    }
  }
  return { ...run, highestWeight, weightWithdrawn };
}

/** Crashes hit running pods: the canary's, or stable's once it runs the new version. */
function troubleFor(step: RandomTick, release: Release) {
  return (cluster: Cluster): Cluster => {
    if (step.crash === "canary") return crashCanary(cluster);
    if (step.crash === "stall") return stallCanary(cluster);
    if (step.crash === "service") return { ...cluster, canaryService: false, canaryServiceFails: true };
    if (step.crash === "stable" && cluster.stable.version === release.spec.version)
      return crashStable(cluster);
    return cluster;
  };
}

function runRandomHistory(
  release: Release,
  unlabelledStable: boolean,
  profile: VerdictProfile,
  ticks: readonly RandomTick[],
): Run {
  let run = startRun(release, unlabelledStable);
  for (const step of ticks) {
    const control = applyCommand(run, step.command);
    const extras: WorldExtras = {
      alerts: step.alert
        ? [
            {
              name: "CheckoutDown",
              fingerprint: "0f1e2d3c",
              startsAt: iso(run.nowMs),
              labels: { severity: "critical" },
            },
          ]
        : [],
      changeWindow: {
        open: step.window !== "closed",
        frozen: step.window === "frozen",
        note: step.window,
        ...(step.window === "closed" ? { nextOpenAt: iso(run.nowMs + 60 * MINUTE) } : {}),
      },
      ...(step.blocked ? { blockingRelease: "checkout-2-3-9" } : {}),
    };
    const verdicts = step.verdictRolls.map((roll) => verdictOf(roll, profile));
    run = reconcile(run, step.advanceMs, verdicts, control, extras, troubleFor(step, release));
  }
  return run;
}

/** The trouble is over and people cooperate: resume, approve, and promote past a metric pause. */
function drain(run: Run, stepMs = MINUTE): Run {
  let current = run;
  for (let count = 0; count < 400 && !isTerminal(current.release.status); count++) {
    const at = iso(current.nowMs);
    const pausedByMetric = phaseOf(current.release.status) === "Paused";
    const control: Run["control"] = {
      ...current.control,
      paused: false,
      approvals: [...(current.control.approvals ?? []), { by: "erin", at }].slice(-20),
      ...(pausedByMetric ? { promote: { by: "bob", at } } : {}),
    };
    current = reconcile(current, stepMs, ["pass", "pass"], control, {});
  }
  return current;
}

describe("decide, driven through random histories against an ideal cluster", () => {
  it(`keeps every invariant after every reconcile, and always reaches a terminal phase (${NUM_RUNS} runs)`, () => {
    fc.assert(
      fc.property(
        releaseArb,
        rarely(10),
        profileArb,
        fc.array(tickArb, { minLength: 1, maxLength: 80 }),
        (release, unlabelled, profile, ticks) => {
          const end = drain(runRandomHistory(release, unlabelled, profile, ticks));
          const status = end.release.status;
          expect(isTerminal(status)).toBe(true);

          const world = {
            traffic: { canaryWeight: end.cluster.canaryWeight, verified: true },
            canary: end.cluster.canary,
            stable: end.cluster.stable,
          };
          if (status?.phase === "Succeeded") {
            expect(end.cluster.stable).toMatchObject({
              images: release.spec.images,
              version: release.spec.version,
            });
            expect(world.traffic.canaryWeight).toBe(0);
            expect(end.cluster.canary.desiredReplicas).toBe(0);
          }
          // Every rollback ends with all traffic on stable, no canary pods and stable on the previous images.
          if (end.everRolledBack) {
            expect(status?.phase).toBe("RolledBack");
            if (status) expectRolledBack(world, status);
          }
        },
      ),
      { numRuns: NUM_RUNS },
    );
  });

  it(`never changes a terminal release, whatever is observed or asked (${NUM_RUNS} runs)`, () => {
    fc.assert(
      fc.property(releaseArb, fc.array(tickArb, { minLength: 1, maxLength: 30 }), (release, ticks) => {
        const finished = drain(startRun(release, false), 5 * MINUTE);
        const frozen = finished.release.status;
        // reconcile() checks that nothing changes and nothing is done on every one of these.
        const after = runRandomHistoryFrom(finished, ticks);
        expect(after.release.status).toEqual(frozen);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it(`keeps the status under ${STATUS_SIZE_BOUND} bytes however long people hold the release (${CHURN_RUNS} runs)`, () => {
    fc.assert(
      fc.property(
        releaseArb,
        fc.array(churnTickArb, { minLength: 120, maxLength: 160 }),
        (release, ticks) => {
          const healthy = { fail: 0, inconclusive: 0, error: 0 };
          const end = runRandomHistory(release, false, healthy, ticks);
          const status = end.release.status;
          const recorded = (status?.transitions.length ?? 0) + (status?.transitionsDropped ?? 0);
          expect(status?.transitions.length).toBe(Math.min(recorded, STATUS_LIMITS.transitions));
        },
      ),
      { numRuns: CHURN_RUNS },
    );
  });
});

/** People toggling pause every few seconds for a long time: the record must stay bounded. */
const churnTickArb: fc.Arbitrary<RandomTick> = fc
  .tuple(
    tickArb,
    fc.constantFrom<Command>("pause", "resume", "pause", "resume", "approve"),
    fc.integer({ min: SECOND, max: 20 * SECOND }),
  )
  .map(([random, command, advanceMs]) => ({
    ...random,
    command,
    advanceMs,
    alert: false,
    crash: "none" as const,
    window: "open" as const,
    blocked: false,
  }));

function runRandomHistoryFrom(run: Run, ticks: readonly RandomTick[]): Run {
  let current = run;
  for (const step of ticks) {
    const control = applyCommand(current, step.command);
    const alerts = step.alert
      ? [{ name: "Down", fingerprint: "ff", startsAt: iso(current.nowMs), labels: {} }]
      : [];
    const verdicts = step.verdictRolls.map((roll) => (roll < 500 ? "fail" : "pass"));
    current = reconcile(
      current,
      step.advanceMs,
      verdicts,
      control,
      { alerts },
      troubleFor(step, current.release),
    );
  }
  return current;
}
