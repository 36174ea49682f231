import { parseDuration } from "./duration.ts";
import type { AllowedImagesList } from "./image-policy.ts";
import { comparedMetrics } from "./baseline.ts";
import { blueGreenPlan, blueGreenStages, type BlueGreenPlan } from "./blue-green.ts";
import {
  BASELINE_ROUTER_MESSAGE,
  BLUE_GREEN_BASELINE_MESSAGE,
  releaseSchema,
  type Metric,
  type Release,
  type Stage,
} from "./release.ts";
import { routingStageProblems } from "./stage-routing.ts";
import type { StrategyFile } from "./strategy.ts";
import { formatIssues, type ValidationIssue } from "./validation.ts";

/** What a Release will do once its preset and the cluster's defaults are applied. */
export interface ReleasePlan {
  /** The preset used, or undefined for inline stages. */
  preset: string | undefined;
  stages: Stage[];
  analysisIntervalMs: number;
  progressDeadlineMs: number;
  bakeMs: number;
  metrics: Metric[];
  alerts: { matchLabels: Record<string, string>; severities: string[] };
  mayPassFreeze: boolean;
  postMortemDue: boolean;
  requiresKnownPrevious: boolean;
  /** At an approval gate: how many distinct verified approvers, and whether the author may be one. */
  approval: { required: number; separationOfDuties: boolean };
  /** The allowedImages lists that apply (global, change type's preset, stages' preset); every image must satisfy each. */
  allowedImages: AllowedImagesList[];
  /** A blue/green release (spec.blueGreen): `stages` are its preview, switch and promote (src/api/blue-green.ts). */
  blueGreen?: BlueGreenPlan;
}

export type ReleaseValidation =
  { ok: true; release: Release; plan: ReleasePlan } | { ok: false; issues: ValidationIssue[] };

/**
 * Validates a Release object as read from the API server and resolves its plan.
 * Reports every problem with its path; the controller puts them in the Valid
 * condition, the CLI prints them.
 */
export function validateRelease(raw: unknown, strategy: StrategyFile): ReleaseValidation {
  const parsed = releaseSchema.safeParse(raw);
  if (!parsed.success) return { ok: false, issues: formatIssues(parsed.error) };
  const release = parsed.data;
  const { spec } = release;
  const issues: ValidationIssue[] = [];

  const presetName = spec.stages ? undefined : (spec.strategy ?? spec.changeRequest.type);
  const preset = presetName === undefined ? undefined : strategy.presets[presetName];
  // The change type decides the policy (may it pass a freeze, is a post-mortem due, must
  // the previous version be known); the preset or inline stages only say how traffic moves.
  // An emergency with inline stages still passes a freeze; a standard change naming the
  // emergency preset does not.
  const policy = strategy.presets[spec.changeRequest.type];
  if (presetName !== undefined && !preset) {
    issues.push({
      path: spec.strategy ? "$.spec.strategy" : "$.spec.changeRequest.type",
      message: `no preset "${presetName}" in the rollout strategy file (presets: ${Object.keys(strategy.presets).join(", ")})`,
    });
  }
  const needsRollbackPlan = [preset, policy].find((candidate) => candidate?.requiresRollbackPlan);
  if (needsRollbackPlan && !spec.changeRequest.rollbackPlan) {
    const which = needsRollbackPlan === preset ? presetName : spec.changeRequest.type;
    issues.push({
      path: "$.spec.changeRequest.rollbackPlan",
      message: `the preset "${which}" requires a rollbackPlan`,
    });
  }
  if (issues.length > 0) return { ok: false, issues };

  const baseStages = spec.stages ?? preset?.stages ?? [];
  const stages = spec.blueGreen
    ? blueGreenStages(spec.blueGreen, spec.changeRequest.requiresApproval)
    : baseStages.map((stage) =>
        stage.weight === 100 && spec.changeRequest.requiresApproval
          ? { ...stage, requiresApproval: true }
          : stage,
      );
  const defaults = strategy.defaults;
  const plan: ReleasePlan = {
    preset: presetName,
    stages,
    analysisIntervalMs: parseDuration(spec.analysis?.interval ?? defaults.analysisInterval),
    progressDeadlineMs: parseDuration(spec.progressDeadline ?? defaults.progressDeadline),
    bakeMs: parseDuration(spec.bake ?? preset?.bake ?? defaults.bake),
    metrics: spec.analysis?.metrics ?? defaults.metrics,
    alerts: spec.analysis?.alerts ?? defaults.alerts,
    mayPassFreeze: policy?.mayPassFreeze ?? false,
    postMortemDue: policy?.postMortemDue ?? false,
    requiresKnownPrevious: policy?.requiresKnownPrevious ?? false,
    approval: approvalPolicy(spec, strategy),
    allowedImages: imagePolicy(spec, strategy),
    ...(spec.blueGreen ? { blueGreen: blueGreenPlan(spec.blueGreen) } : {}),
  };
  // The strategy file's default metrics may compare too; the schema sees only inline ones.
  if (comparedMetrics(plan.metrics).length > 0 && spec.traffic.gatewayAPI === undefined)
    return { ok: false, issues: [{ path: "$.spec.traffic", message: BASELINE_ROUTER_MESSAGE }] };
  if (comparedMetrics(plan.metrics).length > 0 && spec.blueGreen !== undefined)
    return { ok: false, issues: [{ path: "$.spec.blueGreen", message: BLUE_GREEN_BASELINE_MESSAGE }] };
  // A preset's stages may route by match or mirror too; the schema checks only inline ones.
  if (!spec.stages) {
    const routing = routingStageProblems(plan.stages, spec.traffic);
    if (routing.length > 0) {
      const where = `$.spec.${spec.strategy ? "strategy" : "changeRequest.type"}`;
      return {
        ok: false,
        issues: routing.map((problem) => ({
          path: where,
          message: `the preset "${presetName}" stage ${problem.path[0]}: ${problem.message}`,
        })),
      };
    }
  }
  return { ok: true, release, plan };
}

