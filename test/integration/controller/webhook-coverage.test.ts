import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { request } from "node:https";
import { describe, expect, it } from "vitest";
import { CONTROL_STAMPS_ANNOTATION, CREATED_BY_ANNOTATION, type Release } from "../../../src/api/index.ts";
import { stackInfo } from "../../harness/context.ts";
import {
  admissionWebhookUrl,
  FINISHED,
  givenControllerForFile,
  givenUser,
  grantRole,
  withService,
} from "./scenario.ts";
import { approvalCondition, needsApproval } from "./trust-scenario.ts";

// Issue 12, the webhook's port answers anyone: whoever reaches it can POST a made-up
// AdmissionReview, name any user in userInfo, and get validly signed stamps back. Where the
// webhook guards every write that gains nothing (it refuses client-written stamps); where it
// does not (here: a namespace outside its namespaceSelector), the controller must not count
// such stamps. It reads its webhook configuration and the namespace's labels, and counts
// stamps only where the webhook covers the Release.

givenControllerForFile({ admission: true });

/** POSTs an AdmissionReview straight to the webhook, as an attacker on the network could (no client certificate needed). */
async function postReview(review: unknown): Promise<{ allowed: boolean; patch?: string; status?: unknown }> {
  const body = JSON.stringify(review);
  return await new Promise((resolve, reject) => {
    const sent = request(
      admissionWebhookUrl(),
      {
        method: "POST",
        ca: readFileSync(stackInfo().caCertPath),
        headers: { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () => {
          try {
            resolve((JSON.parse(Buffer.concat(chunks).toString("utf8")) as { response: never }).response);
          } catch (error) {
            reject(error as Error);
          }
        });
      },
    );
    sent.on("error", reject);
    sent.end(body);
  });
}

/** A made-up review of the Release `object` (and `oldObject` at UPDATE), by whoever `user` says. */
function forgedReview(
  operation: "CREATE" | "UPDATE",
  user: { username: string; groups: string[] },
  object: Release,
  oldObject?: Release,
) {
  return {
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    request: {
      uid: randomUUID(),
      kind: { group: "glidepath.dev", version: "v1alpha1", kind: "Release" },
      resource: { group: "glidepath.dev", version: "v1alpha1", resource: "releases" },
      name: object.metadata.name,
      namespace: object.metadata.namespace,
      operation,
      userInfo: user,
      object,
      ...(oldObject ? { oldObject } : {}),
    },
  };
}

/** The annotations a webhook's JSONPatch writes (whole map or one key at a time). */
function annotationsOf(patch: string | undefined): Record<string, string> {
  const operations = JSON.parse(Buffer.from(patch ?? "", "base64").toString("utf8")) as Array<{
    op: string;
    path: string;
    value?: unknown;
  }>;
  const annotations: Record<string, string> = {};
  for (const operation of operations) {
    if (operation.op !== "add" && operation.op !== "replace") continue;
    if (operation.path === "/metadata/annotations")
      Object.assign(annotations, operation.value as Record<string, string>);
    else if (operation.path.startsWith("/metadata/annotations/"))
      annotations[
        operation.path.slice("/metadata/annotations/".length).replaceAll("~1", "/").replaceAll("~0", "~")
      ] = operation.value as string;
  }
  return annotations;
}

