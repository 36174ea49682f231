// The sharded controllers' end-to-end test (`npm run test:sharded`, issue 18 item 3): the
// real stack, two controller replicas as separate processes (each its own ServiceAccount)
// with sharding on, releases in several namespaces spread over the shards. Once every
// release is under way, the replica holding the first namespace's shard is SIGKILLed (and
// not replaced). The other must take its shards over within the lease duration and finish
// every release. Judged from the API server's side, its audit log, with the chaos suite's
// judge (history.ts): every stage reached once and in order, none skipped or repeated, and
// in no namespace did two replicas write alternately (no Release written by two at once).
// Then a replacement replica joins: the survivor, above its share, hands it half the shards
// (the hand-over request on the shard Lease), and no other shard moves. Exits 1 if any of
// that failed.
import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CoordinationV1Api } from "@kubernetes/client-node";
import { auditLogFlags } from "../../bench/lib/audit-log.ts";
import { shardOfNamespace } from "../../src/kube/shards.ts";
import { CONTROLLER_NAMESPACE } from "../harness/controller.ts";
import { createRunDir } from "../harness/processes.ts";
import { startStack } from "../harness/stack.ts";
import {
  canaryWeights,
  parseActionLine,
  recoveryMs,
  replicaOverlaps,
  storedVersions,
  walkStages,
  type ActionEvent,
} from "./history.ts";
import {
  CANARY_BACKEND,
  createRelease,
  firingAlert,
  isFinished,
  phaseOf,
  prepareService,
  SERVICE,
  STAGE_WEIGHTS,
  type ChaosRelease,
} from "./releases.ts";
import { REPLICAS_GROUP, Replicas, type Replica } from "./replicas.ts";

const SHARDS = 4;
const NAMESPACES_PER_SHARD = 2;
/** test/chaos/replicas.ts's leaderElection timings. */
const LEASE_DURATION_MS = 6_000;
const RETRY_PERIOD_MS = 1_000;
/** A stage's hold: long enough that the kill lands mid-release. */
const HOLD = "8s";
const RELEASE_TIMEOUT_MS = 5 * 60_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const say = (message: string) => console.log(message);

/** The replicas' writes, with the stored object for routes and Release status (the judge reads them). */
function replicaWriteRules(): object[] {
  const writes = ["create", "update", "patch", "delete"];
  return [
    {
      level: "RequestResponse",
      userGroups: [REPLICAS_GROUP],
      verbs: writes,
      resources: [
        { group: "gateway.networking.k8s.io", resources: ["httproutes"] },
        { group: "glidepath.dev", resources: ["releases/status"] },
      ],
    },
    { level: "Metadata", userGroups: [REPLICAS_GROUP], verbs: writes },
    { level: "None" },
  ];
}

/** Namespaces chosen so that every shard has NAMESPACES_PER_SHARD of them. */
function namespacesOverShards(): string[] {
  const chosen: string[] = [];
  const perShard = new Array<number>(SHARDS).fill(0);
  for (let index = 1; chosen.length < SHARDS * NAMESPACES_PER_SHARD; index++) {
    const namespace = `sharded-${index}`;
    const shard = shardOfNamespace(namespace, SHARDS);
    if ((perShard[shard] ?? 0) >= NAMESPACES_PER_SHARD) continue;
    perShard[shard] = (perShard[shard] ?? 0) + 1;
    chosen.push(namespace);
  }
  return chosen;
}

