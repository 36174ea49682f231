import { createHash } from "node:crypto";
import { API_GROUP, API_VERSION, RELEASE_KIND, type ReleaseSpec } from "./release.ts";
import type { V1OwnerReference } from "@kubernetes/client-node";

// Names, labels and annotations Glidepath puts on the objects it makes, in one place,
// so the workload and traffic code (and the RBAC, the docs, the CLI) agree on them.

/** On every object Glidepath makes: the Release that owns it. Also on canary pods. */
export const RELEASE_LABEL = "glidepath.dev/release";
/** On canary pods (and the canary Deployment and Service): what sets them apart from stable pods. */
export const ROLE_LABEL = "glidepath.dev/role";
export const CANARY_ROLE = "canary";
/** The baseline's pods (the stable version beside the canary, for the comparison: docs/baseline.md). */
export const BASELINE_ROLE = "baseline";
/** The pod label that carries the version; promote and revert set it on the stable template. */
export const VERSION_LABEL = "version";

/** Annotations on the canary objects recording what they were made from. */
export const SOURCE_ANNOTATIONS = {
  deployment: "glidepath.dev/source-deployment",
  generation: "glidepath.dev/source-generation",
  service: "glidepath.dev/source-service",
  ingress: "glidepath.dev/source-ingress",
  version: "glidepath.dev/version",
} as const;

/** On the canary Deployment (replicas router): the weight last asked for, which the pod split only approximates. */
export const REQUESTED_WEIGHT_ANNOTATION = "glidepath.dev/requested-weight";

/**
 * On an HTTPRoute a release splits (Gateway API router): each rule's stable backendRef
 * weight as it was before the canary came (JSON: stable Service → rule index → weight,
 * null for none written), so the end of the release puts back exactly that.
 */
export const STABLE_WEIGHTS_ANNOTATION = "glidepath.dev/stable-weights";

/**
 * On a StatefulSet a release splits (docs/statefulsets.md): JSON of the split in force —
 * the canary's pod count and the weight asked, the images and version label the template
 * had before, and the updateStrategy to put back — written in the same update as the
 * template and partition it explains, so a restarted controller finds them together.
 */
export const STATEFULSET_SPLIT_ANNOTATION = "glidepath.dev/statefulset-split";

/** The label the StatefulSet controller puts on each pod: the revision (ControllerRevision) it runs. */
export const REVISION_LABEL = "controller-revision-hash";

const MAX_LABEL = 63;
const CANARY_SUFFIX = "-canary";
const BASELINE_SUFFIX = "-baseline";

/**
 * `<value>-canary`, kept within 63 characters: a longer value is cut and a short hash of
 * the whole value keeps two long values that share a prefix apart.
 */
export function withCanarySuffix(value: string): string {
  return withSuffix(value, CANARY_SUFFIX);
}

/** `<value>-baseline`, kept within 63 characters as withCanarySuffix does. */
export function withBaselineSuffix(value: string): string {
  return withSuffix(value, BASELINE_SUFFIX);
}

function withSuffix(value: string, suffix: string): string {
  if (value === "") return suffix.slice(1);
  const plain = `${value}${suffix}`;
  if (plain.length <= MAX_LABEL) return plain;
  const hash = createHash("sha256").update(value).digest("hex").slice(0, 8);
  const keep = MAX_LABEL - suffix.length - hash.length - 1;
  return `${value.slice(0, keep)}-${hash}${suffix}`;
}

/** The baseline Deployment of a target: `<deployment>-baseline`. */
export function baselineDeploymentName(deployment: string): string {
  return `${deployment}${BASELINE_SUFFIX}`;
}

/** The baseline's Service: `<service>-baseline`, within 63 characters. */
export function baselineServiceName(service: string): string {
  return withBaselineSuffix(service);
}

/** The canary Deployment of a target: `<deployment>-canary` (object names may be 253 long). */
export function canaryDeploymentName(deployment: string): string {
  return `${deployment}${CANARY_SUFFIX}`;
}

/** The canary Service: `<service>-canary`, within the 63 characters a Service name may have. */
export function canaryServiceName(service: string): string {
  return withCanarySuffix(service);
}

/** The canary Ingress beside the stable one (NGINX router). */
export function canaryIngressName(ingress: string): string {
  return `${ingress}${CANARY_SUFFIX}`;
}

/** The parts of a Release the workload and traffic code read. A full `Release` fits. */
export interface ReleaseRef {
  metadata: { name: string; namespace?: string; uid?: string };
  spec: Pick<ReleaseSpec, "target" | "version" | "traffic">;
}

/** The target is a StatefulSet, released through its update partition (docs/statefulsets.md). */
export function targetsStatefulSet(release: ReleaseRef): boolean {
  return release.spec.target.kind === "StatefulSet";
}

export function releaseNamespace(release: ReleaseRef): string {
  const namespace = release.metadata.namespace;
  if (!namespace) throw new Error(`Release ${release.metadata.name} has no metadata.namespace`);
  return namespace;
}

/** `namespace/name`, as errors name the Release. */
export function releaseKey(release: ReleaseRef): string {
  return `${release.metadata.namespace ?? "?"}/${release.metadata.name}`;
}

/**
 * The owner reference that ties a canary object to its Release: controller: true, so
 * the garbage collector deletes the canary with the Release and nobody else adopts it.
 */
export function releaseOwnerReference(release: ReleaseRef): V1OwnerReference {
  const uid = release.metadata.uid;
  if (!uid) {
    throw new Error(
      `Release ${releaseKey(release)} has no metadata.uid; owner references need the Release as read from the API server`,
    );
  }
  return {
    apiVersion: `${API_GROUP}/${API_VERSION}`,
    kind: RELEASE_KIND,
    name: release.metadata.name,
    uid,
    controller: true,
  };
}

/** True when the object's controller owner is a Release (any Release). */
export function isOwnedByARelease(owners: V1OwnerReference[] | undefined): boolean {
  return (owners ?? []).some(
    (owner) =>
      owner.controller === true &&
      owner.kind === RELEASE_KIND &&
      owner.apiVersion.startsWith(`${API_GROUP}/`),
  );
}

/** The canary pods must not match the stable Service's selector when a router splits traffic. */
export function routerIsolatesCanary(traffic: ReleaseSpec["traffic"]): boolean {
  return traffic.replicas === undefined;
}
