import { z } from "zod";
import { boundedDuration } from "./duration.ts";
import { allowedImagesSchema } from "./image-policy.ts";
import { dnsLabelSchema } from "./names.ts";
import { alertMatchSchema, changeTypes, DURATION_LIMITS, metricSchema, stagesSchema } from "./release.ts";
import { formatIssues, type ValidationIssue } from "./validation.ts";

// rollout/rollout-strategy.json: the stage plans and defaults a cluster uses.
// Shipped in the repo and, as a ConfigMap, in the Helm chart.

export const presetSchema = z.object({
  description: z.string().max(500),
  stages: stagesSchema,
  bake: boundedDuration(
    "bake",
    DURATION_LIMITS.bake,
    "Overrides defaults.bake for releases on this preset.",
  ).optional(),
  requiresRollbackPlan: z.boolean().default(false),
  requiresKnownPrevious: z
    .boolean()
    .default(false)
    .describe("Refuse to start unless the stable Deployment's current version can be captured."),
  mayPassFreeze: z
    .boolean()
    .default(false)
    .describe(
      "Releases of this change type may start during a change freeze; the record says so. Only a change type's preset sets it.",
    ),
  postMortemDue: z
    .boolean()
    .default(false)
    .describe(
      "Mark the records of this change type: a post-mortem is due. Only a change type's preset sets it.",
    ),
  approvals: z
    .int()
    .min(1)
    .max(10)
    .default(1)
    .describe(
      "How many people must approve at an approval gate (distinct, verified). A Release gets the stricter of its change type's preset and the preset of its stages.",
    ),
  separationOfDuties: z
    .boolean()
    .default(true)
    .describe(
      "Four-eyes: an approval by the Release's creator or by changeRequest.requestedBy does not count. On by default; it only matters where an approval is required. On when either the change type's preset or the preset of the stages says so.",
    ),
  allowedImages: allowedImagesSchema
    .optional()
    .describe(
      "Where the images of Releases on this preset may come from. An image must satisfy every list that applies: the global allowedImages, its change type's preset's and the preset of its stages. " +
        allowedImagesSchema.description,
    ),
});
export type Preset = z.infer<typeof presetSchema>;

export const strategyFileSchema = z.object({
  $schema: z.string().optional(),
  allowedImages: allowedImagesSchema
    .optional()
    .describe(
      "Where the images of every Release may come from; presets may narrow it further with their own list. " +
        allowedImagesSchema.description,
    ),
  defaults: z.object({
    analysisInterval: boundedDuration(
      "analysisInterval",
      DURATION_LIMITS.analysisInterval,
      "Time between analysis rounds.",
    ),
    progressDeadline: boundedDuration(
      "progressDeadline",
      DURATION_LIMITS.progressDeadline,
      "How long new pods may take to become Ready.",
    ),
    bake: boundedDuration("bake", DURATION_LIMITS.bake, "Monitoring after GA."),
    metrics: z.array(metricSchema).min(1).max(20),
    alerts: alertMatchSchema,
  }),
  presets: z.record(dnsLabelSchema, presetSchema).superRefine(
    (presets, ctx) => {
      for (const type of changeTypes) {
        if (!(type in presets)) {
          ctx.addIssue({
            code: "custom",
            path: [type],
            message: `a preset for the change type "${type}" is required`,
          });
        }
      }
      // Policy belongs to the change type, whatever stages a Release uses (plan.ts): on
      // another preset these flags would be silently ignored, so they are refused.
      for (const [name, preset] of Object.entries(presets)) {
        if ((changeTypes as readonly string[]).includes(name)) continue;
        for (const flag of ["mayPassFreeze", "postMortemDue", "requiresKnownPrevious"] as const) {
          if (preset?.[flag]) {
            ctx.addIssue({
              code: "custom",
              path: [name, flag],
              message: `only the preset of a change type (${changeTypes.join(", ")}) sets ${flag}: the change type decides it, whatever stages a Release uses`,
            });
          }
        }
      }
    },
    // Runs even when a preset has problems of its own, so one report lists them all.
    { when: (payload) => typeof payload.value === "object" && payload.value !== null },
  ),
});
export type StrategyFile = z.infer<typeof strategyFileSchema>;

export class StrategyFileError extends Error {
  readonly issues: ValidationIssue[];
  constructor(source: string, issues: ValidationIssue[]) {
    super(
      `${source} is not a valid rollout strategy file:\n${issues.map((i) => `  ${i.path}: ${i.message}`).join("\n")}`,
    );
    this.name = "StrategyFileError";
    this.issues = issues;
  }
}

/** Parses a strategy file's text, reporting every problem with its JSON path. */
export function parseStrategyFile(text: string, source = "rollout-strategy.json"): StrategyFile {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new StrategyFileError(source, [
      { path: "$", message: `not valid JSON: ${(error as Error).message}` },
    ]);
  }
  const parsed = strategyFileSchema.safeParse(raw);
  if (!parsed.success) throw new StrategyFileError(source, formatIssues(parsed.error));
  return parsed.data;
}
