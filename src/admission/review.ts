import { z } from "zod";
import { formatIssues } from "../api/index.ts";
import type { AdmissionDecision } from "./release-admission.ts";

// admission.k8s.io/v1 AdmissionReview: what the API server sends the webhook and what
// it must answer (https://kubernetes.io/docs/reference/access-authn-authz/extensible-admission-controllers/).

export const admissionReviewSchema = z.object({
  apiVersion: z.literal("admission.k8s.io/v1"),
  kind: z.literal("AdmissionReview"),
  request: z
    .object({
      uid: z.string().min(1),
      kind: z.object({ group: z.string(), version: z.string(), kind: z.string() }),
      subResource: z.string().optional(),
      name: z.string().default(""),
      namespace: z.string().default(""),
      operation: z.enum(["CREATE", "UPDATE", "DELETE", "CONNECT"]),
      userInfo: z
        .object({
          username: z.string().default(""),
          uid: z.string().optional(),
          groups: z.array(z.string()).default([]),
          extra: z.record(z.string(), z.array(z.string())).optional(),
        })
        .loose(),
      object: z.unknown().optional(),
      oldObject: z.unknown().optional(),
      dryRun: z.boolean().optional(),
    })
    .loose(),
});
export type AdmissionReview = z.infer<typeof admissionReviewSchema>;
export type AdmissionRequest = AdmissionReview["request"];

export function parseAdmissionReview(
  body: unknown,
): { ok: true; review: AdmissionReview } | { ok: false; message: string } {
  const parsed = admissionReviewSchema.safeParse(body);
  if (parsed.success) return { ok: true, review: parsed.data };
  const issues = formatIssues(parsed.error).map((issue) => `${issue.path}: ${issue.message}`);
  return { ok: false, message: `not an admission.k8s.io/v1 AdmissionReview: ${issues.join("; ")}` };
}

/** The AdmissionReview answering request `uid`. */
export function admissionResponse(uid: string, decision: AdmissionDecision) {
  const response = decision.allowed
    ? {
        uid,
        allowed: true,
        ...(decision.patch.length > 0
          ? {
              patchType: "JSONPatch",
              patch: Buffer.from(JSON.stringify(decision.patch)).toString("base64"),
            }
          : {}),
        ...(decision.warnings.length > 0 ? { warnings: decision.warnings } : {}),
      }
    : {
        uid,
        allowed: false,
        status: {
          code: decision.code,
          reason: decision.code === 400 ? "BadRequest" : "Forbidden",
          message: decision.message,
        },
      };
  return { apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", response };
}
