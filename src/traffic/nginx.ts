// Over 400 lines on purpose: the canary Ingress and a mirror stage's mirror-target on the stable Ingress are written, read back and put back in one place, with the annotations both use.
import { isDeepStrictEqual } from "node:util";
import type {
  NetworkingV1Api,
  V1HTTPIngressPath,
  V1Ingress,
  V1IngressBackend,
  V1IngressRule,
} from "@kubernetes/client-node";
import { TargetError, apiError, isConflict, isNotFound } from "../kube/errors.ts";
import { MANAGED_BY_LABELS } from "../workload/canary.ts";
import {
  CANARY_ROLE,
  RELEASE_LABEL,
  ROLE_LABEL,
  SOURCE_ANNOTATIONS,
  canaryIngressName,
  canaryServiceName,
  isOwnedByARelease,
  releaseKey,
  releaseNamespace,
  releaseOwnerReference,
} from "../api/workload-names.ts";
import type { ReleaseRef } from "../api/workload-names.ts";
import type { StageMatch, StageRouting } from "../api/stage-routing.ts";
import { assertWeight, routerSpec } from "./router.ts";
import type { ObjectRouterOptions, RouterObservation, TrafficRouter } from "./router.ts";

// NGINX Ingress (networking.k8s.io/v1): a canary Ingress `<ingress>-canary` beside the
// stable one, with the same hosts and paths pointing at the canary Service, and
// ingress-nginx's canary annotations carrying the weight (and a match stage's header or
// cookie). The stable Ingress is written only by a mirror stage (its mirror-target, put
// back as it was). ingress-nginx reports no per-Ingress status, so the weight is read back
// from the canary Ingress itself.

export const NGINX_ANNOTATIONS = {
  canary: "nginx.ingress.kubernetes.io/canary",
  weight: "nginx.ingress.kubernetes.io/canary-weight",
  weightTotal: "nginx.ingress.kubernetes.io/canary-weight-total",
  byHeader: "nginx.ingress.kubernetes.io/canary-by-header",
  byHeaderValue: "nginx.ingress.kubernetes.io/canary-by-header-value",
  byHeaderPattern: "nginx.ingress.kubernetes.io/canary-by-header-pattern",
  byCookie: "nginx.ingress.kubernetes.io/canary-by-cookie",
} as const;

/**
 * A mirror stage's annotation, on the stable Ingress: ingress-nginx ignores a canary
 * Ingress's other annotations, so the copy must be asked where the requests are served.
 * nginx's `mirror` copies every request: there is no percentage.
 */
export const MIRROR_TARGET_ANNOTATION = "nginx.ingress.kubernetes.io/mirror-target";

/** Where a mirror stage copies requests: the canary Service, by its cluster DNS name and the stable backend's port. */
export function mirrorTarget(release: ReleaseRef, stableIngress: V1Ingress): string {
  const stableService = release.spec.target.service;
  const backends = [
    stableIngress.spec?.defaultBackend,
    ...(stableIngress.spec?.rules ?? []).flatMap((rule) =>
      (rule.http?.paths ?? []).map((path) => path.backend),
    ),
  ];
  const port = backends.find((backend) => backend?.service?.name === stableService)?.service?.port?.number;
  const host = `${canaryServiceName(stableService)}.${releaseNamespace(release)}.svc.cluster.local`;
  return `http://${host}${port !== undefined ? `:${port}` : ""}$request_uri`;
}

/** The canary Ingress's annotations a match stage sets (docs/routing-stages.md); they go when it ends. */
const MATCH_ANNOTATIONS = [
  NGINX_ANNOTATIONS.byHeader,
  NGINX_ANNOTATIONS.byHeaderValue,
  NGINX_ANNOTATIONS.byHeaderPattern,
  NGINX_ANNOTATIONS.byCookie,
] as const;

/** A match stage's annotations: ingress-nginx checks the header, then the cookie, then the weight. */
export function matchAnnotations(match: StageMatch | undefined): Record<string, string> {
  const header = match?.headers?.[0];
  return {
    ...(header ? { [NGINX_ANNOTATIONS.byHeader]: header.name } : {}),
    ...(header?.value !== undefined ? { [NGINX_ANNOTATIONS.byHeaderValue]: header.value } : {}),
    ...(header?.pattern !== undefined ? { [NGINX_ANNOTATIONS.byHeaderPattern]: header.pattern } : {}),
    ...(match?.cookie ? { [NGINX_ANNOTATIONS.byCookie]: match.cookie.name } : {}),
  };
}

