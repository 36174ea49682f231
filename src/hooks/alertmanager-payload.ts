import { z } from "zod";
import { formatIssues, type ValidationIssue } from "../api/index.ts";

// Alertmanager's webhook body, version 4
// (https://prometheus.io/docs/alerting/latest/configuration/#webhook_config). Times come
// with offsets and up to nanoseconds; an alert that has not ended carries endsAt
// 0001-01-01T00:00:00Z. Group-level fields (status, commonLabels) are computed after
// max_alerts truncation, so only each alert's own status and labels are trusted.

const timeSchema = z.iso.datetime({ offset: true });
const labelsSchema = z.record(z.string().max(1024), z.string().max(16 * 1024));

export const webhookAlertSchema = z.object({
  status: z.enum(["firing", "resolved"]),
  labels: labelsSchema,
  annotations: labelsSchema.default({}),
  startsAt: timeSchema,
  endsAt: timeSchema,
  generatorURL: z
    .string()
    .max(8 * 1024)
    .default(""),
  fingerprint: z.string().min(1).max(64),
});
export type WebhookAlert = z.infer<typeof webhookAlertSchema>;

export const alertmanagerPayloadSchema = z.object({
  version: z.literal("4"),
  status: z.enum(["firing", "resolved"]),
  receiver: z.string().max(1024),
  groupKey: z
    .string()
    .max(16 * 1024)
    .default(""),
  truncatedAlerts: z.int().min(0).default(0),
  groupLabels: labelsSchema.default({}),
  commonLabels: labelsSchema.default({}),
  commonAnnotations: labelsSchema.default({}),
  externalURL: z
    .string()
    .max(8 * 1024)
    .default(""),
  alerts: z.array(webhookAlertSchema).max(10_000),
});
export type AlertmanagerPayload = z.infer<typeof alertmanagerPayloadSchema>;

export type PayloadParse =
  { ok: true; payload: AlertmanagerPayload } | { ok: false; issues: ValidationIssue[] };

/** Parses and validates a webhook body; every problem comes back with its JSON path. */
export function parseAlertmanagerPayload(body: string): PayloadParse {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (error) {
    return { ok: false, issues: [{ path: "$", message: `not JSON: ${(error as Error).message}` }] };
  }
  const parsed = alertmanagerPayloadSchema.safeParse(json);
  if (!parsed.success) return { ok: false, issues: formatIssues(parsed.error).slice(0, 20) };
  return { ok: true, payload: parsed.data };
}
