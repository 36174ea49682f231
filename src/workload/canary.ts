import type {
  V1Container,
  V1Deployment,
  V1LabelSelector,
  V1PodTemplateSpec,
  V1Service,
  V1ServicePort,
} from "@kubernetes/client-node";
import {
  BASELINE_ROLE,
  CANARY_ROLE,
  RELEASE_LABEL,
  ROLE_LABEL,
  SOURCE_ANNOTATIONS,
  VERSION_LABEL,
  canaryDeploymentName,
  canaryServiceName,
  releaseKey,
  releaseNamespace,
  releaseOwnerReference,
  routerIsolatesCanary,
  withBaselineSuffix,
  withCanarySuffix,
  baselineDeploymentName,
  baselineServiceName,
} from "../api/workload-names.ts";
import type { ReleaseRef } from "../api/workload-names.ts";
import { TargetError } from "../kube/errors.ts";

// Pure builders: the canary Deployment and Service, made from the stable ones.
//
// With a traffic router (Gateway API, NGINX) the router alone decides how much traffic
// the canary gets, so canary pods must not match the stable Service's selector — or
// the stable Service would send them a share the weights never mention. The values of
// the labels the stable Service selects on are rewritten (app: checkout → app:
// checkout-canary). Without a router (replicas) the canary pods keep the stable labels
// on purpose: the stable Service spreading traffic over both is the whole mechanism.

export interface CanaryInput {
  release: ReleaseRef;
  /** The stable Deployment as read from the API server. */
  stable: V1Deployment;
  /** The stable Service as read from the API server. */
  stableService: V1Service;
  /** Container name → new image. */
  images: Record<string, string>;
  replicas: number;
}

export interface CanaryObjects {
  deployment: V1Deployment;
  service: V1Service;
}

/** Label key → the canary's value, for the labels whose values the canary must not share with stable. */
export type LabelRewrites = Record<string, string>;

export const MANAGED_BY_LABELS = { "app.kubernetes.io/managed-by": "glidepath" } as const;

/**
 * Which of the two Deployments beside stable is built: the canary (the new version), or
 * the baseline (the stable version again, started with the canary for the comparison:
 * docs/baseline.md). They differ in names, role label, label suffix and version.
 */
export interface Side {
  role: typeof CANARY_ROLE | typeof BASELINE_ROLE;
  deploymentName(deployment: string): string;
  serviceName(service: string): string;
  suffixed(value: string): string;
}

export const CANARY_SIDE: Side = {
  role: CANARY_ROLE,
  deploymentName: canaryDeploymentName,
  serviceName: canaryServiceName,
  suffixed: withCanarySuffix,
};

export const BASELINE_SIDE: Side = {
  role: BASELINE_ROLE,
  deploymentName: baselineDeploymentName,
  serviceName: baselineServiceName,
  suffixed: withBaselineSuffix,
};

export function buildCanary(input: CanaryInput): CanaryObjects {
  const rewrites = canaryLabelRewrites(input.release, input.stable, input.stableService);
  return {
    deployment: buildCanaryDeployment(input, rewrites),
    service: buildCanaryService(input.release, input.stableService, rewrites),
  };
}

/**
 * The baseline Deployment and Service: the stable version (`images`, `version`: what
 * stable ran when the release started) built as the canary is, with role baseline and
 * label values suffixed -baseline, so neither the stable nor the canary Service selects
 * its pods and the router alone gives it its share.
 */
export function buildBaseline(input: CanaryInput & { version: string | undefined }): CanaryObjects {
  const rewrites = Object.fromEntries(
    Object.keys(canaryLabelRewrites(input.release, input.stable, input.stableService)).map((key) => [
      key,
      withBaselineSuffix(input.stableService.spec?.selector?.[key] ?? ""),
    ]),
  );
  return {
    deployment: buildCanaryDeployment(input, rewrites, BASELINE_SIDE, input.version),
    service: buildCanaryService(input.release, input.stableService, rewrites, BASELINE_SIDE, input.version),
  };
}

/**
 * Checks that the stable Service selects the stable Deployment's pods, and returns the
 * label values the canary gets instead (none for the replicas router).
 */
