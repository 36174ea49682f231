// Over 400 lines on purpose: the one schema the Release CRD, its types and its validation are generated from, with each zod refinement beside its CEL twin; split, the pairs would drift.
import { z } from "zod";
import { boundedDuration } from "./duration.ts";
import { metricUnits } from "./metric-units.ts";
import { dnsLabelSchema, labelValueSchema, promLabelNameSchema } from "./names.ts";
import {
  ROUTING_STAGE_CEL,
  routingStageProblems,
  stageMatchSchema,
  stageMirrorSchema,
} from "./stage-routing.ts";

// The Release custom resource (glidepath.dev/v1alpha1). These schemas are the one
// source of the TypeScript types, of the controller's validation and of the CRD's
// OpenAPI schema (see crd.ts). Rules that OpenAPI cannot hold are written twice on
// purpose, side by side: as a zod refinement (enforced by the controller on every
// cluster) and as a CEL rule in `x-kubernetes-validations` (enforced by API servers
// from 1.25 on). Keep each pair together.

export const API_GROUP = "glidepath.dev";
export const API_VERSION = "v1alpha1";
export const RELEASE_KIND = "Release";
/**
 * On every active Release (the controller adds it when the release starts, removes it when
 * the release ends): a deleted Release stays until its traffic is back on stable.
 */
export const ROUTE_RESTORE_FINALIZER = "glidepath.dev/route-restore";

/** CEL rules travel in the zod metadata, so the CRD generator finds them beside the zod check. */
function cel(...rules: { rule: string; message: string }[]) {
  return { "x-kubernetes-validations": rules };
}

/**
 * The longest (and shortest) durations a Release and the strategy file may ask for: a
 * month of hold or bake, an hour between analysis rounds (at least a second, or analysis
 * would spin), a day for pods to become Ready.
 */
export const DURATION_LIMITS = {
  hold: { max: "720h" },
  bake: { max: "720h" },
  analysisInterval: { min: "1s", max: "1h" },
  progressDeadline: { max: "24h" },
} as const;

export const changeTypes = ["standard", "expedited", "emergency"] as const;
export const riskLevels = ["low", "medium", "high"] as const;

/** Named metrics whose PromQL is built in (src/analysis), for the common conventions. */
export const builtinMetricTemplates = [
  "http-error-ratio",
  "http-latency-p99",
  "gateway-error-ratio",
  "gateway-latency-p99",
  "istio-error-ratio",
  "istio-latency-p99",
  "nginx-error-ratio",
  "nginx-latency-p99",
] as const;

const finiteNumber = z.number().describe("a finite number");
/** Passing analysis rounds before a step may go on: a stage's, or blue/green's preview and switch. */
const minMeasurementsSchema = z.int().min(0).max(1000).optional();

export const stageSchema = z
  .object({
    name: dnsLabelSchema.describe("Stage name, e.g. canary, early-adopter, expansion, ga."),
    weight: z
      .int()
      .min(0)
      .max(100)
      .describe(
        "Percent of traffic on the new version during this stage; 0 only for a match or mirror stage.",
      ),
    hold: boundedDuration(
      "hold",
      DURATION_LIMITS.hold,
      "How long the stage is held and analysed before it may advance.",
    ),
    minMeasurements: minMeasurementsSchema.describe(
      "Passing analysis rounds required before the stage may advance (default 1 when metrics exist).",
    ),
    requiresApproval: z
      .boolean()
      .optional()
      .describe("Stop before entering this stage until a person approves."),
    match: stageMatchSchema.optional(),
    mirror: stageMirrorSchema.optional(),
  })
  // Routing stages (docs/routing-stages.md) serve the canary no share of the rest: weight 0.
  .superRefine((stage, ctx) => {
    if (stage.match && stage.mirror) {
      ctx.addIssue({ code: "custom", path: ["mirror"], message: "set `match` or `mirror`, not both" });
    }
    const routing = stage.match !== undefined || stage.mirror !== undefined;
    if (routing && stage.weight !== 0) {
      ctx.addIssue({
        code: "custom",
        path: ["weight"],
        message: `a match or mirror stage sends the canary no other traffic: its weight must be 0, not ${stage.weight}`,
      });
    }
    if (!routing && stage.weight === 0) {
      ctx.addIssue({
        code: "custom",
        path: ["weight"],
        message: "weight 0 is only for a match or mirror stage: give the stage a weight from 1 to 100",
      });
    }
  })
  .meta(
    cel(
      { rule: "!(has(self.match) && has(self.mirror))", message: "set match or mirror, not both" },
      {
        rule: "(self.weight == 0) == (has(self.match) || has(self.mirror))",
        message: "weight 0 is for match and mirror stages, and only for them",
      },
    ),
  )
  .describe("One step of the rollout.");

export type Stage = z.infer<typeof stageSchema>;

/** The record's name for the monitoring after GA; no stage may take it. */
export const BAKE_STAGE_NAME = "bake";