describe("stamps count only where the admission webhook guards writes", () => {
  it("stamps forged through the webhook's port for a namespace the webhook does not cover open nothing, and status says why", () =>
    withService("uncovered", { admission: false }, async (scenario) => {
      // carol really is an approver here: the forger names someone RBAC would allow.
      await grantRole(scenario.namespace, { kind: "Group", name: "release-managers" }, "glidepath-approve");
      const name = "checkout-2-0-0";
      await scenario.release(name, "2.0.0", needsApproval);
      const awaiting = await scenario.waitForPhase(name, ["AwaitingApproval", ...FINISHED]);
      expect(awaiting.status?.phase, awaiting.status?.message).toBe("AwaitingApproval");

      // 1. A made-up CREATE, "by alice": the webhook signs a creator stamp for this namespace/name.
      const stored = await scenario.read(name);
      const { annotations: _none, ...bareMetadata } = stored.metadata;
      const bare = { ...stored, metadata: bareMetadata } as Release;
      const created = await postReview(
        forgedReview(
          "CREATE",
          { username: "alice", groups: ["system:masters", "system:authenticated"] },
          bare,
        ),
      );
      expect(created.allowed, JSON.stringify(created.status)).toBe(true);
      const creator = annotationsOf(created.patch)[CREATED_BY_ANNOTATION];
      expect(creator).toBeDefined();

      // 2. A made-up UPDATE adding carol's approval, "by carol": the webhook signs it for this uid.
      const before = {
        ...stored,
        metadata: {
          ...stored.metadata,
          annotations: { ...stored.metadata.annotations, [CREATED_BY_ANNOTATION]: creator! },
        },
      } as Release;
      const approval = { by: "carol", at: new Date().toISOString(), comment: "forged" };
      const after = { ...before, spec: { ...before.spec, control: { approvals: [approval] } } } as Release;
      const approved = await postReview(
        forgedReview(
          "UPDATE",
          { username: "carol", groups: ["release-managers", "system:authenticated"] },
          after,
          before,
        ),
      );
      expect(approved.allowed, JSON.stringify(approved.status)).toBe(true);
      const controlStamps = annotationsOf(approved.patch)[CONTROL_STAMPS_ANNOTATION];
      expect(JSON.parse(controlStamps ?? "[]")).toEqual([
        expect.objectContaining({ action: "approve", user: "carol" }),
      ]);

      // 3. Written onto the Release where no webhook looks (the admin stands in for anyone with patch).
      await scenario.patch(name, {
        metadata: {
          annotations: { [CREATED_BY_ANNOTATION]: creator!, [CONTROL_STAMPS_ANNOTATION]: controlStamps! },
        },
        spec: { control: { approvals: [approval] } },
      });

      const judged = await scenario.waitForRelease(
        name,
        "the forged approval judged",
        (release) => release.status?.approvals.length === 1,
      );
      expect(judged.status?.approvals).toEqual([
        expect.objectContaining({
          by: "carol",
          verified: false,
          problem: expect.stringContaining(
            `does not cover namespace ${scenario.namespace} (namespaceSelector`,
          ),
        }),
      ]);
      // Several analysis rounds later it still waits, and the condition says why and what to do.
      const passes = (release: Release) => release.status?.stages.at(-1)?.tallies[0]?.pass ?? 0;
      const later = await scenario.waitForRelease(
        name,
        "three more analysis rounds",
        (release) => passes(release) >= passes(judged) + 3,
        { timeoutMs: 120_000 },
      );
      expect(later.status?.phase).toBe("AwaitingApproval");
      expect(approvalCondition(later)).toMatchObject({ status: "False", reason: "WebhookNotCovering" });
      expect(approvalCondition(later)?.message).toContain(`does not cover namespace ${scenario.namespace}`);
      expect(approvalCondition(later)?.message).toContain(
        "label the namespace to match it, or widen the selector",
      );
      // The forged creator stamp (alice) is not believed either.
      expect(later.status?.signOff?.creator).toMatchObject({
        user: "alice",
        verified: false,
        problem: expect.stringContaining("does not cover namespace"),
      });
      expect(await scenario.routeWeights()).toEqual({ checkout: 90, "checkout-canary": 10 });
    }));

  it("in a namespace the webhook covers, a genuine approval still opens the gate", () =>
    withService("covered", {}, async (scenario) => {
      const carol = await givenUser("carol", ["release-managers"]);
      await grantRole(scenario.namespace, { kind: "Group", name: "release-managers" }, "glidepath-approve");
      const name = "checkout-2-0-0";
      // The admin creates it: the webhook stamps the creator as the admin.
      await scenario.release(name, "2.0.0", needsApproval);
      const awaiting = await scenario.waitForPhase(name, ["AwaitingApproval", ...FINISHED]);
      expect(awaiting.status?.phase, awaiting.status?.message).toBe("AwaitingApproval");
      expect(approvalCondition(awaiting)).toMatchObject({ status: "False", reason: "Waiting" });
      await scenario.control(
        name,
        { approvals: [{ by: "carol", at: new Date().toISOString(), comment: "looks good" }] },
        carol.kubeConfig,
      );
      const release = await scenario.waitForPhase(name, FINISHED);
      expect(release.status?.phase, release.status?.message).toBe("Succeeded");
      expect(release.status?.approvals).toEqual([expect.objectContaining({ by: "carol", verified: true })]);
      expect(approvalCondition(release)).toMatchObject({ status: "True", reason: "Approved" });
    }));
});