/** The match a canary Ingress's annotations carry, if any. */
export function readMatchAnnotations(annotations: Record<string, string>): StageMatch | undefined {
  const header = annotations[NGINX_ANNOTATIONS.byHeader];
  const value = annotations[NGINX_ANNOTATIONS.byHeaderValue];
  const pattern = annotations[NGINX_ANNOTATIONS.byHeaderPattern];
  const cookie = annotations[NGINX_ANNOTATIONS.byCookie];
  const headers =
    header === undefined
      ? undefined
      : [{ name: header, ...(value !== undefined ? { value } : pattern !== undefined ? { pattern } : {}) }];
  if (!headers && cookie === undefined) return undefined;
  return { ...(headers ? { headers } : {}), ...(cookie !== undefined ? { cookie: { name: cookie } } : {}) };
}
/** The pre-IngressClass way of choosing a controller; the canary must be picked up by the same one. */
const LEGACY_CLASS_ANNOTATION = "kubernetes.io/ingress.class";

/**
 * The canary Ingress for this weight: the stable Ingress's paths that lead to the stable
 * Service, now leading to the canary Service. Paths to other Services are left out.
 */
export function buildCanaryIngress(
  release: ReleaseRef,
  stableIngress: V1Ingress,
  canaryWeight: number,
  match?: StageMatch,
): V1Ingress {
  const stableService = release.spec.target.service;
  const canaryService = canaryServiceName(stableService);
  const stableName = stableIngress.metadata?.name ?? "";
  const toCanary = (backend: V1IngressBackend | undefined): V1IngressBackend | undefined =>
    backend?.service?.name === stableService
      ? { service: { ...structuredClone(backend.service), name: canaryService } }
      : undefined;
  const rules: V1IngressRule[] = [];
  for (const rule of stableIngress.spec?.rules ?? []) {
    const paths: V1HTTPIngressPath[] = [];
    for (const path of rule.http?.paths ?? []) {
      const backend = toCanary(path.backend);
      if (backend) paths.push({ ...structuredClone(path), backend });
    }
    if (paths.length > 0)
      rules.push({ ...(rule.host !== undefined ? { host: rule.host } : {}), http: { paths } });
  }
  const defaultBackend = toCanary(stableIngress.spec?.defaultBackend);
  if (rules.length === 0 && !defaultBackend) {
    throw new TargetError(
      "RouteInvalid",
      `Release ${releaseKey(release)}: Ingress ${releaseNamespace(release)}/${stableName} (spec.traffic.nginx.ingress) ` +
        `has no path or default backend that leads to Service ${stableService}`,
    );
  }
  const legacyClass = stableIngress.metadata?.annotations?.[LEGACY_CLASS_ANNOTATION];
  const spec = stableIngress.spec;
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "Ingress",
    metadata: {
      name: canaryIngressName(stableName),
      namespace: releaseNamespace(release),
      labels: { ...MANAGED_BY_LABELS, [RELEASE_LABEL]: release.metadata.name, [ROLE_LABEL]: CANARY_ROLE },
      annotations: {
        ...(legacyClass !== undefined ? { [LEGACY_CLASS_ANNOTATION]: legacyClass } : {}),
        [NGINX_ANNOTATIONS.canary]: "true",
        [NGINX_ANNOTATIONS.weight]: String(canaryWeight),
        ...matchAnnotations(match),
        [SOURCE_ANNOTATIONS.ingress]: stableName,
      },
      ownerReferences: [releaseOwnerReference(release)],
    },
    spec: {
      ...(spec?.ingressClassName !== undefined ? { ingressClassName: spec.ingressClassName } : {}),
      ...(defaultBackend ? { defaultBackend } : {}),
      ...(rules.length > 0 ? { rules } : {}),
      ...(spec?.tls ? { tls: structuredClone(spec.tls) } : {}),
    },
  };
}

