// The commands themselves: connect as kubectl would, read or patch Releases, print.
// Decisions live in the pure modules (control, rollback-plan, views, status-view);
// this file does the I/O around them and maps every outcome to an exit code.
import { fileURLToPath } from "node:url";
import { stringify } from "yaml";
import {
  parseDuration,
  validateRelease,
  type Metric,
  type Release,
  type StrategyFile,
} from "../api/index.ts";
import { loadStrategyFile } from "../config/index.ts";
import { createPrometheusProvider, templateVariablesFor } from "../analysis/index.ts";
import { contextNamespace, loadKubeConfig, makeKubeClients } from "../kube/index.ts";
import { changeRecord, renderChangeRecord, type LaterRollback } from "../record/change-record.ts";
import { doraByGroup } from "../record/dora.ts";
import { RECORD_TARGET_LABEL, releaseFromRecord, withRecordedReleases } from "../record/release-record.ts";
import { renderDoraJson, renderDoraTable } from "./dora-view.ts";
import { recordedActions, ROLLBACK_OF_LABEL } from "./audit.ts";
import type { CliCommand, GlobalOptions } from "./command-line.ts";
import { planControl, type ControlDecision, type ControlRequest } from "./control.ts";
import { CliError, EXIT } from "./exit-codes.ts";
import { ReleaseApi } from "./releases.ts";
import { buildRollbackRelease, planRollback, type VersionRef } from "./rollback-plan.ts";
import { LiveScreen } from "./screen.ts";
import {
  isFinished,
  renderStatus,
  statusJson,
  statusLine,
  statusView,
  type PlanHints,
} from "./status-view.ts";
import { observeStable, verifyRollback } from "./verify.ts";
import { humanDuration } from "./table.ts";
import { laterRollbacks, releaseHistory, renderHistory, renderReleaseList } from "./views.ts";
import { timerDelay } from "../kube/timer-delay.ts";

export interface CliIo {
  stdout: { write(text: string): unknown; isTTY?: boolean };
  stderr: { write(text: string): unknown };
  now(): number;
  /** Fires on Ctrl-C: watches and waits stop and the cursor comes back. */
  interrupt?: AbortSignal;
}

/** The rollout strategy file shipped with Glidepath, for preset stages and default metrics. */
export const SHIPPED_STRATEGY_FILE = fileURLToPath(
  new URL("../../rollout/rollout-strategy.json", import.meta.url),
);

/** Exit code when Ctrl-C stops a watch, as shells report a SIGINT. */
const INTERRUPTED = 130;

export interface Session {
  api: ReleaseApi;
  namespace: string;
  globals: GlobalOptions;
  io: CliIo;
}

/**
 * Commands served from a layer above the CLI (the dashboard is the CLI's web face and
 * builds on it): the composition root (src/cli-main.ts) hands them in.
 */
export interface CommandExtensions {
  dashboard?: (
    session: Session,
    command: Extract<CliCommand, { name: "dashboard" }>,
    io: CliIo,
  ) => Promise<number>;
}

export async function runCommand(
  command: CliCommand,
  globals: GlobalOptions,
  io: CliIo,
  extensions: CommandExtensions = {},
): Promise<number> {
  const session = connect(globals, io);
  switch (command.name) {
    case "list":
      return list(session, command);
    case "status":
      return status(session, command);
    case "history":
      return history(session, command);
    case "record":
      return record(session, command);
    case "dora":
      return dora(session, command);
    case "rollback":
      return rollback(session, command);
    case "dashboard":
      if (!extensions.dashboard) throw new CliError(EXIT.failed, "the dashboard is not available here");
      return extensions.dashboard(session, command, io);
    default:
      return control(session, command);
  }
}

function connect(globals: GlobalOptions, io: CliIo): Session {
  let kubeConfig;
  try {
    kubeConfig = loadKubeConfig({
      ...(globals.kubeconfig ? { kubeconfigPath: globals.kubeconfig } : {}),
      ...(globals.context ? { context: globals.context } : {}),
    });
  } catch (error) {
    // A --kubeconfig or --context that names nothing is a bad argument; no configuration at all is not.
    const given = globals.kubeconfig !== undefined || globals.context !== undefined;
    throw new CliError(given ? EXIT.usage : EXIT.failed, (error as Error).message);
  }
  const namespace = globals.namespace ?? contextNamespace(kubeConfig) ?? "default";
  return { api: new ReleaseApi(makeKubeClients(kubeConfig)), namespace, globals, io };
}