export const stagesSchema = z
  .array(stageSchema)
  .min(1)
  .max(10)
  .superRefine((stages, ctx) => {
    stages.forEach((stage, index) => {
      const before = stages[index - 1];
      // Routing stages (weight 0) may follow one another; weighted stages increase strictly.
      if (before && stage.weight <= before.weight && !(stage.weight === 0 && before.weight === 0)) {
        ctx.addIssue({
          code: "custom",
          path: [index, "weight"],
          message: `stage weights must increase strictly: ${stage.weight} follows ${before.weight}`,
        });
      }
    });
    const last = stages.at(-1);
    if (last && last.weight !== 100) {
      ctx.addIssue({
        code: "custom",
        path: [stages.length - 1, "weight"],
        message: `the last stage must send 100% of traffic to the new version, not ${last.weight}%`,
      });
    }
    const seen = new Set<string>();
    stages.forEach((stage, index) => {
      if (stage.name === BAKE_STAGE_NAME) {
        ctx.addIssue({
          code: "custom",
          path: [index, "name"],
          message: `"${BAKE_STAGE_NAME}" is reserved for the monitoring after GA`,
        });
      }
      if (seen.has(stage.name)) {
        ctx.addIssue({
          code: "custom",
          path: [index, "name"],
          message: `stage name "${stage.name}" is repeated`,
        });
      }
      seen.add(stage.name);
    });
  })
  .meta(
    cel(
      { rule: "self[size(self) - 1].weight == 100", message: "the last stage must have weight 100" },
      {
        // exists_one, not "no other stage with this name and another weight": that let two
        // stages with the same name and weight through (refused only as weights not increasing).
        rule: "self.all(a, self.exists_one(b, b.name == a.name))",
        message: "stage names must be unique",
      },
      {
        rule: "self.all(s, s.name != 'bake')",
        message: "the stage name bake is reserved for the monitoring after GA",
      },
      {
        rule: "self.map(s, s.weight).isSorted() && self.all(a, a.weight == 0 || self.filter(b, b.weight == a.weight).size() == 1)",
        message: "stage weights must increase strictly",
      },
    ),
  );

/** Per-interval samples kept per side, metric and stage for the baseline comparison (the newest). */
export const MAX_BASELINE_SAMPLES = 30;

/** The Mann-Whitney comparison of a metric's per-interval samples, canary against baseline (src/engine/mann-whitney.ts). */
export const baselineComparisonSchema = z
  .object({
    worse: z
      .enum(["higher", "lower", "either"])
      .default("higher")
      .describe("Which way is worse: higher (latency, errors), lower (throughput, success), or either."),
    confidence: z
      .number()
      .min(0.5)
      .max(0.999)
      .default(0.95)
      .describe(
        "The canary fails only when the test is significant at this confidence (p < 1 − confidence).",
      ),
    effectSize: z
      .number()
      .min(0.5)
      .max(1)
      .default(0.71)
      .describe(
        "The smallest effect that fails: the probability that a canary sample is worse than a baseline " +
          "sample (0.5 is no difference; 0.56, 0.64, 0.71 are small, medium, large).",
      ),
    minSamples: z
      .int()
      .min(3)
      .max(MAX_BASELINE_SAMPLES)
      .default(8)
      .describe("Per-interval samples each side needs in a stage before the comparison says anything."),
  })
  .describe("Compare the canary's samples with the baseline's.");

export const metricSchema = z
  .object({
    name: dnsLabelSchema.describe("Metric name, shown in status and records."),
    template: z
      .enum(builtinMetricTemplates)
      .optional()
      .describe("A built-in query for a common metrics convention; use this or `query`."),
    query: z
      .string()
      .min(1)
      .max(4096)
      .optional()
      .describe(
        "A PromQL template. Variables {{namespace}}, {{service}}, {{target}}, {{canary}}, {{version}}, " +
          "{{interval}} are escaped for PromQL before they are inserted.",
      ),
    unit: z
      .enum(metricUnits)
      .optional()
      .describe(
        "What the value measures, for people reading it (ratio is shown as a percentage): " +
          "a template's own unit by default, none for a query.",
      ),
    max: finiteNumber.optional().describe("The measurement fails above this value."),
    min: finiteNumber.optional().describe("The measurement fails below this value."),
    aggregate: z
      .enum(["sum", "avg", "max", "min"])
      .optional()
      .describe("How to combine a result of several series; without it, more than one series is an error."),
    failureLimit: z.int().min(0).max(100).default(0).describe("Failed measurements tolerated in a stage."),
    inconclusiveLimit: z
      .int()
      .min(0)
      .max(100)
      .default(3)
      .describe("Measurements without data tolerated in a stage before `onInconclusive` applies."),
    onInconclusive: z
      .enum(["pause", "fail"])
      .default("pause")
      .describe("What happens past inconclusiveLimit: pause for a person, or fail and roll back."),
    consecutiveErrorLimit: z
      .int()
      .min(0)
      .max(100)
      .default(4)
      .describe("Query errors in a row tolerated before the metric fails."),
    compare: z
      .object({ baseline: baselineComparisonSchema })
      .optional()
      .describe(
        "Besides the thresholds, compare the canary with a baseline (the stable version started beside it " +
          "with the same share of traffic): see docs/baseline.md.",
      ),
  })
  .superRefine((metric, ctx) => {
    if ((metric.template === undefined) === (metric.query === undefined)) {
      ctx.addIssue({ code: "custom", path: ["query"], message: "set exactly one of `template` and `query`" });
    }
    if (metric.max === undefined && metric.min === undefined) {
      ctx.addIssue({ code: "custom", path: ["max"], message: "set a threshold: `max`, `min` or both" });
    }
    if (metric.max !== undefined && metric.min !== undefined && metric.min > metric.max) {
      ctx.addIssue({
        code: "custom",
        path: ["min"],
        message: `min (${metric.min}) must not be greater than max (${metric.max})`,
      });
    }
  })
  .meta(
    cel(
      { rule: "has(self.template) != has(self.query)", message: "set exactly one of template and query" },
      { rule: "has(self.max) || has(self.min)", message: "set a threshold: max, min or both" },
      {
        rule: "!has(self.max) || !has(self.min) || self.min <= self.max",
        message: "min must not be greater than max",
      },
    ),
  );

