// The chaos suite (`npm run test:chaos`, issue 13 item 7): the real stack (etcd,
// kube-apiserver, controller-manager, scheduler, fake kubelet, Prometheus, Alertmanager),
// two controller replicas as separate processes (each under its own ServiceAccount), and
// five releases kept in flight on five services while each fault of faults.ts is
// injected. Afterwards the API server's audit log of the replicas' writes is judged
// (history.ts): every stage reached once and in order, no promotion on missing data, every
// triggered rollback completed, no two replicas acting at once, and the time every release
// in flight took to be written again after each fault. Prints the figures table; exits 1
// if any invariant failed. CHAOS_SCENARIOS=name,name runs some of them.
import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import type { KubeConfig } from "@kubernetes/client-node";
import { join } from "node:path";
import { AuditLog, auditLogFlags } from "../../bench/lib/audit-log.ts";
import { markdownTable } from "../../bench/lib/table.ts";
import { httpsGet } from "../harness/control-plane.ts";
import { createRunDir, type ManagedProcess } from "../harness/processes.ts";
import { startStack } from "../harness/stack.ts";
import { SCENARIOS, type Fault, type Scenario } from "./faults.ts";
import {
  actionOf,
  canaryWeights,
  finishedAt,
  percentiles,
  promotionsOnMissingData,
  recoveryMs,
  replicaOverlaps,
  storedVersions,
  walkStages,
  type ActionEvent,
} from "./history.ts";
import { startPrometheusProxy } from "./prometheus-proxy.ts";
import {
  analysisQuery,
  CANARY_BACKEND,
  createRelease,
  isFinished,
  phaseOf,
  prepareService,
  SERVICE,
  STAGE_WEIGHTS,
  type ChaosRelease,
} from "./releases.ts";
import { REPLICAS_GROUP, Replicas } from "./replicas.ts";

const IN_FLIGHT = 5;
/** Between the first releases of a scenario, so they are at different stages when faults begin. */
const STAGGER_MS = 3_000;
const RELEASE_TIMEOUT_MS = 6 * 60_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const say = (message: string) => console.log(message);

interface ScenarioResult {
  scenario: Scenario;
  faults: Fault[];
  releases: ChaosRelease[];
  releasesInFaults: number;
  rollbacksTriggered: number;
  rollbacksLost: string[];
  unexpected: string[];
  duplicates: string[];
  skipped: string[];
  promotionsOnMissingData: string[];
  recoveries: number[];
  unrecovered: number;
  failure?: string;
}

/** Writes the audit policy: the replicas' writes, with the stored object for routes and Release status. */
/** Every write of a replica; the stored object for HTTPRoutes and Release status (the judge reads them). */
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

/** The replicas' writes the audit log holds from `offset` on. */
async function readActions(auditLog: AuditLog, offset: number): Promise<ActionEvent[]> {
  const { events } = await auditLog.read(offset);
  return events.flatMap((event) => actionOf(event) ?? []);
}

