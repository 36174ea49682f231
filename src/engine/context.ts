import {
  terminalPhases,
  type ReleasePhase,
  type ReleasePlan,
  type ReleaseStatus,
  type Release,
} from "../api/index.ts";
import type { Action, EngineInput, Observations } from "./types.ts";

// One decide() call's working state. The status here is the call's own deep copy:
// the steps edit it in place, the input is never touched.

export interface DecisionContext {
  readonly release: Release;
  readonly plan: ReleasePlan;
  readonly observations: Observations;
  /** observations.now in milliseconds, and normalised to the form written to status. */
  readonly nowMs: number;
  readonly now: string;
  readonly status: ReleaseStatus;
  /** Events and notifications caused by this call's transitions, in the order they happened. */
  readonly announcements: Action[];
}

export function createContext(input: EngineInput): DecisionContext {
  const nowMs = parseTime(input.observations.now, "observations.now");
  return {
    release: input.release,
    plan: input.plan,
    observations: input.observations,
    nowMs,
    now: toTimestamp(nowMs),
    status: input.release.status ? structuredClone(input.release.status) : emptyStatus(),
    announcements: [],
  };
}

export function emptyStatus(): ReleaseStatus {
  return { stages: [], approvals: [], transitions: [], conditions: [] };
}

export function parseTime(text: string, what: string): number {
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) throw new Error(`engine: ${what} is not an ISO 8601 time: ${JSON.stringify(text)}`);
  return ms;
}

export function toTimestamp(ms: number): string {
  return new Date(ms).toISOString();
}

/** A release without a phase has not been looked at yet: it is Pending. */
export function phaseOf(status: ReleaseStatus | undefined): ReleasePhase {
  return status?.phase ?? "Pending";
}

export function isTerminal(phase: ReleasePhase): boolean {
  return terminalPhases.includes(phase);
}

/** Cuts text to a schema's maxLength, so a long reason can never make the status invalid. */
export function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** "shop/checkout", for messages a person acts on. */
export function qualifiedName(release: Release, name: string): string {
  return release.metadata.namespace ? `${release.metadata.namespace}/${name}` : name;
}
