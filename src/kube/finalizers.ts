// The route-restore finalizer on Releases: added when a release starts changing the
// cluster, removed when it ends or, once deleted, when its traffic is back on stable.
// Both writes are merge patches of metadata.finalizers carrying the resourceVersion
// read, so another finalizer added meanwhile is never dropped (a stale read gets 409).
// They need `patch` on releases; not releases/finalizers, which only the
// OwnerReferencesPermissionEnforcement admission plugin asks for (blockOwnerDeletion).
import { PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import type { CustomObjectsApi } from "@kubernetes/client-node";
import { API_GROUP, API_VERSION, ROUTE_RESTORE_FINALIZER } from "../api/release.ts";
import type { Release } from "../api/release.ts";
import { abortWith } from "./client.ts";
import { apiError, apiStatusCode } from "./errors.ts";
import { RELEASE_PLURAL } from "./status-writer.ts";

export type FinalizerAddResult =
  /** Added; `release` is the Release as stored (its new resourceVersion). */
  | { outcome: "written"; release: Release }
  /** The Release changed since it was read, or is being deleted: read it again. */
  | { outcome: "conflict" }
  | { outcome: "gone" };

export interface FinalizerOptions {
  customObjects: CustomObjectsApi;
  /** Each request may take this long. Default 15 s. */
  timeoutMs?: number;
  /** Removal retried after a 409 with a fresh read. Default 5. */
  conflictRetries?: number;
}

interface ReleaseMeta {
  metadata: { name: string; namespace?: string; resourceVersion?: string; finalizers?: string[] };
}

export function hasRouteRestoreFinalizer(release: ReleaseMeta): boolean {
  return (release.metadata.finalizers ?? []).includes(ROUTE_RESTORE_FINALIZER);
}

export class ReleaseFinalizers {
  readonly #custom: CustomObjectsApi;
  readonly #timeoutMs: number;
  readonly #attempts: number;

  constructor(options: FinalizerOptions) {
    this.#custom = options.customObjects;
    this.#timeoutMs = options.timeoutMs ?? 15_000;
    this.#attempts = 1 + (options.conflictRetries ?? 5);
  }

  /** Adds the finalizer to the Release as read (compare-and-swap on its resourceVersion). */
  async add(release: ReleaseMeta): Promise<FinalizerAddResult> {
    const finalizers = [...(release.metadata.finalizers ?? []), ROUTE_RESTORE_FINALIZER];
    try {
      const written = await this.#patch(release, finalizers);
      return { outcome: "written", release: written };
    } catch (error) {
      const code = apiStatusCode(error);
      if (code === 404) return { outcome: "gone" };
      // 422: "no new finalizers can be added if the object is being deleted".
      if (code === 409 || code === 422) return { outcome: "conflict" };
      throw apiError(`${where(release)}: adding the finalizer ${ROUTE_RESTORE_FINALIZER}`, error);
    }
  }

  /** Removes the finalizer, reading the Release afresh; done when it is gone or has none. */
  async remove(release: ReleaseMeta): Promise<void> {
    const { name, namespace = "" } = release.metadata;
    const action = `${where(release)}: removing the finalizer ${ROUTE_RESTORE_FINALIZER}`;
    for (let attempt = 1; ; attempt++) {
      let current: ReleaseMeta;
      try {
        current = (await this.#custom.getNamespacedCustomObject(
          { group: API_GROUP, version: API_VERSION, namespace, plural: RELEASE_PLURAL, name },
          abortWith(AbortSignal.timeout(this.#timeoutMs)),
        )) as ReleaseMeta;
      } catch (error) {
        if (apiStatusCode(error) === 404) return;
        throw apiError(action, error);
      }
      if (!hasRouteRestoreFinalizer(current)) return;
      const finalizers = (current.metadata.finalizers ?? []).filter((f) => f !== ROUTE_RESTORE_FINALIZER);
      try {
        await this.#patch(current, finalizers);
        return;
      } catch (error) {
        const code = apiStatusCode(error);
        if (code === 404) return;
        if (code === 409 && attempt < this.#attempts) continue;
        throw apiError(action, error);
      }
    }
  }

  async #patch(release: ReleaseMeta, finalizers: string[]): Promise<Release> {
    const { name, namespace = "", resourceVersion } = release.metadata;
    if (!resourceVersion) throw new Error(`${where(release)}: no resourceVersion; refusing a blind write`);
    return (await this.#custom.patchNamespacedCustomObject(
      {
        group: API_GROUP,
        version: API_VERSION,
        namespace,
        plural: RELEASE_PLURAL,
        name,
        body: { metadata: { resourceVersion, finalizers } },
      },
      setHeaderOptions(
        "Content-Type",
        PatchStrategy.MergePatch,
        abortWith(AbortSignal.timeout(this.#timeoutMs)),
      ),
    )) as Release;
  }
}

function where(release: ReleaseMeta): string {
  return `Release ${release.metadata.namespace ?? "?"}/${release.metadata.name}`;
}