async function main(): Promise<number> {
  const selected = process.env.CHAOS_SCENARIOS?.split(",").map((name) => name.trim());
  const scenarios = selected ? SCENARIOS.filter((scenario) => selected.includes(scenario.name)) : SCENARIOS;
  if (scenarios.length === 0) throw new Error(`no scenario named ${selected?.join(", ")}`);
  const started = Date.now();
  const runDir = createRunDir("chaos");
  const audit = auditLogFlags(join(runDir, "audit"), replicaWriteRules());
  say(
    `chaos suite: ${scenarios.map((scenario) => scenario.name).join(", ")}; starting the stack in ${runDir}`,
  );
  const stack = await startStack({ runDir, apiServerFlags: audit.flags, log: () => undefined });
  const proxy = await startPrometheusProxy(stack.info.prometheus.url);
  const hookTokenFile = join(runDir, "chaos-hook-token");
  writeFileSync(hookTokenFile, randomBytes(24).toString("base64url"), { mode: 0o600 });
  let apiServer: ManagedProcess = stack.controlPlane.processes.apiServer;
  const kubeConfig = stack.kubeConfig();
  const replicas = await Replicas.start(stack, {
    count: 2,
    prometheusUrl: proxy.url,
    hookTokenFile,
    pool: 80,
  });
  const results: ScenarioResult[] = [];
  try {
    for (const scenario of scenarios) {
      const inFlight: ChaosRelease[] = [];
      results.push(
        await runScenario(
          scenario,
          {
            stack,
            replicas,
            proxy,
            hookTokenFile,
            apiServer: () => apiServer,
            restartApiServer: async () => {
              const old = apiServer;
              globalThis.process.kill(old.pid, "SIGKILL");
              await old.exited;
              apiServer = stack.supervisor.start({
                name: "kube-apiserver",
                command: old.command,
                args: [...old.args],
              });
              const pki = join(runDir, "pki");
              const tls = {
                ca: readFileSync(stack.info.caCertPath),
                cert: readFileSync(join(pki, "admin.crt")),
                key: readFileSync(join(pki, "admin.key")),
              };
              const deadline = Date.now() + 90_000;
              for (;;) {
                const ready = await httpsGet(`${stack.info.apiServerUrl}/readyz`, tls).then(
                  (answer) => answer.status === 200,
                  () => false,
                );
                if (ready) return;
                if (Date.now() > deadline) throw new Error("kube-apiserver not ready 90 s after its restart");
                await sleep(200);
              }
            },
            progressing: async () => {
              const found: ChaosRelease[] = [];
              for (const release of inFlight) {
                if ((await phaseOf(kubeConfig, release)) === "Progressing") found.push(release);
              }
              return found;
            },
            say,
          },
          inFlight,
          audit.path,
        ),
      );
    }
  } finally {
    await replicas.stop();
    await proxy.close();
    await stack.stop();
  }

  say("");
  for (const line of figuresTable(results)) say(line);
  let failed = false;
  for (const result of results) {
    const problems = [
      ...(result.failure ? [`the scenario did not finish: ${result.failure}`] : []),
      ...result.rollbacksLost.map((text) => `rollback lost: ${text}`),
      ...result.duplicates.map((text) => `duplicate action: ${text}`),
      ...result.skipped.map((text) => `stage skipped: ${text}`),
      ...result.promotionsOnMissingData.map((text) => `promotion on missing data: ${text}`),
      ...result.unexpected.map((text) => `unexpected end: ${text}`),
      ...(result.unrecovered
        ? [`${result.unrecovered} fault(s) after which a release was never written again`]
        : []),
    ];
    if (problems.length === 0) continue;
    failed = true;
    say(`\n${result.scenario.name}:`);
    for (const problem of problems) say(`  ${problem}`);
  }
  say(
    `\nchaos suite: ${results.length} scenarios, ${results.reduce((sum, result) => sum + result.faults.length, 0)} faults, ` +
      `${failed ? "FAILED" : "every invariant held"} in ${Math.round((Date.now() - started) / 1000)} s ` +
      `(${replicas.restarts} replica restarts; audit log ${audit.path})`,
  );
  return failed ? 1 : 0;
}

