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

interface PrinterColumn {
  name: string;
  type: "string" | "integer" | "date";
  jsonPath: string;
}

/** `kubectl get`'s extra columns, in order, by name: a column is a string unless it says otherwise. */
function printerColumns(columns: Record<string, string | Omit<PrinterColumn, "name">>): PrinterColumn[] {
  return Object.entries(columns).map(([name, column]) =>
    typeof column === "string" ? { name, type: "string", jsonPath: column } : { name, ...column },
  );
}

interface CrdShape {
  kind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  description: string;
  printerColumns: PrinterColumn[];
  spec: z.ZodType;
  /** With a status subresource and its schema; without, the object is spec only. */
  status?: z.ZodType;
}

/** A namespaced Glidepath CRD of one served, stored version. */
function glidepathCrd(shape: CrdShape): JsonSchema {
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: {
      name: `${shape.plural}.${API_GROUP}`,
      labels: { "app.kubernetes.io/name": "glidepath", "app.kubernetes.io/component": "crd" },
    },
    spec: {
      group: API_GROUP,
      scope: "Namespaced",
      names: {
        kind: shape.kind,
        listKind: `${shape.kind}List`,
        plural: shape.plural,
        singular: shape.singular,
        shortNames: shape.shortNames,
        categories: ["glidepath"],
      },
      versions: [
        {
          name: API_VERSION,
          served: true,
          storage: true,
          ...(shape.status ? { subresources: { status: {} } } : {}),
          additionalPrinterColumns: shape.printerColumns,
          schema: {
            openAPIV3Schema: {
              type: "object",
              description: shape.description,
              required: ["spec"],
              properties: {
                apiVersion: { type: "string" },
                kind: { type: "string" },
                metadata: { type: "object" },
                spec: openApiOf(shape.spec),
                ...(shape.status ? { status: openApiOf(shape.status) } : {}),
              },
            },
          },
        },
      ],
    },
  };
}

export function releaseCrd(): JsonSchema {
  return glidepathCrd({
    kind: RELEASE_KIND,
    plural: "releases",
    singular: "release",
    shortNames: ["rel"],
    description: "A progressive release of a new version of a Deployment, with its change request.",
    printerColumns: printerColumns({
      Target: ".spec.target.deployment",
      Version: ".spec.version",
      Phase: ".status.phase",
      Stage: ".status.currentStage.name",
      Weight: { type: "integer", jsonPath: ".status.currentStage.weight" },
      Change: ".spec.changeRequest.id",
      Age: { type: "date", jsonPath: ".metadata.creationTimestamp" },
    }),
    spec: releaseSpecSchema,
    status: releaseStatusSchema,
  });
}

/**
 * The ReleaseRecord CRD: spec only (written once by the controller), no status
 * subresource. People get read access through glidepath-view; nobody but the controller
 * has a role that writes it.
 */
export function releaseRecordCrd(): JsonSchema {
  return glidepathCrd({
    kind: RELEASE_RECORD_KIND,
    plural: RELEASE_RECORD_PLURAL,
    singular: "releaserecord",
    shortNames: ["relrec"],
    description:
      "The durable change record of one finished Release, written once by the controller; it outlives the Release.",
    printerColumns: printerColumns({
      Target: ".spec.target",
      Version: ".spec.version",
      Outcome: ".spec.outcome",
      Type: ".spec.changeType",
      Change: ".spec.changeId",
      Started: { type: "date", jsonPath: ".spec.startedAt" },
      Duration: ".spec.duration",
    }),
    spec: releaseRecordSpecSchema,
  });
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
