import { z } from "zod";
import { API_GROUP, API_VERSION, RELEASE_KIND, releaseSpecSchema, releaseStatusSchema } from "./release.ts";
import { RELEASE_RECORD_KIND, RELEASE_RECORD_PLURAL, releaseRecordSpecSchema } from "./release-record.ts";
import { strategyFileSchema } from "./strategy.ts";

// Generates the Release CRD and the strategy file's JSON Schema from the zod
// schemas, so the API server enforces the same rules as the controller and the
// committed manifests cannot drift from the code (a test regenerates and compares).

type JsonSchema = { [key: string]: unknown };

/**
 * Rewrites zod's OpenAPI 3.0 output into a Kubernetes structural schema: no
 * `additionalProperties: false` or `propertyNames` (the API server prunes unknown
 * fields instead, and zod still checks map keys), and no regex beside
 * `format: date-time` (zod's ISO pattern is not RE2, the API server's dialect).
 */
export function toStructural(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(toStructural);
  if (node === null || typeof node !== "object") return node;
  const out: JsonSchema = {};
  for (const [key, value] of Object.entries(node as JsonSchema)) {
    if (key === "$schema" || key === "propertyNames") continue;
    if (key === "additionalProperties" && value === false) continue;
    out[key] = toStructural(value);
  }
  if (out.format === "date-time") delete out.pattern;
  if (out.type === "integer" && typeof out.minimum === "number" && out.minimum <= Number.MIN_SAFE_INTEGER) {
    delete out.minimum;
  }
  if (out.type === "integer" && typeof out.maximum === "number" && out.maximum >= Number.MAX_SAFE_INTEGER) {
    delete out.maximum;
  }
  return out;
}

function openApiOf(schema: z.ZodType): JsonSchema {
  const generated = z.toJSONSchema(schema, { target: "openapi-3.0", io: "input", unrepresentable: "throw" });
  return toStructural(generated) as JsonSchema;
}

export function releaseCrd(): JsonSchema {
  const plural = "releases";
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: {
      name: `${plural}.${API_GROUP}`,
      labels: { "app.kubernetes.io/name": "glidepath", "app.kubernetes.io/component": "crd" },
    },
    spec: {
      group: API_GROUP,
      scope: "Namespaced",
      names: {
        kind: RELEASE_KIND,
        listKind: `${RELEASE_KIND}List`,
        plural,
        singular: "release",
        shortNames: ["rel"],
        categories: ["glidepath"],
      },
      versions: [
        {
          name: API_VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: [
            { name: "Target", type: "string", jsonPath: ".spec.target.deployment" },
            { name: "Version", type: "string", jsonPath: ".spec.version" },
            { name: "Phase", type: "string", jsonPath: ".status.phase" },
            { name: "Stage", type: "string", jsonPath: ".status.currentStage.name" },
            { name: "Weight", type: "integer", jsonPath: ".status.currentStage.weight" },
            { name: "Change", type: "string", jsonPath: ".spec.changeRequest.id" },
            { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" },
          ],
          schema: {
            openAPIV3Schema: {
              type: "object",
              description: "A progressive release of a new version of a Deployment, with its change request.",
              required: ["spec"],
              properties: {
                apiVersion: { type: "string" },
                kind: { type: "string" },
                metadata: { type: "object" },
                spec: openApiOf(releaseSpecSchema),
                status: openApiOf(releaseStatusSchema),
              },
            },
          },
        },
      ],
    },
  };
}

/**
 * The ReleaseRecord CRD: spec only (written once by the controller), no status
 * subresource. People get read access through glidepath-view; nobody but the controller
 * has a role that writes it.
 */
export function releaseRecordCrd(): JsonSchema {
  const plural = RELEASE_RECORD_PLURAL;
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: {
      name: `${plural}.${API_GROUP}`,
      labels: { "app.kubernetes.io/name": "glidepath", "app.kubernetes.io/component": "crd" },
    },
    spec: {
      group: API_GROUP,
      scope: "Namespaced",
      names: {
        kind: RELEASE_RECORD_KIND,
        listKind: `${RELEASE_RECORD_KIND}List`,
        plural,
        singular: "releaserecord",
        shortNames: ["relrec"],
        categories: ["glidepath"],
      },
      versions: [
        {
          name: API_VERSION,
          served: true,
          storage: true,
          additionalPrinterColumns: [
            { name: "Target", type: "string", jsonPath: ".spec.target" },
            { name: "Version", type: "string", jsonPath: ".spec.version" },
            { name: "Outcome", type: "string", jsonPath: ".spec.outcome" },
            { name: "Type", type: "string", jsonPath: ".spec.changeType" },
            { name: "Change", type: "string", jsonPath: ".spec.changeId" },
            { name: "Started", type: "date", jsonPath: ".spec.startedAt" },
            { name: "Duration", type: "string", jsonPath: ".spec.duration" },
          ],
          schema: {
            openAPIV3Schema: {
              type: "object",
              description:
                "The durable change record of one finished Release, written once by the controller; it outlives the Release.",
              required: ["spec"],
              properties: {
                apiVersion: { type: "string" },
                kind: { type: "string" },
                metadata: { type: "object" },
                spec: openApiOf(releaseRecordSpecSchema),
              },
            },
          },
        },
      ],
    },
  };
}

/**
 * The CRDs for Kubernetes 1.20–1.24, whose API servers run no CEL: the same schema without
 * `x-kubernetes-validations` (those servers drop the field, and refuse it in a server-side
 * apply such as Helm 4's), kept on `helm uninstall` like a CRD from `crds/`. The controller's
 * zod schema still holds every rule and marks a Release that breaks one `Valid=False`.
 */
export function withoutCel(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(withoutCel);
  if (node === null || typeof node !== "object") return node;
  return Object.fromEntries(
    Object.entries(node as JsonSchema)
      .filter(([key]) => key !== "x-kubernetes-validations")
      .map(([key, value]) => [key, withoutCel(value)]),
  );
}

/** A CRD as the chart installs it for 1.20–1.24 (`crd.withoutCel`). */
export function crdWithoutCel(crd: JsonSchema): JsonSchema {
  const stripped = withoutCel(crd) as JsonSchema & { metadata: JsonSchema };
  stripped.metadata.annotations = { "helm.sh/resource-policy": "keep" };
  return stripped;
}

export function strategyJsonSchema(): JsonSchema {
  const generated = z.toJSONSchema(strategyFileSchema, {
    target: "draft-2020-12",
    io: "input",
  }) as JsonSchema;
  return { ...generated, title: "Glidepath rollout strategy file" };
}