export type Metric = z.infer<typeof metricSchema>;

export const alertMatchSchema = z
  .object({
    matchLabels: z
      .record(promLabelNameSchema, z.string().max(1024))
      .default({})
      .describe(
        "Alert labels that must all be equal to these values (the namespace label always must match).",
      ),
    severities: z
      .array(z.string().min(1).max(64))
      .max(10)
      .default(["critical"])
      .describe("Values of the alert's `severity` label that roll back."),
  })
  .describe("Which Alertmanager alerts roll this release back.");

export const analysisSchema = z.object({
  interval: boundedDuration(
    "interval",
    DURATION_LIMITS.analysisInterval,
    "Time between analysis rounds (default from the strategy file).",
  ).optional(),
  metrics: z
    .array(metricSchema)
    .max(20)
    .optional()
    .describe("Metrics to analyse; without it the strategy file's default metrics apply."),
  alerts: alertMatchSchema.optional(),
});

export const trafficSchema = z
  .object({
    gatewayAPI: z
      .object({
        httpRoute: dnsLabelSchema.describe("The HTTPRoute whose backendRefs get the weights."),
        port: z.int().min(1).max(65535).optional().describe("backendRef port (default: the route's own)."),
      })
      .optional(),
    nginx: z
      .object({ ingress: dnsLabelSchema.describe("The stable Ingress; a canary Ingress is made beside it.") })
      .optional(),
    replicas: z.object({}).optional().describe("No router: the canary gets about weight% of the pods."),
  })
  .superRefine((traffic, ctx) => {
    const chosen = [traffic.gatewayAPI, traffic.nginx, traffic.replicas].filter((r) => r !== undefined);
    if (chosen.length !== 1) {
      ctx.addIssue({
        code: "custom",
        path: [],
        message: `choose exactly one traffic router (gatewayAPI, nginx or replicas), not ${chosen.length}`,
      });
    }
  })
  .meta(
    cel({
      rule: "[has(self.gatewayAPI), has(self.nginx), has(self.replicas)].filter(x, x).size() == 1",
      message: "choose exactly one traffic router: gatewayAPI, nginx or replicas",
    }),
  );

/** A blue/green release (docs/blue-green.md): its own plan instead of weighted stages. */
export const blueGreenSchema = z
  .object({
    preview: boundedDuration(
      "preview",
      DURATION_LIMITS.hold,
      "How long the new version, at stable's size behind the preview Service (the canary Service) with no user " +
        "traffic, is held and analysed before the switch (default 1m).",
    ).optional(),
    scaleDownDelay: boundedDuration(
      "scaleDownDelay",
      DURATION_LIMITS.hold,
      "After the switch, how long the old version stays scaled and untouched, so a rollback is one write of " +
        "the route; analysis goes on meanwhile (default 30s).",
    ).optional(),
    requiresApproval: z
      .boolean()
      .optional()
      .describe("Stop after the preview until a person approves the switch."),
    minMeasurements: minMeasurementsSchema.describe(
      "Passing analysis rounds the preview and the switched version each need (default 1 with metrics).",
    ),
  })
  .describe(
    "Blue/green: the new version comes up at full size behind the preview Service, analysed with no user traffic, " +
      "then takes 100% at once.",
  );

export type BlueGreen = z.infer<typeof blueGreenSchema>;

export const changeRequestSchema = z
  .object({
    id: z
      .string()
      .min(1)
      .max(64)
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, { message: "must be letters, digits, '.', '_' or '-'" })
      .describe("Change-request identifier, e.g. CHG-1042."),
    type: z.enum(changeTypes).describe("standard, expedited or emergency; picks the default stage plan."),
    title: z.string().min(1).max(200),
    scope: z.string().max(4000).optional().describe("What changes."),
    why: z.string().min(1).max(4000).describe("Why the change is made."),
    risk: z.enum(riskLevels),
    successCriteria: z.array(z.string().min(1).max(500)).max(20).default([]),
    rollbackPlan: z.string().min(1).max(4000).optional().describe("Required for an emergency change."),
    testing: z
      .object({
        unit: z.boolean().optional(),
        integration: z.boolean().optional(),
        manual: z.boolean().optional(),
        notes: z.string().max(2000).optional(),
      })
      .default({}),
    requestedBy: z.string().min(1).max(256),
    committedAt: z.iso
      .datetime({ offset: true })
      .optional()
      .describe(
        "When the change was committed or merged (set by CI): DORA's lead time for changes counts from it.",
      ),
    requiresApproval: z.boolean().default(false).describe("A person must approve before GA."),
    ticketUrl: z
      .url({ protocol: /^https?$/ })
      .max(2048)
      // `format: uri` takes any scheme (javascript:, file:); CEL holds the protocol as zod does.
      .meta(
        cel({ rule: "self.matches('^(?i)https?://')", message: "ticketUrl must be an http or https URL" }),
      )
      .optional(),
  })
  .superRefine((change, ctx) => {
    if (change.type === "emergency" && !change.rollbackPlan) {
      ctx.addIssue({
        code: "custom",
        path: ["rollbackPlan"],
        message: "an emergency change needs a rollbackPlan",
      });
    }
  })
  .meta(
    cel({
      rule: "self.type != 'emergency' || has(self.rollbackPlan)",
      message: "an emergency change needs a rollbackPlan",
    }),
  );

