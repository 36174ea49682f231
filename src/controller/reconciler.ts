// Over 400 lines on purpose, for now: one reconcile's path (validate, observe, decide, write, act, keep the record, delete) reads top to bottom here; observe and execute could move out once the routers work on this file (issue 14.2) has landed.
import { isDeepStrictEqual } from "node:util";
import type { Logger } from "pino";
import {
  terminalPhases,
  comparedMetrics,
  validateRelease,
  verifyIdentity,
  withoutCoverage,
  type ChangeWindowConfig,
  type Coverage,
  type Release,
  type ReleasePlan,
  type ReleaseStatus,
  type StrategyFile,
  type ValidationIssue,
} from "../api/index.ts";
import {
  checkQueryTemplate,
  baselineVariablesFor,
  DEFAULT_BATCH_WAIT_MS,
  measuredTogether,
  QueryBatcher,
  runAnalysis,
  templateVariablesFor,
  type MetricsProvider,
} from "../analysis/index.ts";
import {
  analysedStageOf,
  isSameStage,
  BLOCK_CLEARED_REASON,
  comparingStage,
  decide,
  decideDeletion,
  recordBlocked,
  type Action,
  type AnalysedStage,
  type BlockedObservation,
  type Observations,
} from "../engine/index.ts";
import type { ControllerMetrics } from "../telemetry/metrics.ts";
import { releaseLogFields } from "../telemetry/logger.ts";
import type { TrafficRouter } from "../traffic/index.ts";
import type { AutoscalerManager, WorkloadManager } from "../workload/index.ts";
import { evaluateChangeWindow } from "./change-window.ts";
import { AnalysisRounds } from "./analysis-rounds.ts";
import { MeasurementInbox, observedRounds } from "./measurement-inbox.ts";
import {
  describeApiFailure,
  hasRouteRestoreFinalizer,
  isRouteNotFound,
  parseObjectKey,
  type ReleaseFinalizers,
  type ReleaseStatusWriter,
} from "../kube/index.ts";
import type { AlertInbox, Notifier, ReleaseEventPublisher, ReleaseRecordKeeper } from "./ports.ts";
import { releaseRecordOf } from "../record/release-record.ts";
import { BlockTracker, ReleaseBlockedError } from "./blocked.ts";
import { findBlockingRelease } from "./target-lock.ts";

// One reconcile of one Release: observe → decide (pure engine) → write status →
// carry out the actions. Status is written before the actions, so a controller
// killed in between finds the decision in status and the engine re-derives the
// same convergent actions; notifications and events are said once, after the
// status that records their transition is stored.
//
// A failure a person must fix (a permission, a missing or unfitting object; see
// blocked.ts) reaches the Release: a failed read or action is recorded as a block in
// the Progressing condition through the same status path (recordBlocked, or decide
// with observations.blocked), with an Event; a status write the controller may not
// make is said by an Event alone. Each then throws, so the work queue backs off.
//
// Analysis rounds run beside the reconcile (analysis-rounds.ts): a hung Prometheus must
// never make a rollback trigger wait for the Release's key. Their measurements come back
// through the inbox and a wake; a round of a stage the release has left is cancelled.

export interface ReconcilerDeps {
  strategy: StrategyFile;
  changeWindows: ChangeWindowConfig;
  /** The cached Releases (informer), for lookups and the one-active-release-per-target rule. */
  releases: { get(key: string): unknown; list(): unknown[] };
  workloads: WorkloadManager;
  /**
   * The stable Deployment's HorizontalPodAutoscaler and the canary's copy of it
   * (docs/autoscaling.md). Without it no autoscaler is seen: the canary is sized as without one.
   */
  autoscalers?: AutoscalerManager;
  routerFor(release: Release): TrafficRouter;
  metricsProvider: MetricsProvider;
  /** The shortest {{interval}} of a query (controller configuration prometheus.minimumRateWindow). */
  minimumRateWindowMs?: number;
  statusWriter: Pick<ReleaseStatusWriter, "writeStatus">;
  /** The route-restore finalizer: on while a release may have moved traffic, off when it ends. */
  finalizers: Pick<ReleaseFinalizers, "add" | "remove">;
  events: ReleaseEventPublisher;
  notifier: Notifier;
  alerts: AlertInbox;
  metrics: ControllerMetrics;
  logger: Logger;
  clock?: () => Date;
  /** Verifies identity stamps; without it nothing is verified and approval gates stay closed. */
  stamps?: {
    key(): Promise<Buffer | undefined>;
    webhook: boolean;
    /** Whether the webhook guards writes to this Release; where it does not, no stamp counts. */
    coverage?(release: Release): Promise<Coverage>;
  };
  /** Reconciles a Release again soon (the work queue): an analysis round of it has ended. */
  wake?: (key: string) => void;
  /** Analysis rounds running at once across Releases (default MAX_ROUNDS_IN_FLIGHT). */
  maxRoundsInFlight?: number;
  /** Keeps a finished release's ReleaseRecord; without it no record is written. */
  records?: ReleaseRecordKeeper;
  /**
   * Measure built-in templates of many Releases with one grouped query (default true);
   * false: every Release runs its own queries, as before batching (for comparisons).
   */
  batchQueries?: boolean;
}

