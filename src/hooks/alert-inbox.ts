import type { Release } from "../api/index.ts";
import type { AlertInbox } from "../controller/ports.ts";
import type { AlertObservation } from "../engine/index.ts";
import { canActOnAlerts } from "./alert-matching.ts";
import { readAnnotatedAlerts } from "./release-annotation.ts";

// Matched firing alerts waiting for their release to act. The reconciler may read a
// release's alerts several times (a status write conflicts, a reconcile fails) — they
// stay until the release shows it has acted (a rollback record, or it has finished),
// until the alert resolves, or until `retentionMs` passes. Bounded in every direction:
// alerts per release, releases, and remembered repeats.

export interface AlertInboxOptions {
  /** How long a pending alert, and a remembered repeat, is kept. Default 1 h. */
  retentionMs?: number;
  /** Default 16; the engine records the earliest, so later ones add nothing. */
  maxAlertsPerRelease?: number;
  /** Default 1000 releases with pending alerts; the oldest are dropped first. */
  maxReleases?: number;
  /** Default 10 000 remembered (release, fingerprint, startsAt) triples. */
  maxRemembered?: number;
  /** Milliseconds since the epoch; default Date.now. */
  clock?: () => number;
}

interface PendingAlert {
  observation: AlertObservation;
  dedupeKey: string;
  /** When the hook took it: the start of the alert-to-rollback latency. */
  receivedAt: number;
  expiresAt: number;
}

export class AlertInboxStore implements AlertInbox {
  readonly #pending = new Map<string, PendingAlert[]>();
  /** `${releaseKey} ${dedupeKey}` → expiry: repeats of an alert already taken. */
  readonly #remembered = new Map<string, number>();
  readonly #retentionMs: number;
  readonly #maxAlertsPerRelease: number;
  readonly #maxReleases: number;
  readonly #maxRemembered: number;
  readonly #clock: () => number;

  constructor(options: AlertInboxOptions = {}) {
    this.#retentionMs = options.retentionMs ?? 3_600_000;
    this.#maxAlertsPerRelease = options.maxAlertsPerRelease ?? 16;
    this.#maxReleases = options.maxReleases ?? 1000;
    this.#maxRemembered = options.maxRemembered ?? 10_000;
    this.#clock = options.clock ?? Date.now;
  }

  /**
   * Takes a matched firing alert for a release. "duplicate" when the same alert
   * (fingerprint + startsAt) was taken for it within the retention.
   */
  take(releaseKey: string, observation: AlertObservation, dedupeKey: string): "new" | "duplicate" {
    const now = this.#clock();
    const memoryKey = `${releaseKey} ${dedupeKey}`;
    const until = this.#remembered.get(memoryKey);
    if (until !== undefined && until > now) return "duplicate";
    this.#remember(memoryKey, now + this.#retentionMs);

    const alerts = this.#live(releaseKey, now);
    if (alerts.length < this.#maxAlertsPerRelease) {
      alerts.push({ observation, dedupeKey, receivedAt: now, expiresAt: now + this.#retentionMs });
    }
    this.#pending.delete(releaseKey); // re-insert: Map order is then least recently used first
    this.#pending.set(releaseKey, alerts);
    while (this.#pending.size > this.#maxReleases) this.#pending.delete(this.#pending.keys().next().value!);
    return "new";
  }

  /** Undoes record(): the alert could not be handed on, so its repeat must count as new. */
  forget(releaseKey: string, dedupeKey: string): void {
    this.#remembered.delete(`${releaseKey} ${dedupeKey}`);
    const alerts = this.#pending.get(releaseKey);
    if (!alerts) return;
    const left = alerts.filter((alert) => alert.dedupeKey !== dedupeKey);
    if (left.length === 0) this.#pending.delete(releaseKey);
    else this.#pending.set(releaseKey, left);
  }

  /**
   * Undoes record()'s memory of the alert but keeps it pending: the leader acts on it, yet
   * a repeat (Alertmanager retrying a 503) is taken as new, so it can be stored again.
   */
  unremember(releaseKey: string, dedupeKey: string): void {
    this.#remembered.delete(`${releaseKey} ${dedupeKey}`);
  }

  /** A resolved alert: whatever of it is still pending will not roll anything back. */
  resolve(dedupeKey: string): number {
    let dropped = 0;
    for (const [releaseKey, alerts] of this.#pending) {
      const left = alerts.filter((alert) => alert.dedupeKey !== dedupeKey);
      dropped += alerts.length - left.length;
      if (left.length === 0) this.#pending.delete(releaseKey);
      else if (left.length !== alerts.length) this.#pending.set(releaseKey, left);
    }
    return dropped;
  }

  /** Alerts for the reconciler: pending in memory, and written onto the Release by a follower. */
  firingFor(release: Release): AlertObservation[] {
    const releaseKey = `${release.metadata.namespace}/${release.metadata.name}`;
    if (!canActOnAlerts(release)) {
      this.#pending.delete(releaseKey);
      return [];
    }
    const inMemory = this.#live(releaseKey, this.#clock()).map((alert) => alert.observation);
    if (inMemory.length === 0) this.#pending.delete(releaseKey);
    const all = new Map<string, AlertObservation>();
    for (const alert of [...inMemory, ...readAnnotatedAlerts(release)]) {
      all.set(`${alert.fingerprint}@${alert.startsAt}`, alert);
    }
    return [...all.values()];
  }

  /**
   * When this replica's hook took the alert with this fingerprint for the release (the
   * earliest, if it came more than once); undefined for alerts only a follower took.
   */
  receivedAt(releaseKey: string, fingerprint: string): number | undefined {
    const times = (this.#pending.get(releaseKey) ?? [])
      .filter((alert) => alert.observation.fingerprint === fingerprint)
      .map((alert) => alert.receivedAt);
    return times.length > 0 ? Math.min(...times) : undefined;
  }

  /** For /metrics and tests: how much is held. */
  size(): { releases: number; alerts: number; remembered: number } {
    let alerts = 0;
    for (const pending of this.#pending.values()) alerts += pending.length;
    return { releases: this.#pending.size, alerts, remembered: this.#remembered.size };
  }

  #live(releaseKey: string, now: number): PendingAlert[] {
    return (this.#pending.get(releaseKey) ?? []).filter((alert) => alert.expiresAt > now);
  }

  #remember(memoryKey: string, until: number): void {
    this.#remembered.delete(memoryKey);
    this.#remembered.set(memoryKey, until);
    const now = this.#clock();
    // Oldest first: drop the expired and, past the cap, the oldest.
    for (const [key, expiry] of this.#remembered) {
      if (expiry > now && this.#remembered.size <= this.#maxRemembered) break;
      this.#remembered.delete(key);
    }
  }
}
