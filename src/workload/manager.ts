// Over 400 lines on purpose, for now: every write to the target's Deployments and Services goes through this one class (field ownership, conflicts, health); the router work on it (issue 14.2) comes first.
import { sleep } from "../kube/interruptible-sleep.ts";
import { isDeepStrictEqual } from "node:util";
import { PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import type {
  AppsV1Api,
  CoreV1Api,
  V1Deployment,
  V1Endpoints,
  V1Pod,
  V1Service,
} from "@kubernetes/client-node";
import { RELEASE_KIND } from "../api/index.ts";
import {
  GLIDEPATH_FIELD_MANAGER,
  type FieldWriters,
  type ServiceObservation,
  type WorkloadObservation,
} from "../engine/types.ts";
import { TargetError, apiError, apiStatusCode, isConflict, isNotFound } from "../kube/errors.ts";
import type { WorkloadCaches } from "./cached-objects.ts";
import { buildBaseline, buildCanary } from "./canary.ts";
import type { CanaryObjects } from "./canary.ts";
import { MISSING_WORKLOAD, labelSelectorString, observeWorkload, ownedPods } from "./health.ts";
import type { HealthOptions } from "./health.ts";
import {
  RELEASE_LABEL,
  REQUESTED_WEIGHT_ANNOTATION,
  baselineDeploymentName,
  baselineServiceName,
  canaryDeploymentName,
  canaryServiceName,
  isOwnedByARelease,
  releaseKey,
  releaseNamespace,
  targetsStatefulSet,
} from "../api/workload-names.ts";
import type { ReleaseRef } from "../api/workload-names.ts";
import { stableTemplatePatch } from "./stable-patch.ts";
import { StatefulSetWorkloads } from "./statefulset-manager.ts";
import { fieldWriters } from "./stable-template.ts";

// The I/O half of src/workload: reads the stable objects, writes the canary ones, and
// patches the stable Deployment on promote and revert. Every method states a desired
// state and is safe to repeat: the controller may run an action twice after a restart.

export interface WorkloadClients {
  apps: AppsV1Api;
  core: CoreV1Api;
}

export interface WorkloadManagerOptions extends HealthOptions {
  /** Writes retried on a 409 (a concurrent writer) with a fresh read. Default 5. */
  conflictRetries?: number;
  /**
   * The controller's Deployment cache. observe() reads a Deployment from it and asks the
   * API server only on a miss (one just created may not have reached the cache yet). A
   * cached copy may be a moment old; every action is safe to repeat, so that costs at
   * most a write that changes nothing.
   */
  cachedDeployment?: (namespace: string, name: string) => V1Deployment | undefined;
  /**
   * The controller's other caches (src/controller/workload-watch.ts): with them, observe()
   * and observeCanaryService() make no request once the caches have synced, and a miss in
   * a synced cache means the object does not exist, unless this manager created it and the
   * cache has not seen it yet (then it is read from the API server).
   */
  caches?: WorkloadCaches;
}

export type WorkloadRole = "stable" | "canary" | "baseline";

const mergePatch = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);
const DEFAULT_CONFLICT_RETRIES = 5;

export class WorkloadManager {
  readonly #apps: AppsV1Api;
  readonly #core: CoreV1Api;
  readonly #health: HealthOptions;
  readonly #attempts: number;
  readonly #cachedDeployment: WorkloadManagerOptions["cachedDeployment"];
  /** Writers of each stable Deployment's fields, by its uid and generation (the cache drops managedFields). */
  readonly #writers = new Map<string, { uid: string; generation: number; writers: FieldWriters }>();
  /** A StatefulSet target (spec.target.kind) goes there instead: docs/statefulsets.md. */
  readonly #statefulSets: StatefulSetWorkloads;
  readonly #caches: WorkloadCaches | undefined;
  /**
   * "kind:namespace/name" of the objects this manager created that no synced cache has
   * shown yet: a miss on one of them is its creation still on its way to the cache, not
   * proof it is gone, so it is read from the API server until the cache has it.
   */
  readonly #createdNotCached = new Set<string>();