/** The weight a canary Ingress holds (undefined: there is none), checked for what ingress-nginx needs. */
export function readCanaryIngress(
  canaryIngress: V1Ingress | undefined,
  canaryService: string,
): RouterObservation {
  if (!canaryIngress) {
    return {
      canaryWeight: 0,
      requestedWeight: 0,
      verified: true,
      detail: "no canary Ingress: all traffic goes to the stable Ingress",
    };
  }
  const name = `${canaryIngress.metadata?.namespace ?? "?"}/${canaryIngress.metadata?.name ?? "?"}`;
  const annotations = canaryIngress.metadata?.annotations ?? {};
  const problems: string[] = [];
  if (annotations[NGINX_ANNOTATIONS.canary] !== "true") {
    problems.push(
      `${NGINX_ANNOTATIONS.canary} is ${JSON.stringify(annotations[NGINX_ANNOTATIONS.canary] ?? null)}, not "true"`,
    );
  }
  const weight = parseWholeNumber(annotations[NGINX_ANNOTATIONS.weight]);
  const total = parseWholeNumber(annotations[NGINX_ANNOTATIONS.weightTotal] ?? "100");
  if (weight === undefined || total === undefined || total === 0 || weight > total) {
    problems.push(
      `${NGINX_ANNOTATIONS.weight}=${JSON.stringify(annotations[NGINX_ANNOTATIONS.weight] ?? null)} ` +
        `of ${NGINX_ANNOTATIONS.weightTotal}=${JSON.stringify(annotations[NGINX_ANNOTATIONS.weightTotal] ?? "100")} is not a weight`,
    );
  }
  const backends = [
    canaryIngress.spec?.defaultBackend,
    ...(canaryIngress.spec?.rules ?? []).flatMap((rule) =>
      (rule.http?.paths ?? []).map((path) => path.backend),
    ),
  ].filter((backend): backend is V1IngressBackend => backend !== undefined);
  const strays = backends.filter((backend) => backend.service?.name !== canaryService);
  if (backends.length === 0 || strays.length > 0) {
    problems.push(`its backends must all be Service ${canaryService}`);
  }
  const canaryWeight =
    weight !== undefined && total !== undefined && total > 0
      ? Math.round((100 * Math.min(weight, total)) / total)
      : 0;
  const match = readMatchAnnotations(annotations);
  const routing = match ? { routing: { match } } : {};
  if (problems.length > 0) {
    return {
      canaryWeight,
      requestedWeight: canaryWeight,
      ...routing,
      verified: false,
      detail: `canary Ingress ${name}: ${problems.join("; ")}`,
    };
  }
  const matched = match ? ` and the requests that match ${JSON.stringify(match)}` : "";
  return {
    canaryWeight,
    requestedWeight: canaryWeight,
    ...routing,
    verified: true,
    detail: `canary Ingress ${name} holds ${canaryWeight}%${matched} (read from its annotations; ingress-nginx reports no per-Ingress status)`,
  };
}

function parseWholeNumber(text: string | undefined): number | undefined {
  if (text === undefined || !/^\d{1,9}$/.test(text.trim())) return undefined;
  return Number(text.trim());
}

/** `cached`: the controller's Ingress cache; observe reads the canary Ingress from it. */
export type NginxRouterOptions = ObjectRouterOptions<V1Ingress>;

export class NginxRouter implements TrafficRouter {
  readonly #networking: NetworkingV1Api;
  readonly #release: ReleaseRef;
  readonly #namespace: string;
  readonly #stableName: string;
  readonly #canaryName: string;
  readonly #who: string;
  readonly #attempts: number;
  readonly #cachedIngress: NginxRouterOptions["cached"];

  constructor(networking: NetworkingV1Api, release: ReleaseRef, options: NginxRouterOptions = {}) {
    const nginx = routerSpec(release, "nginx");
    this.#networking = networking;
    this.#release = release;
    this.#namespace = releaseNamespace(release);
    this.#stableName = nginx.ingress;
    this.#canaryName = canaryIngressName(nginx.ingress);
    this.#who = `Release ${releaseKey(release)}: canary Ingress ${this.#namespace}/${this.#canaryName}`;
    this.#attempts = 1 + (options.conflictRetries ?? 5);
    this.#cachedIngress = options.cached;
  }

  async setWeight(canaryWeight: number, _baselineWeight?: number, routing?: StageRouting): Promise<void> {
    assertWeight(canaryWeight, this.#who);
    const context = `${this.#who}: setting the canary weight to ${canaryWeight}%${routing ? ` with ${JSON.stringify(routing)}` : ""}`;
    const stable = await this.#read(this.#stableName, context);
    if (!stable) {
      throw new TargetError(
        "RouteNotFound",
        `${context}: the stable Ingress ${this.#namespace}/${this.#stableName} (spec.traffic.nginx.ingress) does not exist`,
      );
    }
    const desired = buildCanaryIngress(this.#release, stable, canaryWeight, routing?.match);
    for (let attempt = 1; ; attempt++) {
      const existing = await this.#read(this.#canaryName, context);
      if (existing) assertOurs(existing, context);
      try {
        await this.#write(existing, desired);
        break;
      } catch (error) {
        if (isConflict(error) && attempt < this.#attempts) continue;
        throw apiError(context, error);
      }
    }
    await this.#setMirror(routing?.mirror !== undefined, context);
  }

  /** Creates the canary Ingress, or replaces it (with the resourceVersion read) when it differs. */
  async #write(existing: V1Ingress | undefined, desired: V1Ingress): Promise<void> {
    if (!existing) {
      await this.#networking.createNamespacedIngress({ namespace: this.#namespace, body: desired });
      return;
    }
    const metadata = existing.metadata;
    // A match stage's annotations stay only while the desired Ingress has them.
    const kept = Object.fromEntries(
      Object.entries(metadata?.annotations ?? {}).filter(
        ([key]) => !(MATCH_ANNOTATIONS as readonly string[]).includes(key),
      ),
    );
    const updated: V1Ingress = {
      ...existing,
      metadata: {
        ...metadata,
        labels: { ...metadata?.labels, ...desired.metadata?.labels },
        annotations: { ...kept, ...desired.metadata?.annotations },
        ownerReferences: desired.metadata?.ownerReferences ?? [],
      },
      spec: desired.spec ?? {},
    };
    if (isDeepStrictEqual(plain(existing), plain(updated))) return;
    await this.#networking.replaceNamespacedIngress({
      name: this.#canaryName,
      namespace: this.#namespace,
      body: updated,
    });
  }

