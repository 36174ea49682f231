// The release state machine: decide(release, plan, observations) → status, actions,
// when to look again. Pure; the controller observes and executes around it.
export {
  decide,
  recordBlocked,
  BLOCKED_RETRY_MS,
  CONVERGE_RETRY_MS,
  SERVICE_RETRY_MS,
  WINDOW_RETRY_MS,
} from "./decide.ts";
export { blockedBy, BLOCK_CLEARED_REASON } from "./record.ts";
export { decideDeletion, DELETION_RETRY_MS } from "./deletion.ts";
export { GLIDEPATH_FIELD_MANAGER } from "./types.ts";
export { runsVersion, versionMismatches, type VersionMismatch } from "./running-version.ts";
export { analysedStageOf, isSameStage, type AnalysedStage } from "./analysis.ts";
export { comparingStage } from "./baseline.ts";
export {
  compareWithBaseline,
  mannWhitney,
  type Comparison,
  type ComparisonSettings,
  type MannWhitneyResult,
} from "./mann-whitney.ts";
export {
  addMeasurement,
  assessMetric,
  emptyTally,
  thresholdText,
  type MetricAssessment,
} from "./assessment.ts";
export type {
  Action,
  FieldWriters,
  AlertObservation,
  AutoscalerObservation,
  BlockedObservation,
  ChangeWindowObservation,
  EngineInput,
  EngineResult,
  Observations,
  ServiceObservation,
  TrafficObservation,
  WorkloadObservation,
} from "./types.ts";
export {
  autoscaledCanaryReplicas,
  canaryAutoscalerBounds,
  canaryAutoscalerName,
  canaryScaleSource,
  sizingWeight,
  type AutoscalerBounds,
} from "./autoscaling.ts";
