// The glidepath CLI against the real control plane, with the real controller running
// as its own process: every command is run as a subprocess of bin/glidepath, and
// through kubectl as the plugin kubectl-glidepath (PATH including bin/), as people do.
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ControllerProcess } from "../harness/controller.ts";
import { runCommand, type CommandResult } from "../harness/processes.ts";
import { kubeConfig, kubectl, stackInfo, waitFor } from "../harness/context.ts";
import {
  givenController,
  givenService,
  givenUser,
  grantRole,
  STABLE_VERSION,
  type ServiceScenario,
} from "./controller/scenario.ts";
import type { Release } from "../../src/api/index.ts";

const repoRoot = fileURLToPath(new URL("../../", import.meta.url));
const binDir = join(repoRoot, "bin");

let controller: ControllerProcess;
/**
 * People the API server authenticates: with the admission webhook, an entry's --by must
 * be the user who writes it. The operator and erin (on call) are cluster admins; carol
 * approves (glidepath-approve in the release's namespace).
 */
const people: Record<"operator" | "erin" | "carol", string> = { operator: "", erin: "", carol: "" };

beforeAll(async () => {
  controller = await givenController({ admission: true });
  const [operator, erin, carol] = await Promise.all([
    givenUser("integration-operator", ["system:masters"]),
    givenUser("erin", ["system:masters"]),
    givenUser("carol", ["release-managers"]),
  ]);
  Object.assign(people, {
    operator: operator.kubeconfigPath,
    erin: erin.kubeconfigPath,
    carol: carol.kubeconfigPath,
  });
});

afterAll(async () => {
  await controller?.stop();
});

interface RunOptions {
  /** Environment over a clean one (PATH, HOME): no KUBECONFIG unless given. */
  env?: Record<string, string>;
  /** Default: the admin kubeconfig. */
  kubeconfig?: string;
  timeoutMs?: number;
}

function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: `${binDir}:${process.env.PATH ?? ""}`,
    HOME: process.env.HOME ?? "/tmp",
    GLIDEPATH_USER: "integration-operator",
    ...extra,
  };
}

/** When: `glidepath ARGS --kubeconfig <admin>`, the executable in bin/. */
function glidepath(args: string[], options: RunOptions = {}): Promise<CommandResult> {
  return runCommand(
    join(binDir, "glidepath"),
    [...args, "--kubeconfig", options.kubeconfig ?? stackInfo().kubeconfigPath],
    {
      env: cleanEnv(options.env),
      allowFailure: true,
      timeoutMs: options.timeoutMs ?? 120_000,
    },
  );
}

/**
 * When: `kubectl glidepath ARGS` with the pinned real kubectl, which finds the plugin on
 * PATH; the kubeconfig comes from $KUBECONFIG, as kubectl users have it.
 */
function kubectlGlidepath(args: string[], options: RunOptions = {}): Promise<CommandResult> {
  const info = stackInfo();
  return runCommand(info.kubectlPath, ["glidepath", ...args], {
    env: cleanEnv({ KUBECONFIG: options.kubeconfig ?? info.kubeconfigPath, ...options.env }),
    allowFailure: true,
    timeoutMs: options.timeoutMs ?? 120_000,
  });
}

function expectExit(result: CommandResult, code: number): void {
  expect(result.code, `exit ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`).toBe(code);
}

async function stableImage(scenario: ServiceScenario): Promise<string | undefined> {
  return (await scenario.deployment(scenario.service))?.spec?.template.spec?.containers[0]?.image;
}

const image = (version: string) => `registry.example.com/checkout:${version}`;

async function releasesOf(namespace: string): Promise<Release[]> {
  const result = await kubectl(["get", "releases.glidepath.dev", "-n", namespace, "-o", "json"]);
  return (JSON.parse(result.stdout) as { items: Release[] }).items;
}

