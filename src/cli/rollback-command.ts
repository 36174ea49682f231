// rollback: abort the active release or create one that restores an earlier version,
// then (--wait) follow it and verify the restored version in Prometheus.
import {
  parseDuration,
  type Metric,
  type Release,
  type StrategyFile,
  type VersionRef,
} from "../api/index.ts";
import { createPrometheusProvider, templateVariablesFor } from "../analysis/index.ts";
import type { CliCommand } from "./command-line.ts";
import { CliError, EXIT } from "./exit-codes.ts";
import { buildRollbackRelease, planRollback, type KnownVersion } from "./rollback-plan.ts";
import { observeStable, verifyRollback } from "./verify.ts";
import {
  followUntilFinished,
  humanMs,
  INTERRUPTED,
  loadStrategy,
  print,
  warn,
  type Session,
} from "./session.ts";
import { applyControl } from "./control-commands.ts";

export async function rollback(
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
  restored: (finished: Release) => VersionRef | undefined;
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
  const restoredRef: KnownVersion = { version: restored.version, images: restored.images };
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