export type ChangeRequest = z.infer<typeof changeRequestSchema>;

const personSchema = z.string().min(1).max(256);
const timestampSchema = z.iso.datetime({ offset: true });

/** A human's request, carried in spec so it is declarative and audited by the API server. */
export const controlSchema = z
  .object({
    paused: z.boolean().optional().describe("Hold the release where it is (no advance, analysis continues)."),
    abort: z
      .object({ by: personSchema, at: timestampSchema, reason: z.string().max(1000).optional() })
      .optional()
      .describe("Roll back now."),
    promote: z
      .object({ by: personSchema, at: timestampSchema, full: z.boolean().optional() })
      .optional()
      .describe("Skip the rest of the current stage (or, with full, every stage up to GA)."),
    approvals: z
      .array(z.object({ by: personSchema, at: timestampSchema, comment: z.string().max(1000).optional() }))
      .max(20)
      .optional(),
    resume: z
      .object({ by: personSchema, at: timestampSchema })
      .optional()
      .describe(
        "Go on after the controller paused the release because someone else edited the stable Deployment: " +
          "accept stable as it is now.",
      ),
  })
  .describe("Commands from people, written by the glidepath CLI.");

/** What spec.target.deployment may name (docs/statefulsets.md). */
export const targetKinds = ["Deployment", "StatefulSet"] as const;
export type TargetKind = (typeof targetKinds)[number];

/** How the canary is sized when it should not follow the stable's HorizontalPodAutoscaler (docs/autoscaling.md). */
export const canaryScaleSchema = z
  .object({
    replicas: z
      .int()
      .min(1)
      .max(1000)
      .describe(
        "The canary runs this many replicas throughout, and gets no copy of the stable's autoscaler.",
      ),
  })
  .describe(
    "A fixed size for the canary. Without it, a target with a HorizontalPodAutoscaler gets a canary copy of " +
      "it with bounds proportional to the stage's weight; a target without one gets a canary as big as stable.",
  );