async function main(): Promise<number> {
  const runDir = createRunDir("sharded");
  const audit = auditLogFlags(join(runDir, "audit"), replicaWriteRules());
  say(`sharded controllers: starting the stack in ${runDir}`);
  const stack = await startStack({ runDir, apiServerFlags: audit.flags, log: () => undefined });
  const kubeConfig = stack.kubeConfig();
  const coordination = kubeConfig.makeApiClient(CoordinationV1Api);
  const hookTokenFile = join(runDir, "sharded-hook-token");
  writeFileSync(hookTokenFile, randomBytes(24).toString("base64url"), { mode: 0o600 });
  const problems: string[] = [];
  let replicas: Replicas | undefined;
  try {
    const namespaces = namespacesOverShards();
    await Promise.all(namespaces.map((namespace) => prepareService(kubeConfig, namespace)));
    replicas = await Replicas.start(stack, {
      count: 2,
      prometheusUrl: stack.info.prometheus.url,
      hookTokenFile,
      pool: 3,
      restart: false,
      config: { sharding: { replicas: 2, shards: SHARDS } },
    });
    const running = replicas.running();
    const holders = async (): Promise<(string | undefined)[]> =>
      Promise.all(
        Array.from({ length: SHARDS }, (_, shard) =>
          coordination
            .readNamespacedLease({ name: `glidepath-shard-${shard}`, namespace: CONTROLLER_NAMESPACE })
            .then((lease) => lease.spec?.holderIdentity || undefined)
            .catch(() => undefined),
        ),
      );
    // Given: the shards spread over both replicas, two each.
    const spread = await waitFor("every shard held, two by each replica", 60_000, async () => {
      const now = await holders();
      const counts = running.map((replica) => now.filter((holder) => holder === replica.identity).length);
      return counts.every((count) => count === SHARDS / 2) ? now : undefined;
    });
    say(`  shards held: ${spread.map((holder, shard) => `${shard}→${holder}`).join(", ")}`);

    const releases: ChaosRelease[] = namespaces.map((namespace) => ({
      namespace,
      name: "r1",
      bad: false,
      expected: "Succeeded",
      createdAt: Date.now(),
    }));
    for (const release of releases) await createRelease(kubeConfig, release, HOLD);
    // Mid-release: every release past its first stage, none finished.
    await waitFor("every release under way", 120_000, async () => {
      const phases = await Promise.all(releases.map((release) => phaseOf(kubeConfig, release)));
      return phases.every((phase) => phase === "Progressing") ? true : undefined;
    });
    await sleep(2_000);

    // When: the holder of the first namespace's shard dies without a word.
    const victimIdentity = spread[shardOfNamespace(namespaces[0] as string, SHARDS)];
    const victim = running.find((replica) => replica.identity === victimIdentity) as Replica;
    const survivor = running.find((replica) => replica !== victim) as Replica;
    const victimShards = spread.flatMap((holder, shard) => (holder === victim.identity ? [shard] : []));
    const orphaned = releases.filter((release) =>
      victimShards.includes(shardOfNamespace(release.namespace, SHARDS)),
    );

    // An alert for a release of the survivor's shards, sent to the victim: it hands the alert
    // over on the Release (annotation) and the survivor, the shard's holder, rolls back.
    const alerted = releases.find((release) => !orphaned.includes(release)) as ChaosRelease;
    alerted.expected = "RolledBack";
    const answer = await fetch(`${victim.url}/hooks/alertmanager`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        authorization: `Bearer ${readFileSync(hookTokenFile, "utf8")}`,
      },
      body: firingAlert(alerted, randomBytes(8).toString("hex")),
    });
    const summary = (await answer.json()) as { matched?: string[]; handledBy?: string };
    say(
      `  alert for ${alerted.namespace}/${alerted.name} sent to ${victim.identity}: ${answer.status} ${JSON.stringify(summary)}`,
    );
    if (answer.status !== 200 || summary.handledBy !== "follower")
      problems.push(
        `the alert sent to the replica not holding its shard was answered ${answer.status} ${JSON.stringify(summary)}`,
      );
    process.kill(victim.process.pid, "SIGKILL");
    const killedAt = Date.now();
    say(
      `  SIGKILLed ${victim.identity} (shards ${victimShards.join(", ")}) at ${new Date(killedAt).toISOString()}`,
    );
    const unfinishedAtKill = await Promise.all(orphaned.map((release) => phaseOf(kubeConfig, release)));
    if (unfinishedAtKill.some(isFinished))
      problems.push("a release of the victim's shards finished before the kill");

    // Then: every release finishes.
    await waitFor("every release finished", RELEASE_TIMEOUT_MS, async () => {
      for (const release of releases) release.phase = await phaseOf(kubeConfig, release);
      return releases.every((release) => isFinished(release.phase)) ? true : undefined;
    });
    await sleep(1_000);

    const events = readFileSync(audit.path, "utf8")
      .split("\n")
      .map(parseActionLine)
      .filter((event): event is ActionEvent => event !== undefined);
    problems.push(...judge(events, releases, { victim, survivor, victimShards, orphaned, killedAt }));

    // A replacement joins: it asks for shards until both hold their share.
    const beforeJoin = await holders();
    const newcomer = await replicas.add();
    const joinedAt = Date.now();
    const rebalanced = await waitFor("the newcomer to hold its share of the shards", 120_000, async () => {
      const now = await holders();
      return now.filter((holder) => holder === newcomer.identity).length === SHARDS / 2 ? now : undefined;
    }).catch((error: unknown) => {
      problems.push(String(error));
      return undefined;
    });
    if (rebalanced) {
      const moved = rebalanced.filter((holder, shard) => holder !== beforeJoin[shard]);
      say(
        `  join: ${newcomer.identity} held ${SHARDS / 2} shards ${Date.now() - joinedAt} ms after it started; ` +
          `shards now ${rebalanced.map((holder, shard) => `${shard}→${holder}`).join(", ")}`,
      );
      if (moved.some((holder) => holder !== newcomer.identity) || moved.length !== SHARDS / 2)
        problems.push(`the join moved ${moved.length} shards, not just ${SHARDS / 2} to the newcomer`);
      if (rebalanced.filter((holder) => holder === survivor.identity).length !== SHARDS / 2)
        problems.push("after the join the survivor does not hold the other half of the shards");
    }
  } catch (error) {
    problems.push(`the test did not finish: ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    await replicas?.stop();
    await stack.stop();
  }
  for (const problem of problems) say(`  FAILED: ${problem}`);
  say(
    `sharded controllers: ${problems.length === 0 ? "every check held" : "FAILED"} (audit log ${audit.path})`,
  );
  return problems.length === 0 ? 0 : 1;
}

function judge(
  events: ActionEvent[],
  releases: ChaosRelease[],
  kill: {
    victim: Replica;
    survivor: Replica;
    victimShards: number[];
    orphaned: ChaosRelease[];
    killedAt: number;
  },
): string[] {
  const problems: string[] = [];
  const ok = (event: ActionEvent) => event.code >= 200 && event.code < 300;
  // Both replicas reconciled before the kill: the releases were spread.
  for (const replica of [kill.victim, kill.survivor]) {
    const acted = events.some(
      (event) =>
        ok(event) &&
        event.user === replica.user &&
        event.resource === "releases/status" &&
        event.at < kill.killedAt,
    );
    if (!acted)
      problems.push(
        `${replica.identity} wrote no Release status before the kill: the shards were not shared`,
      );
  }
  for (const release of releases) {
    const label = `${release.namespace}/${release.name}`;
    const route = storedVersions(events, "httproutes", release.namespace, SERVICE);
    const walk = walkStages(canaryWeights(route, CANARY_BACKEND), STAGE_WEIGHTS);
    problems.push(...walk.skipped.map((text) => `${label}: ${text}`));
    problems.push(...walk.repeated.map((text) => `${label}: ${text}`));
    if (release.expected === "RolledBack") {
      if (release.phase !== "RolledBack" || !walk.endedOnStable)
        problems.push(
          `${label} (alerted) ended ${release.phase ?? "unfinished"}, route ${walk.endedOnStable ? "on stable" : "not on stable"}`,
        );
    } else if (release.phase !== "Succeeded" || walk.reached !== STAGE_WEIGHTS.length || !walk.endedOnStable)
      problems.push(
        `${label} ended ${release.phase ?? "unfinished"} after ${walk.reached} of ${STAGE_WEIGHTS.length} stages`,
      );
    // Per namespace (a shard's unit), the replicas' writes form unbroken runs: never two at once.
    const inNamespace = events.filter((event) => event.namespace === release.namespace);
    for (const overlap of replicaOverlaps(inNamespace))
      problems.push(
        `${label}: ${overlap.user} wrote ${overlap.resource} ${overlap.name ?? ""} at ${new Date(overlap.at).toISOString()} after another replica had acted there`,
      );
    const writers = new Set(
      inNamespace
        .filter((event) => ok(event) && event.resource === "releases/status")
        .map((event) => event.user),
    );
    const orphaned = kill.orphaned.includes(release);
    const expected = orphaned ? [kill.victim.user, kill.survivor.user] : [kill.survivor.user];
    if ([...writers].sort().join() !== expected.sort().join())
      problems.push(
        `${label}: written by ${[...writers].join(", ") || "nobody"}, expected ${expected.join(" then ")}`,
      );
  }
  // The survivor took the victim's shard Leases within the lease duration (plus its retry period).
  const leaseNames = new Set(kill.victimShards.map((shard) => `glidepath-shard-${shard}`));
  const takeovers = kill.victimShards.map((shard) =>
    events.find(
      (event) =>
        ok(event) &&
        event.resource === "leases" &&
        event.name === `glidepath-shard-${shard}` &&
        event.user === kill.survivor.user &&
        event.at > kill.killedAt,
    ),
  );
  if (takeovers.some((event) => event === undefined) || leaseNames.size === 0)
    problems.push("the survivor never took the victim's shard Leases");
  const takeoverMs = Math.max(...takeovers.map((event) => (event?.at ?? Infinity) - kill.killedAt));
  // The Lease runs out on the survivor's clock a lease duration after its last renewal was
  // seen, and is looked at every retry period (jittered ×1.2): takeover within both.
  if (takeoverMs > LEASE_DURATION_MS + 2 * RETRY_PERIOD_MS + 2_000)
    problems.push(
      `the survivor took the victim's shards ${takeoverMs} ms after the kill (lease duration ${LEASE_DURATION_MS} ms)`,
    );
  const reconciledMs = recoveryMs(events, kill.killedAt, kill.orphaned);
  say(
    `  failover: shard Leases taken ${takeoverMs} ms after the kill; every Release of those shards written again ` +
      `${reconciledMs === undefined ? "never" : `${reconciledMs} ms`} after it`,
  );
  if (reconciledMs === undefined) problems.push("a Release of the victim's shards was never written again");
  return problems;
}

async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what} after ${timeoutMs / 1000} s`);
    await sleep(500);
  }
}

try {
  process.exitCode = await main();
} catch (error) {
  console.error(
    `sharded controllers: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
  );
  process.exitCode = 1;
}
