import type {
  Measurement,
  Release,
  ReleasePlan,
  ReleaseStatus,
  StageRouting,
  Verdict,
} from "../../../src/api/index.ts";
import {
  decide,
  type Action,
  type AlertObservation,
  type AutoscalerObservation,
  type EngineResult,
  type Observations,
  type WorkloadObservation,
} from "../../../src/engine/index.ts";
import { canaryReplicasForWeight, reachedCanaryWeight } from "../../../src/traffic/replicas.ts";
import { aMeasurement, aStable, iso, noCanary, SECOND, T0 } from "./builders.ts";

// An ideal cluster: it does what the actions say, at once, and shows it in the
// next observations. Tests set its trouble (a crash-looping canary, pods that
// never get Ready, a firing alert) as plain fields. A simulation alternates
// observe → decide → carry out, with a clock that moves forward.

export interface Cluster {
  stable: WorkloadObservation;
  canary: WorkloadObservation;
  canaryWeight: number;
  /** Every measurement taken so far, newest last; all are shown, the engine must skip the counted ones. */
  measurements: Measurement[];
  /** New canary pods crash-loop. */
  canaryCrashLoop: boolean;
  /** New canary pods never get Ready (but do not crash). */
  canaryNeverReady: boolean;
  /**
   * No router: the canary pods sit behind the stable Service, setWeight scales them as
   * the replicas router does, and the weight observed is their share of the Ready pods.
   */
  replicaSplit: boolean;
  /** The weight last asked, which the replica split only approximates. */
  requestedWeight?: number;
  /** The canary Service exists (ensureCanary makes it). */
  canaryService: boolean;
  /** Creating the canary Service fails (no permission, the Service IP range full). */
  canaryServiceFails: boolean;
  /** The baseline Deployment (ensureBaseline makes it), when a metric compares with it. */
  baseline?: WorkloadObservation;
  /** The baseline's share the route holds. */
  baselineWeight?: number;
  /** The routing stage's match or mirror the route carries (docs/routing-stages.md). */
  routing?: StageRouting;
  /** The stable Deployment's HorizontalPodAutoscaler (docs/autoscaling.md). */
  autoscaler?: AutoscalerObservation;
  /** The canary's copy of it (ensureCanaryAutoscaler makes it). */
  canaryAutoscaler?: AutoscalerObservation;
}

export function aCluster(stable: WorkloadObservation = aStable()): Cluster {
  return {
    stable,
    canary: noCanary(),
    canaryWeight: 0,
    measurements: [],
    canaryCrashLoop: false,
    canaryNeverReady: false,
    replicaSplit: false,
    canaryService: false,
    canaryServiceFails: false,
  };
}

export type VerdictFor = (metric: string) => Verdict;
/** One metric's measurement of a round taken at `atMs`, when a test wants its own values. */
export type MeasureFor = (metric: string, atMs: number) => Measurement;

export function carryOut(
  cluster: Cluster,
  actions: readonly Action[],
  plan: ReleasePlan,
  nowMs: number,
  verdictFor: VerdictFor,
  measureFor?: MeasureFor,
): Cluster {
  let next: Cluster = { ...cluster };
  for (const action of actions) {
    switch (action.type) {
      case "ensureCanary":
        next = {
          ...next,
          canary: canaryPods(next, action.images, action.replicas),
          canaryService: next.canaryService || !next.canaryServiceFails,
        };
        break;
      case "ensureBaseline":
        next = {
          ...next,
          baseline: {
            exists: true,
            images: action.images,
            ...(action.version === undefined ? {} : { version: action.version }),
            desiredReplicas: action.replicas,
            readyReplicas: action.replicas,
            ready: true,
            progressDeadlineExceeded: false,
          },
        };
        break;
      case "scaleBaseline":
        if (next.baseline)
          next = {
            ...next,
            baseline: { ...next.baseline, desiredReplicas: action.replicas, readyReplicas: action.replicas },
          };
        break;
      case "removeCanary":
        next = { ...next, canary: noCanary(), canaryService: false };
        break;
      case "ensureCanaryAutoscaler":
        next = {
          ...next,
          canaryAutoscaler: {
            name: `${next.autoscaler?.name ?? "?"}-canary`,
            minReplicas: action.minReplicas,
            maxReplicas: action.maxReplicas,
          },
        };
        break;
      case "removeCanaryAutoscaler": {
        const { canaryAutoscaler: _gone, ...rest } = next;
        next = rest;
        break;
      }
      case "releaseFinalizer":
        break;
      case "scaleCanary":
        next = { ...next, canary: canaryPods(next, next.canary.images, action.replicas) };
        break;
      case "setWeight":
        next = next.replicaSplit
          ? {
              ...next,
              requestedWeight: action.canaryWeight,
              canary: canaryPods(
                next,
                next.canary.images,
                canaryReplicasForWeight(action.canaryWeight, next.stable.desiredReplicas),
              ),
            }
          : {
              ...next,
              canaryWeight: action.canaryWeight,
              baselineWeight: action.baselineWeight ?? 0,
              ...(action.routing ? { routing: action.routing } : { routing: undefined }),
            };
        break;
      case "promoteStable":
        next = { ...next, stable: freshStablePods(next.stable, action.images, action.version) };
        break;
      case "revertStable":
        next = { ...next, stable: freshStablePods(next.stable, action.images, action.version) };
        break;
      case "runAnalysis": {
        // Taken just after the request, so later than the `now` that asked for it.
        const taken = plan.metrics.map((metric) =>
          measureFor
            ? measureFor(metric.name, nowMs + 1)
            : aMeasurement(metric.name, verdictFor(metric.name), nowMs + 1),
        );
        next = { ...next, measurements: [...next.measurements, ...taken].slice(-40) };
        break;
      }
      case "notify":
      case "emitEvent":
        break;
    }
  }
  return next;
}