async function runScenario(
  scenario: Scenario,
  context: Parameters<Scenario["inject"]>[0],
  inFlight: ChaosRelease[],
  auditPath: string,
): Promise<ScenarioResult> {
  const { stack } = context;
  const kubeConfig = stack.kubeConfig();
  const auditLog = new AuditLog(auditPath);
  const auditOffset = auditLog.offset();
  const releases: ChaosRelease[] = [];
  say(`\n${scenario.name}: ${scenario.fault}`);
  const slots = Array.from({ length: IN_FLIGHT }, (_, index) => `chaos-${scenario.name}-${index + 1}`);
  await Promise.all(slots.map((namespace) => prepareService(kubeConfig, namespace)));

  let injecting = true;
  let count = 0;
  // Each slot runs its releases one after another while the faults go on.
  const runSlot = async (namespace: string, delayMs: number): Promise<void> => {
    await sleep(delayMs);
    for (let sequence = 1; injecting; sequence++) {
      count++;
      const release: ChaosRelease = {
        namespace,
        name: `r${sequence}`,
        // One release in four is a bad version that must roll back on its own.
        bad: count % 4 === 2,
        expected: count % 4 === 2 ? "RolledBack" : "Succeeded",
        createdAt: Date.now(),
      };
      await createUntilDone(kubeConfig, release, scenario.hold);
      releases.push(release);
      inFlight.push(release);
      const deadline = Date.now() + RELEASE_TIMEOUT_MS;
      while (!isFinished(release.phase)) {
        if (Date.now() > deadline)
          throw new Error(`${namespace}/${release.name} did not finish in 6 minutes`);
        await sleep(500);
        release.phase = await phaseOf(kubeConfig, release);
      }
      inFlight.splice(inFlight.indexOf(release), 1);
    }
  };
  const slotRuns = slots.map((namespace, index) => runSlot(namespace, index * STAGGER_MS));
  for (const run of slotRuns) run.catch(() => undefined);
  let faults: Fault[] = [];
  let failure: string | undefined;
  try {
    await sleep(IN_FLIGHT * STAGGER_MS + 2_000);
    faults = await scenario.inject(context);
    for (const fault of faults)
      say(`  ${fault.kind}: ${new Date(fault.from).toISOString()} → ${new Date(fault.to).toISOString()}`);
  } catch (error) {
    failure = error instanceof Error ? error.message : String(error);
  }
  injecting = false;
  const ends = await Promise.allSettled(slotRuns);
  for (const end of ends) if (end.status === "rejected") failure ??= String(end.reason);
  // The audit log is written when a request finishes: give the last ones a moment.
  await sleep(1_000);
  const events = await readActions(auditLog, auditOffset);
  return judge(context.proxy.realAnswers, scenario, faults, releases, events, failure);
}

/** Creates the Release, retrying while the API server does not answer; a 409 means an earlier try went through. */
async function createUntilDone(kubeConfig: KubeConfig, release: ChaosRelease, hold: string): Promise<void> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      await createRelease(kubeConfig, release, hold);
      return;
    } catch (error) {
      if ((error as { code?: number }).code === 409) return;
      if (Date.now() > deadline) throw error;
      await sleep(1_000);
    }
  }
}

