import type {
  IdentityObservation,
  Measurement,
  NotificationEvent,
  Release,
  ReleasePlan,
  ReleaseStatus,
  RollbackTrigger,
  StageRouting,
} from "../api/index.ts";
import type { AnalysedStage } from "./analysis.ts";

// The engine's contract: what the controller observed (input) and what it must
// carry out (output). Plain data only, so the engine is tested with plain values.

/** The field manager Glidepath writes the stable Deployment with: its own edits are never someone else's. */
export const GLIDEPATH_FIELD_MANAGER = "glidepath";

/** Who last wrote the fields a release watches on stable: metadata.managedFields managers. */
export interface FieldWriters {
  /** Container name → manager of its image. */
  images: Record<string, string>;
  /** The pod template's version label. */
  version?: string;
  /** The newest write to the pod template by anyone but Glidepath. */
  template?: string;
  replicas?: string;
  /** When that manager last wrote (managedFields time): scaling through /scale leaves no entry before Kubernetes 1.22. */
  replicasAt?: string;
}

/** A Deployment as the engine needs to see it. */
export interface WorkloadObservation {
  exists: boolean;
  /** Container name → image, from the pod template. */
  images: Record<string, string>;
  /** The pod template's `version` label, when it has one. */
  version?: string;
  /**
   * A hash of the pod template apart from its images and version label (which promote and
   * revert set): a change of it is someone else's edit of what runs.
   */
  templateHash?: string;
  /** Who last wrote the watched fields (read only for stable). */
  writers?: FieldWriters;
  desiredReplicas: number;
  readyReplicas: number;
  /** Updated, available and not rolling: the Deployment has converged on its template. */
  ready: boolean;
  /** The Deployment's own Progressing=False/ProgressDeadlineExceeded. */
  progressDeadlineExceeded: boolean;
  /** A container that is crash-looping or failing to start, if any. */
  unhealthy?: { pod: string; container: string; reason: string; restarts: number };
}

/** A HorizontalPodAutoscaler as the engine needs to see it (docs/autoscaling.md). */
export interface AutoscalerObservation {
  name: string;
  minReplicas: number;
  maxReplicas: number;
  /** status.desiredReplicas: what the autoscaler last asked for, when it has said. */
  desiredReplicas?: number;
}

export interface TrafficObservation {
  /** The canary weight the router holds now (0 when it sends everything to stable). */
  canaryWeight: number;
  /** The router confirmed the weight (route Accepted/ResolvedRefs, or no status to read). */
  verified: boolean;
  /**
   * The weight last asked of the router: canaryWeight itself for routers that reach any
   * weight exactly; the replica split only approximates it (asked 10%, 1 canary pod
   * beside 3 stable holds 25%).
   */
  requestedWeight?: number;
  /**
   * The router's own object (the HTTPRoute) does not exist: nothing routes through it, so
   * there is no weight to hold or restore. Said only while the Release is being deleted.
   */
  missing?: string;
  /** The baseline's share the router holds (docs/baseline.md); absent or 0 when it has none. */
  baselineWeight?: number;
  /** A StatefulSet target's update partition (docs/statefulsets.md): pods at or above it run the new revision. */
  partition?: number;
  /** The match or mirror the route carries for a routing stage (docs/routing-stages.md); absent: none. */
  routing?: StageRouting;
}

/** The canary Service, which the Gateway API and NGINX routers send the canary's share to. */
export interface ServiceObservation {
  /** `<service>-canary`, for messages. */
  name: string;
  exists: boolean;
  /** Ready addresses in its Endpoints: where the router's requests can actually go. */
  readyEndpoints: number;
}

export interface AlertObservation {
  name: string;
  fingerprint: string;
  startsAt: string;
  labels: Record<string, string>;
}

export interface ChangeWindowObservation {
  /** Inside a change window. */
  open: boolean;
  /** Inside a change freeze (closes even an open window). */
  frozen: boolean;
  /** When the window next opens, for requeueing. */
  nextOpenAt?: string;
  /** The next edge (a window or freeze begins or ends): the answer holds until then. */
  changesAt?: string;
  /** The freeze in force, for releases already in flight. */
  freeze?: {
    name: string;
    /** When no freeze is in force any more, if within the controller's lookahead. */
    endsAt?: string;
    /** A freeze in force asks releases in flight to wait between stages (inFlight: holdBetweenStages). */
    holdsInFlight: boolean;
  };
  note: string;
}