/** A new stable template rolls out to new, healthy pods. */
function freshStablePods(
  stable: WorkloadObservation,
  images: Record<string, string>,
  version: string | undefined,
): WorkloadObservation {
  const { version: _old, unhealthy: _gone, ...rest } = stable;
  return {
    ...rest,
    images: { ...stable.images, ...images },
    ...(version === undefined ? {} : { version }),
    readyReplicas: stable.desiredReplicas,
    ready: true,
  };
}

/** The running canary pods start crash-looping (and so do any it gets later). */
export function crashCanary(cluster: Cluster): Cluster {
  const crashing = { ...cluster, canaryCrashLoop: true };
  return cluster.canary.exists
    ? { ...crashing, canary: canaryPods(crashing, cluster.canary.images, cluster.canary.desiredReplicas) }
    : crashing;
}

/** The running canary pods stop being Ready without crashing (a failing readiness probe). */
export function stallCanary(cluster: Cluster): Cluster {
  const stalled = { ...cluster, canaryNeverReady: true };
  return cluster.canary.exists
    ? { ...stalled, canary: canaryPods(stalled, cluster.canary.images, cluster.canary.desiredReplicas) }
    : stalled;
}

/** The running stable pods start crash-looping; the next template change replaces them. */
export function crashStable(cluster: Cluster): Cluster {
  return {
    ...cluster,
    stable: {
      ...cluster.stable,
      ready: false,
      readyReplicas: 0,
      unhealthy: {
        pod: "checkout-5c8b-q9z7w",
        container: "checkout",
        reason: "CrashLoopBackOff",
        restarts: 3,
      },
    },
  };
}

function canaryPods(cluster: Cluster, images: Record<string, string>, replicas: number): WorkloadObservation {
  const failing = replicas > 0 && (cluster.canaryCrashLoop || cluster.canaryNeverReady);
  return {
    exists: true,
    images,
    version: "2.4.0",
    desiredReplicas: replicas,
    readyReplicas: failing ? 0 : replicas,
    ready: !failing,
    progressDeadlineExceeded: false,
    ...(cluster.canaryCrashLoop && replicas > 0
      ? {
          unhealthy: {
            pod: "checkout-canary-7d9f-x2k4q",
            container: "checkout",
            reason: "CrashLoopBackOff",
            restarts: 5,
          },
        }
      : {}),
  };
}

export interface WorldExtras {
  alerts?: AlertObservation[];
  /** Default: the admission webhook on, the creator "alice" and every approval's `by` verified. */
  identity?: Observations["identity"];
  changeWindow?: Observations["changeWindow"];
  blockingRelease?: string;
}

export function observe(cluster: Cluster, nowMs: number, extras: WorldExtras = {}): Observations {
  return {
    now: iso(nowMs),
    stable: cluster.stable,
    canary: cluster.canary,
    canaryService: {
      name: "checkout-canary",
      exists: cluster.canaryService,
      readyEndpoints: cluster.canaryService && cluster.canary.exists ? cluster.canary.readyReplicas : 0,
    },
    traffic: cluster.replicaSplit
      ? {
          canaryWeight: reachedCanaryWeight(
            cluster.stable.readyReplicas,
            cluster.canary.exists ? cluster.canary.readyReplicas : 0,
          ),
          ...(cluster.requestedWeight === undefined ? {} : { requestedWeight: cluster.requestedWeight }),
          verified: true,
        }
      : {
          canaryWeight: cluster.canaryWeight,
          verified: true,
          ...(cluster.baselineWeight ? { baselineWeight: cluster.baselineWeight } : {}),
          ...(cluster.routing ? { routing: cluster.routing } : {}),
        },
    ...(cluster.baseline === undefined ? {} : { baseline: cluster.baseline }),
    ...(cluster.autoscaler === undefined ? {} : { autoscaler: cluster.autoscaler }),
    ...(cluster.canaryAutoscaler === undefined ? {} : { canaryAutoscaler: cluster.canaryAutoscaler }),
    measurements: cluster.measurements,
    alerts: extras.alerts ?? [],
    changeWindow: extras.changeWindow ?? { open: true, frozen: false, note: "weekday window" },
    ...(extras.blockingRelease === undefined ? {} : { blockingRelease: extras.blockingRelease }),
  };
}