export const releaseSpecSchema = z
  .object({
    target: z.object({
      kind: z
        .enum(targetKinds)
        .optional()
        .describe(
          "What `deployment` names: a Deployment (the default), or a StatefulSet released by its " +
            "update partition (docs/statefulsets.md; replica split only).",
        ),
      deployment: dnsLabelSchema.describe(
        "The stable Deployment (or the StatefulSet, when kind is StatefulSet).",
      ),
      service: dnsLabelSchema.describe("The stable Service."),
    }),
    version: labelValueSchema.min(1).describe("The new version; becomes the pods' `version` label."),
    images: z
      .record(dnsLabelSchema, z.string().min(1).max(512))
      .refine((images) => Object.keys(images).length > 0, { message: "name at least one container image" })
      .meta({ minProperties: 1 })
      .describe("Container name → new image."),
    strategy: dnsLabelSchema
      .optional()
      .describe("A preset from rollout-strategy.json (default: the change type's preset)."),
    stages: stagesSchema.optional().describe("Inline stages instead of a preset."),
    traffic: trafficSchema,
    blueGreen: blueGreenSchema
      .optional()
      .describe("A blue/green release instead of weighted stages (docs/blue-green.md)."),
    analysis: analysisSchema.optional(),
    progressDeadline: boundedDuration(
      "progressDeadline",
      DURATION_LIMITS.progressDeadline,
      "How long new pods may take to become Ready before the release rolls back.",
    ).optional(),
    bake: boundedDuration(
      "bake",
      DURATION_LIMITS.bake,
      "Monitoring after GA before the release counts as done.",
    ).optional(),
    changeRequest: changeRequestSchema,
    control: controlSchema.optional(),
    canaryScale: canaryScaleSchema.optional(),
  })
  .superRefine((spec, ctx) => {
    if (spec.strategy !== undefined && spec.stages !== undefined) {
      ctx.addIssue({ code: "custom", path: ["stages"], message: "set `strategy` or `stages`, not both" });
    }
    if (spec.blueGreen !== undefined) {
      for (const field of ["strategy", "stages"] as const) {
        if (spec[field] !== undefined)
          ctx.addIssue({ code: "custom", path: [field], message: BLUE_GREEN_STAGES_MESSAGE });
      }
      if (spec.traffic.replicas !== undefined)
        ctx.addIssue({ code: "custom", path: ["traffic", "replicas"], message: BLUE_GREEN_ROUTER_MESSAGE });
    }
    if (spec.target.kind === "StatefulSet" && spec.traffic.replicas === undefined) {
      ctx.addIssue({ code: "custom", path: ["traffic"], message: STATEFULSET_ROUTER_MESSAGE });
    }
    const compared = (spec.analysis?.metrics ?? []).findIndex((metric) => metric.compare !== undefined);
    if (compared >= 0 && spec.traffic.gatewayAPI === undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["analysis", "metrics", compared, "compare"],
        message: BASELINE_ROUTER_MESSAGE,
      });
    }
    if (compared >= 0 && spec.blueGreen !== undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["analysis", "metrics", compared, "compare"],
        message: BLUE_GREEN_BASELINE_MESSAGE,
      });
    }
    for (const problem of routingStageProblems(spec.stages ?? [], spec.traffic)) {
      ctx.addIssue({ code: "custom", path: ["stages", ...problem.path], message: problem.message });
    }
    if (spec.canaryScale !== undefined && spec.traffic.replicas !== undefined) {
      ctx.addIssue({ code: "custom", path: ["canaryScale"], message: CANARY_SCALE_ROUTER_MESSAGE });
    }
  })
  .meta(
    cel(
      { rule: "!(has(self.strategy) && has(self.stages))", message: "set strategy or stages, not both" },
      {
        rule:
          "has(self.traffic.gatewayAPI) || !has(self.analysis) || !has(self.analysis.metrics) || " +
          "self.analysis.metrics.all(m, !has(m.compare))",
        message: "a comparison with the baseline needs the Gateway API router (spec.traffic.gatewayAPI)",
      },
      {
        rule: "!has(self.blueGreen) || (!has(self.strategy) && !has(self.stages))",
        message: "a blue/green release has its own plan: set blueGreen or strategy/stages, not both",
      },
      {
        rule: "!has(self.blueGreen) || !has(self.traffic.replicas)",
        message:
          "blue/green needs a router with a preview Service: spec.traffic.gatewayAPI or spec.traffic.nginx",
      },
      {
        rule:
          "!has(self.blueGreen) || !has(self.analysis) || !has(self.analysis.metrics) || " +
          "self.analysis.metrics.all(m, !has(m.compare))",
        message:
          "a blue/green preview has no traffic share for a baseline to match: no compare with blueGreen",
      },
      {
        rule: "!has(self.target.kind) || self.target.kind != 'StatefulSet' || has(self.traffic.replicas)",
        message: "a StatefulSet target needs the replica split (spec.traffic.replicas)",
      },
      ...ROUTING_STAGE_CEL,
      {
        rule: "!has(self.canaryScale) || !has(self.traffic.replicas)",
        message:
          "canaryScale needs a router (gatewayAPI or nginx): with the replica split the weight sets the canary's replicas",
      },
    ),
  );

/** Blue/green makes its own stages (src/api/blue-green.ts). */
export const BLUE_GREEN_STAGES_MESSAGE =
  "a blue/green release has its own plan (preview, switch, promote): set blueGreen or strategy/stages, not both";

/**
 * The replica split has no preview: the canary's pods sit behind the stable Service, so they get user
 * traffic as soon as they are Ready, and the split can only move pod by pod, never 100% at once.
 */
export const BLUE_GREEN_ROUTER_MESSAGE =
  "blue/green needs a router with a preview Service (spec.traffic.gatewayAPI or spec.traffic.nginx): with " +
  "the replica split the new pods sit behind the stable Service, so they take user traffic as soon as they " +
  "are Ready and traffic moves pod by pod, never 100% at once";

/** The baseline matches the canary's share, and a blue/green preview has none (docs/blue-green.md). */
export const BLUE_GREEN_BASELINE_MESSAGE =
  "a blue/green preview has no traffic share for a baseline to match: a metric with compare needs weighted stages";

/**
 * A StatefulSet is released in place through its update partition: there is no canary
 * Deployment, so no canary Service for a router to send a share to (docs/statefulsets.md).
 */
export const STATEFULSET_ROUTER_MESSAGE =
  "a StatefulSet target (spec.target.kind) needs the replica split (spec.traffic.replicas): its canary is " +
  "the pods on the new revision behind the stable Service, with no canary Service a Gateway API or NGINX " +
  "router could send a share to";

/** With the replica split the canary's pod count is its weight, so it cannot be fixed (docs/autoscaling.md). */
export const CANARY_SCALE_ROUTER_MESSAGE =
  "canaryScale needs a router (spec.traffic.gatewayAPI or nginx): with the replica split the canary's " +
  "share of the pods is its weight, so its replicas cannot be fixed";

/** Only the Gateway API router can give a baseline its own share (docs/baseline.md). */
export const BASELINE_ROUTER_MESSAGE =
  "a comparison with the baseline needs the Gateway API router (spec.traffic.gatewayAPI): only it can send " +
  "the baseline a share of its own; NGINX has one canary Ingress, and the replica split no Service of its own";

export type ReleaseSpec = z.infer<typeof releaseSpecSchema>;
export type ReleaseSpecInput = z.input<typeof releaseSpecSchema>;

// ---- status: written only by the controller ----

