// The Glidepath API: zod schemas (the one source of types, validation and the CRD),
// durations, names, the strategy file and CRD generation.
export * from "./duration.ts";
export * from "./metric-units.ts";
export * from "./names.ts";
export * from "./release.ts";
export * from "./baseline.ts";
export * from "./blue-green.ts";
export * from "./stage-routing.ts";
export * from "./release-record.ts";
export * from "./strategy.ts";
export * from "./validation.ts";
export * from "./plan.ts";
export * from "./controller-config.ts";
export * from "./canonical-json.ts";
export * from "./identity.ts";
export * from "./image-policy.ts";
export * from "./webhook-coverage.ts";
export { releaseCrd, strategyJsonSchema, toStructural } from "./crd.ts";
