import { readFileSync } from "node:fs";
import {
  describeIssues,
  parseStrategyFile,
  releaseSchema,
  validateRelease,
  type Measurement,
  type Release,
  type ReleasePlan,
  type ReleaseSpecInput,
  type ReleaseStatus,
  type Verdict,
} from "../../../src/api/index.ts";
import type { Observations, ServiceObservation, WorkloadObservation } from "../../../src/engine/index.ts";

// Small builders for engine scenarios: a release parsed by the real schema, its
// plan resolved by the real validator against the shipped strategy file, and
// observations of a healthy cluster to start from.

export const T0 = Date.parse("2026-03-02T10:00:00.000Z");
export const SECOND = 1_000;
export const MINUTE = 60_000;

export const STABLE_IMAGES = { checkout: "registry.example.com/checkout:2.3.1" };
export const NEW_IMAGES = { checkout: "registry.example.com/checkout:2.4.0" };

/** The shipped rollout/rollout-strategy.json. */
export const strategy = parseStrategyFile(
  readFileSync(new URL("../../../rollout/rollout-strategy.json", import.meta.url), "utf8"),
);

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

type SpecOverrides = Partial<Omit<ReleaseSpecInput, "changeRequest">> & {
  changeRequest?: Partial<ReleaseSpecInput["changeRequest"]>;
};

/** checkout 2.4.0 on the standard preset, unless told otherwise. */
export function aRelease(spec: SpecOverrides = {}, status?: ReleaseStatus): Release {
  const { changeRequest, ...rest } = spec;
  return releaseSchema.parse({
    apiVersion: "glidepath.dev/v1alpha1",
    kind: "Release",
    metadata: { name: "checkout-2-4-0", namespace: "shop", generation: 1 },
    spec: {
      target: { deployment: "checkout", service: "checkout" },
      version: "2.4.0",
      images: NEW_IMAGES,
      traffic: { gatewayAPI: { httpRoute: "checkout" } },
      ...rest,
      changeRequest: {
        id: "CHG-1042",
        type: "standard",
        title: "Fix checkout timeout",
        why: "Requests time out under load",
        risk: "low",
        requestedBy: "alice",
        rollbackPlan: "Revert to 2.3.1",
        ...changeRequest,
      },
    },
    ...(status ? { status } : {}),
  });
}

export function planFor(release: Release): ReleasePlan {
  const validation = validateRelease(release, strategy);
  if (!validation.ok) throw new Error(`test release is invalid: ${describeIssues(validation.issues)}`);
  return validation.plan;
}

export function withStatus(release: Release, status: ReleaseStatus): Release {
  return { ...release, status };
}

export function withControl(release: Release, control: NonNullable<Release["spec"]["control"]>): Release {
  return { ...release, spec: { ...release.spec, control } };
}

export function aStable(overrides: Partial<WorkloadObservation> = {}): WorkloadObservation {
  return {
    exists: true,
    images: STABLE_IMAGES,
    version: "2.3.1",
    desiredReplicas: 4,
    readyReplicas: 4,
    ready: true,
    progressDeadlineExceeded: false,
    ...overrides,
  };
}

export function noCanary(): WorkloadObservation {
  return {
    exists: false,
    images: {},
    desiredReplicas: 0,
    readyReplicas: 0,
    ready: false,
    progressDeadlineExceeded: false,
  };
}

export function aReadyCanary(overrides: Partial<WorkloadObservation> = {}): WorkloadObservation {
  return {
    exists: true,
    images: NEW_IMAGES,
    version: "2.4.0",
    desiredReplicas: 4,
    readyReplicas: 4,
    ready: true,
    progressDeadlineExceeded: false,
    ...overrides,
  };
}

/** The canary Service with a Ready pod behind it (or as told). */
export function aCanaryService(overrides: Partial<ServiceObservation> = {}): ServiceObservation {
  return { name: "checkout-canary", exists: true, readyEndpoints: 4, ...overrides };
}

/** A healthy cluster before the release: stable 2.3.1, no canary, everything on stable, window open. */
export function observationsAt(nowMs: number, overrides: Partial<Observations> = {}): Observations {
  return {
    now: iso(nowMs),
    stable: aStable(),
    canary: noCanary(),
    canaryService: aCanaryService(),
    traffic: { canaryWeight: 0, verified: true },
    measurements: [],
    alerts: [],
    changeWindow: { open: true, frozen: false, note: "weekday window" },
    ...overrides,
  };
}

export function aMeasurement(metric: string, verdict: Verdict, atMs: number): Measurement {
  const value = { pass: "0.01", fail: "0.2", inconclusive: "NaN", error: undefined }[verdict];
  return {
    metric,
    verdict,
    at: iso(atMs),
    reason: `${metric} measured ${value ?? "nothing"}: ${verdict}`,
    ...(value === undefined ? {} : { value }),
  };
}
