// The one way the controller writes a Release's status: a PUT to the status
// subresource carrying the resourceVersion the decision was based on. If the Release
// changed since (a person edited spec.control, another replica wrote status), the API
// server answers 409 and the caller re-reads and decides again; nothing is overwritten
// blindly. The main resource's PUT ignores status, so this is also the only way that works.
import { isDeepStrictEqual } from "node:util";
import type { CustomObjectsApi } from "@kubernetes/client-node";
import { API_GROUP, API_VERSION, RELEASE_KIND } from "../api/release.ts";
import type { Release, ReleaseStatus } from "../api/release.ts";
import { abortWith } from "./client.ts";
import { apiStatusCode, describeApiError } from "./errors.ts";
import { timerDelay } from "./timer-delay.ts";

export const RELEASE_PLURAL = "releases";

/** The Release as it was read: what the new status was decided from. */
export interface ReleaseReadState {
  metadata: { name: string; namespace?: string; resourceVersion?: string };
  status?: ReleaseStatus | Record<string, unknown>;
}

export type StatusWriteResult =
  /** Written; `release` is what the server stored (schema-checked there, not parsed by zod). */
  | { outcome: "written"; resourceVersion: string; release: Release }
  /** The new status equals the one read: no request was made. */
  | { outcome: "unchanged" }
  /** The Release changed after it was read: read it again and decide again. */
  | { outcome: "conflict"; message: string }
  /** The Release no longer exists. */
  | { outcome: "gone" };

export class StatusWriteError extends Error {
  readonly code: number | undefined;
  constructor(message: string, code: number | undefined, options?: ErrorOptions) {
    super(message, options);
    this.name = "StatusWriteError";
    this.code = code;
  }
}

export interface StatusWriterOptions {
  customObjects: CustomObjectsApi;
  /** One write may take this long. Default 15 s. */
  timeoutMs?: number;
}

export class ReleaseStatusWriter {
  readonly #customObjects: CustomObjectsApi;
  readonly #timeoutMs: number;

  constructor(options: StatusWriterOptions) {
    this.#customObjects = options.customObjects;
    this.#timeoutMs = options.timeoutMs ?? 15_000;
  }

  /**
   * Replaces the status of `release` (as read) with `status`. Conflicts and deletion are
   * outcomes; anything else (invalid status, RBAC, network) throws StatusWriteError.
   */
  async writeStatus(release: ReleaseReadState, status: ReleaseStatus): Promise<StatusWriteResult> {
    const { name, namespace, resourceVersion } = release.metadata;
    const where = `Release ${namespace ?? "?"}/${name}`;
    if (!namespace) throw new StatusWriteError(`${where}: no namespace in the metadata read`, undefined);
    if (!resourceVersion) {
      // Without it the server would accept any write: exactly the blind overwrite to avoid.
      throw new StatusWriteError(
        `${where}: no resourceVersion in the metadata read; refusing an unconditional write`,
        undefined,
      );
    }
    if (isDeepStrictEqual(asJson(release.status ?? {}), asJson(status))) return { outcome: "unchanged" };

    const body = {
      apiVersion: `${API_GROUP}/${API_VERSION}`,
      kind: RELEASE_KIND,
      metadata: { name, namespace, resourceVersion },
      status,
    };
    try {
      const written = (await this.#customObjects.replaceNamespacedCustomObjectStatus(
        { group: API_GROUP, version: API_VERSION, namespace, plural: RELEASE_PLURAL, name, body },
        abortWith(AbortSignal.timeout(timerDelay(this.#timeoutMs))),
      )) as Release;
      return {
        outcome: "written",
        resourceVersion: written.metadata.resourceVersion ?? "",
        release: written,
      };
    } catch (error) {
      const code = apiStatusCode(error);
      if (code === 409) return { outcome: "conflict", message: `${where}: ${describeApiError(error)}` };
      if (code === 404) return { outcome: "gone" };
      throw new StatusWriteError(
        `writing the status of ${where} (resourceVersion ${resourceVersion}) failed: ${describeApiError(error)}`,
        code,
        { cause: error },
      );
    }
  }
}

/** What the server would store: undefined members dropped, Dates as strings. */
function asJson(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value)) as unknown;
}