  constructor(clients: WorkloadClients, options: WorkloadManagerOptions = {}) {
    this.#apps = clients.apps;
    this.#core = clients.core;
    this.#cachedDeployment = options.cachedDeployment;
    this.#caches = options.caches;
    this.#health = { restartThreshold: options.restartThreshold };
    this.#attempts = 1 + (options.conflictRetries ?? DEFAULT_CONFLICT_RETRIES);
    this.#statefulSets = new StatefulSetWorkloads(clients, {
      ...this.#health,
      attempts: this.#attempts,
      caches: options.caches,
    });
  }

  /** A StatefulSet target's reads and writes (the replica split router uses them). */
  get statefulSets(): StatefulSetWorkloads {
    return this.#statefulSets;
  }

  /**
   * Creates or updates the canary Deployment and Service from the stable ones, with
   * these images and replicas. Returns the objects as the server holds them.
   */
  async ensureCanary(
    release: ReleaseRef,
    images: Record<string, string>,
    replicas: number,
  ): Promise<CanaryObjects> {
    const { stable, stableService } = await this.#readTarget(release);
    const desired = buildCanary({ release, stable, stableService, images, replicas });
    const deployment = await this.#applyDeployment(release, desired.deployment);
    const service = await this.#applyService(release, desired.service);
    return { deployment, service };
  }

  /**
   * The engine's ensureCanary, for either kind of target: the canary Deployment and Service
   * (ensureCanary), or a StatefulSet's new template on `replicas` pods (docs/statefulsets.md).
   */
  async ensureTargetCanary(
    release: ReleaseRef,
    images: Record<string, string>,
    replicas: number,
  ): Promise<void> {
    if (targetsStatefulSet(release)) return this.#statefulSets.ensureCanary(release, images, replicas);
    await this.ensureCanary(release, images, replicas);
  }

  /**
   * Creates or updates the baseline Deployment and Service (docs/baseline.md): the stable
   * version as it ran when the release started (`images`, `version`), beside the canary.
   */
  async ensureBaseline(
    release: ReleaseRef,
    images: Record<string, string>,
    version: string | undefined,
    replicas: number,
  ): Promise<CanaryObjects> {
    const { stable, stableService } = await this.#readTarget(release);
    const desired = buildBaseline({ release, stable, stableService, images, version, replicas });
    const deployment = await this.#applyDeployment(release, desired.deployment);
    const service = await this.#applyService(release, desired.service);
    return { deployment, service };
  }

  /** The baseline's replicas follow the canary's; a missing baseline at zero is done already. */
  async scaleBaseline(release: ReleaseRef, replicas: number): Promise<void> {
    await this.#scale(release, "baseline", baselineDeploymentName(release.spec.target.deployment), replicas);
  }

  /** Deletes the baseline Deployment and Service this Release owns (when it ends, or is deleted). */
  async removeBaseline(release: ReleaseRef): Promise<void> {
    await this.#removeCompanion(release, "baseline");
  }

  async #readTarget(release: ReleaseRef): Promise<{ stable: V1Deployment; stableService: V1Service }> {
    const namespace = releaseNamespace(release);
    const { deployment: stableName, service: serviceName } = release.spec.target;
    const [stable, stableService] = await Promise.all([
      this.#read(
        () => this.#apps.readNamespacedDeployment({ name: stableName, namespace }),
        `Release ${releaseKey(release)}: reading the stable Deployment ${namespace}/${stableName} (spec.target.deployment)`,
      ),
      this.#read(
        () => this.#core.readNamespacedService({ name: serviceName, namespace }),
        `Release ${releaseKey(release)}: reading the stable Service ${namespace}/${serviceName} (spec.target.service)`,
      ),
    ]);
    if (!stable) {
      throw new TargetError(
        "TargetNotFound",
        `Release ${releaseKey(release)}: the stable Deployment ${namespace}/${stableName} (spec.target.deployment) does not exist`,
      );
    }
    if (!stableService) {
      throw new TargetError(
        "TargetNotFound",
        `Release ${releaseKey(release)}: the stable Service ${namespace}/${serviceName} (spec.target.service) does not exist`,
      );
    }
    return { stable, stableService };
  }

  /**
   * Sets the canary's replicas: the one place that scales the canary, for the engine's
   * actions and the replica split alike. `requestedWeight` (replica split) travels with
   * the replicas, so the split can tell "asked 10%, reached 25%". Scaling a canary that
   * does not exist to zero is done already.
   */
  async scaleCanary(release: ReleaseRef, replicas: number, requestedWeight?: number): Promise<void> {
    if (targetsStatefulSet(release))
      return this.#statefulSets.scaleCanary(release, replicas, requestedWeight);
    if (!Number.isInteger(replicas) || replicas < 0) {
      throw new Error(
        `Release ${releaseKey(release)}: canary replicas must be a whole number ≥ 0, not ${replicas}`,
      );
    }
    await this.#scale(
      release,
      "canary",
      canaryDeploymentName(release.spec.target.deployment),
      replicas,
      requestedWeight,
    );
  }

  /** Scaling a Deployment of the release's that does not exist to zero is done already. */
  async #scale(
    release: ReleaseRef,
    role: "canary" | "baseline",
    name: string,
    replicas: number,
    requestedWeight?: number,
  ): Promise<void> {
    const namespace = releaseNamespace(release);
    try {
      await this.#apps.patchNamespacedDeployment(
        {
          name,
          namespace,
          body: {
            ...(requestedWeight === undefined
              ? {}
              : { metadata: { annotations: { [REQUESTED_WEIGHT_ANNOTATION]: String(requestedWeight) } } }),
            spec: { replicas },
          },
        },
        mergePatch,
      );
    } catch (error) {
      if (isNotFound(error) && replicas === 0) return;
      throw apiError(
        `Release ${releaseKey(release)}: scaling the ${role} Deployment ${namespace}/${name} to ${replicas}`,
        error,
      );
    }
  }

  /** GA: the stable Deployment gets the new images and version label, and nothing else changes. */
  async promoteStable(release: ReleaseRef, images: Record<string, string>, version: string): Promise<void> {
    if (targetsStatefulSet(release)) return this.#statefulSets.promote(release, images, version);
    await this.#patchStable(release, images, version, "promoting");
  }

  /** Rollback after promotion: the stable Deployment goes back to `status.previous`. */
  revertStable(
    release: ReleaseRef,
    images: Record<string, string>,
    version: string | undefined,
  ): Promise<void> {
    if (targetsStatefulSet(release)) return this.#statefulSets.revert(release, images, version);
    return this.#patchStable(release, images, version, "reverting");
  }

  /**
   * The canary Service and how many Ready addresses its Endpoints hold: what the routers
   * send the canary's share to.
   */
  async observeCanaryService(release: ReleaseRef): Promise<ServiceObservation> {
    const namespace = releaseNamespace(release);
    const name = canaryServiceName(release.spec.target.service);
    const context = `Release ${releaseKey(release)}: observing the canary Service ${namespace}/${name}`;
    const [service, endpoints] = await Promise.all([
      this.#cachedOrRead(
        "service",
        namespace,
        name,
        (caches) => caches.service(namespace, name),
        () => this.#read(() => this.#core.readNamespacedService({ name, namespace }), context),
      ),
      this.#cachedOrRead<V1Endpoints>(
        "endpoints",
        namespace,
        name,
        (caches) => caches.endpoints(namespace, name),
        () =>
          this.#read(
            () => this.#core.readNamespacedEndpoints({ name, namespace }),
            `${context}: reading its Endpoints`,
          ),
      ),
    ]);
    const readyIn = (object: V1Endpoints | undefined) =>
      (object?.subsets ?? []).reduce((sum, subset) => sum + (subset.addresses?.length ?? 0), 0);
    let readyEndpoints = readyIn(endpoints);
    // No ready address in the cache may only be the cache behind the endpoints controller
    // (the canary's Pods just turned Ready): confirmed from the API server before the
    // release calls the canary Service not ready. A Service with ready addresses, the
    // steady state, costs no request.
    if (service !== undefined && readyEndpoints === 0 && this.#caches?.synced("endpoints")) {
      readyEndpoints = readyIn(
        await this.#read(
          () => this.#core.readNamespacedEndpoints({ name, namespace }),
          `${context}: reading its Endpoints`,
        ),
      );
    }
    return { name, exists: service !== undefined, readyEndpoints: service ? readyEndpoints : 0 };
  }

  /**
   * Deletes the canary Deployment and Service of a deleted Release (the garbage collector
   * would too, but only once the Release is gone: this way they are gone before it).
   */
  async removeCanary(release: ReleaseRef): Promise<void> {
    if (targetsStatefulSet(release)) return this.#statefulSets.scaleCanary(release, 0);
    await this.#removeCompanion(release, "canary");
  }

  /** Deletes the canary's or the baseline's Deployment and Service, each only if this Release owns it. */
  async #removeCompanion(release: ReleaseRef, role: "canary" | "baseline"): Promise<void> {
    const namespace = releaseNamespace(release);
    const deployment = deploymentName(release, role);
    const { service: stable } = release.spec.target;
    const service = role === "canary" ? canaryServiceName(stable) : baselineServiceName(stable);
    const context = `Release ${releaseKey(release)}: removing the ${role}`;
    const [existingDeployment, existingService] = await Promise.all([
      this.#read(() => this.#apps.readNamespacedDeployment({ name: deployment, namespace }), context),
      this.#read(() => this.#core.readNamespacedService({ name: service, namespace }), context),
    ]);
    // Only what this Release owns: a later Release may have taken the canary over already.
    if (existingDeployment && ownedBy(existingDeployment, release)) {
      await this.#deleteDeployment(
        existingDeployment,
        `${context} Deployment ${namespace}/${deployment}: deleting it`,
      );
    }
    if (existingService && ownedBy(existingService, release)) {
      const uid = existingService.metadata?.uid;
      try {
        await this.#core.deleteNamespacedService({
          name: service,
          namespace,
          body: { preconditions: uid ? { uid } : undefined },
        });
      } catch (error) {
        if (!isNotFound(error) && !isConflict(error))
          throw apiError(`${context} Service ${namespace}/${service}`, error);
      }
    }
  }

  /** The stable or canary Deployment, from the cache (the API server on a miss); undefined when it does not exist. */
  async deployment(release: ReleaseRef, role: WorkloadRole): Promise<V1Deployment | undefined> {
    const namespace = releaseNamespace(release);
    const name = deploymentName(release, role);
    const read = () =>
      this.#read(
        () => this.#apps.readNamespacedDeployment({ name, namespace }),
        `Release ${releaseKey(release)}: reading the ${role} Deployment ${namespace}/${name}`,
      );
    const cachedDeployment = this.#cachedDeployment;
    if (!cachedDeployment) return read();
    if (!this.#caches) return cachedDeployment(namespace, name) ?? (await read());
    return this.#cachedOrRead("deployment", namespace, name, () => cachedDeployment(namespace, name), read);
  }

  /**
   * From the cache once it has synced (a miss: the object does not exist, unless this
   * manager created it and the cache has not caught up); from the API server before that.
   */
  async #cachedOrRead<T>(
    kind: "deployment" | "service" | "endpoints",
    namespace: string,
    name: string,
    cached: (caches: WorkloadCaches) => T | undefined,
    read: () => Promise<T | undefined>,
  ): Promise<T | undefined> {
    const caches = this.#caches;
    if (!caches?.synced(kind)) return read();
    const created = `${kind}:${namespace}/${name}`;
    const object = cached(caches);
    if (object !== undefined) {
      this.#createdNotCached.delete(created);
      return object;
    }
    if (!this.#createdNotCached.has(created)) return undefined;
    const fresh = await read();
    if (fresh === undefined) this.#createdNotCached.delete(created);
    return fresh;
  }

  /** This manager created it: until a cache shows it, a miss there is read from the API server. */
  #created(kind: "deployment" | "service", object: V1Deployment | V1Service): void {
    if (this.#caches)
      this.#createdNotCached.add(`${kind}:${object.metadata?.namespace}/${object.metadata?.name}`);
  }

  /** The stable or canary Deployment and its own Pods, as the engine sees them. */
  async observe(release: ReleaseRef, role: WorkloadRole): Promise<WorkloadObservation> {
    if (targetsStatefulSet(release)) {
      return role === "baseline"
        ? { ...MISSING_WORKLOAD, images: {} }
        : this.#statefulSets.observe(release, role);
    }
    const namespace = releaseNamespace(release);
    const name = deploymentName(release, role);
    const context = `Release ${releaseKey(release)}: observing the ${role} Deployment ${namespace}/${name}`;
    const deployment = await this.deployment(release, role);
    if (!deployment) return { ...MISSING_WORKLOAD, images: {} };
    const selector = deployment.spec?.selector;
    if (!selector) throw new Error(`${context}: it has no spec.selector`);
    const labelSelector = labelSelectorString(selector);
    // From the Pod and ReplicaSet caches (indexed by owner) once they have synced.
    const pods = this.#caches?.synced("pods")
      ? this.#caches.podsOf(deployment)
      : await this.#listOwnedPods(deployment, labelSelector, context);
    const observed = observeWorkload(deployment, pods, this.#health);
    if (role !== "stable") return observed;
    const writers = await this.#stableWriters(deployment, context);
    return writers ? { ...observed, writers } : observed;
  }

  /** The Deployment's own Pods, listed from the API server (no caches, or not synced yet). */
  async #listOwnedPods(deployment: V1Deployment, labelSelector: string, context: string): Promise<V1Pod[]> {
    const namespace = deployment.metadata?.namespace ?? "";
    try {
      // resourceVersion "0": served from the API server's watch cache, not a quorum read
      // from etcd; health does not need the last millisecond, and this is every reconcile.
      const [replicaSets, pods] = await Promise.all([
        this.#apps.listNamespacedReplicaSet({ namespace, labelSelector, resourceVersion: "0" }),
        this.#core.listNamespacedPod({ namespace, labelSelector, resourceVersion: "0" }),
      ]);
      return ownedPods(deployment, replicaSets.items, pods.items);
    } catch (error) {
      throw apiError(`${context}: listing its ReplicaSets and Pods (${labelSelector})`, error);
    }
  }

  /**
   * Who last wrote stable's watched fields. The cached copy carries no managedFields, so
   * they are read from the API server once per generation (every spec change is one).
   */
  async #stableWriters(deployment: V1Deployment, context: string): Promise<FieldWriters | undefined> {
    const managed = deployment.metadata?.managedFields;
    if (managed && managed.length > 0) return fieldWriters(managed);
    const { name = "", namespace = "", uid = "", generation = 0 } = deployment.metadata ?? {};
    const key = `${namespace}/${name}`;
    const known = this.#writers.get(key);
    if (known && known.uid === uid && known.generation >= generation) return known.writers;
    const fresh = await this.#read(() => this.#apps.readNamespacedDeployment({ name, namespace }), context);
    if (!fresh) return undefined;
    const writers = fieldWriters(fresh.metadata?.managedFields ?? []);
    this.#writers.set(key, {
      uid: fresh.metadata?.uid ?? "",
      generation: fresh.metadata?.generation ?? 0,
      writers,
    });
    return writers;
  }

  async #patchStable(
    release: ReleaseRef,
    images: Record<string, string>,
    version: string | undefined,
    verb: "promoting" | "reverting",
  ): Promise<void> {
    const namespace = releaseNamespace(release);
    const name = release.spec.target.deployment;
    const context = `Release ${releaseKey(release)}: ${verb} the stable Deployment ${namespace}/${name}`;
    for (let attempt = 1; ; attempt++) {
      const stable = await this.#read(
        () => this.#apps.readNamespacedDeployment({ name, namespace }),
        context,
      );
      if (!stable) throw new TargetError("TargetNotFound", `${context}: it does not exist`);
      const patch = stableTemplatePatch(stable, images, version, context);
      if (patch.length === 0) return;
      try {
        // JSON Patch is client-node's default content type for patch calls. The field manager
        // tells Glidepath's own edits of stable from a person's (managedFields).
        await this.#apps.patchNamespacedDeployment({
          name,
          namespace,
          body: patch,
          fieldManager: GLIDEPATH_FIELD_MANAGER,
        });
        return;
      } catch (error) {
        // 409/422: the Deployment changed under us (a failed `test`); read it again.
        const code = apiStatusCode(error);
        if ((code === 409 || code === 422) && attempt < this.#attempts) continue;
        throw apiError(`${context} (patch ${JSON.stringify(patch)})`, error);
      }
    }
  }

  async #applyDeployment(release: ReleaseRef, desired: V1Deployment): Promise<V1Deployment> {
    const namespace = releaseNamespace(release);
    const name = desired.metadata?.name ?? "";
    const context = `Release ${releaseKey(release)}: writing the canary Deployment ${namespace}/${name}`;
    const desiredSpec = desired.spec;
    if (!desiredSpec) throw new Error(`${context}: the desired Deployment has no spec`);
    for (let attempt = 1; ; attempt++) {
      const last = attempt >= this.#attempts;
      const existing = await this.#read(
        () => this.#apps.readNamespacedDeployment({ name, namespace }),
        context,
      );
      if (!existing) {
        try {
          const created = await this.#apps.createNamespacedDeployment({ namespace, body: desired });
          this.#created("deployment", created);
          return created;
        } catch (error) {
          if (isConflict(error) && !last) continue; // created meanwhile (or still being deleted)
          throw apiError(context, error);
        }
      }
      assertManaged(existing, context);
      if (!isDeepStrictEqual(plain(existing.spec?.selector), plain(desiredSpec.selector))) {
        // A Deployment's selector is immutable: the old canary goes, a new one is made.
        await this.#deleteDeployment(
          existing,
          `${context}: deleting the old canary (its selector cannot change)`,
        );
        await sleep(200 * attempt);
        if (last)
          throw new Error(`${context}: the old canary, whose selector differs, is still being deleted`);
        continue;
      }
      const updated: V1Deployment = {
        ...existing,
        metadata: mergeMetadata(existing.metadata, desired.metadata),
        spec: { ...existing.spec, ...desiredSpec },
      };
      if (isDeepStrictEqual(plain(existing), plain(updated))) return existing;
      try {
        return await this.#apps.replaceNamespacedDeployment({ name, namespace, body: updated });
      } catch (error) {
        if (isConflict(error) && !last) continue;
        throw apiError(context, error);
      }
    }
  }

  /** Deletes this Deployment (by uid, so not one made since under its name); `action` names it in errors. */
  async #deleteDeployment(existing: V1Deployment, action: string): Promise<void> {
    const { name = "", namespace = "", uid } = existing.metadata ?? {};
    try {
      await this.#apps.deleteNamespacedDeployment({
        name,
        namespace,
        propagationPolicy: "Background",
        body: { preconditions: uid ? { uid } : undefined },
      });
    } catch (error) {
      if (!isNotFound(error) && !isConflict(error)) {
        throw apiError(action, error);
      }
    }
  }

  async #applyService(release: ReleaseRef, desired: V1Service): Promise<V1Service> {
    const namespace = releaseNamespace(release);
    const name = desired.metadata?.name ?? "";
    const context = `Release ${releaseKey(release)}: writing the canary Service ${namespace}/${name}`;
    for (let attempt = 1; ; attempt++) {
      const last = attempt >= this.#attempts;
      const existing = await this.#read(() => this.#core.readNamespacedService({ name, namespace }), context);
      if (!existing) {
        try {
          const created = await this.#core.createNamespacedService({ namespace, body: desired });
          this.#created("service", created);
          return created;
        } catch (error) {
          if (isConflict(error) && !last) continue;
          throw apiError(context, error);
        }
      }
      assertManaged(existing, context);
      // clusterIP and the other server-assigned fields stay as they are.
      const updated: V1Service = {
        ...existing,
        metadata: mergeMetadata(existing.metadata, desired.metadata),
        spec: {
          ...existing.spec,
          selector: desired.spec?.selector ?? {},
          ports: desired.spec?.ports ?? [],
        },
      };
      if (isDeepStrictEqual(plain(existing), plain(updated))) return existing;
      try {
        return await this.#core.replaceNamespacedService({ name, namespace, body: updated });
      } catch (error) {
        if (isConflict(error) && !last) continue;
        throw apiError(context, error);
      }
    }
  }

  /** The object, or undefined on 404; other failures become errors that say what was read. */
  async #read<T>(call: () => Promise<T>, context: string): Promise<T | undefined> {
    try {
      return await call();
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw apiError(context, error);
    }
  }
}