export interface ReconcileOutcome {
  /** Reconcile again after this long. */
  requeueAfterMs?: number;
  /** Reconcile again after the key's backoff (the work queue's ReconcileResult). */
  retryWithBackoff?: boolean;
}

/**
 * A write conflicted: the cached Release is older than the stored one. Deciding again at
 * once would decide from the same stale copy (LISTs, a GET and a PUT per pass until the
 * watch catches up); the watch event of the newer version queues the key, and the
 * backoff covers a watch that brings none.
 */
const AFTER_CONFLICT: ReconcileOutcome = { retryWithBackoff: true };

/**
 * A round waits at most this share of its analysis interval (and DEFAULT_BATCH_WAIT_MS at
 * most) for other Releases' rounds to share its queries: 1 s at 30 s, 167 ms at 5 s.
 */
const BATCH_WAIT_SHARE = 1 / 30;

/** After acting on the cluster, look again soon rather than at the engine's slow convergence retry. */
const AFTER_ACTION_REQUEUE_MS = 250;

type Announcement = Extract<Action, { type: "notify" | "emitEvent" }>;

function isAnnouncement(action: Action): action is Announcement {
  return action.type === "notify" || action.type === "emitEvent";
}

/**
 * Whether the decided status differs from the stored one in more than the analysis
 * watermark (currentStage.lastAnalysisAt) moved to ask for the round run right now: that
 * round's measurements are folded into the next status, which moves the watermark anyway,
 * so writing it alone would rewrite every analysing release twice a round (a Paused one
 * included) for a timestamp. Should the process stop before the round is folded, the
 * stored watermark asks for the round again: nothing is lost.
 */
export function statusWorthWriting(
  stored: ReleaseStatus | undefined,
  decided: ReleaseStatus,
  actions: readonly Action[],
): boolean {
  // As JSON, compared whatever the order of keys (the API server's differs from the engine's).
  const plain = (status: ReleaseStatus | undefined): unknown => JSON.parse(JSON.stringify(status ?? {}));
  if (isDeepStrictEqual(plain(decided), plain(stored))) return false;
  if (!actions.some((action) => action.type === "runAnalysis")) return true;
  const withoutWatermark = (status: ReleaseStatus | undefined) =>
    status?.currentStage === undefined
      ? status
      : { ...status, currentStage: { ...status.currentStage, lastAnalysisAt: undefined } };
  return !isDeepStrictEqual(plain(withoutWatermark(decided)), plain(withoutWatermark(stored)));
}

export class ReleaseReconciler {
  readonly #deps: ReconcilerDeps;
  readonly #measurements = new MeasurementInbox();
  readonly #rounds: AnalysisRounds;
  readonly #blocks = new BlockTracker();
  readonly #clock: () => Date;
  readonly #batcher: QueryBatcher | undefined;