/**
 * Why the controller cannot move the release on its own: it may not do what the next
 * step needs (Forbidden), an object the Release names is missing or does not fit it
 * (TargetNotFound, TargetInvalid, RouteNotFound, RouteInvalid), or the API keeps
 * refusing (ApiError). The controller classifies the failures of its reads and writes;
 * the engine records the block in the Progressing condition and announces it.
 */
export interface BlockedObservation {
  /** The condition reason, one word: Forbidden, TargetNotFound, RouteNotFound, … */
  reason: string;
  /** One line a person can act on. */
  message: string;
}

export interface Observations {
  /** The time of this reconcile, ISO 8601. The engine reads no clock. */
  now: string;
  stable: WorkloadObservation;
  canary: WorkloadObservation;
  canaryService: ServiceObservation;
  /** The baseline Deployment, observed only when a metric compares with it. */
  baseline?: WorkloadObservation;
  traffic: TrafficObservation;
  /** The stable Deployment's HorizontalPodAutoscaler (its scaleTargetRef names it), if it has one. */
  autoscaler?: AutoscalerObservation;
  /** The canary's copy of it (`<autoscaler>-canary`, owned by this Release), when it exists. */
  canaryAutoscaler?: AutoscalerObservation;
  /**
   * Measurements taken since status.currentStage.lastAnalysisAt (older ones are ignored).
   * Each `at` is when it was taken, so later than the `now` of the reconcile that asked for it.
   */
  measurements: Measurement[];
  /** Queries as sent, by metric name, for the record. */
  queries?: Record<string, string>;
  /**
   * The stage of the analysis round still running beside the reconcile, if one is: no
   * other round is asked for it until its measurements arrive.
   */
  analysisInFlight?: AnalysedStage;
  /** Firing alerts that match this release; only those that began after status.startedAt roll it back. */
  alerts: AlertObservation[];
  changeWindow: ChangeWindowObservation;
  /** Another, older, active Release of the same target that this one must wait for. */
  blockingRelease?: string;
  /** The controller's last attempt to act for this release failed in a way a person must fix. */
  blocked?: BlockedObservation;
  /**
   * Who created the Release and who approved it, as the admission webhook stamped them and
   * the controller verified (src/api/identity.ts verifyIdentity). Absent: nothing verified.
   */
  identity?: IdentityObservation;
}

export type Action =
  /** Create or update `<target>-canary` (and its Service) with the new images and this many replicas. */
  | { type: "ensureCanary"; images: Record<string, string>; replicas: number }
  | { type: "scaleCanary"; replicas: number }
  /** Route this percentage to the canary, the rest to stable (and, comparing, baselineWeight of it to the baseline). */
  | {
      type: "setWeight";
      canaryWeight: number;
      baselineWeight?: number;
      /** A routing stage's match or mirror; absent: the route carries none (any held is removed). */
      routing?: StageRouting;
    }
  /** Create or update `<target>-baseline` (and its Service): the stable version beside the canary. */
  | { type: "ensureBaseline"; images: Record<string, string>; version?: string; replicas: number }
  | { type: "scaleBaseline"; replicas: number }
  /** Create or update the canary's copy of the stable's HorizontalPodAutoscaler, with these bounds. */
  | { type: "ensureCanaryAutoscaler"; minReplicas: number; maxReplicas: number }
  /** Delete the canary's copy of the autoscaler (promoted, rolled back, deleted). */
  | { type: "removeCanaryAutoscaler" }
  /** Update the stable Deployment to the new images (GA). */
  | { type: "promoteStable"; images: Record<string, string>; version: string }
  /** Put the stable Deployment back on the previous images. */
  | { type: "revertStable"; images: Record<string, string>; version?: string }
  /** Run the analysis now; its measurements come back in the next observations. */
  | { type: "runAnalysis"; subject: "canary" | "stable" }
  /** Deleted Release: remove what the router added for the canary, then the canary Deployment and Service. */
  | { type: "removeCanary" }
  /** Deleted Release: traffic is back on stable, the Release may go (its finalizer is removed). */
  | { type: "releaseFinalizer" }
  | {
      type: "notify";
      /** freeze: a change freeze began while the release is in flight. */
      event: NotificationEvent;
      message: string;
    }
  | { type: "emitEvent"; eventType: "Normal" | "Warning"; reason: string; message: string };

export interface EngineInput {
  release: Release;
  plan: ReleasePlan;
  observations: Observations;
}

export interface EngineResult {
  status: ReleaseStatus;
  actions: Action[];
  /** Reconcile again after this many milliseconds (a stage timer, the next analysis round). */
  requeueAfterMs?: number;
}

export type { RollbackTrigger };