describe("the kubectl plugin", () => {
  it("is found by kubectl on PATH and reads kubectl's flags as they were typed", async () => {
    const plugins = await runCommand(stackInfo().kubectlPath, ["plugin", "list"], {
      env: cleanEnv(),
      allowFailure: true,
    });
    expect(plugins.stdout).toContain(join(binDir, "kubectl-glidepath"));

    const help = await kubectlGlidepath(["--help"]);
    expectExit(help, 0);
    expect(help.stdout).toContain("Usage: kubectl glidepath");

    // --context and -n after the plugin name, KUBECONFIG from the environment.
    const context = kubeConfig().getCurrentContext();
    const listed = await kubectlGlidepath(["list", "--context", context, "-n", "kube-system"]);
    expectExit(listed, 0);
    expect(listed.stderr).toContain("No releases found in namespace kube-system.");

    const unknownContext = await kubectlGlidepath(["list", "--context", "no-such-context"]);
    expectExit(unknownContext, 2);
    expect(unknownContext.stderr).toContain('context "no-such-context"');
  });

  it("answers bad usage with exit 2 and names the argument", async () => {
    const badName = await glidepath(["status", "Not_A_Name"]);
    expectExit(badName, 2);
    expect(badName.stderr).toContain("NAME: must be a DNS-1123 subdomain");

    const noVersion = await kubectlGlidepath(["rollback", "checkout"]);
    expectExit(noVersion, 2);
    expect(noVersion.stderr).toContain("--version");
    expect(noVersion.stderr).toContain("kubectl glidepath rollback --help");

    const waitWithoutPrometheus = await glidepath(["rollback", "checkout", "--version=previous", "--wait"]);
    expectExit(waitWithoutPrometheus, 2);
    expect(waitWithoutPrometheus.stderr).toContain("--prometheus");

    // Every bad argument at once, each prefixed with the command, as docs/cli.md promises.
    const manyWrong = await kubectlGlidepath(["rollback", "Bad_Target", "--bogus", "--wiat", "extra"]);
    expectExit(manyWrong, 2);
    expect(manyWrong.stderr.trimEnd().split("\n")).toEqual([
      "kubectl glidepath rollback: unknown option '--bogus'",
      "kubectl glidepath rollback: unknown option '--wiat'",
      "kubectl glidepath rollback: unexpected argument 'extra'",
      expect.stringMatching(/^kubectl glidepath rollback: TARGET: must be a DNS-1123 label/),
      "kubectl glidepath rollback: --version: is required",
      "Run 'kubectl glidepath rollback --help' for usage.",
    ]);
    const missingValue = await glidepath(["status", "checkout", "--watch", "--timeout"]);
    expectExit(missingValue, 2);
    expect(missingValue.stderr).toMatch(
      /^glidepath status: option '--timeout <duration>' argument missing\n/,
    );
  });

  it("answers a missing Release or Deployment with exit 3", async () => {
    const missing = await glidepath(["status", "no-such-release", "-n", "default"]);
    expectExit(missing, 3);
    expect(missing.stderr).toContain("release no-such-release not found in namespace default");

    const noTarget = await glidepath([
      "rollback",
      "no-such-deployment",
      "--version=previous",
      "-n",
      "default",
    ]);
    expectExit(noTarget, 3);
    expect(noTarget.stderr).toContain("deployment no-such-deployment in namespace default does not exist");

    const noHistory = await glidepath(["history", "no-such-deployment", "-n", "default"]);
    expectExit(noHistory, 3);
  });
});