function print(io: CliIo, text: string): void {
  io.stdout.write(text.endsWith("\n") ? text : `${text}\n`);
}

function warn(io: CliIo, text: string): void {
  io.stderr.write(`warning: ${text}\n`);
}

// ---- list, history, record ----

async function list(session: Session, command: Extract<CliCommand, { name: "list" }>): Promise<number> {
  const { io, globals } = session;
  const scope = globals.allNamespaces ? undefined : session.namespace;
  const { releases, invalid } = await session.api.list(scope);
  for (const problem of invalid) warn(io, problem);
  if (command.output === "json" || command.output === "yaml") {
    const document = { apiVersion: "v1", kind: "List", items: releases };
    print(io, command.output === "json" ? JSON.stringify(document, null, 2) : stringify(document));
    return EXIT.ok;
  }
  if (releases.length === 0) {
    io.stderr.write(
      scope === undefined ? "No releases found.\n" : `No releases found in namespace ${scope}.\n`,
    );
    return EXIT.ok;
  }
  print(io, renderReleaseList(releases, { nowMs: io.now(), allNamespaces: globals.allNamespaces }));
  return EXIT.ok;
}

async function history(session: Session, command: Extract<CliCommand, { name: "history" }>): Promise<number> {
  const { io, namespace } = session;
  const [{ releases, invalid }, kept] = await Promise.all([
    session.api.list(namespace),
    session.api.records(namespace, { labelSelector: `${RECORD_TARGET_LABEL}=${command.target}` }),
  ]);
  for (const problem of [...invalid, ...kept.invalid]) warn(io, problem);
  // Releases that are gone (deleted, pruned by GitOps) still show, from their ReleaseRecords.
  const entries = releaseHistory(withRecordedReleases(releases, kept.records), command.target);
  if (command.output === "json") {
    print(io, JSON.stringify(entries, null, 2));
    return EXIT.ok;
  }
  if (entries.length === 0) {
    const stable = await observeStable(session.api.clients, namespace, command.target);
    if (!stable.exists)
      throw new CliError(
        EXIT.notFound,
        `deployment ${command.target} not found in namespace ${namespace}, and no Release targets it`,
      );
    io.stderr.write(`No releases of deployment ${command.target} in namespace ${namespace}.\n`);
    return EXIT.ok;
  }
  print(io, renderHistory(entries, { nowMs: io.now() }));
  return EXIT.ok;
}

async function record(session: Session, command: Extract<CliCommand, { name: "record" }>): Promise<number> {
  let release: Release;
  try {
    release = await session.api.get(session.namespace, command.release);
  } catch (error) {
    if (!(error instanceof CliError) || error.exitCode !== EXIT.notFound) throw error;
    // The Release is gone: its ReleaseRecord (the newest, if it was re-created) still has it all.
    const kept = (await session.api.records(session.namespace)).records
      .filter((candidate) => candidate.spec.release.name === command.release)
      .sort((a, b) => Date.parse(b.spec.finishedAt) - Date.parse(a.spec.finishedAt))[0];
    if (!kept)
      throw new CliError(
        EXIT.notFound,
        `release ${command.release} not found in namespace ${session.namespace}, and no ReleaseRecord keeps it`,
      );
    warn(session.io, `release ${command.release} is gone: this is its ReleaseRecord ${kept.metadata.name}`);
    release = releaseFromRecord(kept);
  }
  print(session.io, renderRecord(release, command.output, await rollbacksOf(session, release)));
  return EXIT.ok;
}

async function dora(session: Session, command: Extract<CliCommand, { name: "dora" }>): Promise<number> {
  const { io, globals } = session;
  const scope = globals.allNamespaces ? undefined : session.namespace;
  const { records, invalid } = await session.api.records(scope, {
    required: true,
    ...(command.target === undefined ? {} : { labelSelector: `${RECORD_TARGET_LABEL}=${command.target}` }),
  });
  for (const problem of invalid) warn(io, problem);
  const rows = doraByGroup(records, command.groupBy, command.windowMs, new Date(io.now())).filter(
    ({ figures }) => figures.finished > 0,
  );
  print(
    io,
    command.output === "json"
      ? renderDoraJson(rows, command.groupBy)
      : renderDoraTable(rows, command.groupBy, command.window),
  );
  return EXIT.ok;
}

