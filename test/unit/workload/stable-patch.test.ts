import { describe, expect, it } from "vitest";
import { stableTemplatePatch } from "../../../src/workload/index.ts";
import { stableDeployment } from "./objects.ts";

const who = "Release shop/checkout-2-4-0: promoting";

describe("the promote/revert patch of the stable Deployment", () => {
  it("replaces only the named containers' images, each after a test of the container's name, and the version label", () => {
    expect(
      stableTemplatePatch(stableDeployment(), { envoy: "envoyproxy/envoy:v1.31.0" }, "2.4.0", who),
    ).toEqual([
      { op: "test", path: "/spec/template/spec/containers/1/name", value: "envoy" },
      { op: "replace", path: "/spec/template/spec/containers/1/image", value: "envoyproxy/envoy:v1.31.0" },
      { op: "add", path: "/spec/template/metadata/labels/version", value: "2.4.0" },
    ]);
  });

  it("reaches init containers by name", () => {
    expect(stableTemplatePatch(stableDeployment(), { migrate: "m:2" }, "2.3.1", who)).toEqual([
      { op: "test", path: "/spec/template/spec/initContainers/0/name", value: "migrate" },
      { op: "replace", path: "/spec/template/spec/initContainers/0/image", value: "m:2" },
    ]);
  });

  it("is empty when the Deployment already runs these images and version (promote is idempotent)", () => {
    expect(
      stableTemplatePatch(
        stableDeployment(),
        { checkout: "registry.example.com/checkout:2.3.1" },
        "2.3.1",
        who,
      ),
    ).toEqual([]);
  });

  it("removes the version label on a revert to a version that had none", () => {
    expect(stableTemplatePatch(stableDeployment(), {}, undefined, who)).toEqual([
      { op: "remove", path: "/spec/template/metadata/labels/version" },
    ]);
  });

  it("names the containers that do not exist", () => {
    expect(() =>
      stableTemplatePatch(stableDeployment(), { web: "w:1", checkout: "c:1" }, "2.4.0", who),
    ).toThrow(
      'Release shop/checkout-2-4-0: promoting: Deployment shop/checkout has no container "web" (its containers: checkout, envoy, migrate)',
    );
  });
});
