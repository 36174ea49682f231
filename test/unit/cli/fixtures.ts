import { releaseSchema, type Release, type ReleaseSpecInput } from "../../../src/api/index.ts";
// The same clock, strategy file and time format as the engine's scenarios.
import { iso, MINUTE, SECOND, strategy, T0 } from "../engine/builders.ts";

// Plain Release values for the CLI's pure functions, parsed by the real schema so
// they are what the API server would hand back.

export { iso, MINUTE, SECOND, strategy, T0 };

export const image = (version: string) => `registry.example.com/checkout:${version}`;

/** A status as the controller writes it; parsed, so defaults fill in. */
type StatusInput = Record<string, unknown>;

export interface ReleaseOptions {
  name?: string;
  namespace?: string;
  version?: string;
  target?: string;
  createdAt?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  spec?: Partial<Omit<ReleaseSpecInput, "changeRequest">> & {
    changeRequest?: Partial<ReleaseSpecInput["changeRequest"]>;
  };
  status?: StatusInput;
}

/** A Release of checkout, `version` (default 2.4.0), on the standard preset. */
export function aRelease(options: ReleaseOptions = {}): Release {
  const version = options.version ?? "2.4.0";
  const { changeRequest, ...spec } = options.spec ?? {};
  return releaseSchema.parse({
    apiVersion: "glidepath.dev/v1alpha1",
    kind: "Release",
    metadata: {
      name: options.name ?? `checkout-${version.replace(/\./g, "-")}`,
      namespace: options.namespace ?? "shop",
      resourceVersion: "42",
      creationTimestamp: iso(options.createdAt ?? T0).replace(/\.\d{3}Z$/, "Z"),
      ...(options.labels ? { labels: options.labels } : {}),
      ...(options.annotations ? { annotations: options.annotations } : {}),
    },
    spec: {
      target: { deployment: options.target ?? "checkout", service: options.target ?? "checkout" },
      version,
      images: { checkout: image(version) },
      strategy: "standard",
      traffic: { gatewayAPI: { httpRoute: "checkout" } },
      analysis: {
        interval: "30s",
        metrics: [{ name: "error-rate", template: "http-error-ratio", max: 0.05 }],
      },
      ...spec,
      changeRequest: {
        id: `CHG-${version}`,
        type: "standard",
        title: `Release ${version}`,
        why: "a fix",
        risk: "low",
        requestedBy: "alice",
        rollbackPlan: "Revert",
        ...changeRequest,
      },
    },
    ...(options.status ? { status: options.status } : {}),
  });
}

/** A release that went all the way, replacing `previous`. */
export function aSucceededRelease(
  version: string,
  previous: string,
  createdAt: number,
  options: ReleaseOptions = {},
) {
  return aRelease({
    version,
    createdAt,
    ...options,
    status: {
      phase: "Succeeded",
      startedAt: iso(createdAt + SECOND),
      finishedAt: iso(createdAt + 40 * MINUTE),
      promotedAt: iso(createdAt + 30 * MINUTE),
      previous: { version: previous, images: { checkout: image(previous) } },
      ...options.status,
    },
  });
}

/** A started release in its stage `index` of the standard preset. */
export function aReleaseInStage(
  version: string,
  previous: string,
  createdAt: number,
  index: number,
  options: ReleaseOptions = {},
) {
  const stages = strategy.presets.standard?.stages ?? [];
  const stage = stages[index];
  if (!stage) throw new Error(`no stage ${index}`);
  return aRelease({
    version,
    createdAt,
    ...options,
    status: {
      phase: "Progressing",
      startedAt: iso(createdAt + SECOND),
      previous: { version: previous, images: { checkout: image(previous) } },
      currentStage: {
        index,
        name: stage.name,
        weight: stage.weight,
        startedAt: iso(createdAt + 10 * MINUTE),
      },
      stages: stages.slice(0, index + 1).map((s, i) => ({
        name: s.name,
        weight: s.weight,
        enteredAt: iso(createdAt + i * MINUTE),
        ...(i < index ? { exitedAt: iso(createdAt + (i + 1) * MINUTE), outcome: "passed" } : {}),
        ...(i < index ? { reachedWeight: s.weight } : {}),
      })),
      ...options.status,
    },
  });
}
