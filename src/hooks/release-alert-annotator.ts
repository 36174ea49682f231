import { PatchStrategy, setHeaderOptions, type CustomObjectsApi } from "@kubernetes/client-node";
import { API_GROUP, API_VERSION, type Release } from "../api/index.ts";
import type { AlertObservation } from "../engine/index.ts";
import { apiStatusCode, describeApiError, parseObjectKey, RELEASE_PLURAL } from "../kube/index.ts";
import {
  addDroppedAlerts,
  DROPPED_ALERTS_ANNOTATION,
  FIRING_ALERTS_ANNOTATION,
  mergeAnnotatedAlerts,
} from "./release-annotation.ts";

// A follower's hand-off: the matched alerts go onto the Release as an annotation (a
// compare-and-swap merge patch of metadata only; spec and status are untouched, so the
// generation does not change). The leader's informer sees it and reconciles at once.

export type AnnotationOutcome = "written" | "unchanged" | "gone";

export class ReleaseAlertAnnotator {
  readonly #custom: CustomObjectsApi;
  readonly #attempts: number;

  constructor(custom: CustomObjectsApi, options: { attempts?: number } = {}) {
    this.#custom = custom;
    this.#attempts = options.attempts ?? 5;
  }

  async annotate(releaseKey: string, alerts: readonly AlertObservation[]): Promise<AnnotationOutcome> {
    const { namespace, name } = parseObjectKey(releaseKey);
    if (!namespace) throw new Error(`release key "${releaseKey}" has no namespace`);
    const ref = { group: API_GROUP, version: API_VERSION, plural: RELEASE_PLURAL, namespace, name };
    for (let attempt = 1; ; attempt++) {
      let release: Release;
      try {
        release = (await this.#custom.getNamespacedCustomObject(ref)) as Release;
      } catch (error) {
        if (apiStatusCode(error) === 404) return "gone";
        throw new Error(
          `reading Release ${releaseKey} to annotate it with an alert: ${describeApiError(error)}`,
          {
            cause: error,
          },
        );
      }
      const annotations = release.metadata.annotations ?? {};
      const next = mergeAnnotatedAlerts(annotations[FIRING_ALERTS_ANNOTATION], alerts);
      if (next === undefined) return "unchanged";
      try {
        await this.#custom.patchNamespacedCustomObject(
          {
            ...ref,
            body: {
              metadata: {
                resourceVersion: release.metadata.resourceVersion,
                annotations: {
                  [FIRING_ALERTS_ANNOTATION]: next.annotation,
                  ...(next.dropped > 0
                    ? {
                        [DROPPED_ALERTS_ANNOTATION]: addDroppedAlerts(
                          annotations[DROPPED_ALERTS_ANNOTATION],
                          next.dropped,
                        ),
                      }
                    : {}),
                },
              },
            },
          },
          setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
        );
        return "written";
      } catch (error) {
        const code = apiStatusCode(error);
        if (code === 404) return "gone";
        if (code === 409 && attempt < this.#attempts) continue;
        throw new Error(`annotating Release ${releaseKey} with an alert: ${describeApiError(error)}`, {
          cause: error,
        });
      }
    }
  }
}