export function canaryLabelRewrites(
  release: ReleaseRef,
  stable: V1Deployment,
  stableService: V1Service,
): LabelRewrites {
  const deploymentName = objectName(stable, "Deployment");
  const serviceName = objectName(stableService, "Service");
  const selector = stableService.spec?.selector ?? {};
  const podLabels = stable.spec?.template.metadata?.labels ?? {};
  if (Object.keys(selector).length === 0) {
    throw new TargetError(
      "TargetInvalid",
      `Release ${releaseKey(release)}: Service ${serviceName} has no selector; Glidepath needs a Service that selects the pods of Deployment ${deploymentName}`,
    );
  }
  const mismatched = Object.entries(selector).filter(([key, value]) => podLabels[key] !== value);
  if (mismatched.length > 0) {
    throw new TargetError(
      "TargetInvalid",
      `Release ${releaseKey(release)}: Service ${serviceName} selects ${formatLabels(selector)}, ` +
        `but the pods of Deployment ${deploymentName} are labelled ${formatLabels(podLabels)}`,
    );
  }
  if (VERSION_LABEL in selector) {
    throw new TargetError(
      "TargetInvalid",
      `Release ${releaseKey(release)}: Service ${serviceName} selects on the "${VERSION_LABEL}" label, ` +
        `which every release changes; remove it from the Service's selector`,
    );
  }
  if (selectorKeys(stable.spec?.selector).includes(VERSION_LABEL)) {
    throw new TargetError(
      "TargetInvalid",
      `Release ${releaseKey(release)}: Deployment ${deploymentName}'s selector uses the "${VERSION_LABEL}" label, ` +
        `which promotion changes on its pods; remove it from the selector`,
    );
  }
  if (!routerIsolatesCanary(release.spec.traffic)) return {};
  return Object.fromEntries(Object.entries(selector).map(([key, value]) => [key, withCanarySuffix(value)]));
}

export function buildCanaryDeployment(
  input: CanaryInput,
  rewrites: LabelRewrites,
  side: Side = CANARY_SIDE,
  /** The pods' version label: the release's version for the canary, stable's for the baseline. */
  version: string | undefined = input.release.spec.version,
): V1Deployment {
  const { release, stable, images, replicas } = input;
  const stableName = objectName(stable, "Deployment");
  const template = stable.spec?.template;
  const stableSelector = stable.spec?.selector;
  if (!template || !stableSelector) {
    throw new Error(`Deployment ${stableName} has no spec.template or spec.selector`);
  }
  if (!Number.isInteger(replicas) || replicas < 0) {
    throw new Error(
      `Release ${releaseKey(release)}: canary replicas must be a whole number ≥ 0, not ${replicas}`,
    );
  }
  const namespace = releaseNamespace(release);
  const canaryTemplate: V1PodTemplateSpec = structuredClone(template);
  canaryTemplate.metadata = {
    ...canaryTemplate.metadata,
    labels: {
      ...applyRewrites(template.metadata?.labels ?? {}, rewrites),
      ...(version === undefined ? {} : { [VERSION_LABEL]: version }),
      [RELEASE_LABEL]: release.metadata.name,
      [ROLE_LABEL]: side.role,
    },
  };
  canaryTemplate.spec = withImages(canaryTemplate.spec, images, `Release ${releaseKey(release)}`, stableName);

  const spec = stable.spec;
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: {
      name: side.deploymentName(release.spec.target.deployment),
      namespace,
      labels: { ...MANAGED_BY_LABELS, [RELEASE_LABEL]: release.metadata.name, [ROLE_LABEL]: side.role },
      annotations: {
        [SOURCE_ANNOTATIONS.deployment]: stable.metadata?.name ?? "",
        [SOURCE_ANNOTATIONS.generation]: String(stable.metadata?.generation ?? ""),
        [SOURCE_ANNOTATIONS.version]: version ?? "",
      },
      ownerReferences: [releaseOwnerReference(release)],
    },
    spec: {
      replicas,
      selector: canarySelector(stableSelector, rewrites, side),
      template: canaryTemplate,
      ...(spec?.strategy ? { strategy: structuredClone(spec.strategy) } : {}),
      ...(spec?.minReadySeconds !== undefined ? { minReadySeconds: spec.minReadySeconds } : {}),
      ...(spec?.progressDeadlineSeconds !== undefined
        ? { progressDeadlineSeconds: spec.progressDeadlineSeconds }
        : {}),
      ...(spec?.revisionHistoryLimit !== undefined
        ? { revisionHistoryLimit: spec.revisionHistoryLimit }
        : {}),
    },
  };
}

