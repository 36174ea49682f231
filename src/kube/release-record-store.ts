import type { CustomObjectsApi } from "@kubernetes/client-node";
import {
  API_GROUP,
  API_VERSION,
  RELEASE_RECORD_PLURAL,
  releaseRecordSchema,
  type ReleaseRecord,
} from "../api/index.ts";
import { RECORD_TARGET_LABEL, recordsToPrune, type RecordRetention } from "../record/release-record.ts";
import { apiStatusCode } from "./errors.ts";

// Writes ReleaseRecords (once: an existing one is left as it is) and lets go of the ones
// retention no longer keeps. The records have no owner reference, so they outlive their
// Release; only this store deletes them.

export class ReleaseRecordStore {
  readonly #custom: CustomObjectsApi;
  readonly #retention: RecordRetention;

  constructor(custom: CustomObjectsApi, retention: RecordRetention) {
    this.#custom = custom;
    this.#retention = retention;
  }

  /** Creates the record; "existed" when a record of that name is there already (a retry). */
  async write(record: ReleaseRecord): Promise<"created" | "existed"> {
    try {
      await this.#custom.createNamespacedCustomObject({
        group: API_GROUP,
        version: API_VERSION,
        namespace: record.metadata.namespace ?? "default",
        plural: RELEASE_RECORD_PLURAL,
        body: record,
      });
      return "created";
    } catch (error) {
      if (apiStatusCode(error) === 409) return "existed";
      throw error;
    }
  }

  /** Deletes the records of one target that retention lets go; returns their names. */
  async prune(namespace: string, target: string, now: Date): Promise<string[]> {
    if (this.#retention.keepLast === undefined && this.#retention.maxAgeMs === undefined) return [];
    const listed = (await this.#custom.listNamespacedCustomObject({
      group: API_GROUP,
      version: API_VERSION,
      namespace,
      plural: RELEASE_RECORD_PLURAL,
      labelSelector: `${RECORD_TARGET_LABEL}=${target}`,
    })) as { items?: unknown[] };
    // A record that does not parse (edited by hand) is left alone rather than guessed at.
    const records = (listed.items ?? []).flatMap((item) => {
      const parsed = releaseRecordSchema.safeParse(item);
      return parsed.success ? [parsed.data] : [];
    });
    const pruned = recordsToPrune(records, this.#retention, now);
    for (const record of pruned) {
      try {
        await this.#custom.deleteNamespacedCustomObject({
          group: API_GROUP,
          version: API_VERSION,
          namespace,
          plural: RELEASE_RECORD_PLURAL,
          name: record.metadata.name,
        });
      } catch (error) {
        if (apiStatusCode(error) !== 404) throw error;
      }
    }
    return pruned.map((record) => record.metadata.name);
  }
}