function judge(
  realAnswers: (query: string) => number[],
  scenario: Scenario,
  faults: Fault[],
  releases: ChaosRelease[],
  events: ActionEvent[],
  failure: string | undefined,
): ScenarioResult {
  const result: ScenarioResult = {
    scenario,
    faults,
    releases,
    releasesInFaults: 0,
    rollbacksTriggered: releases.filter((release) => release.expected === "RolledBack").length,
    rollbacksLost: [],
    unexpected: [],
    duplicates: [],
    skipped: [],
    promotionsOnMissingData: [],
    recoveries: [],
    unrecovered: 0,
    ...(failure ? { failure } : {}),
  };
  const finishedTimes = new Map(releases.map((release) => [release, finishedAt(events, release)]));
  const inFlightAt = (at: number) =>
    releases.filter((release) => release.createdAt <= at && (finishedTimes.get(release) ?? Infinity) > at);
  const duringFaults = new Set<ChaosRelease>();
  for (const fault of faults) {
    for (const release of inFlightAt(fault.from)) duringFaults.add(release);
    const recovering = inFlightAt(fault.to);
    const recovery = recoveryMs(events, fault.to, recovering);
    if (recovery === undefined) result.unrecovered++;
    else result.recoveries.push(recovery);
  }
  result.releasesInFaults = duringFaults.size;

  for (const release of releases) {
    const label = `${release.namespace}/${release.name}`;
    // A slot's releases share its route, one after the other: take this one's writes.
    const next = releases.find(
      (other) => other.namespace === release.namespace && other.createdAt > release.createdAt,
    );
    const ownEvents = events.filter(
      (event) =>
        event.namespace === release.namespace &&
        event.at >= release.createdAt &&
        event.at < (next?.createdAt ?? Infinity),
    );
    const route = storedVersions(ownEvents, "httproutes", release.namespace, SERVICE);
    const walk = walkStages(canaryWeights(route, CANARY_BACKEND), STAGE_WEIGHTS);
    result.skipped.push(...walk.skipped.map((text) => `${label}: ${text}`));
    result.duplicates.push(...walk.repeated.map((text) => `${label}: ${text}`));
    const statuses = storedVersions(events, "releases/status", release.namespace, release.name);
    result.promotionsOnMissingData.push(
      ...promotionsOnMissingData(statuses, realAnswers(analysisQuery(release))).map(
        (text) => `${label}: ${text}`,
      ),
    );
    if (release.expected === "RolledBack") {
      if (release.phase !== "RolledBack" || !walk.endedOnStable)
        result.rollbacksLost.push(
          `${label} ended ${release.phase ?? "unfinished"}, route ${walk.endedOnStable ? "on stable" : "not back on stable"}`,
        );
    } else if (
      release.phase !== "Succeeded" ||
      walk.reached !== STAGE_WEIGHTS.length ||
      !walk.endedOnStable
    ) {
      result.unexpected.push(
        `${label} ended ${release.phase ?? "unfinished"} after ${walk.reached} of ${STAGE_WEIGHTS.length} stages`,
      );
    }
  }
  for (const overlap of replicaOverlaps(events))
    result.duplicates.push(
      `${overlap.user} wrote ${overlap.resource} ${overlap.name ?? ""} at ${new Date(overlap.at).toISOString()} after another replica had acted`,
    );
  return result;
}

function figuresTable(results: ScenarioResult[]): string[] {
  const ms = (value: number) => (Number.isNaN(value) ? "–" : `${(value / 1000).toFixed(1)} s`);
  const rows = results.map((result) => {
    const { p50, p99 } = percentiles(result.recoveries);
    return [
      result.scenario.fault,
      String(result.faults.length),
      `${result.releasesInFaults} (${result.releases.length} in all)`,
      String(result.rollbacksTriggered),
      String(result.rollbacksLost.length),
      String(result.duplicates.length),
      String(result.skipped.length),
      String(result.promotionsOnMissingData.length),
      ms(p50),
      ms(p99),
    ];
  });
  const all = results.flatMap((result) => result.recoveries);
  const { p50, p99 } = percentiles(all);
  const total = (pick: (result: ScenarioResult) => number) =>
    String(results.reduce((sum, result) => sum + pick(result), 0));
  rows.push([
    "**all**",
    total((result) => result.faults.length),
    `${total((result) => result.releasesInFaults)} (${total((result) => result.releases.length)} in all)`,
    total((result) => result.rollbacksTriggered),
    total((result) => result.rollbacksLost.length),
    total((result) => result.duplicates.length),
    total((result) => result.skipped.length),
    total((result) => result.promotionsOnMissingData.length),
    ms(p50),
    ms(p99),
  ]);
  return markdownTable(
    [
      { header: "fault" },
      { header: "faults injected" },
      { header: "releases in flight" },
      { header: "rollbacks triggered" },
      { header: "rollbacks lost" },
      { header: "duplicate actions" },
      { header: "stages skipped" },
      { header: "promotions on missing data" },
      { header: "recovery p50" },
      { header: "recovery p99" },
    ],
    rows,
  );
}

try {
  process.exitCode = await main();
} catch (error) {
  console.error(`chaos suite: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exitCode = 1;
}
