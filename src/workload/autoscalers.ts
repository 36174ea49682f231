import { AutoscalingApi, PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import type { CustomObjectsApi, KubeConfig } from "@kubernetes/client-node";
import { releaseKey, releaseNamespace, RELEASE_LABEL } from "../api/workload-names.ts";
import type { ReleaseRef } from "../api/workload-names.ts";
import { canaryAutoscalerName, type AutoscalerBounds } from "../engine/autoscaling.ts";
import type { AutoscalerObservation } from "../engine/types.ts";
import { TargetError, apiError, isConflict, isNotFound } from "../kube/errors.ts";
import {
  autoscalerSchema,
  buildCanaryAutoscaler,
  copyOwnedBy,
  findStableAutoscaler,
  isCanaryCopy,
  observeAutoscaler,
  type Autoscaler,
} from "./canary-autoscaler.ts";

// The I/O half of autoscaled targets (docs/autoscaling.md): finds the stable Deployment's
// HorizontalPodAutoscaler, and writes and deletes the canary's copy. The user's autoscaler
// is only ever read.
//
// API version: autoscaling/v2 where the cluster serves it (GA from Kubernetes 1.23, the only
// one from 1.26), else autoscaling/v2beta2 (1.12–1.25). Both carry metrics and behaviour as
// they are; autoscaling/v1 would drop every metric but CPU, so it is not used. The first 404
// on v2 makes the manager use v2beta2 from then on.

const mergePatch = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);
const GROUP = "autoscaling";
const PLURAL = "horizontalpodautoscalers";
export const AUTOSCALING_VERSIONS = ["v2", "v2beta2"] as const;
export type AutoscalingVersion = (typeof AUTOSCALING_VERSIONS)[number];

/**
 * The autoscaling version the API server serves that Glidepath uses (v2 before v2beta2), from
 * discovery (GET /apis/autoscaling, open to every authenticated user); undefined when neither
 * is served or discovery failed, and then the manager finds out with its first list.
 */
export async function servedAutoscalingVersion(
  kubeConfig: KubeConfig,
): Promise<AutoscalingVersion | undefined> {
  try {
    const group = await kubeConfig.makeApiClient(AutoscalingApi).getAPIGroup();
    const served = new Set(group.versions.map((entry) => entry.version));
    return AUTOSCALING_VERSIONS.find((version) => served.has(version));
  } catch {
    return undefined;
  }
}

/** The controller's HorizontalPodAutoscaler cache (all of a namespace's, as the API gives them). */
export interface AutoscalerCache {
  /** True once its first list is in: a namespace without entries then has none. */
  autoscalersSynced(): boolean;
  autoscalersIn(namespace: string): unknown[];
}

export interface AutoscalersObservation {
  autoscaler?: AutoscalerObservation;
  canaryAutoscaler?: AutoscalerObservation;
}

export class AutoscalerManager {
  readonly #custom: CustomObjectsApi;
  #version: AutoscalingVersion | undefined;
  readonly #cache: AutoscalerCache | undefined;

  /** `cache`: observations read from it once synced; writes still list afresh (a copy just made may not be in it yet). */
  constructor(
    custom: CustomObjectsApi,
    options: { version?: AutoscalingVersion | undefined; cache?: AutoscalerCache | undefined } = {},
  ) {
    this.#custom = custom;
    this.#version = options.version;
    this.#cache = options.cache;
  }

  /** The autoscaling version in use (after the first read). */
  get version(): AutoscalingVersion | undefined {
    return this.#version;
  }

  /** The stable Deployment's autoscaler and this Release's copy of it, if they exist. */
  async observe(release: ReleaseRef): Promise<AutoscalersObservation> {
    const items = this.#cache?.autoscalersSynced()
      ? this.#cache.autoscalersIn(releaseNamespace(release))
      : await this.#list(release);
    const stable = findStableAutoscaler(release, items);
    if (!stable) return {};
    const copy = this.#copyIn(items, stable);
    return {
      autoscaler: observeAutoscaler(stable),
      ...(copy && copyOwnedBy(copy, release) ? { canaryAutoscaler: observeAutoscaler(copy) } : {}),
    };
  }

