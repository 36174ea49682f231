import { fileURLToPath } from "node:url";
import type { KubeConfig } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import {
  CONTROL_STAMPS_ANNOTATION,
  CREATED_BY_ANNOTATION,
  entryDigest,
  type Release,
} from "../../../src/api/index.ts";
import type { SignOffRow } from "../../../src/record/sign-off.ts";
import { stackInfo } from "../../harness/context.ts";
import { runCommand, type CommandResult } from "../../harness/processes.ts";
import {
  FINISHED,
  givenControllerForFile,
  givenUser,
  grantDeployer,
  grantRole,
  withService,
  type ServiceScenario,
} from "./scenario.ts";
import { approvalCondition, needsApproval, refusal } from "./trust-scenario.ts";

// Trust (issue 12): approvals are bound to the user the API server authenticated. The
// controller serves the admission webhook; alice, bob and carol are real users (client
// certificates signed by the cluster CA) held to real RBAC.

givenControllerForFile({ admission: true });

describe("approvals bound to the authenticated user", () => {
  let genuine: Release | undefined;

  it("alice creates (bob, without rights on the Deployment, may not); her own approval, bob's without the verb, and 'by: carol' written by bob are refused; carol's opens the gate", () =>
    withService("trust", {}, async (scenario) => {
      const [alice, bob, carol] = await Promise.all([
        givenUser("alice", ["developers"]),
        givenUser("bob", ["developers"]),
        givenUser("carol", ["release-managers"]),
      ]);
      await grantRole(scenario.namespace, { kind: "Group", name: "developers" }, "glidepath-edit");
      await grantRole(scenario.namespace, { kind: "Group", name: "release-managers" }, "glidepath-approve");
      await grantDeployer(scenario.namespace, "alice");
      const name = "checkout-2-0-0";

      // bob may edit Releases but not the Deployment or its route: he may not have the
      // controller act on them for him.
      const deputy = await refusal(
        scenario.release("checkout-2-0-1", "2.0.1", needsApproval, bob.kubeConfig),
      );
      expect(deputy.code).toBe(403);
      expect(deputy.message).toContain("bob may not create release");
      expect(deputy.message).toContain('update deployments.apps "checkout"');
      expect(deputy.message).toContain('patch httproutes.gateway.networking.k8s.io "checkout"');

      // An approval present at creation is refused, whoever writes it.
      const early = await refusal(
        createWith(scenario, alice.kubeConfig, "checkout-2-0-0-pre-approved", {
          approvals: [{ by: "alice", at: new Date().toISOString() }],
        }),
      );
      expect(early.code).toBe(403);
      expect(early.message).toContain("cannot be created with approvals");

      // The creator is stamped from the request, not from anything alice wrote.
      await scenario.release(name, "2.0.0", needsApproval, alice.kubeConfig);
      const created = await scenario.read(name);
      expect(JSON.parse(created.metadata.annotations?.[CREATED_BY_ANNOTATION] ?? "{}")).toMatchObject({
        user: "alice",
        groups: expect.arrayContaining(["developers", "system:authenticated"]),
      });
      const awaiting = await scenario.waitForPhase(name, ["AwaitingApproval", ...FINISHED]);
      expect(awaiting.status?.phase, awaiting.status?.message).toBe("AwaitingApproval");
      expect(approvalCondition(awaiting)).toMatchObject({ status: "False", reason: "Waiting" });

      // Nobody rewrites who created it.
      const forgedCreator = await refusal(
        scenario.patch(
          name,
          { metadata: { annotations: { [CREATED_BY_ANNOTATION]: '{"user":"bob"}' } } },
          alice.kubeConfig,
        ),
      );
      expect(forgedCreator.message).toContain("written by the Glidepath admission webhook only");

      const approve = (by: string) => ({ approvals: [{ by, at: new Date().toISOString() }] });
      const own = await refusal(scenario.control(name, approve("alice"), alice.kubeConfig));
      expect(own.code).toBe(403);
      expect(own.message).toContain("alice created release");
      expect(own.message).toContain("separation of duties");

      const noVerb = await refusal(scenario.control(name, approve("bob"), bob.kubeConfig));
      expect(noVerb.message).toContain(`bob may not approve releases in namespace ${scenario.namespace}`);
      expect(noVerb.message).toContain('the verb "approve"');

      const impersonated = await refusal(scenario.control(name, approve("carol"), bob.kubeConfig));
      expect(impersonated.message).toContain('spec.control.approvals[0].by is "carol"');
      expect(impersonated.message).toContain('authenticated this request as "bob"');

      const stillWaiting = await scenario.read(name);
      expect(stillWaiting.spec.control?.approvals ?? []).toEqual([]);
      expect(stillWaiting.status?.phase).toBe("AwaitingApproval");

      const approval = { by: "carol", at: new Date().toISOString(), comment: "dashboards green" };
      await scenario.control(name, { approvals: [approval] }, carol.kubeConfig);
      const stamps = JSON.parse(
        (await scenario.read(name)).metadata.annotations?.[CONTROL_STAMPS_ANNOTATION] ?? "[]",
      );
      expect(stamps).toEqual([
        expect.objectContaining({
          action: "approve",
          user: "carol",
          groups: expect.arrayContaining(["release-managers"]),
        }),
      ]);

      // Approvals are append-only: carol cannot edit hers afterwards.
      const edited = await refusal(
        scenario.control(name, { approvals: [{ ...approval, comment: "edited" }] }, carol.kubeConfig),
      );
      expect(edited.message).toContain("spec.control.approvals[0] (by carol at");
      expect(edited.message).toContain("append-only");

      const release = await scenario.waitForPhase(name, FINISHED);
      expect(release.status?.phase, release.status?.message).toBe("Succeeded");
      expect(release.status?.approvals).toEqual([
        expect.objectContaining({
          ...approval,
          verified: true,
          groups: expect.arrayContaining(["release-managers"]),
        }),
      ]);
      expect(approvalCondition(release)).toMatchObject({ status: "True", reason: "Approved" });
      const passed = release.status?.transitions.find((transition) => transition.from === "AwaitingApproval");
      expect(passed?.reason).toContain("approved by carol");
      genuine = release;
    }));

  it("the record and history say who created, paused, resumed, approved, aborted and rolled back, each verified", () =>
    withService("signoff", {}, async (scenario) => {
      const [alice, carol] = await Promise.all([
        givenUser("alice", ["developers"]).then((user) => ({ ...user, name: "alice" })),
        givenUser("carol", ["release-managers"]).then((user) => ({ ...user, name: "carol" })),
      ]);
      await grantRole(scenario.namespace, { kind: "Group", name: "developers" }, "glidepath-edit");
      await grantRole(scenario.namespace, { kind: "Group", name: "release-managers" }, "glidepath-approve");
      await grantDeployer(scenario.namespace, "alice");
      const name = "checkout-2-0-0";
      const ns = ["-n", scenario.namespace];
      // A bake long enough to abort in: the rollback then has stable to put back.
      await scenario.release(name, "2.0.0", { ...needsApproval, bake: "10m" }, alice.kubeConfig);
      await scenario.waitForPhase(name, ["AwaitingApproval"]);

      // Each person acts with the glidepath CLI under their own Kubernetes identity.
      expectExit(await glidepath(["pause", name, ...ns, "--reason", "checking dashboards"], alice), 0);
      await scenario.waitForPhase(name, ["Paused"]);
      expectExit(await glidepath(["resume", name, ...ns], alice), 0);
      await scenario.waitForPhase(name, ["AwaitingApproval"]);
      expectExit(await glidepath(["approve", name, ...ns, "--comment", "dashboards green"], carol), 0);
      await scenario.waitForPhase(name, ["Baking"]);
      expectExit(await glidepath(["abort", name, ...ns, "--reason", "p99 up"], alice), 0);
      const done = await scenario.waitForPhase(name, FINISHED);
      expect(done.status?.phase, done.status?.message).toBe("RolledBack");

      const markdown = await glidepath(["record", name, ...ns], alice);
      expectExit(markdown, 0);
      const aliceGroups = /developers, system:authenticated|system:authenticated, developers/.source;
      const time = /\d{4}-\d\d-\d\dT[\d:.]+Z/.source;
      for (const [role, person, groups, verdict] of [
        ["Requested by", "alice", aliceGroups, "yes — the verified creator"],
        ["Created by", "alice", aliceGroups, "yes"],
        [
          "Approved by",
          "carol",
          /release-managers, system:authenticated|system:authenticated, release-managers/.source,
          'yes — "dashboards green"',
        ],
        ["Paused by", "alice", aliceGroups, "yes"],
        ["Resumed by", "alice", aliceGroups, "yes"],
        ["Aborted by", "alice", aliceGroups, "yes — p99 up"],
        ["Rolled back by", "alice", aliceGroups, "yes — aborted"],
      ] as const) {
        const when = role === "Requested by" ? "" : time;
        expect(markdown.stdout).toMatch(
          new RegExp(`^\\| ${role} \\| ${person} \\| (${groups}) \\| ${when} \\| ${verdict} \\|$`, "m"),
        );
      }
      expect(markdown.stdout).toContain("| Role | Name | Groups | Time | Verified |");

      const json = await glidepath(["record", name, ...ns, "-o", "json"], alice);
      expectExit(json, 0);
      const rows = (JSON.parse(json.stdout) as { signOff: SignOffRow[] }).signOff;
      expect(rows.map((row) => [row.role, row.name, row.verified])).toEqual([
        ["requested", "alice", true],
        ["created", "alice", true],
        ["approved", "carol", true],
        ["paused", "alice", true],
        ["resumed", "alice", true],
        ["aborted", "alice", true],
        ["rolledBack", "alice", true],
      ]);

      const history = await glidepath(["history", "checkout", ...ns], alice);
      expectExit(history, 0);
      const [header, row] = history.stdout.trimEnd().split("\n");
      expect(header).toMatch(/^NAME\s+VERSION\s+PHASE\s+CHANGE\s+BY\s+APPROVED\s+AGE\s+DURATION\s+OUTCOME$/);
      expect(row).toMatch(/^checkout-2-0-0\s+2\.0\.0\s+RolledBack\s+.*\s+alice\s+carol✓\s/);
    }));

  it("a stamp forged by hand, or copied from a genuine Release, opens nothing where the webhook is off", () =>
    withService("forged", { admission: false }, async (scenario) => {
      expect(genuine, "runs after the test above, whose genuine stamps it copies").toBeDefined();
      const name = "checkout-2-0-0";
      await scenario.release(name, "2.0.0", needsApproval);
      const awaiting = await scenario.waitForPhase(name, ["AwaitingApproval", ...FINISHED]);
      expect(awaiting.status?.phase, awaiting.status?.message).toBe("AwaitingApproval");

      // Written straight into the object, as anyone with patch could without the webhook:
      // carol's genuine approval and stamps, and a stamp typed by hand for dave.
      const copied = genuine?.spec.control?.approvals?.[0];
      const forgedEntry = { by: "dave", at: new Date().toISOString() };
      const handMade = {
        action: "approve",
        digest: "0".repeat(64),
        user: "dave",
        groups: ["release-managers"],
        at: forgedEntry.at,
        mac: "f".repeat(64),
      };
      const genuineStamps = JSON.parse(genuine?.metadata.annotations?.[CONTROL_STAMPS_ANNOTATION] ?? "[]");
      await scenario.patch(name, {
        metadata: {
          annotations: {
            [CREATED_BY_ANNOTATION]: genuine?.metadata.annotations?.[CREATED_BY_ANNOTATION] ?? "",
            [CONTROL_STAMPS_ANNOTATION]: JSON.stringify([...genuineStamps, handMade]),
          },
        },
        spec: { control: { approvals: [copied, forgedEntry] } },
      });
      const judged = await scenario.waitForRelease(
        name,
        "both approvals judged",
        (release) => release.status?.approvals.length === 2,
      );
      expect(judged.status?.approvals).toEqual([
        expect.objectContaining({
          by: "carol",
          verified: false,
          problem: expect.stringContaining("does not verify"),
        }),
        expect.objectContaining({ by: "dave", verified: false }),
      ]);
      // Several analysis rounds later it still waits, and says why.
      const passes = (release: Release) => release.status?.stages.at(-1)?.tallies[0]?.pass ?? 0;
      const later = await scenario.waitForRelease(
        name,
        "three more analysis rounds",
        (release) => passes(release) >= passes(judged) + 3,
      );
      expect(later.status?.phase).toBe("AwaitingApproval");
      expect(approvalCondition(later)).toMatchObject({ status: "False" });
      expect(approvalCondition(later)?.message).toContain("carol's approval is unverified");
      expect(await scenario.routeWeights()).toEqual({ checkout: 90, "checkout-canary": 10 });

      // A pause stamped by hand for mallory: the release pauses (anyone with patch may pause),
      // but the record does not take mallory's name as verified.
      const forgedPause = {
        action: "pause",
        digest: entryDigest({ paused: true }),
        user: "mallory",
        groups: ["release-managers"],
        at: new Date().toISOString(),
        mac: "e".repeat(64),
      };
      await scenario.patch(name, {
        metadata: {
          annotations: {
            [CONTROL_STAMPS_ANNOTATION]: JSON.stringify([...genuineStamps, handMade, forgedPause]),
          },
        },
        spec: { control: { paused: true } },
      });
      await scenario.waitForRelease(name, "the forged pause recorded", (release) =>
        (release.status?.signOff?.actions ?? []).some((action) => action.by === "mallory"),
      );
      const record = await glidepath(["record", name, "-n", scenario.namespace]);
      expectExit(record, 0);
      expect(record.stdout).toMatch(
        /^\| Paused by \| mallory \| release-managers \| \S+ \| \*\*no\*\* — its stamp does not verify/m,
      );
      expect(record.stdout).toMatch(
        /^\| Created by \| alice \| .* \| \*\*no\*\* — the creator stamp does not verify \|$/m,
      );
      expect(record.stdout).toMatch(/^\| Approved by \| carol \| .* \| \*\*no\*\* — does not count: /m);
      expect(record.stdout).toMatch(/^\| Approved by \| dave \| .* \| \*\*no\*\* — does not count: /m);
      expect(record.stdout).not.toMatch(/^\| (Paused|Created|Approved) by \| .* \| yes/m);
      const history = await glidepath(["history", "checkout", "-n", scenario.namespace]);
      expect(history.stdout).toMatch(/\scarol✗ dave✗\s/);
    }));
});

const glidepathBin = fileURLToPath(new URL("../../../bin/glidepath", import.meta.url));

/** `glidepath ARGS` as a person runs it, with their kubeconfig (default: the admin's); --by defaults to the Kubernetes user. */
function glidepath(args: string[], as?: { name: string; kubeconfigPath: string }): Promise<CommandResult> {
  const kubeconfig = as?.kubeconfigPath ?? stackInfo().kubeconfigPath;
  return runCommand(glidepathBin, [...args, "--kubeconfig", kubeconfig], {
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "/tmp",
      GLIDEPATH_USER: as?.name ?? "admin",
    },
    allowFailure: true,
    timeoutMs: 60_000,
  });
}

function expectExit(result: CommandResult, code: number): void {
  expect(result.code, `exit ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`).toBe(code);
}

/** A Release created by `as`, with spec.control as given (the scenario's spec otherwise). */
async function createWith(
  scenario: ServiceScenario,
  as: KubeConfig,
  name: string,
  control: Record<string, unknown>,
): Promise<void> {
  await scenario.release(name, "2.0.0", { ...needsApproval, control }, as);
}
