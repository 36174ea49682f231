// The faults of the chaos suite (issue 13 item 7), each injected into the running stack
// while releases are in flight. A fault records when it began and ended: the recovery
// time counts from its end.
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import type { ManagedProcess } from "../harness/processes.ts";
import type { Stack } from "../harness/stack.ts";
import type { Window } from "./history.ts";
import type { PrometheusProxy } from "./prometheus-proxy.ts";
import { firingAlert, type ChaosRelease } from "./releases.ts";
import type { Replica, Replicas } from "./replicas.ts";

export interface Fault extends Window {
  kind: string;
}

export interface FaultContext {
  stack: Stack;
  replicas: Replicas;
  proxy: PrometheusProxy;
  hookTokenFile: string;
  /** The kube-apiserver process now (a restart replaces it). */
  apiServer(): ManagedProcess;
  restartApiServer(): Promise<void>;
  /** Releases being progressed right now, read from the API server. */
  progressing(): Promise<ChaosRelease[]>;
  say(message: string): void;
}

export interface Scenario {
  name: string;
  /** What is done, for the table. */
  fault: string;
  /** Stage hold of its releases: long enough that the faults meet releases in flight. */
  hold: string;
  inject(context: FaultContext): Promise<Fault[]>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function signal(process: ManagedProcess, name: NodeJS.Signals): void {
  if (process.isRunning()) globalThis.process.kill(process.pid, name);
}

/** SIGSTOP for `ms`, then SIGCONT. */
async function freeze(process: ManagedProcess, ms: number, kind: string): Promise<Fault> {
  const from = Date.now();
  signal(process, "SIGSTOP");
  try {
    await sleep(ms);
  } finally {
    signal(process, "SIGCONT");
  }
  return { kind, from, to: Date.now() };
}

async function proxyMode(context: FaultContext, mode: "slow" | "garbage", ms: number): Promise<Fault> {
  const from = Date.now();
  context.proxy.setMode(mode);
  await sleep(ms);
  context.proxy.setMode("pass");
  return { kind: `prometheus ${mode}`, from, to: Date.now() };
}

/** Waits until a live replica leads (at most a minute). */
async function liveLeader(context: FaultContext) {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const leader = await context.replicas.leader();
    if (leader) return leader;
    if (Date.now() > deadline) throw new Error("no live replica took the Lease within 60 s");
    await sleep(200);
  }
}

const random = (from: number, to: number) => from + Math.random() * (to - from);

/** The replicas whose server is up (a replica just restarted may not listen yet). */
async function serving(replicas: Replica[]): Promise<Replica[]> {
  const up = await Promise.all(
    replicas.map((replica) =>
      fetch(`${replica.url}/healthz`).then(
        (answer) => answer.ok,
        () => false,
      ),
    ),
  );
  return replicas.filter((_, index) => up[index]);
}

export const SCENARIOS: Scenario[] = [
  {
    name: "prometheus-stopped",
    fault: "Prometheus SIGSTOP 20 s",
    hold: "6s",
    inject: async (context) => [await freeze(context.stack.prometheus.process, 20_000, "prometheus stopped")],
  },
  {
    name: "prometheus-slow",
    fault: "Prometheus behind a proxy adding 8 s, for 25 s",
    hold: "6s",
    inject: async (context) => [await proxyMode(context, "slow", 25_000)],
  },
  {
    name: "prometheus-garbage",
    fault: "Prometheus answering garbage 20 s",
    hold: "6s",
    inject: async (context) => [await proxyMode(context, "garbage", 20_000)],
  },
  {
    name: "etcd-stopped",
    fault: "etcd SIGSTOP 20 s",
    hold: "6s",
    inject: async (context) => [
      await freeze(context.stack.controlPlane.processes.etcd, 20_000, "etcd stopped"),
    ],
  },
  {
    name: "apiserver-stopped",
    fault: "kube-apiserver SIGSTOP 30 s",
    hold: "6s",
    inject: async (context) => [await freeze(context.apiServer(), 30_000, "kube-apiserver stopped")],
  },
  {
    name: "apiserver-restarted",
    fault: "kube-apiserver SIGKILL and restart",
    hold: "6s",
    inject: async (context) => {
      const from = Date.now();
      await context.restartApiServer();
      return [{ kind: "kube-apiserver restarted", from, to: Date.now() }];
    },
  },
  {
    name: "alert-leader-change",
    fault: "the same alert to both replicas as the leader is SIGKILLed, 3 times",
    hold: "8s",
    inject: async (context) => {
      const token = readFileSync(context.hookTokenFile, "utf8");
      const faults: Fault[] = [];
      const alerted = new Set<ChaosRelease>();
      for (let round = 0; round < 3; round++) {
        const leader = await liveLeader(context);
        const target = (await context.progressing()).find((release) => !release.bad && !alerted.has(release));
        if (!target) throw new Error("no good release in flight to send an alert for");
        alerted.add(target);
        target.expected = "RolledBack";
        const body = firingAlert(target, randomBytes(8).toString("hex"));
        const deliver = (replica: Replica) =>
          fetch(`${replica.url}/hooks/alertmanager`, {
            method: "POST",
            headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
            body,
          }).then(
            (answer) => answer.status,
            () => 0,
          );
        // Alertmanager sends to every replica behind the Service; the leader dies meanwhile.
        const receivers = await serving(context.replicas.running());
        const from = Date.now();
        const deliveries = receivers.map(deliver);
        signal(leader.process, "SIGKILL");
        const answers = await Promise.all(deliveries);
        const said = receivers.map(
          (replica, index) => `${replica.identity} ${answers[index] || "no answer"}`,
        );
        // As Alertmanager does, a notification no replica took (200) is sent again.
        for (let retry = 1; !answers.includes(200); retry++) {
          if (retry > 60) throw new Error(`no replica took the alert for ${target.name} in 60 retries`);
          await sleep(1_000);
          for (const replica of await serving(context.replicas.running())) {
            const status = await deliver(replica);
            said.push(`retry ${retry}: ${replica.identity} ${status || "no answer"}`);
            if (status === 200) answers.push(200);
          }
        }
        context.say(`  alert for ${target.namespace}/${target.name}: ${said.join(", ")}`);
        faults.push({ kind: "alert during leader change", from, to: Date.now() });
        await sleep(random(8_000, 12_000));
      }
      return faults;
    },
  },
  {
    name: "controller-killed",
    fault: "the leading controller SIGKILLed 20 times at random moments",
    hold: "10s",
    inject: async (context) => {
      const faults: Fault[] = [];
      for (let kill = 0; kill < 20; kill++) {
        const leader = await liveLeader(context);
        await sleep(random(300, 4_000));
        const at = Date.now();
        signal(leader.process, "SIGKILL");
        faults.push({ kind: "controller SIGKILL", from: at, to: at });
      }
      return faults;
    },
  },
  {
    name: "controller-frozen",
    fault: "the leading controller SIGSTOPped 20 s (event loop blocked), then continued",
    hold: "6s",
    inject: async (context) => {
      const leader = await liveLeader(context);
      const fault = await freeze(leader.process, 20_000, "leader frozen");
      // Woken past its Lease, it must stop acting and exit rather than write.
      const exited = await Promise.race([
        leader.process.exited.then(() => true),
        sleep(15_000).then(() => false),
      ]);
      context.say(
        `  the frozen leader ${leader.identity} ${exited ? "exited on waking" : "is still running"}`,
      );
      return [fault];
    },
  },
];