describe("bin/glidepath outside the repository's node_modules", () => {
  // A checkout without `npm ci`: bin/ and src/ but no node_modules, so the script must
  // find a Node on PATH — and refuse one that is too old to strip TypeScript types.
  let dir: string;
  let tools: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "glidepath-bin-"));
    mkdirSync(join(dir, "bin"));
    copyFileSync(join(binDir, "glidepath"), join(dir, "bin", "glidepath"));
    symlinkSync(join(repoRoot, "src"), join(dir, "src"));
    tools = join(dir, "tools");
    mkdirSync(tools);
    for (const tool of ["dirname", "readlink"]) {
      const found = await runCommand("/bin/sh", ["-c", `command -v ${tool}`], { env: process.env });
      symlinkSync(found.stdout.trim(), join(tools, tool));
    }
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const run = (path: string) =>
    runCommand(join(dir, "bin", "glidepath"), ["--help"], {
      env: { PATH: path, HOME: "/tmp" },
      allowFailure: true,
    });

  it("runs with a Node 22+ found on PATH", async () => {
    const withNode = join(dir, "node24");
    mkdirSync(withNode);
    symlinkSync(join(repoRoot, "node_modules", ".bin", "node"), join(withNode, "node"));
    const result = await run(`${withNode}:${tools}`);
    expectExit(result, 0);
    expect(result.stdout).toContain("Usage: glidepath");
  });

  it("fails with a clear message without any Node", async () => {
    const result = await run(tools);
    expectExit(result, 1);
    expect(result.stderr).toContain("glidepath: Node.js 22 or newer is needed: run 'npm ci' in");
  });

  it("fails with a clear message with a Node older than 22", async (context) => {
    const system = await runCommand("/bin/sh", ["-c", "command -v node && node -p process.versions.node"], {
      env: { PATH: "/usr/local/bin:/usr/bin:/bin" },
      allowFailure: true,
    });
    const [path, version] = system.stdout.trim().split("\n");
    if (system.code !== 0 || !path || Number(version?.split(".")[0]) >= 22) {
      context.skip("no Node older than 22 on this machine");
      return;
    }
    const oldNode = join(dir, "old-node");
    mkdirSync(oldNode);
    symlinkSync(path, join(oldNode, "node"));
    const result = await run(`${oldNode}:${tools}`);
    expectExit(result, 1);
    expect(result.stderr).toContain(`is Node.js v${version}, but Node.js 22 or newer is needed`);
  });
});

