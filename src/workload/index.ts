// Workloads: the canary Deployment and Service built from the stable ones (pure), the
// health the engine sees in a Deployment and its Pods (pure), and the WorkloadManager
// that writes them and promotes or reverts the stable Deployment.
export {
  buildCanary,
  buildCanaryDeployment,
  buildCanaryService,
  canaryLabelRewrites,
  canarySelector,
  withImages,
  type CanaryInput,
  type CanaryObjects,
  type LabelRewrites,
} from "./canary.ts";
export {
  observeWorkload,
  deploymentConverged,
  progressDeadlineExceeded,
  findUnhealthyContainer,
  ownedPods,
  labelSelectorString,
  FAILING_WAITING_REASONS,
  DEFAULT_RESTART_THRESHOLD,
  type HealthOptions,
} from "./health.ts";
export { stableTemplatePatch, type JsonPatchOperation } from "./stable-patch.ts";
export {
  AutoscalerManager,
  AUTOSCALING_VERSIONS,
  servedAutoscalingVersion,
  type AutoscalerCache,
  type AutoscalingVersion,
} from "./autoscalers.ts";
export {
  buildCanaryAutoscaler,
  findStableAutoscaler,
  SOURCE_AUTOSCALER_ANNOTATION,
  type Autoscaler,
} from "./canary-autoscaler.ts";
export {
  WorkloadManager,
  type WorkloadClients,
  type WorkloadManagerOptions,
  type WorkloadRole,
} from "./manager.ts";
export {
  RELEASE_LABEL,
  ROLE_LABEL,
  CANARY_ROLE,
  VERSION_LABEL,
  SOURCE_ANNOTATIONS,
  REQUESTED_WEIGHT_ANNOTATION,
  canaryDeploymentName,
  canaryServiceName,
  canaryIngressName,
  withCanarySuffix,
  releaseOwnerReference,
  type ReleaseRef,
} from "../api/workload-names.ts";