  async observe(): Promise<RouterObservation> {
    const canary =
      this.#cachedIngress?.(this.#namespace, this.#canaryName) ??
      (await this.#read(this.#canaryName, `${this.#who}: reading it`));
    const observed = readCanaryIngress(canary, canaryServiceName(this.#release.spec.target.service));
    const stable =
      this.#cachedIngress?.(this.#namespace, this.#stableName) ??
      (await this.#read(this.#stableName, `${this.#who}: reading the stable Ingress`));
    const mirror = stable?.metadata?.annotations?.[MIRROR_TARGET_ANNOTATION];
    if (!stable || mirror === undefined || mirror !== mirrorTarget(this.#release, stable)) return observed;
    // nginx mirrors every request it serves through the stable Ingress.
    return {
      ...observed,
      routing: { ...observed.routing, mirror: { percent: 100 } },
      detail: `${observed.detail}; the stable Ingress mirrors every request to ${mirror}`,
    };
  }

  /**
   * A mirror stage's mirror-target on the stable Ingress, or none: the only write to the
   * stable Ingress, and only of that annotation (replaced with the resourceVersion read).
   * Someone else's mirror-target is never overwritten nor removed.
   */
  async #setMirror(mirrored: boolean, context: string): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const stable = await this.#read(this.#stableName, context);
      if (!stable) return;
      const ours = mirrorTarget(this.#release, stable);
      const current = stable.metadata?.annotations?.[MIRROR_TARGET_ANNOTATION];
      if (current !== undefined && current !== ours) {
        if (!mirrored) return;
        throw new TargetError(
          "RouteInvalid",
          `${context}: the stable Ingress ${this.#namespace}/${this.#stableName} already mirrors to ${current} ` +
            `(${MIRROR_TARGET_ANNOTATION}); a mirror stage would replace it: remove it or drop the stage`,
        );
      }
      if ((current === ours) === mirrored) return;
      try {
        const { [MIRROR_TARGET_ANNOTATION]: _old, ...others } = stable.metadata?.annotations ?? {};
        const annotations = mirrored ? { ...others, [MIRROR_TARGET_ANNOTATION]: ours } : others;
        // Left out when it had none before and has none again, so the Ingress reads as it did.
        const { annotations: _previous, ...metadata } = stable.metadata ?? {};
        await this.#networking.replaceNamespacedIngress({
          name: this.#stableName,
          namespace: this.#namespace,
          body: {
            ...stable,
            metadata: { ...metadata, ...(Object.keys(annotations).length > 0 ? { annotations } : {}) },
          },
        });
        return;
      } catch (error) {
        if (isConflict(error) && attempt < this.#attempts) continue;
        throw apiError(context, error);
      }
    }
  }

  /** The canary Ingress goes, and a mirror stage's mirror-target on the stable Ingress: both as they were. */
  async cleanup(): Promise<void> {
    const context = `${this.#who}: deleting it`;
    await this.#setMirror(false, `${this.#who}: removing the mirror-target from the stable Ingress`);
    const existing = await this.#read(this.#canaryName, context);
    if (!existing) return;
    assertOurs(existing, context);
    try {
      // The uid precondition: delete the Ingress just checked, not one made since under the same name.
      const uid = existing.metadata?.uid;
      await this.#networking.deleteNamespacedIngress({
        name: this.#canaryName,
        namespace: this.#namespace,
        body: { preconditions: uid ? { uid } : undefined },
      });
    } catch (error) {
      if (!isNotFound(error)) throw apiError(context, error);
    }
  }

  async #read(name: string, context: string): Promise<V1Ingress | undefined> {
    try {
      return await this.#networking.readNamespacedIngress({ name, namespace: this.#namespace });
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw apiError(`${context}: reading Ingress ${this.#namespace}/${name}`, error);
    }
  }
}

function assertOurs(existing: V1Ingress, context: string): void {
  const metadata = existing.metadata;
  if (metadata?.labels?.[RELEASE_LABEL] === undefined && !isOwnedByARelease(metadata?.ownerReferences)) {
    throw new TargetError(
      "RouteInvalid",
      `${context}: an Ingress of that name exists and Glidepath did not make it (no ${RELEASE_LABEL} label, ` +
        `no Release owner); rename or delete it`,
    );
  }
}

function plain(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value));
}