describe("a release steered from the CLI, then rolled back after GA", () => {
  let scenario: ServiceScenario;
  let ns: string[];
  const name = "checkout-2-0-0";

  beforeAll(async () => {
    scenario = await givenService("cli");
    ns = ["-n", scenario.namespace];
    await grantRole(scenario.namespace, { kind: "Group", name: "release-managers" }, "glidepath-approve");
  });
  afterAll(async () => scenario?.tearDown());

  it("lists, pauses, resumes, promotes, approves and watches a release to Succeeded", async () => {
    // Given a release whose canary stage is held long enough for people to act in it, and
    // whose change request needs an approval before GA.
    await scenario.release(name, "2.0.0", {
      stages: [
        { name: "canary", weight: 1, hold: "10m", minMeasurements: 2 },
        { name: "early-adopter", weight: 10, hold: "10m", minMeasurements: 2 },
        { name: "ga", weight: 100, hold: "0s" },
      ],
      changeRequest: {
        id: "CHG-2000",
        type: "standard",
        title: "Release 2.0.0",
        why: "integration test",
        risk: "low",
        requestedBy: "alice",
        rollbackPlan: `Revert to ${STABLE_VERSION}`,
        requiresApproval: true,
      },
    });
    await waitFor(async () => (await scenario.read(name)).status?.currentStage?.name === "canary", {
      timeoutMs: 90_000,
      description: "the canary stage",
    });

    const listed = await kubectlGlidepath(["list", ...ns]);
    expectExit(listed, 0);
    expect(listed.stdout.split("\n")[0]).toMatch(
      /^NAME\s+TARGET\s+VERSION\s+PHASE\s+STAGE\s+WEIGHT\s+CHANGE\s+AGE$/,
    );
    expect(listed.stdout).toMatch(
      /checkout-2-0-0\s+checkout\s+2\.0\.0\s+Progressing\s+canary\s+1\s+CHG-2000\s+\d+s/,
    );

    // A watcher, as CI would run it: not a terminal, so plain lines; exit 0 on Succeeded.
    const watcher = glidepath(["status", name, "--watch", ...ns], { timeoutMs: 170_000 });

    // When a person pauses it (through kubectl), it holds; when another resumes it, it goes on.
    const paused = await kubectlGlidepath([
      "pause",
      name,
      ...ns,
      "--by",
      "paula",
      "--reason",
      "checking dashboards",
    ]);
    expectExit(paused, 0);
    expect(paused.stdout).toContain("paused release checkout-2-0-0");
    await scenario.waitForPhase(name, ["Paused"]);
    const whilePaused = await glidepath(["status", name, ...ns]);
    expectExit(whilePaused, 0);
    expect(whilePaused.stdout).toMatch(/Phase\s+Paused/);
    expect(whilePaused.stdout).toContain("paused by a person");
    expect(whilePaused.stdout).toContain("▶ 1% → ○ 10% → ○ 100% → ○ bake");

    const resumed = await glidepath(["resume", name, ...ns, "--by", "rita"]);
    expectExit(resumed, 0);
    await scenario.waitForPhase(name, ["Progressing"]);

    // The stage is held for 10 minutes: a full promote skips to GA, which waits for an approval.
    const promoted = await glidepath(["promote", name, "--full", ...ns], { kubeconfig: people.operator });
    expectExit(promoted, 0);
    await scenario.waitForPhase(name, ["AwaitingApproval"]);
    const asJson = await glidepath(["status", name, "-o", "json", ...ns]);
    expectExit(asJson, 0);
    const view = JSON.parse(asJson.stdout) as {
      phase: string;
      people: string[];
      actions: { action: string }[];
    };
    expect(view.phase).toBe("AwaitingApproval");
    expect(view.actions.map((action) => action.action)).toEqual(["pause", "resume", "promote"]);

    // The operator may not write carol's name: the webhook refuses, and says why.
    const impersonated = await kubectlGlidepath(["approve", name, ...ns, "--by", "carol"], {
      kubeconfig: people.operator,
    });
    expect(impersonated.code).not.toBe(0);
    expect(impersonated.stderr).toContain('authenticated this request as "integration-operator"');
    const approved = await kubectlGlidepath(
      ["approve", name, ...ns, "--by", "carol", "--comment", "dashboards green"],
      { kubeconfig: people.carol },
    );
    expectExit(approved, 0);
    const watched = await watcher;
    expectExit(watched, 0);
    expect(watched.stdout).toContain("Release    " + `${scenario.namespace}/${name}`);
    expect(watched.stdout).toMatch(/ checkout-2-0-0 Baking /);
    expect(watched.stdout.trimEnd().split("\n").at(-1)).toBe(`${name}: Succeeded`);
    expect(watched.stdout).not.toContain("\x1b[");

    // Then the record names every person and what they did.
    const release = await scenario.read(name);
    expect(release.status?.phase).toBe("Succeeded");
    expect(release.status?.approvals).toEqual([
      expect.objectContaining({ by: "carol", comment: "dashboards green", verified: true }),
    ]);
    expect(release.spec.control?.promote).toMatchObject({ by: "integration-operator", full: true });
    const recordJson = await glidepath(["record", name, "-o", "json", ...ns]);
    expectExit(recordJson, 0);
    const record = JSON.parse(recordJson.stdout) as {
      outcome: { phase: string };
      approvals: { by: string }[];
      cliActions: { action: string; by: string; detail?: string }[];
    };
    expect(record.outcome.phase).toBe("Succeeded");
    expect(record.approvals.map((approval) => approval.by)).toEqual(["carol"]);
    expect(record.cliActions).toEqual([
      expect.objectContaining({ action: "pause", by: "paula", detail: "checking dashboards" }),
      expect.objectContaining({ action: "resume", by: "rita" }),
      expect.objectContaining({ action: "promote", by: "integration-operator", detail: "full" }),
      expect.objectContaining({ action: "approve", by: "carol", detail: "dashboards green" }),
    ]);
    const recordMd = await glidepath(["record", name, ...ns]);
    expect(recordMd.stdout).toContain("# CHG-2000: Release 2.0.0");
    expect(recordMd.stdout).toContain("| paula | pause | checking dashboards |");
    // What the change request left empty is said once, not under a heading of its own each.
    expect(recordMd.stdout.match(/not stated/gi)).toHaveLength(1);
    expect(recordMd.stdout).toContain(
      "Not stated in the change request: scope; success criteria; unit, integration, manual testing.",
    );
    expect(recordMd.stdout).not.toContain("## Scope");
    const recordYaml = await glidepath(["record", name, "-o", "yaml", ...ns]);
    expect(recordYaml.stdout).toContain("cliActions:");

    // A finished release refuses what no longer applies, with exit 4.
    const late = await glidepath(["pause", name, ...ns]);
    expectExit(late, 4);
    expect(late.stderr).toContain("has finished (Succeeded)");
    expect(late.stderr).toContain("glidepath rollback checkout --version=previous");
  });

  it("rolls back to the previous version after GA and verifies pods and error ratio", async () => {
    expect(await stableImage(scenario)).toBe(image("2.0.0"));

    const result = await glidepath(
      [
        "rollback",
        "checkout",
        "--version=previous",
        "--reason",
        "checkout latency regression",
        "--by",
        "dave",
        "--wait",
        "--prometheus",
        stackInfo().prometheus.url,
        ...ns,
      ],
      { timeoutMs: 170_000 },
    );
    expectExit(result, 0);
    expect(result.stdout).toContain(`restores ${STABLE_VERSION} (what release ${name} replaced)`);
    expect(result.stdout).toMatch(
      /verified: checkout on 1\.0\.0: \d+\/\d+ pods Ready; error-rate \S+ \(max 5%\) pass/,
    );

    expect(await stableImage(scenario)).toBe(image(STABLE_VERSION));
    const rollback = (await releasesOf(scenario.namespace)).find(
      (release) => release.metadata.labels?.["glidepath.dev/rollback-of"] === name,
    );
    expect(rollback?.status?.phase).toBe("Succeeded");
    expect(rollback?.spec).toMatchObject({
      version: STABLE_VERSION,
      images: { checkout: image(STABLE_VERSION) },
      stages: [{ name: "ga", weight: 100, hold: "0s" }],
      changeRequest: {
        type: "emergency",
        requestedBy: "dave",
        why: "checkout latency regression",
        id: "CHG-2000-rollback",
      },
    });
    expect(rollback?.spec.changeRequest.rollbackPlan).toContain("2.0.0");
    expect(rollback?.status?.stages.map((stage) => stage.name)).toEqual(["ga", "bake"]);

    // The history says what became of each release, newest first.
    const history = await kubectlGlidepath(["history", "checkout", ...ns]);
    expectExit(history, 0);
    const lines = history.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^NAME\s+VERSION\s+PHASE\s+CHANGE\s+BY\s+APPROVED\s+AGE\s+DURATION\s+OUTCOME$/);
    expect(lines[1]).toContain(`restored ${STABLE_VERSION} (rollback of ${name})`);
    expect(lines[1]).toContain("dave");
    expect(lines[2]).toContain(`rolled back later by ${rollback?.metadata.name}`);

    // The release undone says so itself: its status and its record, not only the history.
    const undone = await glidepath(["status", name, ...ns]);
    expectExit(undone, 0);
    expect(undone.stdout).toContain(`Phase      Succeeded (rolled back later by ${rollback?.metadata.name})`);
    expect(undone.stdout).toContain(
      `Traffic    stable 100% on ${STABLE_VERSION} (this release was rolled back later by ${rollback?.metadata.name})`,
    );
    expect(undone.stdout).not.toContain("stable 100% on 2.0.0");
    const undoneRecord = await glidepath(["record", name, ...ns]);
    expect(undoneRecord.stdout).toContain(
      `| Rolled back later | by release ${rollback?.metadata.name} to ${STABLE_VERSION} (Succeeded) |`,
    );
    expect(undoneRecord.stdout).toContain("## Rolled back later");
    expect(undoneRecord.stdout).toContain("- requested by: dave\n- why: checkout latency regression");
    const undoneJson = JSON.parse((await glidepath(["record", name, "-o", "json", ...ns])).stdout) as {
      rolledBackLater?: { release: string; restores: string }[];
    };
    expect(undoneJson.rolledBackLater).toEqual([
      expect.objectContaining({ release: rollback?.metadata.name, restores: STABLE_VERSION }),
    ]);

    // The same command again (a retried CI step): the version before the undone one stays.
    const releasesBefore = (await releasesOf(scenario.namespace)).length;
    const again = await glidepath([
      "rollback",
      "checkout",
      "--version=previous",
      "--reason",
      "checkout latency regression",
      ...ns,
    ]);
    expectExit(again, 0);
    expect(again.stdout).toContain(
      `already runs ${STABLE_VERSION}: nothing to roll back; release ${rollback?.metadata.name} rolled ${name} back to it already`,
    );
    expect((await releasesOf(scenario.namespace)).length).toBe(releasesBefore);
    expect(await stableImage(scenario)).toBe(image(STABLE_VERSION));
  });

  it("aborts the release in flight when rolling back mid-release", async () => {
    await scenario.release("checkout-4-0-0", "4.0.0", {
      stages: [
        { name: "canary", weight: 1, hold: "10m" },
        { name: "ga", weight: 100, hold: "0s" },
      ],
    });
    await waitFor(
      async () => (await scenario.read("checkout-4-0-0")).status?.currentStage?.name === "canary",
      {
        timeoutMs: 90_000,
        description: "checkout-4-0-0 in its canary stage",
      },
    );

    const wrongVersion = await glidepath(["rollback", "checkout", "--version=2.0.0", ...ns]);
    expectExit(wrongVersion, 4);
    expect(wrongVersion.stderr).toContain("is in flight");

    const result = await kubectlGlidepath(
      [
        "rollback",
        "checkout",
        "--version=previous",
        ...ns,
        "--by",
        "erin",
        "--reason",
        "pager went off",
        "--wait",
        "--prometheus",
        stackInfo().prometheus.url,
      ],
      { timeoutMs: 170_000, kubeconfig: people.erin },
    );
    expectExit(result, 0);
    expect(result.stdout).toContain(
      `aborted release checkout-4-0-0 at stage canary (1%): the controller restores ${STABLE_VERSION}`,
    );
    expect(result.stdout).toContain(`verified: checkout on ${STABLE_VERSION}`);
    const aborted = await scenario.read("checkout-4-0-0");
    expect(aborted.status?.phase).toBe("RolledBack");
    expect(aborted.spec.control?.abort).toMatchObject({ by: "erin", reason: "pager went off" });
    expect(aborted.status?.rollback).toMatchObject({ trigger: "manual", by: "erin" });
    expect(await stableImage(scenario)).toBe(image(STABLE_VERSION));

    // list says where the traffic is now: none of it on the aborted or the undone release.
    const listed = await glidepath(["list", ...ns]);
    expectExit(listed, 0);
    expect(listed.stdout).toMatch(/checkout-4-0-0\s+checkout\s+4\.0\.0\s+RolledBack\s+<none>\s+0\s/);
    expect(listed.stdout).toMatch(/checkout-2-0-0\s+checkout\s+2\.0\.0\s+Succeeded\s+<none>\s+0\s/);

    // Rolling back again restores nothing: not the version one release further back.
    const releasesBefore = (await releasesOf(scenario.namespace)).length;
    const again = await glidepath(["rollback", "checkout", "--version=previous", ...ns]);
    expectExit(again, 0);
    expect(again.stdout).toContain(
      `already runs ${STABLE_VERSION}: nothing to roll back; release checkout-4-0-0 (4.0.0) was rolled back to it already`,
    );
    expect((await releasesOf(scenario.namespace)).length).toBe(releasesBefore);

    // Watching a finished release ends at once, with its outcome as the exit code.
    const watched = await glidepath(["status", "checkout-4-0-0", "--watch", ...ns]);
    expectExit(watched, 1);
    expect(watched.stdout).toContain("checkout-4-0-0: RolledBack");
  });
  it("fails the verification (exit 1) when the restored version's error ratio stays high", async () => {
    // Given 2.0.0 now answers half of its requests with errors.
    await scenario.simulator.client.configure({ versions: { "2.0.0": { errorRatio: 0.5 } } });

    const result = await glidepath(
      ["rollback", "checkout", "--version=2.0.0", "--wait", "--verify-timeout", "90s", ...ns],
      { env: { GLIDEPATH_PROMETHEUS: stackInfo().prometheus.url }, timeoutMs: 170_000 },
    );
    expectExit(result, 1);
    expect(result.stdout).toContain(`restores 2.0.0 (release ${name})`);
    expect(result.stderr).toMatch(/rollback of checkout to 2\.0\.0 NOT verified within 90s: .*error-rate/);
    // The rollback itself was carried out: only the verification failed.
    expect(await stableImage(scenario)).toBe(image("2.0.0"));
  });
});