  /** Creates the canary's copy of stable's autoscaler, or sets its bounds (and takes it over from an earlier Release). */
  async ensureCanaryAutoscaler(release: ReleaseRef, bounds: AutoscalerBounds): Promise<void> {
    const namespace = releaseNamespace(release);
    const items = await this.#list(release);
    const stable = findStableAutoscaler(release, items);
    const context = `Release ${releaseKey(release)}: writing the canary's HorizontalPodAutoscaler`;
    if (!stable) {
      throw new TargetError(
        "TargetNotFound",
        `${context}: no HorizontalPodAutoscaler targets Deployment ${namespace}/${release.spec.target.deployment} any more`,
      );
    }
    const version = this.#version ?? "v2";
    const desired = buildCanaryAutoscaler(release, stable, `${GROUP}/${version}`, bounds);
    const name = canaryAutoscalerName(stable.metadata.name);
    const existing = this.#copyIn(items, stable) ?? this.#named(items, name);
    try {
      if (!existing) {
        await this.#custom.createNamespacedCustomObject({
          group: GROUP,
          version,
          namespace,
          plural: PLURAL,
          body: desired,
        });
        return;
      }
      if (!isCanaryCopy(existing)) {
        throw new TargetError(
          "TargetInvalid",
          `${context} ${namespace}/${name}: one of that name exists and Glidepath did not make it ` +
            `(no ${RELEASE_LABEL} label); rename or delete it`,
        );
      }
      // A merge patch: spec's lists (metrics) are replaced whole, the owner becomes this Release.
      await this.#custom.patchNamespacedCustomObject(
        { group: GROUP, version, namespace, plural: PLURAL, name, body: desired },
        mergePatch,
      );
    } catch (error) {
      if (error instanceof TargetError) throw error;
      throw apiError(`${context} ${namespace}/${name}`, error);
    }
  }

  /** Deletes this Release's copy (a later Release's copy of the same name is left alone). */
  async removeCanaryAutoscaler(release: ReleaseRef): Promise<void> {
    const namespace = releaseNamespace(release);
    const items = await this.#list(release);
    const copies = items
      .map((item) => autoscalerSchema.safeParse(item))
      .flatMap((parsed) => (parsed.success ? [parsed.data] : []))
      .filter((autoscaler) => isCanaryCopy(autoscaler) && copyOwnedBy(autoscaler, release));
    for (const copy of copies) {
      const name = copy.metadata.name;
      const uid = copy.metadata.uid;
      try {
        await this.#custom.deleteNamespacedCustomObject({
          group: GROUP,
          version: this.#version ?? "v2",
          namespace,
          plural: PLURAL,
          name,
          body: { preconditions: uid ? { uid } : undefined },
        });
      } catch (error) {
        if (!isNotFound(error) && !isConflict(error)) {
          throw apiError(
            `Release ${releaseKey(release)}: deleting the canary's HorizontalPodAutoscaler ${namespace}/${name}`,
            error,
          );
        }
      }
    }
  }

  /**
   * The namespace's autoscalers. resourceVersion "0": served from the API server's watch
   * cache, not a quorum read from etcd (before the controller's own cache has synced, this
   * is every reconcile of an active release).
   */
  async #list(release: ReleaseRef): Promise<unknown[]> {
    const namespace = releaseNamespace(release);
    for (const version of this.#version ? [this.#version] : AUTOSCALING_VERSIONS) {
      try {
        const list = (await this.#custom.listNamespacedCustomObject({
          group: GROUP,
          version,
          namespace,
          plural: PLURAL,
          resourceVersion: "0",
        })) as { items?: unknown[] };
        this.#version = version;
        return list.items ?? [];
      } catch (error) {
        // Not served in this version: try the next one.
        if (isNotFound(error) && this.#version === undefined && version !== "v2beta2") continue;
        throw apiError(
          `Release ${releaseKey(release)}: listing the HorizontalPodAutoscalers of namespace ${namespace} (autoscaling/${version})`,
          error,
        );
      }
    }
    return [];
  }

  #copyIn(items: readonly unknown[], stable: Autoscaler): Autoscaler | undefined {
    return this.#named(items, canaryAutoscalerName(stable.metadata.name));
  }

  #named(items: readonly unknown[], name: string): Autoscaler | undefined {
    for (const item of items) {
      const parsed = autoscalerSchema.safeParse(item);
      if (parsed.success && parsed.data.metadata.name === name) return parsed.data;
    }
    return undefined;
  }
}
