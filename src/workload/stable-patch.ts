import type { V1Deployment } from "@kubernetes/client-node";
import { TargetError } from "../kube/errors.ts";
import { VERSION_LABEL } from "../api/workload-names.ts";

// Promote and revert touch only the stable pod template's images and its version
// label. A JSON Patch does that and nothing else: each image is replaced at its index,
// after a `test` that the container at that index still has the expected name, so a
// concurrent reorder of the containers fails the patch instead of changing the wrong one.

export type JsonPatchOperation =
  { op: "test" | "add" | "replace"; path: string; value: unknown } | { op: "remove"; path: string };

/**
 * The JSON Patch that gives the stable Deployment these images and this version label
 * (undefined: no version label). Empty when the Deployment already has them.
 */
export function stableTemplatePatch(
  deployment: V1Deployment,
  images: Record<string, string>,
  version: string | undefined,
  who: string,
): JsonPatchOperation[] {
  const podSpec = deployment.spec?.template.spec;
  const name = `${deployment.metadata?.namespace ?? "?"}/${deployment.metadata?.name ?? "?"}`;
  if (!podSpec) throw new Error(`${who}: Deployment ${name} has no pod template spec`);
  const lists = [
    { field: "containers", containers: podSpec.containers },
    { field: "initContainers", containers: podSpec.initContainers ?? [] },
  ];
  const operations: JsonPatchOperation[] = [];
  const missing: string[] = [];
  for (const [containerName, image] of Object.entries(images)) {
    const found = lists
      .map(({ field, containers }) => ({
        field,
        index: containers.findIndex((container) => container.name === containerName),
        containers,
      }))
      .find(({ index }) => index >= 0);
    if (!found) {
      missing.push(containerName);
      continue;
    }
    if (found.containers[found.index]?.image === image) continue;
    const base = `/spec/template/spec/${found.field}/${found.index}`;
    operations.push({ op: "test", path: `${base}/name`, value: containerName });
    operations.push({ op: "replace", path: `${base}/image`, value: image });
  }
  if (missing.length > 0) {
    const known = lists.flatMap(({ containers }) => containers.map((container) => container.name));
    throw new TargetError(
      "TargetInvalid",
      `${who}: Deployment ${name} has no container ${missing.map((n) => `"${n}"`).join(", ")} ` +
        `(its containers: ${known.join(", ")})`,
    );
  }
  const labels = deployment.spec?.template.metadata?.labels;
  const current = labels?.[VERSION_LABEL];
  const labelPath = `/spec/template/metadata/labels/${escapePointer(VERSION_LABEL)}`;
  if (version !== undefined && current !== version) {
    operations.push(
      labels
        ? { op: "add", path: labelPath, value: version }
        : { op: "add", path: "/spec/template/metadata/labels", value: { [VERSION_LABEL]: version } },
    );
  } else if (version === undefined && current !== undefined) {
    operations.push({ op: "remove", path: labelPath });
  }
  return operations;
}

/** RFC 6901: `~` and `/` inside a key. */
function escapePointer(key: string): string {
  return key.replaceAll("~", "~0").replaceAll("/", "~1");
}
