// Leader election on a real Lease. Replicas that must die or hang are real processes
// (SIGKILL, SIGSTOP/SIGCONT), so nothing is simulated inside the elector.
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { pino } from "pino";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { LeaderElector, LeaseNotHeldError } from "../../../src/kube/leader-election.ts";
import type { LeaderElectionOptions, LeadershipEnd } from "../../../src/kube/leader-election.ts";
import { createNamespace, deleteNamespace, kubeConfig, stackInfo, waitFor } from "../../harness/context.ts";
import { makeKubeClients } from "../../../src/kube/client.ts";

const logger = pino({ level: process.env.GLIDEPATH_TEST_LOG ?? "silent" });
const { coordination } = makeKubeClients(kubeConfig());
const MICRO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

type Timings = Pick<LeaderElectionOptions, "leaseDurationMs" | "renewDeadlineMs" | "retryPeriodMs">;
/** Short enough for tests, with the ordering the elector demands. */
const fast: Required<Timings> = { leaseDurationMs: 3_000, renewDeadlineMs: 2_000, retryPeriodMs: 400 };

let namespace: string;
let leaseCounter = 0;
const electors: LeaderElector[] = [];
const children: ChildProcess[] = [];

beforeAll(async () => {
  namespace = await createNamespace("leases");
});
afterEach(async () => {
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  }
  await Promise.all(electors.splice(0).map((elector) => elector.release()));
});
afterAll(async () => {
  await deleteNamespace(namespace);
});

function nextLeaseName(): string {
  return `controller-${++leaseCounter}`;
}

/** An in-process replica that records when it led. */
function replica(name: string, identity: string, timings: Timings = fast) {
  const record = {
    startedAt: undefined as number | undefined,
    stoppedAt: undefined as number | undefined,
    reason: "",
  };
  const elector = new LeaderElector({
    coordination,
    namespace,
    name,
    identity,
    logger,
    ...timings,
    onStartedLeading: () => (record.startedAt = Date.now()),
    onStoppedLeading: (reason) => {
      record.stoppedAt = Date.now();
      record.reason = reason;
    },
  });
  electors.push(elector);
  const ended: Promise<LeadershipEnd> = elector.run();
  return { elector, record, ended };
}

function readLease(name: string) {
  return coordination.readNamespacedLease({ name, namespace });
}

