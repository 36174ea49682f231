import { z } from "zod";
import { RELEASE_KIND } from "../api/index.ts";
import {
  CANARY_ROLE,
  RELEASE_LABEL,
  ROLE_LABEL,
  canaryDeploymentName,
  releaseKey,
  releaseNamespace,
  releaseOwnerReference,
} from "../api/workload-names.ts";
import type { ReleaseRef } from "../api/workload-names.ts";
import { canaryAutoscalerName } from "../engine/autoscaling.ts";
import type { AutoscalerObservation } from "../engine/types.ts";
import { TargetError } from "../kube/errors.ts";
import { MANAGED_BY_LABELS } from "./canary.ts";

// Pure: the HorizontalPodAutoscaler of the stable Deployment, found among the namespace's,
// and the canary's copy of it (docs/autoscaling.md). autoscaling/v2 and v2beta2 have the
// same spec and status fields used here, so one shape reads both.

/** The annotation on the copy naming the autoscaler it was made from. */
export const SOURCE_AUTOSCALER_ANNOTATION = "glidepath.dev/source-autoscaler";

const crossVersionReferenceSchema = z.object({
  kind: z.string(),
  name: z.string(),
  apiVersion: z.string().optional(),
});

/** What Glidepath reads of an autoscaler; everything else in spec is copied as it is. */
export const autoscalerSchema = z.object({
  metadata: z.object({
    name: z.string().min(1),
    namespace: z.string().optional(),
    uid: z.string().optional(),
    labels: z.record(z.string(), z.string()).optional(),
    ownerReferences: z
      .array(
        z.object({ kind: z.string(), name: z.string(), uid: z.string(), controller: z.boolean().optional() }),
      )
      .optional(),
  }),
  spec: z
    .object({
      scaleTargetRef: crossVersionReferenceSchema,
      minReplicas: z.int().min(0).optional(),
      maxReplicas: z.int().min(1),
    })
    .loose(),
  status: z
    .object({ desiredReplicas: z.int().min(0).optional(), currentReplicas: z.int().min(0).optional() })
    .loose()
    .optional(),
});
export type Autoscaler = z.infer<typeof autoscalerSchema>;

/** A copy Glidepath made (it carries the release label). */
export function isCanaryCopy(autoscaler: Autoscaler): boolean {
  return autoscaler.metadata.labels?.[RELEASE_LABEL] !== undefined;
}

/**
 * The autoscaler whose scaleTargetRef is this Deployment (Glidepath's own copies aside).
 * Two of them fight over the replicas (the HPA controller refuses that too): an error a
 * person must fix.
 */
export function findStableAutoscaler(release: ReleaseRef, items: readonly unknown[]): Autoscaler | undefined {
  const deployment = release.spec.target.deployment;
  const namespace = releaseNamespace(release);
  const found: Autoscaler[] = [];
  for (const [index, item] of items.entries()) {
    const parsed = autoscalerSchema.safeParse(item);
    if (!parsed.success) {
      const name = (item as { metadata?: { name?: string } } | undefined)?.metadata?.name ?? `#${index}`;
      throw new TargetError(
        "TargetInvalid",
        `Release ${releaseKey(release)}: the HorizontalPodAutoscaler ${namespace}/${name} cannot be read: ` +
          parsed.error.issues
            .map((issue) => `${issue.path.join(".") || "(root)"}: ${issue.message}`)
            .join("; "),
      );
    }
    const autoscaler = parsed.data;
    const ref = autoscaler.spec.scaleTargetRef;
    const group = ref.apiVersion?.split("/")[0];
    if (isCanaryCopy(autoscaler) || ref.kind !== "Deployment" || ref.name !== deployment) continue;
    if (group !== undefined && group !== "apps" && group !== "extensions") continue;
    found.push(autoscaler);
  }
  if (found.length > 1) {
    throw new TargetError(
      "TargetInvalid",
      `Release ${releaseKey(release)}: ${found.length} HorizontalPodAutoscalers target Deployment ${namespace}/${deployment} ` +
        `(${found.map((a) => a.metadata.name).join(", ")}); they would fight over its replicas: keep one`,
    );
  }
  return found[0];
}

export function observeAutoscaler(autoscaler: Autoscaler): AutoscalerObservation {
  const desired = autoscaler.status?.desiredReplicas;
  return {
    name: autoscaler.metadata.name,
    minReplicas: autoscaler.spec.minReplicas ?? 1,
    maxReplicas: autoscaler.spec.maxReplicas,
    ...(desired === undefined ? {} : { desiredReplicas: desired }),
  };
}

/**
 * The canary's copy: the stable autoscaler's metrics and behaviour, aimed at the canary
 * Deployment (so it measures the canary's pods alone), with these bounds, owned by the Release.
 */
export function buildCanaryAutoscaler(
  release: ReleaseRef,
  stable: Autoscaler,
  apiVersion: string,
  bounds: { minReplicas: number; maxReplicas: number },
): Record<string, unknown> {
  const { scaleTargetRef: _target, minReplicas: _min, maxReplicas: _max, ...rest } = stable.spec;
  return {
    apiVersion,
    kind: "HorizontalPodAutoscaler",
    metadata: {
      name: canaryAutoscalerName(stable.metadata.name),
      namespace: releaseNamespace(release),
      labels: { ...MANAGED_BY_LABELS, [RELEASE_LABEL]: release.metadata.name, [ROLE_LABEL]: CANARY_ROLE },
      annotations: { [SOURCE_AUTOSCALER_ANNOTATION]: stable.metadata.name },
      ownerReferences: [releaseOwnerReference(release)],
    },
    spec: {
      ...structuredClone(rest),
      scaleTargetRef: {
        apiVersion: "apps/v1",
        kind: "Deployment",
        name: canaryDeploymentName(release.spec.target.deployment),
      },
      minReplicas: bounds.minReplicas,
      maxReplicas: bounds.maxReplicas,
    },
  };
}

/** The copy belongs to this Release (by name and, when known, uid). */
export function copyOwnedBy(autoscaler: Autoscaler, release: ReleaseRef): boolean {
  return (autoscaler.metadata.ownerReferences ?? []).some(
    (owner) =>
      owner.controller === true &&
      owner.kind === RELEASE_KIND &&
      owner.name === release.metadata.name &&
      (release.metadata.uid === undefined || owner.uid === release.metadata.uid),
  );
}
