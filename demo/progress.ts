import { formatMetricValue, type Release } from "../src/api/index.ts";

// One frame of the demo's live view: phase, the stage bar, the weights the traffic
// actually follows, and the newest measurements.

export function renderProgress(
  release: Release,
  traffic: { canaryWeight: number; stable: { version: string }; canary: { version: string } },
): string {
  const status = release.status;
  const stages = release.spec.stages ?? [];
  const current = status?.currentStage?.index;
  const bar = stages
    .map((stage, index) => {
      const label = `${stage.weight}%`;
      if (current === undefined || index > current) return `\x1b[2m${label}\x1b[0m`;
      if (index === current && status?.phase !== "Succeeded") return `\x1b[1;36m[${label}]\x1b[0m`;
      return `\x1b[32m${label}\x1b[0m`;
    })
    .join(" → ");
  const phase = status?.phase ?? "Pending";
  const colour =
    phase === "RolledBack" || phase === "Failed" || phase === "RollingBack"
      ? "31"
      : phase === "Succeeded"
        ? "32"
        : "33";
  const lines = [
    `  ${release.metadata.name}  \x1b[${colour}m${phase}\x1b[0m  ${bar}${phase === "Baking" ? "  \x1b[1;36mbaking\x1b[0m" : ""}`,
    `  traffic  stable ${traffic.stable.version}: ${100 - traffic.canaryWeight}%   canary ${traffic.canary.version}: ${traffic.canaryWeight}%`,
  ];
  const stage = status?.stages.at(-1);
  for (const tally of stage?.tallies ?? []) {
    lines.push(
      `  ${tally.metric.padEnd(12)} last ${(tally.lastValue === undefined ? "—" : formatMetricValue(tally.lastValue, tally.unit ?? "none")).padEnd(10)} ${tally.lastVerdict ?? ""}  (pass ${tally.pass}, fail ${tally.fail}, no data ${tally.inconclusive}, error ${tally.error})`,
    );
  }
  if (status?.message) lines.push(`  ${status.message}`);
  return lines.join("\n");
}
