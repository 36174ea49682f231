import { createHash } from "node:crypto";
import type { V1ManagedFieldsEntry, V1PodTemplateSpec } from "@kubernetes/client-node";
import { GLIDEPATH_FIELD_MANAGER, type FieldWriters } from "../engine/types.ts";
import { VERSION_LABEL } from "../api/workload-names.ts";

// What the engine needs to tell someone else's edit of the stable Deployment from
// Glidepath's own: a hash of the pod template without what promote and revert set, and
// who last wrote each watched field (metadata.managedFields). Pure.

/** `kubectl rollout restart` sets it: a restart, not a change of what runs. */
const RESTARTED_AT_ANNOTATION = "kubectl.kubernetes.io/restartedAt";

/**
 * A hash of the pod template apart from the container images and the version label
 * (which promote and revert set) and the restart annotation. The same for the raw JSON
 * a watch delivers and the objects client-node makes of a read.
 */
export function templateHash(template: V1PodTemplateSpec | undefined): string {
  const copy = JSON.parse(JSON.stringify(template ?? {})) as Record<string, unknown>;
  const metadata = copy["metadata"] as Record<string, Record<string, unknown> | undefined> | undefined;
  delete metadata?.["labels"]?.[VERSION_LABEL];
  delete metadata?.["annotations"]?.[RESTARTED_AT_ANNOTATION];
  const spec = copy["spec"] as Record<string, { image?: unknown }[] | undefined> | undefined;
  for (const list of [spec?.["containers"], spec?.["initContainers"]]) {
    for (const container of list ?? []) delete container.image;
  }
  return createHash("sha256").update(canonical(copy)).digest("hex").slice(0, 32);
}

/** JSON with sorted keys, without nulls and empty objects (a read and a watch differ there). */
function canonical(value: unknown): string {
  const pruned = prune(value);
  return JSON.stringify(pruned ?? null);
}

function prune(value: unknown): unknown {
  if (value === null || value === undefined) return undefined;
  if (Array.isArray(value)) return value.map((item) => prune(item) ?? null);
  if (typeof value !== "object") return value;
  const entries = Object.entries(value as Record<string, unknown>)
    .map(([key, item]) => [key, prune(item)] as const)
    .filter(([, item]) => item !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return entries.length === 0 ? undefined : Object.fromEntries(entries);
}

type Fields = Record<string, unknown>;

/** Who last wrote each watched field of a Deployment, from its managedFields. */
export function fieldWriters(entries: readonly V1ManagedFieldsEntry[]): FieldWriters {
  // Newest last: a field two managers share (server-side apply) goes to the one that wrote last.
  const ordered = entries
    .map((entry, index) => ({ entry, index, time: entryTime(entry) }))
    .sort((a, b) => a.time - b.time || a.index - b.index)
    .map(({ entry }) => entry);
  const writers: FieldWriters = { images: {} };
  for (const entry of ordered) {
    const manager = entry.manager;
    if (manager === undefined) continue;
    const spec = child(entry.fieldsV1 as Fields | undefined, "f:spec");
    if (child(spec, "f:replicas")) {
      writers.replicas = manager;
      const time = entryTime(entry);
      if (time > 0) writers.replicasAt = new Date(time).toISOString();
      else delete writers.replicasAt;
    }
    const template = child(spec, "f:template");
    if (!template) continue;
    if (manager !== GLIDEPATH_FIELD_MANAGER) writers.template = manager;
    if (child(child(child(template, "f:metadata"), "f:labels"), `f:${VERSION_LABEL}`))
      writers.version = manager;
    const podSpec = child(template, "f:spec");
    for (const list of ["f:containers", "f:initContainers"]) {
      for (const [key, fields] of Object.entries(child(podSpec, list) ?? {})) {
        const name = containerName(key);
        if (name !== undefined && child(fields as Fields, "f:image")) writers.images[name] = manager;
      }
    }
  }
  return writers;
}

function child(fields: Fields | undefined, key: string): Fields | undefined {
  const value = fields?.[key];
  return value !== null && typeof value === "object" ? (value as Fields) : undefined;
}

/** `k:{"name":"app"}` → "app". */
function containerName(key: string): string | undefined {
  if (!key.startsWith("k:")) return undefined;
  try {
    const parsed = JSON.parse(key.slice(2)) as { name?: unknown };
    return typeof parsed.name === "string" ? parsed.name : undefined;
  } catch {
    return undefined;
  }
}

function entryTime(entry: V1ManagedFieldsEntry): number {
  const time = entry.time as Date | string | undefined;
  const ms = time instanceof Date ? time.getTime() : time === undefined ? Number.NaN : Date.parse(time);
  return Number.isNaN(ms) ? 0 : ms;
}