/** The later rollback Releases that name this one (ROLLBACK_OF_LABEL): its own status cannot say it. */
async function rollbacksOf(session: Session, release: Release): Promise<LaterRollback[]> {
  const { releases } = await session.api.list(session.namespace, {
    labelSelector: `${ROLLBACK_OF_LABEL}=${release.metadata.name}`,
  });
  return laterRollbacks(release, releases);
}

/**
 * The change record (src/record), with the CLI's own log of who paused, resumed,
 * promoted… appended, as typed: the sign-off table says who the API server authenticated.
 */
export function renderRecord(
  release: Release,
  format: "md" | "json" | "yaml",
  rolledBackLater: readonly LaterRollback[] = [],
): string {
  const actions = recordedActions(release);
  if (format !== "md") {
    const document = { ...changeRecord(release, rolledBackLater), cliActions: actions };
    return format === "json" ? `${JSON.stringify(document, null, 2)}\n` : stringify(document);
  }
  const text = renderChangeRecord(release, "md", rolledBackLater);
  if (actions.length === 0) return text;
  const cell = (value: string) => value.replace(/\|/g, "\\|").replace(/\n/g, " ");
  const rows = actions.map(
    (action) => `| ${action.at} | ${cell(action.by)} | ${action.action} | ${cell(action.detail ?? "")} |`,
  );
  return [
    text.trimEnd(),
    "",
    "## Actions taken with the glidepath CLI",
    "",
    "As the CLI typed them (--by, the client's clock): not verified. The sign-off above is what the controller verified.",
    "",
    "| At | By | Action | Detail |",
    "|---|---|---|---|",
    ...rows,
    "",
  ].join("\n");
}

// ---- status ----

export async function loadStrategy(path: string | undefined): Promise<StrategyFile | undefined> {
  if (path === undefined) {
    // The shipped file names the default presets; without it the bar shows recorded stages only.
    return loadStrategyFile(SHIPPED_STRATEGY_FILE).catch(() => undefined);
  }
  try {
    return await loadStrategyFile(path);
  } catch (error) {
    throw new CliError(EXIT.usage, `--strategy-file: ${(error as Error).message}`);
  }
}

/** The stages and metrics a Release runs with, as far as the strategy file tells. */
export function planHints(release: Release, strategy: StrategyFile | undefined): PlanHints {
  if (strategy) {
    const validation = validateRelease(release, strategy);
    if (validation.ok) return { stages: validation.plan.stages, metrics: validation.plan.metrics };
  }
  return {
    ...(release.spec.stages ? { stages: release.spec.stages } : {}),
    ...(release.spec.analysis?.metrics ? { metrics: release.spec.analysis.metrics } : {}),
  };
}

async function status(session: Session, command: Extract<CliCommand, { name: "status" }>): Promise<number> {
  const { io, namespace } = session;
  const strategy = await loadStrategy(command.strategyFile);
  let rolledBackLater: LaterRollback[] = [];
  const viewOf = (release: Release) => statusView(release, planHints(release, strategy), rolledBackLater);
  if (!command.watch) {
    const release = await session.api.get(namespace, command.release);
    rolledBackLater = await rollbacksOf(session, release);
    const view = viewOf(release);
    if (command.output === "json") print(io, JSON.stringify(statusJson(view), null, 2));
    else print(io, renderStatus(view, io.now()).join("\n"));
    return EXIT.ok;
  }
  // Fail fast (exit 3) on a name that does not exist, before watching.
  rolledBackLater = await rollbacksOf(session, await session.api.get(namespace, command.release));

  const tty = command.output === "text" && io.stdout.isTTY === true;
  const screen = tty ? new LiveScreen(io.stdout) : undefined;
  let lastLine: string | undefined;
  let latest: Release | undefined;
  const show = () => {
    if (!latest) return;
    const view = viewOf(latest);
    if (screen) {
      const footer = isFinished(view.phase)
        ? []
        : ["", `watching ${namespace}/${command.release}; Ctrl-C to stop`];
      screen.draw([...renderStatus(view, io.now()), ...footer]);
      return;
    }
    const line = command.output === "json" ? JSON.stringify(statusJson(view)) : statusLine(view);
    if (line === lastLine) return;
    if (command.output === "json") print(io, line);
    else
      print(
        io,
        lastLine === undefined
          ? renderStatus(view, io.now()).join("\n") + "\n"
          : `${new Date(io.now()).toISOString()} ${line}`,
      );
    lastLine = line;
  };
  try {
    const end = await followUntilFinished(session, command.release, {
      ...(command.timeoutMs === undefined ? {} : { timeoutMs: command.timeoutMs }),
      onRelease: (release) => {
        latest = release;
        show();
      },
      // Ages and hold times move on a screen even when the Release does not.
      ...(screen ? { onTick: show } : {}),
    });
    switch (end.outcome) {
      case "finished":
        if (!screen && command.output === "text")
          print(io, `${command.release}: ${end.release.status?.phase}`);
        return end.release.status?.phase === "Succeeded" ? EXIT.ok : EXIT.failed;
      case "deleted":
        throw new CliError(EXIT.notFound, `release ${command.release} was deleted`);
      case "timeout":
        throw new CliError(
          EXIT.timeout,
          `release ${command.release} did not finish within ${humanMs(command.timeoutMs)}`,
        );
      case "interrupted":
        return INTERRUPTED;
    }
    return EXIT.failed;
  } finally {
    screen?.close();
  }
}

