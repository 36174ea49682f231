import type { V1ManagedFieldsEntry, V1PodTemplateSpec } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { fieldWriters, templateHash } from "../../../src/workload/stable-template.ts";
import { stableDeployment } from "./objects.ts";

// What tells someone else's edit of stable from Glidepath's promote and revert: the pod
// template without images and version label, and who wrote each field.

function template(): V1PodTemplateSpec {
  const found = stableDeployment().spec?.template;
  if (!found) throw new Error("the fixture has no template");
  return found;
}

describe("the template hash", () => {
  it("does not change with the images, the version label or a rollout restart", () => {
    const promoted = template();
    promoted.metadata = {
      ...promoted.metadata,
      labels: { ...promoted.metadata?.labels, version: "2.4.0" },
      annotations: {
        ...promoted.metadata?.annotations,
        "kubectl.kubernetes.io/restartedAt": "2026-03-02T10:00:00Z",
      },
    };
    for (const container of promoted.spec?.containers ?? []) container.image = `${container.image}-new`;
    for (const container of promoted.spec?.initContainers ?? []) container.image = `${container.image}-new`;
    expect(templateHash(promoted)).toBe(templateHash(template()));
  });

  it("is the same for a watch's JSON (nulls, empty objects) and a read's objects", () => {
    const fromWatch = JSON.parse(JSON.stringify(template())) as Record<string, Record<string, unknown>>;
    (fromWatch["metadata"] ?? {})["creationTimestamp"] = null;
    const containers = (fromWatch["spec"] ?? {})["containers"] as Record<string, unknown>[];
    if (containers[0]) containers[0]["resources"] = {};
    expect(templateHash(fromWatch as V1PodTemplateSpec)).toBe(templateHash(template()));
  });

  it("changes with anything else a person edits: env, a container added", () => {
    const withEnv = template();
    const first = withEnv.spec?.containers[0];
    if (first) first.env = [{ name: "MODE", value: "debug" }];
    expect(templateHash(withEnv)).not.toBe(templateHash(template()));

    const withSidecar = template();
    withSidecar.spec?.containers.push({ name: "debug", image: "busybox" });
    expect(templateHash(withSidecar)).not.toBe(templateHash(template()));
  });
});

describe("who wrote stable's fields", () => {
  const created: V1ManagedFieldsEntry = {
    manager: "helm",
    operation: "Update",
    apiVersion: "apps/v1",
    time: new Date("2026-03-01T09:00:00Z"),
    fieldsType: "FieldsV1",
    fieldsV1: {
      "f:spec": {
        "f:replicas": {},
        "f:template": {
          "f:metadata": { "f:labels": { ".": {}, "f:app": {}, "f:version": {} } },
          "f:spec": {
            "f:containers": {
              'k:{"name":"checkout"}': { ".": {}, "f:image": {}, "f:name": {} },
              'k:{"name":"envoy"}': { ".": {}, "f:image": {}, "f:name": {} },
            },
          },
        },
      },
    },
  };
  const setImage: V1ManagedFieldsEntry = {
    manager: "kubectl-set",
    operation: "Update",
    apiVersion: "apps/v1",
    time: "2026-03-02T10:05:00Z" as unknown as Date,
    fieldsType: "FieldsV1",
    fieldsV1: {
      "f:spec": {
        "f:template": { "f:spec": { "f:containers": { 'k:{"name":"checkout"}': { "f:image": {} } } } },
      },
    },
  };
  const promoted: V1ManagedFieldsEntry = {
    manager: "glidepath",
    operation: "Update",
    apiVersion: "apps/v1",
    time: new Date("2026-03-02T10:01:00Z"),
    fieldsType: "FieldsV1",
    fieldsV1: { "f:spec": { "f:template": { "f:metadata": { "f:labels": { "f:version": {} } } } } },
  };

  it("names the manager of each image, the version label, the replicas and the newest template edit", () => {
    expect(fieldWriters([setImage, created, promoted])).toEqual({
      images: { checkout: "kubectl-set", envoy: "helm" },
      version: "glidepath",
      replicas: "helm",
      replicasAt: "2026-03-01T09:00:00.000Z",
      template: "kubectl-set",
    });
  });

  it("never names Glidepath as the template's editor", () => {
    expect(fieldWriters([created, promoted]).template).toBe("helm");
  });
});
