// The Releases the scale benchmark makes. Golden: short stages, run to the end once so
// the completed Releases can carry a real finished status. Active: held at a 1% canary
// for hours, analysing every 30 s.
import {
  terminalPhases,
  type Release,
  type ReleasePhase,
  type ReleaseSpecInput,
} from "../../src/api/index.ts";

export const GOLDEN_STAGES = [
  { name: "canary", weight: 1, hold: "4s", minMeasurements: 2 },
  { name: "early-adopter", weight: 10, hold: "4s", minMeasurements: 2 },
  { name: "expansion", weight: 50, hold: "4s", minMeasurements: 2 },
  { name: "ga", weight: 100, hold: "0s" },
];
export const GOLDEN_ANALYSIS: NonNullable<ReleaseSpecInput["analysis"]> = {
  interval: "2s",
  metrics: [{ name: "error-rate", query: "vector(0)", max: 0.05 }],
};

export const ACTIVE_STAGES = [
  { name: "canary", weight: 1, hold: "4h", minMeasurements: 3 },
  { name: "ga", weight: 100, hold: "0s" },
];
// No traffic reaches these services, so every round is inconclusive (no data): a limit of
// 100 keeps them analysing at their canary stage instead of pausing after 3 rounds.
export const ANALYSIS_INTERVAL_SECONDS = 30;
export const ACTIVE_ANALYSIS: NonNullable<ReleaseSpecInput["analysis"]> = {
  interval: `${ANALYSIS_INTERVAL_SECONDS}s`,
  metrics: [{ name: "error-rate", template: "http-error-ratio", max: 0.05, inconclusiveLimit: 100 }],
};

export function isFinished(release: Release): boolean {
  return terminalPhases.includes(release.status?.phase as ReleasePhase);
}

export function isInCanary(release: Release): boolean {
  return release.status?.phase === "Progressing" && release.status.currentStage?.name === "canary";
}

/** How many Releases are in each phase ("in canary" for those held there), for progress lines. */
export function phases(releases: readonly Release[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const release of releases) {
    const phase = isInCanary(release) ? "in canary" : (release.status?.phase ?? "new");
    counts[phase] = (counts[phase] ?? 0) + 1;
  }
  return counts;
}