type FollowEnd =
  | { outcome: "finished"; release: Release }
  | { outcome: "deleted" }
  | { outcome: "timeout" }
  | { outcome: "interrupted" };

/** Follows a Release until it finishes, is deleted, the time is up or Ctrl-C. */
async function followUntilFinished(
  session: Session,
  name: string,
  options: { timeoutMs?: number; onRelease?: (release: Release) => void; onTick?: () => void },
): Promise<FollowEnd> {
  let settle: (end: FollowEnd) => void = () => {};
  const ended = new Promise<FollowEnd>((resolve) => {
    settle = resolve;
  });
  const follower = await session.api.follow(session.namespace, name, (release) => {
    if (!release) return settle({ outcome: "deleted" });
    options.onRelease?.(release);
    if (release.status?.phase && isFinished(release.status.phase)) settle({ outcome: "finished", release });
  });
  const timers: NodeJS.Timeout[] = [];
  if (options.timeoutMs !== undefined)
    timers.push(setTimeout(() => settle({ outcome: "timeout" }), timerDelay(options.timeoutMs)));
  if (options.onTick) timers.push(setInterval(options.onTick, 1_000));
  const onInterrupt = () => settle({ outcome: "interrupted" });
  session.io.interrupt?.addEventListener("abort", onInterrupt, { once: true });
  if (session.io.interrupt?.aborted) onInterrupt();
  try {
    return await ended;
  } finally {
    for (const timer of timers) clearTimeout(timer);
    session.io.interrupt?.removeEventListener("abort", onInterrupt);
    await follower.stop();
  }
}

/** "90s", "15m": as the duration was given, near enough. */
function humanMs(ms: number | undefined): string {
  return ms === undefined ? "the time given" : humanDuration(ms);
}

// ---- approve, pause, resume, promote, abort ----

type ControlCommand = Extract<CliCommand, { name: "approve" | "pause" | "resume" | "promote" | "abort" }>;

function controlRequest(command: ControlCommand, at: string): ControlRequest {
  const who = { by: command.by, at };
  switch (command.name) {
    case "approve":
      return { action: "approve", ...who, ...(command.comment ? { comment: command.comment } : {}) };
    case "pause":
      return { action: "pause", ...who, ...(command.reason ? { reason: command.reason } : {}) };
    case "resume":
      return { action: "resume", ...who };
    case "promote":
      return { action: "promote", ...who, full: command.full };
    case "abort":
      return { action: "abort", ...who, ...(command.reason ? { reason: command.reason } : {}) };
  }
}

async function control(session: Session, command: ControlCommand): Promise<number> {
  const request = controlRequest(command, new Date(session.io.now()).toISOString());
  const decision = await applyControl(session, command.release, request);
  print(session.io, decision.summary);
  return EXIT.ok;
}

/** Plans and sends one control request; refusals become CliErrors. */
async function applyControl(
  session: Session,
  name: string,
  request: ControlRequest,
): Promise<Exclude<ControlDecision, { kind: "refuse" }>> {
  const decision = await session.api.update<ControlDecision>(session.namespace, name, (release) => {
    const planned = planControl(release, request);
    return planned.kind === "patch" ? { patch: planned.patch, result: planned } : { result: planned };
  });
  if (decision.kind === "refuse") throw new CliError(decision.exitCode, decision.message);
  return decision;
}

