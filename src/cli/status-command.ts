// status: one Release now, or followed until it finishes.
import { validateRelease, type Release, type StrategyFile } from "../api/index.ts";
import { type LaterRollback } from "../record/change-record.ts";
import type { CliCommand } from "./command-line.ts";
import { CliError, EXIT } from "./exit-codes.ts";
import { LiveScreen } from "./screen.ts";
import {
  isFinished,
  renderStatus,
  statusJson,
  statusLine,
  statusView,
  type PlanHints,
} from "./status-view.ts";
import { followUntilFinished, humanMs, INTERRUPTED, loadStrategy, print, type Session } from "./session.ts";
import { rollbacksOf } from "./read-commands.ts";

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

export async function status(
  session: Session,
  command: Extract<CliCommand, { name: "status" }>,
): Promise<number> {
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
