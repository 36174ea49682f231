import type { DoraFigures, DoraGrouping } from "../record/dora.ts";
import { humanDuration, renderTable } from "./table.ts";

// `glidepath dora`: the four DORA figures per group, as a table or JSON. Pure.

export interface DoraRow {
  group: string;
  figures: DoraFigures;
}

export const percent = (ratio: number) => `${Math.round(ratio * 1000) / 10}%`;

function spreadText(spread: { count: number; medianMs?: number }): string {
  return spread.medianMs === undefined ? "-" : humanDuration(spread.medianMs);
}

/** One row per group; what could not be measured is said under the table, not guessed. */
export function renderDoraTable(rows: readonly DoraRow[], by: DoraGrouping, windowText: string): string {
  if (rows.length === 0) return `no finished releases recorded in the last ${windowText}\n`;
  const first = rows[0]?.figures.window;
  const header =
    `DORA figures over the last ${windowText}` + (first ? ` (${first.from} to ${first.to})` : "");
  const table = renderTable(
    [
      by === "cluster" ? "SCOPE" : by.toUpperCase(),
      "DEPLOYS",
      "PER DAY",
      "LEAD TIME",
      "CHANGE FAILURE RATE",
      "RESTORE TO STABLE",
      "TO NEXT SUCCESS",
    ],
    rows.map(({ group, figures }) => [
      group === "" ? "cluster" : group,
      String(figures.deploymentFrequency.deployments),
      (Math.round(figures.deploymentFrequency.perDay * 100) / 100).toString(),
      figures.leadTime.count === 0
        ? "-"
        : `${spreadText(figures.leadTime)} (${figures.leadTime.count}/${figures.leadTime.count + figures.leadTime.missing})`,
      figures.changeFailureRate.ratio === undefined
        ? "-"
        : `${percent(figures.changeFailureRate.ratio)} (${figures.changeFailureRate.failures}/${figures.changeFailureRate.finished})`,
      spreadText(figures.timeToRestore.toStable),
      spreadText(figures.timeToRestore.toNextSuccess) +
        (figures.timeToRestore.notYetRestored > 0
          ? ` (${figures.timeToRestore.notYetRestored} not yet)`
          : ""),
    ]),
  );
  const missing = rows.reduce((sum, row) => sum + row.figures.leadTime.missing, 0);
  const notes = [
    "Times are medians. Lead time runs from changeRequest.committedAt to the end of a succeeded release;",
    "restore times from the moment Glidepath acted on the breach or alert.",
    ...(missing > 0
      ? [
          `${missing} succeeded release${missing === 1 ? "" : "s"} carried no changeRequest.committedAt, so ${missing === 1 ? "its" : "their"} lead time is unknown: set it from CI.`,
        ]
      : []),
  ];
  return `${header}\n\n${table}\n${notes.join("\n")}\n`;
}

export function renderDoraJson(rows: readonly DoraRow[], by: DoraGrouping): string {
  return JSON.stringify({ groupedBy: by, groups: rows }, null, 2) + "\n";
}