describe("leader election", () => {
  it("given two replicas on one Lease, exactly one leads; released, the other takes over at once", async () => {
    const name = nextLeaseName();
    // A long lease: a takeover that waited for expiry would be obvious.
    const timings = { leaseDurationMs: 15_000, renewDeadlineMs: 5_000, retryPeriodMs: 400 };
    const first = replica(name, "replica-a", timings);
    const second = replica(name, "replica-b", timings);
    await waitFor(() => first.elector.isLeader() || second.elector.isLeader(), { description: "a leader" });

    // Both created or updated the Lease in the same moment; one lost with a 409.
    for (let sample = 0; sample < 10; sample++) {
      expect([first, second].filter((candidate) => candidate.elector.isLeader())).toHaveLength(1);
      await new Promise((resolve) => setTimeout(resolve, 150));
    }
    const [leader, standby] = first.elector.isLeader() ? [first, second] : [second, first];
    const held = await readLease(name);
    expect(held.spec?.holderIdentity).toBe(leader.elector.identity);
    expect(held.spec?.leaseDurationSeconds).toBe(15);
    // On the wire as MicroTime (client-node hands them back as the raw strings).
    expect(String(held.spec?.renewTime)).toMatch(MICRO_TIME);
    expect(String(held.spec?.acquireTime)).toMatch(MICRO_TIME);
    const transitionsBefore = held.spec?.leaseTransitions ?? 0;

    const releasedAt = Date.now();
    await leader.elector.release();
    expect(await leader.ended).toBe("released");
    expect(leader.record.reason).toBe("released");
    await waitFor(() => standby.elector.isLeader(), { description: "the standby leading", timeoutMs: 5_000 });
    const handoverMs = (standby.record.startedAt ?? 0) - releasedAt;
    expect(handoverMs).toBeLessThan(timings.retryPeriodMs * 1.2 + 1_000);
    expect(leader.record.stoppedAt).toBeLessThanOrEqual(standby.record.startedAt ?? 0);

    const taken = await readLease(name);
    expect(taken.spec?.holderIdentity).toBe(standby.elector.identity);
    expect(taken.spec?.leaseTransitions).toBe(transitionsBefore + 1);
  });

  it("given a leader that dies without releasing, the standby takes over once the lease has expired", async () => {
    const name = nextLeaseName();
    const doomed = await ChildReplica.start(name, "doomed");
    await doomed.next("started");
    const standby = replica(name, "standby");
    // Let the standby watch a few renewals go by.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(standby.elector.isLeader()).toBe(false);

    const killedAt = Date.now();
    doomed.process.kill("SIGKILL");
    await waitFor(() => standby.elector.isLeader(), {
      description: "the standby leading",
      timeoutMs: 10_000,
    });
    const takeoverMs = (standby.record.startedAt ?? 0) - killedAt;
    // Not before the lease could have expired (minus the renewal interval) …
    expect(takeoverMs).toBeGreaterThan(fast.leaseDurationMs - fast.retryPeriodMs * 1.2 - 200);
    // … and within the lease duration plus one polling period (and API latency).
    expect(takeoverMs).toBeLessThan(fast.leaseDurationMs + fast.retryPeriodMs * 1.2 + 1_000);
    expect((await readLease(name)).spec?.holderIdentity).toBe("standby");
  });

  it("given a leader frozen past its renew deadline, it stops leading as it wakes and never writes the Lease again", async () => {
    const name = nextLeaseName();
    const frozen = await ChildReplica.start(name, "frozen");
    await frozen.next("started");
    const standby = replica(name, "standby");

    frozen.process.kill("SIGSTOP");
    await waitFor(() => standby.elector.isLeader(), {
      description: "the standby leading",
      timeoutMs: 10_000,
    });
    const taken = await readLease(name);

    frozen.process.kill("SIGCONT");
    const stopped = await frozen.next("stopped");
    expect(stopped.reason).toMatch(/renewDeadline \(2000 ms\)/);
    expect((await frozen.next("ended")).end).toBe("lost");

    // The woken replica wrote nothing: the Lease is as the standby last renewed it, or newer from the standby.
    await new Promise((resolve) => setTimeout(resolve, fast.retryPeriodMs * 2));
    const after = await readLease(name);
    expect(after.spec?.holderIdentity).toBe("standby");
    expect(after.spec?.leaseTransitions).toBe(taken.spec?.leaseTransitions);
    expect(standby.elector.isLeader()).toBe(true);
  });

  it("given a leader whose event loop stood still past renewDeadline, refuses the first write as it wakes and stops leading", async () => {
    const name = nextLeaseName();
    const stalled = replica(name, "stalled");
    await waitFor(() => stalled.elector.isLeader(), { description: "the replica leading" });
    // Fresh: a write may go.
    expect(() => stalled.elector.assertFreshLease()).not.toThrow();

    // The event loop stands still (a long GC pause, a blocking call): no timer, no renewal runs.
    const until = performance.now() + fast.renewDeadlineMs + 300;
    while (performance.now() < until) {
      /* busy: nothing else runs */
    }
    // The first thing that runs on waking is a write: it is refused, not sent.
    expect(() => stalled.elector.assertFreshLease()).toThrow(LeaseNotHeldError);
    expect(stalled.elector.isLeader()).toBe(false);
    expect(stalled.record.reason).toMatch(/last renewed \d+ ms ago, past renewDeadline \(2000 ms\)/);
    expect(await stalled.ended).toBe("lost");
    expect(() => stalled.elector.assertFreshLease()).toThrow(/does not lead/);
  });

  it("abandoned, stops leading and renewing but leaves the Lease held, to expire on its own", async () => {
    const name = nextLeaseName();
    const leaving = replica(name, "leaving");
    await waitFor(() => leaving.elector.isLeader(), { description: "the replica leading" });
    await leaving.elector.abandon();
    expect(await leaving.ended).toBe("abandoned");
    expect(leaving.elector.isLeader()).toBe(false);
    const lease = await readLease(name);
    expect(lease.spec?.holderIdentity).toBe("leaving");
    expect(lease.spec?.leaseDurationSeconds).toBe(fast.leaseDurationMs / 1000);
  });

  it("a standby released before it ever led ends 'stopped' and leaves the leader alone", async () => {
    const name = nextLeaseName();
    const leader = replica(name, "leader");
    await waitFor(() => leader.elector.isLeader(), { description: "a leader" });
    const standby = replica(name, "standby");
    await new Promise((resolve) => setTimeout(resolve, fast.retryPeriodMs * 2));

    await standby.elector.release();
    expect(await standby.ended).toBe("stopped");
    expect(standby.record.startedAt).toBeUndefined();
    expect(standby.record.stoppedAt).toBeUndefined();
    expect(leader.elector.isLeader()).toBe(true);
    expect((await readLease(name)).spec?.holderIdentity).toBe("leader");
  });

  it("refuses timings that would let a leader act after another took over", () => {
    expect(
      () =>
        new LeaderElector({
          coordination,
          namespace: "default",
          name: "x",
          logger,
          leaseDurationMs: 5_000,
          renewDeadlineMs: 5_000,
          retryPeriodMs: 1_000,
          onStartedLeading: () => {},
          onStoppedLeading: () => {},
        }),
    ).toThrow(/leaseDurationMs \(5000\) must exceed renewDeadlineMs \(5000\)/);
  });
});

