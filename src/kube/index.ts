// Kubernetes plumbing the controller stands on: client configuration, a resilient
// list+watch cache, a keyed work queue, leader election on a Lease, the Release status
// writer and an Event publisher. Nothing here knows what a rollout is.
export {
  abortWith,
  contextNamespace,
  DEFAULT_KUBE_REQUEST_TIMEOUT_MS,
  loadKubeConfig,
  makeKubeClients,
} from "./client.ts";
export type { KubeClientOptions, KubeClients, LoadKubeConfigOptions } from "./client.ts";
export { describeKubeRequest } from "./request-metric.ts";
export type { KubeRequestLabels, KubeRequestObserver } from "./request-metric.ts";
export { Informer, stripManagedFields } from "./informer.ts";
export type { InformerHandler, InformerOptions, InformerStats } from "./informer.ts";
export { NamespacedInformers } from "./namespaced-informers.ts";
export type { NamespacedInformersOptions } from "./namespaced-informers.ts";
export { objectKey, parseObjectKey } from "./cache-diff.ts";
export type { InformerChange } from "./cache-diff.ts";
export { collectionPath, listCollection, resourcePath } from "./list.ts";
export type { ResourceRef } from "./list.ts";
export { WorkQueue } from "./work-queue.ts";
export type { Reconcile, ReconcileResult, WorkQueueOptions, WorkQueueStats } from "./work-queue.ts";
export { LeaderElector, leaseIsFresh, LeaseNotHeldError } from "./leader-election.ts";
export type { LeaderElectionOptions, LeadershipEnd } from "./leader-election.ts";
export { HANDOVER_ANNOTATION, ShardLeases } from "./shard-leases.ts";
export type { ShardLeasesOptions } from "./shard-leases.ts";
export {
  fairShare,
  mayTakeShard,
  namespaceOfApiPath,
  shardOfKey,
  shardOfNamespace,
  shouldHandOver,
} from "./shards.ts";
export { RELEASE_PLURAL, ReleaseStatusWriter, StatusWriteError } from "./status-writer.ts";
export type { ReleaseReadState, StatusWriteResult } from "./status-writer.ts";
export { ReleaseFinalizers, hasRouteRestoreFinalizer } from "./finalizers.ts";
export type { FinalizerAddResult, FinalizerOptions } from "./finalizers.ts";
export { EventPublisher } from "./events.ts";
export { ReleaseRecordStore } from "./release-record-store.ts";
export type { EventPublisherOptions, EventSubject, EventType } from "./events.ts";
export {
  apiError,
  apiStatusCode,
  describeApiError,
  describeApiFailure,
  isConflict,
  isNotFound,
  isRouteNotFound,
} from "./errors.ts";
export { formatMicroTime, parseMicroTime, toMicroTime } from "./micro-time.ts";
export type { BackoffPolicy } from "./backoff.ts";
export { LONGEST_REQUEUE_MS, LONGEST_TIMER_MS, timerDelay } from "./timer-delay.ts";