  constructor(deps: ReconcilerDeps) {
    this.#deps = deps;
    this.#clock = deps.clock ?? (() => new Date());
    this.#batcher = (deps.batchQueries ?? true) ? new QueryBatcher(deps.metricsProvider) : undefined;
    this.#rounds = new AnalysisRounds({
      ...(deps.maxRoundsInFlight === undefined ? {} : { maxInFlight: deps.maxRoundsInFlight }),
      onRound: (key, stage, round) => this.#measurements.add(key, { stage, round }),
      onEnded: (key) => deps.wake?.(key),
      logger: deps.logger,
    });
  }

  /** Cancels the analysis rounds in flight and starts no more: the controller stops, the next leader asks again. */
  stopAnalysis(): void {
    this.#rounds.stop("the controller is stopping");
  }

  /**
   * Sharded: the Release's shard went to another replica. Its round in flight stops (the
   * new holder measures again; writes of ours would be refused by the fencing anyway) and
   * measurements not yet written are dropped: were the shard to come back, they would be stale.
   */
  handOver(key: string): void {
    this.#forget(key);
  }

  async reconcile(key: string): Promise<ReconcileOutcome> {
    const raw = this.#deps.releases.get(key) as Release | undefined;
    if (!raw) {
      this.#forget(key);
      return {};
    }
    const log = this.#deps.logger.child(releaseLogFields(raw));
    if (raw.metadata.deletionTimestamp !== undefined) return this.#reconcileDeletion(key, raw, log);
    const validation = this.#validate(raw);
    if (!validation.ok) {
      this.#cancelRoundUnlessFor(key, undefined, "the Release is invalid", log);
      return this.#reportInvalid(raw, validation.issues, log);
    }
    const { release, plan } = validation;
    // A finished release never changes again (decide() agrees): no need to look at the cluster.
    if (isFinished(release.status)) {
      this.#forget(key);
      // Its route and finalizer, if a crash came between the last status write and their end.
      if (hasRouteRestoreFinalizer(raw)) await this.#ended(release, raw);
      // Its record, if a crash came before it was written (or it finished before records existed).
      return this.#keepRecord(raw, log);
    }

    // A round asked for a stage the stored status has left since counts for nothing.
    this.#cancelRoundUnlessFor(key, analysedStageOf(release.status), "the release left its stage", log);
    // Until an attempt succeeds, a block recorded earlier still holds.
    const blocked = this.#blocks.current(key, release.status);
    let observations: Observations;
    try {
      observations = await this.#observe(key, release, {
        baseline: comparedMetrics(plan.metrics).length > 0,
      });
    } catch (error) {
      return this.#reportBlocked(key, raw, error, log);
    }
    const result = decide({
      release,
      plan,
      observations: blocked ? { ...observations, blocked } : observations,
    });
    // Rolling back (an alert, an abort, the canary's health), finished or in another stage:
    // the round under way measures what no longer counts, and nothing waits for it.
    this.#cancelRoundUnlessFor(
      key,
      analysedStageOf(result.status),
      `the release is ${result.status.phase ?? "Pending"}: ${result.status.message ?? ""}`.slice(0, 300),
      log,
    );
    /** The Release as stored after this reconcile's writes: a block found later is written over it. */
    let stored: Release = raw;
    // The finalizer goes on before the release first changes the cluster (its status says
    // started before any action is carried out), so deleting it from then on restores traffic.
    if (holdsTraffic(result.status) && !hasRouteRestoreFinalizer(raw)) {
      let added: Awaited<ReturnType<ReconcilerDeps["finalizers"]["add"]>>;
      try {
        added = await this.#deps.finalizers.add(raw);
      } catch (error) {
        return this.#reportBlocked(key, raw, error, log);
      }
      if (added.outcome === "conflict") return AFTER_CONFLICT;
      if (added.outcome === "gone") return {};
      stored = added.release;
    }
    if (statusWorthWriting(release.status, result.status, result.actions)) {
      let written: Awaited<ReturnType<ReconcilerDeps["statusWriter"]["writeStatus"]>>;
      try {
        written = await this.#deps.statusWriter.writeStatus(stored, result.status);
      } catch (error) {
        return this.#reportUnwritable(key, stored, error, log);
      }
      if (written.outcome === "conflict") return AFTER_CONFLICT;
      if (written.outcome === "gone") return {};
      if (written.outcome === "written") {
        stored = written.release;
        this.#statusWritable(key, raw, log);
      }
      this.#measurements.consumed(key, result.status);
      this.#logTransitions(log, release.status, result.status);
    }
    this.#recordMetrics(release, result.status);
    // Announcements first: the status that decided them is stored, and a crash while the
    // cluster actions run (a rollout can take a while) must not swallow them.
    const announcements = result.actions.filter(isAnnouncement);
    let acted: boolean;
    try {
      acted = await this.#execute(
        key,
        release,
        plan,
        [...announcements, ...result.actions.filter((action) => !isAnnouncement(action))],
        log,
        result.status,
      );
    } catch (error) {
      return this.#reportBlocked(key, stored, error, log);
    }
    this.#blocks.succeeded(key);
    this.#recordAlertLatency(key, release, result.status);
    // Finished: nothing of this release carries traffic any more.
    if (isFinished(result.status) && hasRouteRestoreFinalizer(stored))
      await this.#ended({ ...release, status: result.status }, stored);
    if (isFinished(result.status) && stored.status?.phase === result.status.phase) {
      const kept = await this.#keepRecord(stored, log);
      if (kept.requeueAfterMs !== undefined) return kept;
    }
    // The block held until now: decide again at once, without it, to clear it.
    if (blocked) {
      log.info(`no longer blocked (was ${blocked.reason}): ${blocked.message}`);
      return { requeueAfterMs: 0 };
    }
    const requeue = acted ? AFTER_ACTION_REQUEUE_MS : result.requeueAfterMs;
    return requeue === undefined ? {} : { requeueAfterMs: requeue };
  }

  /**
   * Writes the ReleaseRecord of a finished release once, notes it in status (so retention
   * deleting it later does not bring it back), then lets go of the target's records that
   * retention no longer keeps. A record that cannot be written is said by a Warning Event
   * and tried again with the work queue's backoff.
   */
  async #keepRecord(stored: Release, log: Logger): Promise<ReconcileOutcome> {
    const records = this.#deps.records;
    if (!records || stored.status?.record) return {};
    const record = releaseRecordOf(stored);
    if (!record) return {};
    const name = record.metadata.name;
    try {
      const outcome = await records.write(record);
      if (outcome === "created")
        log.info({ record: name }, `kept the change record as ReleaseRecord ${name}`);
    } catch (error) {
      const message = `cannot write ReleaseRecord ${name}: ${describeApiFailure(error)}`.slice(0, 1024);
      log.warn({ err: error }, message);
      void this.#deps.events.publish(stored, "Warning", "RecordNotWritten", message);
      throw error;
    }
    const status = { ...(stored.status as ReleaseStatus), record: { name, at: this.#clock().toISOString() } };
    // status.record says it (every Event a release sends is one its status announces).
    const written = await this.#deps.statusWriter.writeStatus(stored, status);
    if (written.outcome === "conflict") return { requeueAfterMs: 0 };
    try {
      const pruned = await records.prune(
        stored.metadata.namespace ?? "default",
        stored.spec.target.deployment,
        this.#clock(),
      );
      if (pruned.length > 0)
        log.info({ records: pruned }, `retention let go of ${pruned.length} older ReleaseRecord(s)`);
    } catch (error) {
      log.warn({ err: error }, `cannot apply record retention: ${describeApiFailure(error)}`);
    }
    return {};
  }

  /**
   * A read or an action failed. One a person must fix is recorded on the Release (the
   * Progressing condition, an Event) and logged once; then, as for any failure, the
   * work queue backs off. `stored` is the Release as last written in this reconcile.
   */
  async #reportBlocked(key: string, stored: Release, error: unknown, log: Logger): Promise<never> {
    const { block, isNew } = this.#blocks.failed(key, error);
    if (!block) throw error;
    if (isNew) log.warn({ reason: block.reason }, `blocked (${block.reason}): ${block.message}`);
    const result = recordBlocked({ release: stored, now: this.#clock().toISOString(), blocked: block });
    if (JSON.stringify(result.status) !== JSON.stringify(stored.status ?? {})) {
      let written: Awaited<ReturnType<ReconcilerDeps["statusWriter"]["writeStatus"]>>;
      try {
        written = await this.#deps.statusWriter.writeStatus(stored, result.status);
      } catch (writeError) {
        return this.#reportUnwritable(key, stored, writeError, log);
      }
      if (written.outcome === "written") this.#announce(stored, result.actions);
    }
    throw new ReleaseBlockedError(block);
  }

  /** No status can say that the status cannot be written: an Event (if it may be made) and the log do. */
  async #reportUnwritable(key: string, raw: Release, error: unknown, log: Logger): Promise<never> {
    const { block, isNew } = this.#blocks.statusFailed(key, error);
    if (!block) throw error;
    if (isNew) {
      log.warn({ reason: block.reason }, `cannot write the status (${block.reason}): ${block.message}`);
      void this.#deps.events.publish(raw, "Warning", block.reason, block.message);
    }
    throw new ReleaseBlockedError(block);
  }

  /** A status write succeeded: if it could not be made before, say that it can again. */
  #statusWritable(key: string, raw: Release, log: Logger): void {
    const ended: BlockedObservation | undefined = this.#blocks.statusWritten(key);
    if (!ended) return;
    const message = `the controller can write the status again (was ${ended.reason}: ${ended.message})`;
    log.info(message);
    void this.#deps.events.publish(raw, "Normal", BLOCK_CLEARED_REASON, message.slice(0, 1024));
  }

  #announce(release: Release, actions: Action[]): void {
    for (const action of actions) {
      if (action.type === "emitEvent")
        void this.#deps.events.publish(release, action.eventType, action.reason, action.message);
    }
  }

  /**
   * A deleted Release that holds our finalizer: traffic back to stable and confirmed, the
   * canary removed, then the finalizer (decideDeletion). Without the finalizer (never
   * started, or finished) there is nothing to put back: the garbage collector does the rest.
   */
  async #reconcileDeletion(key: string, raw: Release, log: Logger): Promise<ReconcileOutcome> {
    this.#cancelRoundUnlessFor(key, undefined, "the Release is being deleted", log);
    if (!hasRouteRestoreFinalizer(raw)) {
      this.#forget(key);
      return {};
    }
    const validation = this.#validate(raw);
    if (!validation.ok) {
      // No valid spec, no router to ask: holding the Release would hold it forever.
      const message = `Release deleted with an invalid spec: traffic could not be checked or restored (${validation.issues
        .map((issue) => `${issue.path}: ${issue.message}`)
        .join("; ")})`;
      log.warn({ issues: validation.issues }, message);
      void this.#deps.events.publish(raw, "Warning", "Deleted", message);
      await this.#deps.finalizers.remove(raw);
      this.#forget(key);
      return {};
    }
    const { release, plan } = validation;
    if (isFinished(release.status)) {
      // It put its traffic back when it ended; a crash may have left its route and finalizer.
      await this.#ended(release, raw);
      this.#forget(key);
      return {};
    }
    const observations = await this.#observe(key, release, {
      deleting: true,
      baseline: comparedMetrics(plan.metrics).length > 0,
    });
    const result = decideDeletion({ release, plan, observations });
    if (JSON.stringify(result.status) !== JSON.stringify(release.status ?? {})) {
      const written = await this.#deps.statusWriter.writeStatus(raw, result.status);
      if (written.outcome === "conflict") return AFTER_CONFLICT;
      if (written.outcome === "gone") return {};
      const before = release.status?.deletion;
      const after = result.status.deletion;
      if (after && !before) log.warn({ deletion: after }, `Release deleted: ${result.status.message}`);
      if (after?.trafficRestoredAt && !before?.trafficRestoredAt)
        log.info({ deletion: after }, `Release deleted: ${result.status.message}`);
    }
    const announcements = result.actions.filter(isAnnouncement);
    await this.#execute(
      key,
      release,
      plan,
      [...announcements, ...result.actions.filter((action) => !isAnnouncement(action))],
      log,
    );
    return result.requeueAfterMs === undefined ? {} : { requeueAfterMs: result.requeueAfterMs };
  }

  #validate(raw: Release): ReturnType<typeof validateRelease> {
    const validation = validateRelease(raw, this.#deps.strategy);
    if (!validation.ok) return validation;
    const issues: ValidationIssue[] = [];
    validation.plan.metrics.forEach((metric, index) => {
      if (metric.query === undefined) return;
      for (const problem of checkQueryTemplate(metric.query)) {
        issues.push({ path: `$.spec.analysis.metrics[${index}].query`, message: problem });
      }
    });
    return issues.length > 0 ? { ok: false, issues } : validation;
  }

  /** A Release the controller cannot run: say why in its status, touch nothing else. */
  async #reportInvalid(raw: Release, issues: ValidationIssue[], log: Logger): Promise<ReconcileOutcome> {
    const message = issues
      .map((issue) => `${issue.path}: ${issue.message}`)
      .join("; ")
      .slice(0, 2000);
    const previous = (raw.status ?? {}) as Partial<ReleaseStatus>;
    const now = this.#clock().toISOString();
    const generation = typeof raw.metadata?.generation === "number" ? raw.metadata.generation : undefined;
    const earlier = previous.conditions?.find((c) => c.type === "Valid");
    const valid = {
      type: "Valid",
      status: "False" as const,
      reason: "InvalidSpec",
      message,
      lastTransitionTime: earlier?.status === "False" ? earlier.lastTransitionTime : now,
      ...(generation === undefined ? {} : { observedGeneration: generation }),
    };
    if (
      earlier?.status === "False" &&
      earlier.message === message &&
      previous.observedGeneration === generation
    ) {
      return {};
    }
    const status = {
      ...previous,
      phase: previous.phase ?? "Pending",
      message: `invalid Release: ${message}`.slice(0, 2048),
      conditions: [...(previous.conditions ?? []).filter((c) => c.type !== "Valid"), valid],
      ...(generation === undefined ? {} : { observedGeneration: generation }),
    } as ReleaseStatus;
    log.warn({ issues }, "invalid Release");
    const written = await this.#deps.statusWriter.writeStatus(raw, status);
    if (written.outcome === "written") void this.#deps.events.publish(raw, "Warning", "InvalidSpec", message);
    return written.outcome === "conflict" ? AFTER_CONFLICT : {};
  }

  async #observe(
    key: string,
    release: Release,
    options: { deleting?: boolean; baseline?: boolean } = {},
  ): Promise<Observations> {
    const now = this.#clock().toISOString();
    const router = this.#deps.routerFor(release);
    const [stable, canary, canaryService, baseline, traffic, autoscalers] = await Promise.all([
      this.#deps.workloads.observe(release, "stable"),
      this.#deps.workloads.observe(release, "canary"),
      this.#deps.workloads.observeCanaryService(release),
      // Only a release that compares with a baseline has one (docs/baseline.md).
      options.baseline === true ? this.#deps.workloads.observe(release, "baseline") : undefined,
      router.observe().catch((error: unknown) => {
        // A deleted Release whose route is gone has no traffic to restore; it must not stay forever.
        if (options.deleting && isRouteNotFound(error))
          return { canaryWeight: 0, verified: true, requestedWeight: 0, missing: error.message };
        throw error;
      }),
      this.#deps.autoscalers?.observe(release) ?? {},
    ]);
    const blocking = findBlockingRelease(release, this.#deps.releases.list());
    const stampKey = await this.#deps.stamps?.key();
    const webhook = this.#deps.stamps?.webhook ?? false;
    const coverage = webhook ? await this.#deps.stamps?.coverage?.(release) : undefined;
    const verified = verifyIdentity(release, stampKey, webhook);
    const inFlight = this.#rounds.inFlight(key);
    return {
      now,
      stable,
      canary,
      canaryService,
      ...(baseline === undefined ? {} : { baseline }),
      ...autoscalers,
      traffic: {
        canaryWeight: traffic.canaryWeight,
        verified: traffic.verified,
        requestedWeight: traffic.requestedWeight,
        ...("missing" in traffic && traffic.missing !== undefined ? { missing: traffic.missing } : {}),
        ...("baselineWeight" in traffic && traffic.baselineWeight !== undefined
          ? { baselineWeight: traffic.baselineWeight }
          : {}),
        ...("partition" in traffic && traffic.partition !== undefined
          ? { partition: traffic.partition }
          : {}),
        ...("routing" in traffic && traffic.routing !== undefined ? { routing: traffic.routing } : {}),
      },
      ...observedRounds(this.#measurements.pending(key, release.status)),
      ...(inFlight ? { analysisInFlight: inFlight } : {}),
      alerts: this.#deps.alerts.firingFor(release),
      changeWindow: evaluateChangeWindow(this.#deps.changeWindows, now),
      ...(blocking ? { blockingRelease: blocking } : {}),
      identity: coverage && !coverage.covered ? withoutCoverage(verified, coverage.problem) : verified,
    };
  }

  /** Carries out the actions in order; returns whether any changed the cluster. */
  async #execute(
    key: string,
    release: Release,
    plan: ReleasePlan,
    actions: Action[],
    log: Logger,
    /** The status decided with these actions: the stage an analysis round is asked for. */
    decided?: ReleaseStatus,
  ): Promise<boolean> {
    let changedCluster = false;
    const { workloads } = this.#deps;
    for (const action of actions) {
      switch (action.type) {
        case "ensureCanary":
          await workloads.ensureTargetCanary(release, action.images, action.replicas);
          changedCluster = true;
          break;
        case "scaleCanary":
          await workloads.scaleCanary(release, action.replicas);
          changedCluster = true;
          break;
        case "setWeight":
          await this.#deps
            .routerFor(release)
            .setWeight(action.canaryWeight, action.baselineWeight, action.routing);
          changedCluster = true;
          break;
        case "ensureBaseline":
          await workloads.ensureBaseline(release, action.images, action.version, action.replicas);
          changedCluster = true;
          break;
        case "scaleBaseline":
          await workloads.scaleBaseline(release, action.replicas);
          changedCluster = true;
          break;
        case "ensureCanaryAutoscaler":
          await this.#deps.autoscalers?.ensureCanaryAutoscaler(release, action);
          changedCluster = true;
          break;
        case "removeCanaryAutoscaler":
          await this.#deps.autoscalers?.removeCanaryAutoscaler(release);
          changedCluster = true;
          break;
        case "promoteStable":
          await workloads.promoteStable(release, action.images, action.version);
          changedCluster = true;
          break;
        case "revertStable":
          await workloads.revertStable(release, action.images, action.version);
          changedCluster = true;
          break;
        case "removeCanary":
          await this.#removeCanary(release);
          changedCluster = true;
          break;
        case "releaseFinalizer":
          await this.#deps.finalizers.remove(release);
          this.#forget(key);
          log.info("finalizer removed: the Release may go");
          break;
        case "runAnalysis":
          // Beside the reconcile: its end reconciles the Release again (wake).
          if (decided) this.#startRound(key, release, plan, action.subject, decided, log);
          break;
        case "notify":
          this.#deps.notifier.notify({ event: action.event, message: action.message, release });
          break;
        case "emitEvent":
          void this.#deps.events.publish(release, action.eventType, action.reason, action.message);
          break;
      }
      log.debug({ action }, "carried out");
    }
    return changedCluster;
  }

  /** What the router added for the canary (a route's backendRef, the canary Ingress), then the canary itself. */
  async #removeCanary(release: Release): Promise<void> {
    await this.#restoreRoute(release);
    // The canary's autoscaler copy first, so that nothing scales the canary up while it goes.
    await this.#deps.autoscalers?.removeCanaryAutoscaler(release);
    await this.#deps.workloads.removeCanary(release);
    // A baseline, if the release had one: the router's cleanup took its backendRef too.
    await this.#deps.workloads.removeBaseline(release);
  }

  /** The router puts back what it changed (cleanup): the route or Ingress as before the release. */
  async #restoreRoute(release: Release): Promise<void> {
    try {
      await this.#deps.routerFor(release).cleanup();
    } catch (error) {
      // The route is gone, and with it anything that pointed at the canary.
      if (!isRouteNotFound(error)) throw error;
    }
  }

  /**
   * A release that ended with all its traffic confirmed on stable (Succeeded, RolledBack)
   * gives its route back as it found it, then lets go of its finalizer. A Failed one may
   * still send the canary a share: its route stays as it is for a person to look at.
   */
  async #ended(release: Release, stored: Release): Promise<void> {
    const phase = release.status?.phase;
    if (phase === "Succeeded" || phase === "RolledBack") await this.#restoreRoute(release);
    await this.#deps.finalizers.remove(stored);
  }

  /**
   * Starts the analysis round the engine asked for, beside the reconcile (one per Release:
   * the engine asks for none while one runs). Its measurements are for `stage` only, and
   * taken after the watermark the decided status moved to ask for them.
   */
  #startRound(
    key: string,
    release: Release,
    plan: ReleasePlan,
    subject: "canary" | "stable",
    decided: ReleaseStatus,
    log: Logger,
  ): void {
    const stage = analysedStageOf(decided);
    if (!stage) return;
    const variables = templateVariablesFor(release, {
      subject,
      analysisIntervalMs: plan.analysisIntervalMs,
      ...(this.#deps.minimumRateWindowMs === undefined
        ? {}
        : { minimumRateWindowMs: this.#deps.minimumRateWindowMs }),
    });
    // A stage that compares with the baseline asks the compared metrics about it too.
    const comparing = comparedMetrics(plan.metrics).length > 0 && comparingStage(decided);
    const baselineVariables = comparing
      ? baselineVariablesFor(release, {
          subject,
          analysisIntervalMs: plan.analysisIntervalMs,
          ...(this.#deps.minimumRateWindowMs === undefined
            ? {}
            : { minimumRateWindowMs: this.#deps.minimumRateWindowMs }),
        })
      : undefined;
    const askedAt = Date.parse(decided.currentStage?.lastAnalysisAt ?? stage.startedAt);
    // Only a round measured wholly by shared queries waits for others: one with a query of
    // its own holds one of the eight slots, and waiting there would slow every other round.
    const shared = this.#batcher !== undefined && measuredTogether(plan.metrics, variables);
    const batch = shared && {
      batcher: this.#batcher as QueryBatcher,
      maxWaitMs: Math.min(DEFAULT_BATCH_WAIT_MS, plan.analysisIntervalMs * BATCH_WAIT_SHARE),
    };
    const runRound = async (signal: AbortSignal) => {
      const startedMs = performance.now();
      // After the watermark the asking reconcile moved (its now), even within the same millisecond.
      const at = new Date(Math.max(this.#clock().getTime(), askedAt + 1)).toISOString();
      const round = await runAnalysis({
        metrics: plan.metrics,
        variables,
        provider: this.#deps.metricsProvider,
        at,
        signal,
        ...(baselineVariables === undefined ? {} : { baselineVariables }),
        ...(batch ? { batch } : {}),
      });
      if (signal.aborted) return round;
      const failed = round.measurements.some((m) => m.verdict === "error");
      this.#deps.metrics.prometheusQueryDuration.observe(
        { outcome: failed ? "error" : "ok" },
        (performance.now() - startedMs) / 1000,
      );
      for (const measurement of round.measurements) {
        this.#deps.metrics.measurements.inc({ metric: measurement.metric, verdict: measurement.verdict });
      }
      return round;
    };
    const started = this.#rounds.start(key, stage, runRound, { shared });
    if (!started) log.debug({ stage }, "an analysis round is already under way");
  }

  /** Cancels the Release's round in flight unless it is for `stage`: nothing waits for it, nothing counts it. */
  #cancelRoundUnlessFor(key: string, stage: AnalysedStage | undefined, why: string, log: Logger): void {
    const inFlight = this.#rounds.inFlight(key);
    if (inFlight === undefined || isSameStage(inFlight, stage)) return;
    this.#rounds.cancel(key, why);
    log.info({ stage: inFlight }, `analysis round cancelled: ${why}`);
  }

  /** A Release that is gone, finished or going: nothing of it stays in memory or in /metrics. */
  #forget(key: string): void {
    this.#rounds.cancel(key, "the release is gone or finished");
    this.#measurements.forget(key);
    this.#blocks.forget(key);
    const { namespace, name } = parseObjectKey(key);
    this.#deps.metrics.canaryWeight.remove({ namespace: namespace ?? "", release: name });
  }

  #recordMetrics(release: Release, status: ReleaseStatus): void {
    const labels = { namespace: release.metadata.namespace ?? "", release: release.metadata.name };
    const weight = status.currentStage?.weight;
    if (weight === undefined || isFinished(status)) {
      this.#deps.metrics.canaryWeight.remove(labels);
    } else {
      this.#deps.metrics.canaryWeight.set(labels, weight);
    }
    if (status.rollback && !release.status?.rollback)
      this.#deps.metrics.rollbacks.inc({ trigger: status.rollback.trigger });
  }

  /** An alert rollback was decided and carried out in this reconcile: how long since the hook took the alert. */
  #recordAlertLatency(key: string, release: Release, status: ReleaseStatus): void {
    const alert = status.rollback?.trigger === "alert" ? status.rollback.alert : undefined;
    if (!alert || release.status?.rollback) return;
    const receivedAt = this.#deps.alerts.receivedAt(key, alert.fingerprint);
    if (receivedAt === undefined) return;
    this.#deps.metrics.alertToRollback.observe(Math.max(0, this.#clock().getTime() - receivedAt) / 1000);
  }

  #logTransitions(log: Logger, before: ReleaseStatus | undefined, after: ReleaseStatus): void {
    if (before?.phase !== after.phase)
      log.info({ from: before?.phase, to: after.phase, message: after.message }, "phase changed");
    if (before?.currentStage?.index !== after.currentStage?.index && after.currentStage) {
      log.info({ stage: after.currentStage.name, weight: after.currentStage.weight }, "entered stage");
    }
  }
}

function isFinished(status: ReleaseStatus | undefined): boolean {
  return status?.phase !== undefined && terminalPhases.includes(status.phase);
}

/** Started and not finished: the release may have moved traffic, so deleting it must put it back. */
function holdsTraffic(status: ReleaseStatus): boolean {
  return status.startedAt !== undefined && !isFinished(status);
}