// ---- rollback ----

async function rollback(
  session: Session,
  command: Extract<CliCommand, { name: "rollback" }>,
): Promise<number> {
  const { io, namespace, api } = session;
  const at = new Date(io.now()).toISOString();
  const strategy = await loadStrategy(command.strategyFile);
  const [{ releases, invalid }, stable] = await Promise.all([
    api.list(namespace),
    observeStable(api.clients, namespace, command.target),
  ]);
  for (const problem of invalid) warn(io, problem);
  const plan = planRollback(
    { target: command.target, version: command.version },
    releases,
    stable.exists
      ? { images: stable.images, ...(stable.version ? { version: stable.version } : {}) }
      : undefined,
    namespace,
  );
  const reasonText = command.reason ? `: ${command.reason}` : "";

  switch (plan.kind) {
    case "refuse":
      throw new CliError(plan.exitCode, plan.message);
    case "noop":
      print(io, plan.message);
      return EXIT.ok;
    case "abort": {
      const name = plan.release.metadata.name;
      const stage = plan.release.status?.currentStage;
      const decision = await applyControl(session, name, {
        action: "abort",
        by: command.by,
        at,
        reason: command.reason ?? `rollback of ${command.target} requested with glidepath rollback`,
      });
      print(
        io,
        decision.kind === "noop"
          ? decision.summary
          : `aborted release ${name}${stage ? ` at stage ${stage.name} (${stage.weight}%)` : ""}: ` +
              `the controller restores ${plan.restores?.version ?? "the images it replaced"}${reasonText}`,
      );
      await abortQueued(session, plan.alsoAbort, command, at, plan.restores?.version);
      if (!command.wait) return EXIT.ok;
      return waitAndVerify(session, command, strategy, {
        release: name,
        successPhase: "RolledBack",
        source: plan.release,
        restored: (finished) =>
          finished.status?.rollback?.restored ?? finished.status?.previous ?? plan.restores,
        // Stable kept serving the previous version unless this release had promoted it.
        servingSince: (finished) =>
          finished.status?.promotedAt === undefined ? undefined : finished.status.rollback?.at,
      });
    }
    case "restore": {
      await abortQueued(session, plan.alsoAbort, command, at, plan.to.version);
      const body = buildRollbackRelease({
        plan,
        namespace,
        by: command.by,
        at,
        ...(command.reason ? { reason: command.reason } : {}),
        ...(command.changeId ? { changeId: command.changeId } : {}),
        ...(stable.version ? { currentVersion: stable.version } : {}),
      });
      const created = await api.create(body);
      print(
        io,
        `created release ${created.metadata.name}: restores ${plan.to.version} (${plan.source}) on deployment ` +
          `${command.target}, straight to GA as emergency change ${created.spec.changeRequest.id} requested by ${command.by}${reasonText}`,
      );
      if (!command.wait) return EXIT.ok;
      return waitAndVerify(session, command, strategy, {
        release: created.metadata.name,
        successPhase: "Succeeded",
        source: plan.undo ?? plan.template,
        restored: () => plan.to,
        servingSince: (finished) => finished.status?.startedAt,
      });
    }
  }
}

/** Queued releases of the target would roll it forward again once the rollback is done. */
async function abortQueued(
  session: Session,
  queued: readonly Release[],
  command: Extract<CliCommand, { name: "rollback" }>,
  at: string,
  restoring: string | undefined,
): Promise<void> {
  for (const release of queued) {
    const decision = await applyControl(session, release.metadata.name, {
      action: "abort",
      by: command.by,
      at,
      reason: `superseded by the rollback of ${command.target}${restoring ? ` to ${restoring}` : ""}`,
    });
    print(session.io, `${decision.summary} (it was queued for ${command.target})`);
  }
}

interface WaitTarget {
  release: string;
  successPhase: "RolledBack" | "Succeeded";
  /** The release whose metrics judge the restored version. */
  source: Release;
  restored: (
    finished: Release,
  ) => VersionRef | { version?: string; images: Record<string, string> } | undefined;
  /** When the restored version began serving again, if its series may hold older samples. */
  servingSince: (finished: Release) => string | undefined;
}