/** What the controller verifies when the webhook stamped everything: each person is who they say. */
export function stampedByWebhook(release: Release): NonNullable<Observations["identity"]> {
  return {
    webhook: true,
    creator: { verified: true, user: "alice", groups: ["developers"] },
    approvals: (release.spec.control?.approvals ?? []).map((approval) => ({
      verified: true,
      user: approval.by,
      groups: ["approvers"],
    })),
  };
}

export interface Simulation {
  release: Release;
  plan: ReleasePlan;
  cluster: Cluster;
  nowMs: number;
  /** Every reconcile so far, oldest first. */
  history: { observations: Observations; result: EngineResult }[];
}

export function simulate(release: Release, plan: ReleasePlan, cluster: Cluster = aCluster()): Simulation {
  return { release, plan, cluster, nowMs: T0, history: [] };
}

export interface Tick {
  /** How far the clock moves before this reconcile. */
  advanceMs?: number;
  verdictFor?: VerdictFor;
  /** Instead of verdictFor: each metric's whole measurement (values, the baseline's value). */
  measureFor?: MeasureFor;
  control?: Release["spec"]["control"];
  extras?: WorldExtras;
  cluster?: Partial<Cluster>;
}

/** One reconcile: move the clock, observe, decide, carry out. */
export function tick(sim: Simulation, input: Tick = {}): Simulation {
  const nowMs = sim.nowMs + (input.advanceMs ?? 0);
  const cluster = { ...sim.cluster, ...input.cluster };
  const release: Release =
    input.control === undefined
      ? sim.release
      : { ...sim.release, spec: { ...sim.release.spec, control: input.control } };
  const observations = {
    ...observe(cluster, nowMs, input.extras),
    identity: input.extras?.identity ?? stampedByWebhook(release),
  };
  const result = decide({ release, plan: sim.plan, observations });
  return {
    release: { ...release, status: result.status },
    plan: sim.plan,
    cluster: carryOut(
      cluster,
      result.actions,
      sim.plan,
      nowMs,
      input.verdictFor ?? (() => "pass"),
      input.measureFor,
    ),
    nowMs,
    history: [...sim.history, { observations, result }],
  };
}

/** Whether the release has ended (Succeeded, RolledBack or Failed). */
export function hasEnded(sim: Simulation): boolean {
  return ["Succeeded", "RolledBack", "Failed"].includes(sim.release.status?.phase ?? "");
}

/**
 * Runs to a terminal phase with a person promoting past every pause: a metric without data
 * more than inconclusiveLimit times pauses the release for a person (docs/analysis.md), and
 * the pause can come a reconcile or two later, when the last rounds are folded in.
 */
export function runToEndPromotingPauses(sim: Simulation, input: Tick = {}, maxTicks = 2000): Simulation {
  const pausedOrDone = (current: Simulation) => hasEnded(current) || statusOf(current).phase === "Paused";
  let current = sim;
  for (let pauses = 0; pauses < 5; pauses++) {
    current = runUntil(current, pausedOrDone, input, maxTicks);
    if (statusOf(current).phase !== "Paused") return current;
    const promote = { by: "bob", at: new Date(current.nowMs).toISOString() };
    current = tick(current, { ...input, control: { ...current.release.spec.control, promote } });
  }
  return runUntil(current, hasEnded, input, maxTicks);
}

/** Reconciles every `advanceMs` until `done` holds, or fails after `maxTicks`. */
export function runUntil(
  sim: Simulation,
  done: (sim: Simulation) => boolean,
  input: Tick = {},
  maxTicks = 500,
): Simulation {
  let current = sim;
  for (let count = 0; count < maxTicks; count++) {
    if (done(current)) return current;
    current = tick(current, { advanceMs: 10 * SECOND, ...input });
  }
  if (done(current)) return current;
  throw new Error(
    `still ${current.release.status?.phase} after ${maxTicks} reconciles: ${current.release.status?.message}`,
  );
}

export function statusOf(sim: Simulation): ReleaseStatus {
  const status = sim.release.status;
  if (!status) throw new Error("the release has no status yet");
  return status;
}

export function phaseIs(phase: ReleaseStatus["phase"]) {
  return (sim: Simulation) => sim.release.status?.phase === phase;
}

/** Every action of every reconcile so far, in order. */
export function allActions(sim: Simulation): Action[] {
  return sim.history.flatMap((step) => step.result.actions);
}

export function phasePath(sim: Simulation): string[] {
  return statusOf(sim).transitions.map((entry) => `${entry.from}→${entry.to}`);
}
