// Phase 4 of a sharded run (BENCH_REPLICAS > 1), in place of the restart: one replica is
// SIGKILLed; from the kill, when the others have taken every shard Lease it held, and when
// every active Release of those shards has been reconciled by them — its status written
// again (the audit log; each analysis round writes the status, so this includes waiting for
// the Release's next round, up to one interval).
import { CoordinationV1Api } from "@kubernetes/client-node";
import { CONTROLLER_NAMESPACE } from "../../test/harness/controller.ts";
import { shardOfNamespace } from "../../src/kube/shards.ts";
import type { Target } from "../lib/fixtures.ts";
import { seconds } from "../lib/format.ts";
import { say } from "../lib/run.ts";
import { sleep } from "../lib/wait.ts";
import type { Context, Watched } from "./context.ts";

/** The controller configuration's defaults (src/api/controller-config.ts). */
const SHARDS = 16;
const LEASE_PREFIX = "glidepath-shard";

export interface FailoverResult {
  replicas: number;
  /** The killed replica's shards and the active Releases in them. */
  shards: number[];
  releases: number;
  /** Kill → the last of its shard Leases taken by another replica. */
  leasesTakenMs?: number;
  /** Kill → every active Release of its shards written again by another replica. */
  reconciledMs?: number;
  leaseDurationSeconds: number;
}

export async function failoverPhase(
  context: Context,
  group: readonly Watched[],
  targets: readonly Target[],
): Promise<{ result: FailoverResult; survivors: Watched[] }> {
  const coordination = context.stack.kubeConfig().makeApiClient(CoordinationV1Api);
  const holders = async (): Promise<(string | undefined)[]> =>
    Promise.all(
      Array.from({ length: SHARDS }, (_, shard) =>
        coordination
          .readNamespacedLease({ name: `${LEASE_PREFIX}-${shard}`, namespace: CONTROLLER_NAMESPACE })
          .then((lease) => lease.spec?.holderIdentity || undefined)
          .catch(() => undefined),
      ),
    );
  const victim = group.at(-1) as Watched;
  const survivors = group.slice(0, -1);
  const before = await holders();
  const shards = before.flatMap((holder, shard) => (holder === victim.controller.identity ? [shard] : []));
  const orphaned = targets.filter((target) => shards.includes(shardOfNamespace(target.namespace, SHARDS)));
  const leaseDurationSeconds = 15;
  say(
    `failover: SIGKILL ${victim.controller.identity}, holding shards ${shards.join(", ")} (${orphaned.length} active Releases)`,
  );
  const auditOffset = context.audit.offset();
  victim.sampler.stop();
  process.kill(victim.controller.process.pid, "SIGKILL");
  const killedAt = Date.now();
  await victim.controller.process.exited;

  const result: FailoverResult = {
    replicas: group.length,
    shards,
    releases: orphaned.length,
    leaseDurationSeconds,
  };
  // An active Release is named after its target and version 2.0.0 (active.ts, bench/lib/fixtures.ts).
  const waiting = new Set(orphaned.map((target) => `${target.namespace}/${target.name}-2-0-0`));
  const deadline = killedAt + 5 * 60_000;
  let offset = auditOffset;
  while ((waiting.size > 0 || result.leasesTakenMs === undefined) && Date.now() < deadline) {
    await sleep(1_000);
    if (result.leasesTakenMs === undefined) {
      const now = await holders();
      if (shards.every((shard) => now[shard] && now[shard] !== victim.controller.identity))
        result.leasesTakenMs = Date.now() - killedAt;
    }
    const { events, nextOffset } = await context.audit.read(offset);
    offset = nextOffset;
    for (const event of events) {
      if (event.resource !== "releases/status" || event.at <= killedAt) continue;
      if (event.code < 200 || event.code >= 300) continue;
      const key = `${event.namespace}/${event.name}`;
      if (waiting.delete(key) && waiting.size === 0) result.reconciledMs = event.at - killedAt;
    }
  }
  say(
    `failover: shard Leases taken ${seconds(result.leasesTakenMs)}, every Release of them reconciled ${seconds(result.reconciledMs)} after the kill` +
      (waiting.size > 0 ? ` (${waiting.size} never were)` : ""),
  );
  return { result, survivors };
}