async function waitAndVerify(
  session: Session,
  command: Extract<CliCommand, { name: "rollback" }>,
  strategy: StrategyFile | undefined,
  target: WaitTarget,
): Promise<number> {
  const { io } = session;
  let lastPrinted: string | undefined;
  const end = await followUntilFinished(session, target.release, {
    timeoutMs: command.timeoutMs,
    onRelease: (release) => {
      const line = `${release.status?.phase ?? "Pending"}: ${release.status?.message ?? "waiting for the controller"}`;
      if (line !== lastPrinted) print(io, `${new Date(io.now()).toISOString()} ${target.release} ${line}`);
      lastPrinted = line;
    },
  });
  if (end.outcome === "interrupted") return INTERRUPTED;
  if (end.outcome === "deleted")
    throw new CliError(EXIT.notFound, `release ${target.release} was deleted while waiting`);
  if (end.outcome === "timeout")
    throw new CliError(
      EXIT.timeout,
      `release ${target.release} did not finish within ${humanMs(command.timeoutMs)}`,
    );
  const phase = end.release.status?.phase;
  if (phase !== target.successPhase) {
    throw new CliError(
      EXIT.failed,
      `release ${target.release} ended ${phase}, not ${target.successPhase}: ${end.release.status?.message ?? "no message"}`,
    );
  }

  const restored = target.restored(end.release);
  if (!restored?.version) {
    throw new CliError(
      EXIT.failed,
      `release ${target.release} does not say which version it restored: cannot verify`,
    );
  }
  const restoredRef: VersionRef = { version: restored.version, images: restored.images };
  const { metrics, from } = verificationMetrics(target.source, strategy);
  if (metrics.length === 0)
    warn(
      io,
      `release ${target.source.metadata.name} defines no metrics and the strategy file has no defaults: verifying the pods only`,
    );
  const prometheusUrl = command.prometheusUrl;
  if (prometheusUrl === undefined)
    throw new Error("rollback --wait without a Prometheus URL passed validation");
  const intervalMs = parseDuration(
    target.source.spec.analysis?.interval ?? strategy?.defaults.analysisInterval ?? "30s",
  );
  const variablesRelease: Release = {
    ...target.source,
    metadata: { ...target.source.metadata, namespace: session.namespace },
    spec: { ...target.source.spec, version: restoredRef.version },
  };
  const servingSince = target.servingSince(end.release);
  print(
    io,
    `verifying ${command.target} on ${restoredRef.version}: pods Ready and ${metrics.map((m) => m.name).join(", ") || "no metrics"} within thresholds` +
      (metrics.length > 0 ? ` (the metrics of ${from})` : ""),
  );
  let lastSummary: string | undefined;
  const result = await verifyRollback({
    clients: session.api.clients,
    namespace: session.namespace,
    deployment: command.target,
    restored: restoredRef,
    metrics,
    variables: templateVariablesFor(variablesRelease, { subject: "stable", analysisIntervalMs: intervalMs }),
    provider: createPrometheusProvider({ url: prometheusUrl, totalTimeoutMs: 20_000 }),
    timeoutMs: command.verifyTimeoutMs,
    ...(io.interrupt ? { signal: io.interrupt } : {}),
    ...(servingSince === undefined ? {} : { servingSince }),
    onRound: (round) => {
      if (round.summary !== lastSummary && !round.ok) print(io, `  not yet: ${round.problems.join("; ")}`);
      lastSummary = round.summary;
    },
  });
  if (!result) return INTERRUPTED;
  if (!result.ok) {
    throw new CliError(
      EXIT.failed,
      `rollback of ${command.target} to ${restoredRef.version} NOT verified within ${humanMs(command.verifyTimeoutMs)}: ${result.problems.join("; ")}`,
    );
  }
  print(io, `verified: ${result.summary}`);
  return EXIT.ok;
}

/**
 * The metrics that judge the restored version: those of the release being undone, else
 * the strategy file's defaults — never another release's (any release of the target,
 * perhaps written by someone else, would otherwise decide what "healthy" means).
 */
export function verificationMetrics(
  source: Release,
  strategy: StrategyFile | undefined,
): { metrics: Metric[]; from: string } {
  const own = source.spec.analysis?.metrics ?? [];
  if (own.length > 0) return { metrics: own, from: `release ${source.metadata.name}` };
  const defaults = strategy?.defaults.metrics ?? [];
  return { metrics: defaults, from: defaults.length > 0 ? "the strategy file's defaults" : "nowhere" };
}
