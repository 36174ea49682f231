// Given/When/Then helpers for the trust tests (issue 12: stamps, approvals, the admission
// webhook): a release that waits for someone else's approval, its Approved condition, and
// the API server's refusal of a write as people read it.
import type { Release } from "../../../src/api/index.ts";
import { quickStages } from "./scenario.ts";

/** A release that stops before GA until someone other than alice approves it. */
export const needsApproval = {
  stages: quickStages(),
  bake: "2s",
  changeRequest: { requiresApproval: true, requestedBy: "alice" },
};

export const approvalCondition = (release: Release) =>
  release.status?.conditions.find((condition) => condition.type === "Approved");

/** The API server's refusal of a write: its HTTP status and the message people read. */
export async function refusal(write: Promise<unknown>): Promise<{ code: number; message: string }> {
  try {
    await write;
  } catch (error) {
    const { code, body } = error as { code?: number; body?: unknown };
    const text = typeof body === "string" ? body : JSON.stringify(body);
    let message = text;
    try {
      message = (JSON.parse(text) as { message?: string }).message ?? text;
    } catch {
      // not JSON: keep the text
    }
    return { code: code ?? 0, message };
  }
  throw new Error("the write was accepted, but it should have been refused");
}