export const releasePhases = [
  "Pending",
  "WaitingForWindow",
  "Progressing",
  "Paused",
  "AwaitingApproval",
  "Baking",
  "Succeeded",
  "RollingBack",
  "RolledBack",
  "Failed",
] as const;
export type ReleasePhase = (typeof releasePhases)[number];
/** The phases a release ends in: a ReleaseRecord's outcome. */
export const finishedOutcomes = ["Succeeded", "RolledBack", "Failed"] as const;
export type FinishedOutcome = (typeof finishedOutcomes)[number];
export const terminalPhases: readonly ReleasePhase[] = finishedOutcomes;

export const verdicts = ["pass", "fail", "inconclusive", "error"] as const;
export type Verdict = (typeof verdicts)[number];

export const rollbackTriggers = ["metric", "health", "alert", "manual", "deadline"] as const;
export type RollbackTrigger = (typeof rollbackTriggers)[number];

/** Limits that keep the status far below etcd's object size however long a release runs. */
export const STATUS_LIMITS = {
  stages: 16,
  measurementsPerStage: 10,
  transitions: 50,
  // The engine writes 8 types (Valid, Progressing, Ready, RolledBack, WorkloadsReady,
  // StableDrifted, ChangeFreeze, Approved); the rest is room for others' conditions.
  conditions: 12,
  stableChanges: 10,
  /** Who paused, resumed, promoted, aborted (status.signOff.actions): verified ones are kept first. */
  signOffActions: 20,
  baselineSamples: MAX_BASELINE_SAMPLES,
} as const;

export const measurementSchema = z.object({
  metric: dnsLabelSchema,
  verdict: z.enum(verdicts),
  value: z
    .string()
    .max(64)
    .optional()
    .describe('The value as Prometheus returned it ("0.08", "NaN", "+Inf").'),
  baselineValue: z
    .string()
    .max(64)
    .optional()
    .describe("A metric compared with the baseline: the baseline's value in the same round."),
  at: timestampSchema,
  reason: z.string().max(1024),
});
export type Measurement = z.infer<typeof measurementSchema>;

/** Per-metric tallies for the running stage: what failureLimit & co. count against. */
export const metricTallySchema = z.object({
  metric: dnsLabelSchema,
  query: z.string().max(8192).optional().describe("The query as last sent."),
  pass: z.int().min(0),
  fail: z.int().min(0),
  inconclusive: z.int().min(0),
  error: z.int().min(0),
  consecutiveErrors: z.int().min(0),
  lastVerdict: z.enum(verdicts).optional(),
  lastValue: z.string().max(64).optional(),
  unit: z.enum(metricUnits).optional().describe("The metric's unit, for showing its values."),
});
export type MetricTally = z.infer<typeof metricTallySchema>;

/** A metric's baseline comparison in a stage: the samples so far and the test's verdict on them. */
export const comparisonRecordSchema = z.object({
  metric: dnsLabelSchema,
  canary: z
    .array(finiteNumber)
    .max(STATUS_LIMITS.baselineSamples)
    .describe("The canary's per-interval values (the newest; no-data intervals are left out)."),
  baseline: z.array(finiteNumber).max(STATUS_LIMITS.baselineSamples).describe("The baseline's, likewise."),
  verdict: z.enum(["pass", "fail", "inconclusive"]),
  u: z.number().optional().describe("Mann-Whitney U of the canary."),
  p: z.number().optional(),
  effect: z
    .number()
    .optional()
    .describe("The probability that a canary sample is worse than a baseline one."),
  shift: z.number().optional().describe("canary − baseline (Hodges-Lehmann), in the metric's unit."),
  reason: z.string().max(1024),
});
export type ComparisonRecord = z.infer<typeof comparisonRecordSchema>;

export const stageOutcomes = ["passed", "promoted", "failed", "aborted", "rolledBack"] as const;

export const stageRecordSchema = z.object({
  name: dnsLabelSchema,
  weight: z.int().min(0).max(100).describe("The planned weight."),
  reachedWeight: z.int().min(0).max(100).optional().describe("The weight the router actually reached."),
  partition: z
    .int()
    .min(0)
    .optional()
    .describe(
      "A StatefulSet target's update partition when the stage's weight was reached (docs/statefulsets.md).",
    ),
  enteredAt: timestampSchema,
  exitedAt: timestampSchema.optional(),
  outcome: z.enum(stageOutcomes).optional(),
  tallies: z.array(metricTallySchema).max(20).default([]),
  measurements: z.array(measurementSchema).max(STATUS_LIMITS.measurementsPerStage).default([]),
  comparisons: z
    .array(comparisonRecordSchema)
    .max(20)
    .optional()
    .describe("Metrics compared with the baseline: samples and verdict in this stage."),
  match: stageMatchSchema.optional().describe("A match stage: only matching requests went to the canary."),
  mirror: stageMirrorSchema
    .optional()
    .describe("A mirror stage: this share of requests was copied to the canary."),
});
export type StageRecord = z.infer<typeof stageRecordSchema>;

export const conditionSchema = z.object({
  type: z.string().min(1).max(316),
  status: z.enum(["True", "False", "Unknown"]),
  observedGeneration: z.int().min(0).optional(),
  lastTransitionTime: timestampSchema,
  reason: z
    .string()
    .min(1)
    .max(1024)
    .regex(/^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/),
  message: z.string().max(32768),
});
export type Condition = z.infer<typeof conditionSchema>;