/**
 * How many approvers a Release needs at a gate and whether its author may be one: the
 * stricter of its change type's preset and the preset whose stages it uses, so picking
 * another stage plan never weakens the sign-off (inline stages: the change type's, or the
 * safe defaults, one approver and never the author). Also used by the admission webhook,
 * which sees Releases before any other validation.
 */
export function approvalPolicy(spec: PresetChoice, strategy: StrategyFile): ReleasePlan["approval"] {
  const presets = presetsThatApply(spec)
    .map((name) => strategy.presets[name])
    .filter((preset) => preset !== undefined);
  return {
    required: Math.max(1, ...presets.map((preset) => preset.approvals ?? 1)),
    separationOfDuties: presets.length === 0 || presets.some((preset) => preset.separationOfDuties ?? true),
  };
}

/** What in a Release's spec chooses its presets: the change type and the stages. */
export interface PresetChoice {
  strategy?: string | undefined;
  stages?: unknown;
  changeRequest?: { type?: string | undefined } | undefined;
}

/** The presets whose policy binds a Release: its change type's, and the one whose stages it uses (once each). */
function presetsThatApply(spec: PresetChoice): string[] {
  const type = spec.changeRequest?.type;
  const stagesFrom = spec.stages ? undefined : (spec.strategy ?? type);
  return [...new Set([type, stagesFrom].filter((name): name is string => name !== undefined))];
}

/**
 * The allowedImages lists a Release's images must each satisfy, with where they come from:
 * the global list and those of the presets that bind it (as for approvals, so naming a
 * laxer stage plan never widens the policy). Empty lists are no policy and are left out.
 * Also used by the admission webhook.
 */
export function imagePolicy(spec: PresetChoice, strategy: StrategyFile): AllowedImagesList[] {
  const lists: AllowedImagesList[] = [];
  if (strategy.allowedImages?.length) lists.push({ entries: strategy.allowedImages });
  for (const preset of presetsThatApply(spec)) {
    const entries = strategy.presets[preset]?.allowedImages;
    if (entries?.length) lists.push({ preset, entries });
  }
  return lists;
}
