// Verifying a rollback: the stable Deployment Ready on the restored version and images,
// and every metric of the release back within its threshold for that version in
// Prometheus. judgeVerification is the pure decision; verifyRollback polls until it
// passes or the time is up.
import {
  formatMetricValue,
  metricUnit,
  parseDuration,
  type Measurement,
  type Metric,
  type VersionRef,
} from "../api/index.ts";
import { runAnalysis, type MetricsProvider, type TemplateVariables } from "../analysis/index.ts";
import { thresholdText, versionMismatches } from "../engine/index.ts";
import type { WorkloadObservation } from "../engine/types.ts";
import { abortWith, type KubeClients } from "../kube/index.ts";
import { labelSelectorString, observeWorkload, ownedPods } from "../workload/index.ts";
import { sleep } from "../kube/interruptible-sleep.ts";

export interface VerificationResult {
  ok: boolean;
  /** What was seen, one line: pods, then each metric's value against its threshold. */
  summary: string;
  /** Why it did not pass; empty when ok. */
  problems: string[];
}

/** Before `at`, the metrics' rate window reaches back to before the restored version served again. */
export interface Settling {
  at: string;
  /** When the round was taken. */
  now: string;
  /** The rate window, e.g. "1m". */
  window: string;
}

/**
 * One round's verdict. While settling, no round passes: the window could still hold
 * stale samples from when the restored version last ran, which would look healthy.
 */
export function judgeVerification(
  deployment: string,
  restored: VersionRef,
  workload: WorkloadObservation,
  metrics: readonly Metric[],
  measurements: readonly Measurement[],
  settling?: Settling,
): VerificationResult {
  const problems: string[] = [];
  if (settling && Date.parse(settling.now) < Date.parse(settling.at))
    problems.push(
      `metrics count from ${settling.at}, once their ${settling.window} window holds only traffic since the rollback`,
    );
  if (!workload.exists) {
    problems.push(`deployment ${deployment} does not exist`);
  } else {
    // The engine's test for a finished rollback, each difference said.
    for (const mismatch of versionMismatches(workload, restored))
      problems.push(
        mismatch.kind === "version"
          ? `deployment ${deployment} runs version ${mismatch.running ?? "(no version label)"}, not ${mismatch.wanted}`
          : `container ${mismatch.container} runs ${mismatch.running ?? "nothing"}, not ${mismatch.wanted}`,
      );
    if (workload.unhealthy) {
      const problem = workload.unhealthy;
      problems.push(
        `pod ${problem.pod} container ${problem.container} is ${problem.reason} (${problem.restarts} restarts)`,
      );
    }
    if (!workload.ready)
      problems.push(`pods not Ready: ${workload.readyReplicas}/${workload.desiredReplicas} ready`);
  }
  const seen = metrics.map((metric) => {
    const measurement = measurements.find((candidate) => candidate.metric === metric.name);
    const threshold = thresholdText(metric);
    if (!measurement) {
      problems.push(`${metric.name}: not measured`);
      return `${metric.name} not measured`;
    }
    const value =
      measurement.value === undefined ? "no value" : formatMetricValue(measurement.value, metricUnit(metric));
    if (measurement.verdict !== "pass")
      problems.push(
        `${metric.name} ${value} (${threshold}) is ${measurement.verdict}: ${measurement.reason}`,
      );
    return `${metric.name} ${value} (${threshold}) ${measurement.verdict}`;
  });
  const pods = workload.exists
    ? `${workload.readyReplicas}/${workload.desiredReplicas} pods Ready`
    : "no deployment";
  return {
    ok: problems.length === 0,
    summary: [`${deployment} on ${workload.version ?? "?"}: ${pods}`, ...seen].join("; "),
    problems,
  };
}

/** A Kubernetes call from the CLI gives up after this long. */
const KUBE_CALL_DEADLINE_MS = 15_000;
/** The last round gets at least this long, so it can still report what it saw. */
const MIN_ROUND_MS = 2_000;

