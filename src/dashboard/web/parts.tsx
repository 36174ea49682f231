// Small pieces both pages use: the phase badge, the stage bar and a data table.
import type { ComponentChildren } from "preact";
import type { StepSummary } from "../protocol.ts";

const PHASE_TONE: Record<string, string> = {
  Succeeded: "good",
  RolledBack: "bad",
  Failed: "bad",
  RollingBack: "bad",
  Paused: "warn",
  AwaitingApproval: "warn",
  WaitingForWindow: "warn",
  Progressing: "info",
  Baking: "info",
};

export function PhaseBadge({ phase }: { phase: string }) {
  return (
    <span class={`badge badge-${PHASE_TONE[phase] ?? "neutral"}`} data-phase-badge={phase}>
      {phase}
    </span>
  );
}

const STATE_WORD: Record<StepSummary["state"], string> = {
  done: "done",
  current: "now",
  failed: "failed",
  pending: "to come",
  skipped: "skipped",
};

/** 1% → 10% → 50% → 100% → bake, each step marked done, now, failed, to come or skipped. */
export function StageBar({ steps }: { steps: StepSummary[] }) {
  return (
    <ol class="stagebar" aria-label="Stages">
      {steps.map((step) => {
        const label = step.weight === undefined ? step.name : `${step.weight}%`;
        return (
          <li
            class={`step step-${step.state}`}
            data-step={step.name}
            data-state={step.state}
            title={`${step.name}: ${STATE_WORD[step.state]}${step.outcome ? ` (${step.outcome})` : ""}`}
          >
            <span aria-hidden="true" class="mark">
              {step.state === "done"
                ? "✓"
                : step.state === "failed"
                  ? "✗"
                  : step.state === "current"
                    ? "▶"
                    : "○"}
            </span>
            {label}
            <span class="visually-hidden"> {STATE_WORD[step.state]}</span>
          </li>
        );
      })}
    </ol>
  );
}

/** A table that scrolls sideways on a narrow screen: a caption, a header row, then `children` as rows. */
export function DataTable(props: {
  class?: string;
  caption?: string;
  columns: string[];
  children: ComponentChildren;
}) {
  return (
    <div class="table-scroll">
      <table class={props.class}>
        {props.caption === undefined ? null : <caption>{props.caption}</caption>}
        <thead>
          <tr>
            {props.columns.map((column) => (
              <th scope="col">{column}</th>
            ))}
          </tr>
        </thead>
        <tbody>{props.children}</tbody>
      </table>
    </div>
  );
}
