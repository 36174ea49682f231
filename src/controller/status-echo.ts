import { isDeepStrictEqual } from "node:util";
import type { KubernetesObject } from "@kubernetes/client-node";
import type { Release, ReleaseStatus } from "../api/index.ts";
import type { InformerChange, ReleaseReadState, ReleaseStatusWriter } from "../kube/index.ts";

// The watch event of our own status write (its echo): the reconcile that wrote the status
// already decided from it and asked for its next look, so one more reconcile would find
// nothing to do, at the price of a full observation (a third of all reconciles at 1,000
// Releases, docs/performance.md). The echo is recognised by content, not resourceVersion:
// its event may arrive before the write's answer.

/** What a status write of ours changes and what it leaves as it was: an event equal to it is our echo. */
interface ExpectedEcho {
  status: unknown;
  generation: unknown;
  labels: unknown;
  annotations: unknown;
  deletionTimestamp: unknown;
}

export class StatusEchoFilter {
  /** Release key → how the Release looks after our status write in flight (or just made). */
  readonly #expected = new Map<string, ExpectedEcho>();

  /** Before a status write: the Release as it will be stored once the write lands. */
  expect(key: string, release: Pick<ReleaseReadState, "metadata">, status: ReleaseStatus): void {
    // As stored: a JSON copy drops undefined fields, as the API server does (and the caller
    // may go on changing the object it wrote).
    const stored = JSON.parse(JSON.stringify(status)) as unknown;
    this.#expected.set(
      key,
      expectedEcho({ metadata: release.metadata as KubernetesObject["metadata"], status: stored }),
    );
  }

  /** The write did not land (unchanged, conflict, gone, failed): no echo will come. */
  forget(key: string): void {
    this.#expected.delete(key);
  }

  /**
   * Whether a change from the Release cache is the echo of our own write (then it needs
   * no reconcile). Any change but an update ends the expectation, as does the echo itself;
   * an update from someone else keeps it, for the echo may still come after it.
   */
  isEcho(change: {
    type: InformerChange<KubernetesObject>["type"];
    key: string;
    object: KubernetesObject;
  }): boolean {
    const expected = this.#expected.get(change.key);
    const echo =
      change.type === "updated" &&
      expected !== undefined &&
      isDeepStrictEqual(expected, expectedEcho(change.object));
    if (change.type !== "updated" || echo) this.#expected.delete(change.key);
    return echo;
  }

  /** The writer's writeStatus, telling this filter of every write before it is made. */
  watching(writer: Pick<ReleaseStatusWriter, "writeStatus">): Pick<ReleaseStatusWriter, "writeStatus"> {
    return {
      writeStatus: async (release, status) => {
        const key = `${release.metadata.namespace}/${release.metadata.name}`;
        this.expect(key, release, status);
        try {
          const result = await writer.writeStatus(release, status);
          if (result.outcome !== "written") this.forget(key);
          return result;
        } catch (error) {
          this.forget(key);
          throw error;
        }
      },
    };
  }
}

function expectedEcho(object: KubernetesObject & { status?: unknown }): ExpectedEcho {
  const metadata = (object.metadata ?? {}) as Release["metadata"] & { deletionTimestamp?: unknown };
  return {
    status: object.status,
    generation: metadata.generation,
    labels: metadata.labels,
    annotations: metadata.annotations,
    deletionTimestamp: metadata.deletionTimestamp,
  };
}