export interface VerifyRollbackOptions {
  clients: KubeClients;
  namespace: string;
  deployment: string;
  restored: VersionRef;
  metrics: readonly Metric[];
  /** The template variables of the restored version, analysed on stable. */
  variables: TemplateVariables;
  provider: MetricsProvider;
  timeoutMs: number;
  /** When the restored version began serving again, if its series may hold older samples. */
  servingSince?: string;
  /** Between rounds; default 5 s. */
  intervalMs?: number;
  /** Stops the rounds early (Ctrl-C): the last result, or undefined before the first. */
  signal?: AbortSignal;
  onRound?: (result: VerificationResult) => void;
}

/** Rounds until one passes (ok) or the time is up (the last round's result, not ok). */
export async function verifyRollback(
  options: VerifyRollbackOptions,
): Promise<VerificationResult | undefined> {
  const deadline = Date.now() + options.timeoutMs;
  const window = options.variables.interval ?? "1m";
  const settledAt =
    options.servingSince === undefined
      ? undefined
      : new Date(Date.parse(options.servingSince) + parseDuration(window)).toISOString();
  let last: VerificationResult | undefined;
  for (;;) {
    // A round never outlives the time left (a hung Prometheus or API server included);
    // the final round still gets a little time to say what it saw.
    const remainingMs = Math.max(deadline - Date.now(), MIN_ROUND_MS);
    const roundSignal = AbortSignal.any([
      AbortSignal.timeout(Math.min(remainingMs, KUBE_CALL_DEADLINE_MS)),
      ...(options.signal ? [options.signal] : []),
    ]);
    let workload: WorkloadObservation;
    let round: Awaited<ReturnType<typeof runAnalysis>>;
    try {
      [workload, round] = await Promise.all([
        observeStable(options.clients, options.namespace, options.deployment, roundSignal),
        runAnalysis({
          metrics: options.metrics,
          variables: options.variables,
          provider: options.provider,
          signal: roundSignal,
        }),
      ]);
    } catch (error) {
      if (options.signal?.aborted) return undefined;
      if (!roundSignal.aborted) throw error;
      last = {
        ok: false,
        summary: `no answer from the API server within ${Math.round(remainingMs / 1000)} s`,
        problems: [`the API server did not answer within ${Math.round(remainingMs / 1000)} s`],
      };
      options.onRound?.(last);
      if (Date.now() + (options.intervalMs ?? 5_000) > deadline) return last;
      continue;
    }
    last = judgeVerification(
      options.deployment,
      options.restored,
      workload,
      options.metrics,
      round.measurements,
      settledAt === undefined ? undefined : { at: settledAt, now: round.at, window },
    );
    options.onRound?.(last);
    if (last.ok || Date.now() + (options.intervalMs ?? 5_000) > deadline) return last;
    if (!(await sleep(options.intervalMs ?? 5_000, options.signal))) return undefined;
  }
}

/** The stable Deployment and its own Pods, as the engine sees them; each call ends by `signal` or the CLI's deadline. */
export async function observeStable(
  clients: KubeClients,
  namespace: string,
  name: string,
  signal: AbortSignal = AbortSignal.timeout(KUBE_CALL_DEADLINE_MS),
): Promise<WorkloadObservation> {
  const options = abortWith(signal);
  let deployment;
  try {
    deployment = await clients.apps.readNamespacedDeployment({ name, namespace }, options);
  } catch (error) {
    if ((error as { code?: number }).code === 404) return observeWorkload(undefined, []);
    throw error;
  }
  const selector = deployment.spec?.selector ? labelSelectorString(deployment.spec.selector) : undefined;
  const [replicaSets, pods] = await Promise.all([
    clients.apps.listNamespacedReplicaSet(
      { namespace, ...(selector ? { labelSelector: selector } : {}) },
      options,
    ),
    clients.core.listNamespacedPod({ namespace, ...(selector ? { labelSelector: selector } : {}) }, options),
  ]);
  return observeWorkload(deployment, ownedPods(deployment, replicaSets.items, pods.items));
}