interface ChildMessage {
  event: "ready" | "started" | "stopped" | "ended";
  reason?: string;
  end?: LeadershipEnd;
}

/** A replica in its own Node process, speaking JSON lines on stdout. */
class ChildReplica {
  readonly process: ChildProcess;
  readonly #messages: ChildMessage[] = [];
  readonly #waiters: (() => void)[] = [];

  private constructor(child: ChildProcess) {
    this.process = child;
    createInterface({ input: child.stdout! }).on("line", (line) => {
      try {
        this.#messages.push(JSON.parse(line) as ChildMessage);
      } catch {
        return;
      }
      for (const wake of this.#waiters.splice(0)) wake();
    });
  }

  static async start(leaseName: string, identity: string, timings: Timings = fast): Promise<ChildReplica> {
    const module = (path: string) => new URL(path, import.meta.url).href;
    const script = `
      const { pino } = await import("pino");
      const { loadKubeConfig, makeKubeClients } = await import(${JSON.stringify(module("../../../src/kube/client.ts"))});
      const { LeaderElector } = await import(${JSON.stringify(module("../../../src/kube/leader-election.ts"))});
      const [kubeconfigPath, namespace, name, identity, timings] = process.argv.slice(1);
      const say = (event, detail) => process.stdout.write(JSON.stringify({ event, ...detail }) + "\\n");
      const { coordination } = makeKubeClients(loadKubeConfig({ kubeconfigPath }));
      const elector = new LeaderElector({
        coordination, namespace, name, identity, logger: pino({ level: "silent" }), ...JSON.parse(timings),
        onStartedLeading: () => say("started"),
        onStoppedLeading: (reason) => say("stopped", { reason }),
      });
      say("ready");
      say("ended", { end: await elector.run() });
    `;
    const child = spawn(
      process.execPath,
      [
        "--input-type=module",
        "-e",
        script,
        stackInfo().kubeconfigPath,
        namespace,
        leaseName,
        identity,
        JSON.stringify(timings),
      ],
      { cwd: fileURLToPath(new URL("../../../", import.meta.url)), stdio: ["ignore", "pipe", "inherit"] },
    );
    children.push(child);
    const replicaProcess = new ChildReplica(child);
    await replicaProcess.next("ready");
    return replicaProcess;
  }

  /** The first message of this kind (waiting for it if needed). */
  async next(event: ChildMessage["event"], timeoutMs = 15_000): Promise<ChildMessage> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.#messages.find((message) => message.event === event);
      if (found) return found;
      if (Date.now() > deadline || this.process.exitCode !== null) {
        throw new Error(
          `replica ${this.process.pid} sent no "${event}" (got ${JSON.stringify(this.#messages)})`,
        );
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 200);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }
}