const versionRefSchema = z.object({
  version: z.string().max(128).optional(),
  images: z.record(z.string(), z.string()),
});
/** A version as a Deployment runs it: its `version` label, when it has one, and images by container. */
export type VersionRef = z.infer<typeof versionRefSchema>;

/** stable's pod template apart from its images and version label, hashed (src/workload/stable-template.ts). */
const templateHashSchema = z.string().max(64);

const previousSchema = versionRefSchema.extend({
  replicas: z.int().min(0).optional().describe("stable's replicas when the release started."),
  template: templateHashSchema
    .optional()
    .describe(
      "Hash of stable's pod template apart from images and the version label, as this release expects it: " +
        "any other change is someone else's.",
    ),
});

export const stableChangeKinds = ["images", "template", "replicas", "accepted", "restored"] as const;

/** A change to the stable Deployment that Glidepath did not make, as the release noted it. */
export const stableChangeSchema = z.object({
  at: timestampSchema,
  kind: z.enum(stableChangeKinds),
  by: z
    .string()
    .max(256)
    .optional()
    .describe(
      "Who: the field manager that last wrote the changed field (metadata.managedFields), or the person who accepted it.",
    ),
  replicas: z.int().min(0).optional().describe("kind replicas: the new count."),
  message: z.string().max(1024),
});
export type StableChange = z.infer<typeof stableChangeSchema>;

/** Groups kept per person in signOff: enough to say which team, bounded so status stays small. */
export const SIGN_OFF_GROUPS = 16;

/** One identity as the controller verified it from the admission webhook's stamp. */
const verifiedIdentitySchema = z.object({
  verified: z
    .boolean()
    .describe(
      "The stamp's HMAC verified: the API server authenticated this user (not a name a client typed).",
    ),
  groups: z.array(z.string().max(256)).max(SIGN_OFF_GROUPS).optional(),
  // Stamp times are the webhook's clock as it wrote them; a forged one may be any text.
  at: z.string().max(64).optional(),
  problem: z.string().max(256).optional().describe("Why it is not verified."),
});

export const signOffActions = ["pause", "resume", "promote", "abort"] as const;

export const signOffSchema = z.object({
  creator: verifiedIdentitySchema
    .extend({ user: personSchema.optional() })
    .optional()
    .describe("Who created the Release (absent user: no creator stamp)."),
  actions: z
    .array(
      verifiedIdentitySchema.extend({
        action: z.enum(signOffActions),
        by: personSchema.describe("The stamped user, or the unverified name an unstamped entry claims."),
        at: z.string().max(64),
        detail: z.string().max(256).optional().describe("A promote's full, an abort's reason."),
      }),
    )
    .max(STATUS_LIMITS.signOffActions)
    .default([]),
  actionsDropped: z
    .int()
    .min(0)
    .optional()
    .describe("Entries dropped to keep the list bounded: unverified ones first, then the oldest."),
});
export type SignOff = z.infer<typeof signOffSchema>;

export const canaryScaleSources = ["autoscaler", "fixed", "stable", "replicaSplit"] as const;
export type CanaryScaleSource = (typeof canaryScaleSources)[number];

/** What sizes the canary: a copy of stable's autoscaler, spec.canaryScale, stable's size, or the replica split. */
export const canaryScaleStatusSchema = z.object({
  source: z.enum(canaryScaleSources),
  autoscaler: z
    .string()
    .max(253)
    .optional()
    .describe("The stable Deployment's HorizontalPodAutoscaler, when it has one."),
  canaryAutoscaler: z.string().max(253).optional().describe("source autoscaler: the canary's copy of it."),
  minReplicas: z.int().min(0).optional().describe("source autoscaler: the copy's bounds at this stage."),
  maxReplicas: z.int().min(0).optional(),
  message: z.string().max(512),
});
export type CanaryScaleStatus = z.infer<typeof canaryScaleStatusSchema>;

