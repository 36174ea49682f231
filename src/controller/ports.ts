import type { NotificationEvent, Release, ReleaseRecord } from "../api/index.ts";
import type { AlertObservation } from "../engine/index.ts";

// What the reconciler needs from the outside world, as small interfaces. The
// real implementations live in src/kube, src/workload, src/traffic, src/analysis
// and src/notify; src/wiring.ts builds them and hands them to the reconciler.

export interface ReleaseEventPublisher {
  /** Best effort: never rejects. */
  publish(release: Release, type: "Normal" | "Warning", reason: string, message: string): Promise<void>;
}

export interface Notification {
  event: NotificationEvent;
  message: string;
  release: Release;
}

export interface Notifier {
  /** Never throws and never blocks the caller for long: delivery is retried in the background. */
  notify(notification: Notification): void;
}

/** Firing alerts that matched a release, kept until the release has acted on them. */
export interface AlertInbox {
  firingFor(release: Release): AlertObservation[];
  /** Milliseconds since the epoch when this replica took the alert; undefined if it did not. */
  receivedAt(releaseKey: string, fingerprint: string): number | undefined;
}

/** Keeps finished releases' ReleaseRecords (src/kube/release-record-store.ts). */
export interface ReleaseRecordKeeper {
  /** Creates the record; "existed" when it is there already. */
  write(record: ReleaseRecord): Promise<"created" | "existed">;
  /** Deletes the target's records that retention no longer keeps; returns their names. */
  prune(namespace: string, target: string, now: Date): Promise<string[]>;
}
