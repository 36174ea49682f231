import { z } from "zod";
import { dnsLabelSchema } from "./names.ts";
import {
  API_GROUP,
  API_VERSION,
  changeTypes,
  releaseSpecSchema,
  finishedOutcomes,
  objectMetaSchema,
  releaseStatusSchema,
} from "./release.ts";

// A ReleaseRecord is the durable change record of one finished release: written once by
// the controller when the Release reaches a terminal phase, with no owner reference, so
// it outlives the Release (GitOps pruning, `kubectl delete`). People read it; only the
// controller writes it. The summary fields at the top feed printer columns and DORA; the
// Release's spec and status are kept whole, so the record renders exactly like the
// Release did.

export const RELEASE_RECORD_KIND = "ReleaseRecord";
export const RELEASE_RECORD_PLURAL = "releaserecords";

const timestampSchema = z.iso.datetime({ offset: true });

export const releaseRecordSpecSchema = z.object({
  release: z
    .object({
      name: z.string().min(1).max(253),
      uid: z.string().max(64).optional(),
      createdAt: timestampSchema.optional(),
      labels: z.record(z.string(), z.string()).optional().describe("The Release's labels."),
    })
    .describe("The Release this record was taken from."),
  target: dnsLabelSchema.describe("The target Deployment."),
  version: z.string().min(1).max(128),
  outcome: z.enum(finishedOutcomes),
  changeType: z.enum(changeTypes),
  changeId: z.string().min(1).max(64),
  startedAt: timestampSchema.optional(),
  finishedAt: timestampSchema,
  duration: z.string().max(32).optional().describe("finishedAt − startedAt, for people (e.g. 12m4s)."),
  committedAt: timestampSchema.optional().describe("From the change request: where lead time starts."),
  releaseSpec: releaseSpecSchema,
  releaseStatus: releaseStatusSchema,
});
export type ReleaseRecordSpec = z.infer<typeof releaseRecordSpecSchema>;

export const releaseRecordSchema = z.object({
  apiVersion: z.literal(`${API_GROUP}/${API_VERSION}`),
  kind: z.literal(RELEASE_RECORD_KIND),
  metadata: objectMetaSchema,
  spec: releaseRecordSpecSchema,
});
export type ReleaseRecord = z.infer<typeof releaseRecordSchema>;