export const releaseStatusSchema = z.object({
  phase: z.enum(releasePhases).optional(),
  message: z.string().max(2048).optional(),
  observedGeneration: z.int().min(0).optional(),
  startedAt: timestampSchema.optional(),
  finishedAt: timestampSchema.optional(),
  currentStage: z
    .object({
      index: z.int().min(0),
      name: dnsLabelSchema,
      weight: z.int().min(0).max(100),
      startedAt: timestampSchema,
      lastAnalysisAt: timestampSchema.optional(),
    })
    .optional(),
  stages: z.array(stageRecordSchema).max(STATUS_LIMITS.stages).default([]),
  previous: previousSchema
    .optional()
    .describe(
      "What stable ran just before this release touched it: what a rollback restores. Captured at the start; " +
        "replaced by what stable runs when a person accepts someone else's edit before the promotion.",
    ),
  stableDrift: z
    .object({
      detectedAt: timestampSchema,
      by: z.string().max(256).optional(),
      message: z.string().max(1024),
      images: z.record(z.string(), z.string()).describe("What stable ran when the edit was seen."),
      version: z.string().max(128).optional(),
      template: templateHashSchema.optional(),
      resumeSeen: timestampSchema.optional().describe("spec.control.resume.at when the edit was seen."),
      promoteSeen: timestampSchema.optional().describe("spec.control.promote.at when the edit was seen."),
      accepted: z
        .object({ by: personSchema, at: timestampSchema })
        .optional()
        .describe("A person let the release go on after the promotion: it puts its version back on stable."),
    })
    .optional()
    .describe(
      "An edit of the stable Deployment by someone else that the release is paused on, until a person resumes or promotes it.",
    ),
  stableChanges: z
    .array(stableChangeSchema)
    .max(STATUS_LIMITS.stableChanges)
    .optional()
    .describe("Changes to the stable Deployment that Glidepath did not make, noted during the release."),
  canaryScale: canaryScaleStatusSchema
    .optional()
    .describe("What sizes the canary, as the release last saw it (docs/autoscaling.md)."),
  promotedAt: timestampSchema.optional().describe("When the stable Deployment got the new images."),
  bakeStartedAt: timestampSchema.optional(),
  rollback: z
    .object({
      trigger: z.enum(rollbackTriggers),
      reason: z.string().max(2048),
      at: timestampSchema,
      by: personSchema.optional(),
      metric: z.string().max(63).optional(),
      value: z.string().max(64).optional(),
      unit: z.enum(metricUnits).optional(),
      threshold: z.string().max(128).optional(),
      alert: z
        .object({
          name: z.string().max(256),
          fingerprint: z.string().max(64),
          labels: z.record(z.string(), z.string()),
        })
        .optional(),
      restored: versionRefSchema.optional(),
      completedAt: timestampSchema.optional(),
      verified: z.boolean().optional(),
      verification: z.string().max(1024).optional(),
    })
    .optional(),
  approvals: z
    .array(
      z.object({
        by: personSchema,
        at: timestampSchema,
        comment: z.string().max(1000).optional(),
        verified: z
          .boolean()
          .optional()
          .describe("The admission webhook's stamp verified: the API server authenticated `by`."),
        groups: z
          .array(z.string().max(256))
          .max(64)
          .optional()
          .describe("The approver's groups, as stamped."),
        problem: z.string().max(256).optional().describe("Why the approval is unverified; it opens no gate."),
        doesNotCount: z
          .string()
          .max(256)
          .optional()
          .describe(
            "Why this approval opens no gate: unverified, or the creator's or requester's own under separation of duties.",
          ),
      }),
    )
    .max(20)
    .default([]),
  signOff: signOffSchema
    .optional()
    .describe(
      "Who created the Release and who paused, resumed, promoted or aborted it, as the controller verified them.",
    ),
  handledPromoteAt: timestampSchema
    .optional()
    .describe("The spec.control.promote request already carried out."),
  changeWindow: z
    .object({ bypassed: z.boolean(), note: z.string().max(512) })
    .optional()
    .describe("Set when the release started outside a window or during a freeze."),
  postMortemDue: z.boolean().optional(),
  record: z
    .object({ name: z.string().max(253), at: timestampSchema })
    .optional()
    .describe("The ReleaseRecord the controller wrote when the release finished; it outlives the Release."),
  waitingFor: z
    .string()
    .max(253)
    .optional()
    .describe("The active release of the same target this one waits for."),
  transitions: z
    .array(
      z.object({
        at: timestampSchema,
        from: z.string().max(32),
        to: z.string().max(32),
        reason: z.string().max(512),
      }),
    )
    .max(STATUS_LIMITS.transitions)
    .default([]),
  transitionsDropped: z.int().min(0).optional(),
  conditions: z.array(conditionSchema).max(STATUS_LIMITS.conditions).default([]),
  deletion: z
    .object({
      requestedAt: timestampSchema.describe("metadata.deletionTimestamp: when the Release was deleted."),
      noticedAt: timestampSchema.describe("When the controller saw the deletion."),
      phase: z.enum(releasePhases).describe("The phase the release was in."),
      stage: z.string().max(63).optional().describe("The stage it was in, if any."),
      canaryWeight: z.int().min(0).max(100).describe("The canary weight the router held then."),
      trafficRestoredAt: timestampSchema
        .optional()
        .describe("When all traffic was confirmed on stable; the canary goes after it."),
      verification: z.string().max(1024).optional().describe("How the restoration was verified."),
    })
    .optional()
    .describe(
      "Set when the Release is deleted while active: traffic goes back to stable before the finalizer goes.",
    ),
});
export type ReleaseStatus = z.infer<typeof releaseStatusSchema>;

/** The metadata fields Glidepath reads of its own objects; the rest is kept as it came. */
export const objectMetaSchema = z
  .object({
    name: z.string(),
    namespace: z.string().optional(),
    uid: z.string().optional(),
    generation: z.number().optional(),
    resourceVersion: z.string().optional(),
    creationTimestamp: z.string().optional(),
    deletionTimestamp: z.string().optional(),
    finalizers: z.array(z.string()).optional(),
    labels: z.record(z.string(), z.string()).optional(),
    annotations: z.record(z.string(), z.string()).optional(),
  })
  .loose();

export const releaseSchema = z.object({
  apiVersion: z.literal(`${API_GROUP}/${API_VERSION}`),
  kind: z.literal(RELEASE_KIND),
  metadata: objectMetaSchema,
  spec: releaseSpecSchema,
  status: releaseStatusSchema.optional(),
});
export type Release = z.infer<typeof releaseSchema>;
