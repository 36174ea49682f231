// list, history, record and dora: reading Releases and ReleaseRecords, and printing them.
import { stringify } from "yaml";
import type { Release, ReleaseRecord } from "../api/index.ts";
import { changeRecord, renderChangeRecord, type LaterRollback } from "../record/change-record.ts";
import { doraByGroup, type DoraGrouping } from "../record/dora.ts";
import { RECORD_TARGET_LABEL, releaseFromRecord, withRecordedReleases } from "../record/release-record.ts";
import { renderDoraJson, renderDoraTable, type DoraRow } from "./dora-view.ts";
import { recordedActions, ROLLBACK_OF_LABEL } from "./audit.ts";
import type { CliCommand } from "./command-line.ts";
import { CliError, EXIT } from "./exit-codes.ts";
import { observeStable } from "./verify.ts";
import { laterRollbacks, releaseHistory, renderHistory, renderReleaseList } from "./views.ts";
import type { ReleaseApi } from "./releases.ts";
import { print, warn, type Session } from "./session.ts";

export async function list(
  session: Session,
  command: Extract<CliCommand, { name: "list" }>,
): Promise<number> {
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

export async function history(
  session: Session,
  command: Extract<CliCommand, { name: "history" }>,
): Promise<number> {
  const { io, namespace } = session;
  const [{ releases, invalid }, kept] = await Promise.all([
    session.api.list(namespace),
    readRecords(session.api, namespace, command.target, { required: false }),
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

export async function record(
  session: Session,
  command: Extract<CliCommand, { name: "record" }>,
): Promise<number> {
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

export async function dora(
  session: Session,
  command: Extract<CliCommand, { name: "dora" }>,
): Promise<number> {
  const { io, globals } = session;
  const scope = globals.allNamespaces ? undefined : session.namespace;
  const { records, invalid } = await readRecords(session.api, scope, command.target, { required: true });
  for (const problem of invalid) warn(io, problem);
  const rows = doraRows(records, command.groupBy, command.windowMs, new Date(io.now()));
  print(
    io,
    command.output === "json"
      ? renderDoraJson(rows, command.groupBy)
      : renderDoraTable(rows, command.groupBy, command.window),
  );
  return EXIT.ok;
}

/**
 * The ReleaseRecords `history` and `dora` read, and the dashboard's history page too: of
 * one namespace (or all), of one target (or all). `required`: without them there is
 * nothing to show, so a missing right is an error rather than a warning.
 */
export function readRecords(
  api: ReleaseApi,
  scope: string | undefined,
  target: string | undefined,
  options: { required: boolean },
): Promise<{ records: ReleaseRecord[]; invalid: string[] }> {
  return api.records(scope, {
    required: options.required,
    ...(target === undefined ? {} : { labelSelector: `${RECORD_TARGET_LABEL}=${target}` }),
  });
}

/** `glidepath dora`'s rows: the DORA figures of each group with a release finished in the window. */
export function doraRows(
  records: readonly ReleaseRecord[],
  groupBy: DoraGrouping,
  windowMs: number,
  now: Date,
): DoraRow[] {
  return doraByGroup(records, groupBy, windowMs, now).filter(({ figures }) => figures.finished > 0);
}

/** The later rollback Releases that name this one (ROLLBACK_OF_LABEL): its own status cannot say it. */
export async function rollbacksOf(session: Session, release: Release): Promise<LaterRollback[]> {
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