export function buildCanaryService(
  release: ReleaseRef,
  stableService: V1Service,
  rewrites: LabelRewrites,
  side: Side = CANARY_SIDE,
  version: string | undefined = release.spec.version,
): V1Service {
  const serviceName = objectName(stableService, "Service");
  const ports = stableService.spec?.ports ?? [];
  if (ports.length === 0)
    throw new TargetError(
      "TargetInvalid",
      `Release ${releaseKey(release)}: Service ${serviceName} has no ports`,
    );
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: {
      name: side.serviceName(release.spec.target.service),
      namespace: releaseNamespace(release),
      labels: { ...MANAGED_BY_LABELS, [RELEASE_LABEL]: release.metadata.name, [ROLE_LABEL]: side.role },
      annotations: {
        [SOURCE_ANNOTATIONS.service]: stableService.metadata?.name ?? "",
        [SOURCE_ANNOTATIONS.version]: version ?? "",
      },
      ownerReferences: [releaseOwnerReference(release)],
    },
    spec: {
      type: "ClusterIP",
      selector: {
        ...applyRewrites(stableService.spec?.selector ?? {}, rewrites),
        [ROLE_LABEL]: side.role,
      },
      ports: ports.map(copyPort),
    },
  };
}

/** The stable selector with the rewritten label values, narrowed to canary pods. */
export function canarySelector(
  stableSelector: V1LabelSelector,
  rewrites: LabelRewrites,
  side: Side = CANARY_SIDE,
): V1LabelSelector {
  const matchExpressions = stableSelector.matchExpressions?.map((expression) => {
    if (rewrites[expression.key] === undefined || !expression.values) return structuredClone(expression);
    // The canary pod's value is the stable value with the suffix, so each listed value gets it too.
    return { ...expression, values: expression.values.map(side.suffixed) };
  });
  return {
    matchLabels: { ...applyRewrites(stableSelector.matchLabels ?? {}, rewrites), [ROLE_LABEL]: side.role },
    ...(matchExpressions && matchExpressions.length > 0 ? { matchExpressions } : {}),
  };
}

/**
 * The pod spec with the given images, by container name (init containers too). A name
 * the pod does not have is an error: a typo must not start a release that changes nothing.
 */
export function withImages<T extends { containers: V1Container[]; initContainers?: V1Container[] }>(
  podSpec: T | undefined,
  images: Record<string, string>,
  who: string,
  deploymentName: string,
): T {
  if (!podSpec) throw new Error(`Deployment ${deploymentName} has no pod spec`);
  const all = [...podSpec.containers, ...(podSpec.initContainers ?? [])];
  const known = new Set(all.map((container) => container.name));
  const unknown = Object.keys(images).filter((name) => !known.has(name));
  if (unknown.length > 0) {
    throw new TargetError(
      "TargetInvalid",
      `${who}: spec.images names container${unknown.length > 1 ? "s" : ""} ${unknown.map((n) => `"${n}"`).join(", ")}, ` +
        `which Deployment ${deploymentName} does not have (its containers: ${[...known].join(", ")})`,
    );
  }
  const replace = (container: V1Container): V1Container => {
    const image = images[container.name];
    return image === undefined ? container : { ...container, image };
  };
  return {
    ...podSpec,
    containers: podSpec.containers.map(replace),
    ...(podSpec.initContainers ? { initContainers: podSpec.initContainers.map(replace) } : {}),
  };
}

function applyRewrites(labels: Record<string, string>, rewrites: LabelRewrites): Record<string, string> {
  return Object.fromEntries(Object.entries(labels).map(([key, value]) => [key, rewrites[key] ?? value]));
}

function copyPort(port: V1ServicePort): V1ServicePort {
  // Not nodePort: the canary Service is ClusterIP, and a node port may belong to one Service only.
  return {
    port: port.port,
    ...(port.name !== undefined ? { name: port.name } : {}),
    ...(port.protocol !== undefined ? { protocol: port.protocol } : {}),
    ...(port.targetPort !== undefined ? { targetPort: port.targetPort } : {}),
    ...(port.appProtocol !== undefined ? { appProtocol: port.appProtocol } : {}),
  };
}

function selectorKeys(selector: V1LabelSelector | undefined): string[] {
  return [
    ...Object.keys(selector?.matchLabels ?? {}),
    ...(selector?.matchExpressions ?? []).map((expression) => expression.key),
  ];
}

function objectName(object: { metadata?: { name?: string; namespace?: string } }, kind: string): string {
  const name = object.metadata?.name;
  if (!name) throw new Error(`a ${kind} without metadata.name`);
  return object.metadata?.namespace ? `${object.metadata.namespace}/${name}` : name;
}

export function formatLabels(labels: Record<string, string>): string {
  const entries = Object.entries(labels);
  return entries.length === 0 ? "{}" : `{${entries.map(([key, value]) => `${key}=${value}`).join(", ")}}`;
}