function deploymentName(release: ReleaseRef, role: WorkloadRole): string {
  const target = release.spec.target.deployment;
  if (role === "stable") return target;
  return role === "canary" ? canaryDeploymentName(target) : baselineDeploymentName(target);
}

/** The object's controller owner is this Release (by uid when the Release has one). */
function ownedBy(object: V1Deployment | V1Service, release: ReleaseRef): boolean {
  return (object.metadata?.ownerReferences ?? []).some(
    (owner) =>
      owner.controller === true &&
      owner.kind === RELEASE_KIND &&
      owner.name === release.metadata.name &&
      (release.metadata.uid === undefined || owner.uid === release.metadata.uid),
  );
}

/** A canary name that something other than Glidepath uses is not ours to overwrite. */
function assertManaged(existing: V1Deployment | V1Service, context: string): void {
  const metadata = existing.metadata;
  if (metadata?.labels?.[RELEASE_LABEL] === undefined && !isOwnedByARelease(metadata?.ownerReferences)) {
    throw new TargetError(
      "TargetInvalid",
      `${context}: a ${existing.kind ?? "object"} of that name exists and Glidepath did not make it ` +
        `(no ${RELEASE_LABEL} label, no Release owner); rename or delete it`,
    );
  }
}

/** Our labels and annotations over theirs; the owner is the current Release (it takes over a finished one's canary). */
function mergeMetadata<M extends V1Deployment["metadata"]>(existing: M, desired: M): NonNullable<M> {
  return {
    ...existing,
    labels: { ...existing?.labels, ...desired?.labels },
    annotations: { ...existing?.annotations, ...desired?.annotations },
    ownerReferences: desired?.ownerReferences ?? [],
  } as NonNullable<M>;
}

/** client-node returns class instances; compare as the JSON that goes over the wire. */
function plain(value: unknown): unknown {
  return value === undefined ? undefined : JSON.parse(JSON.stringify(value));
}
