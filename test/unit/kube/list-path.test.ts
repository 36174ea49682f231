import { describe, expect, it } from "vitest";
import { API_GROUP, API_VERSION } from "../../../src/api/release.ts";
import { collectionPath, resourcePath } from "../../../src/kube/list.ts";

describe("resource paths", () => {
  it("put the core group under /api and every other group under /apis", () => {
    expect(resourcePath({ group: "", version: "v1", plural: "configmaps" })).toBe("/api/v1/configmaps");
    expect(resourcePath({ group: "apps", version: "v1", plural: "deployments" })).toBe(
      "/apis/apps/v1/deployments",
    );
    expect(resourcePath({ group: API_GROUP, version: API_VERSION, plural: "releases" })).toBe(
      "/apis/glidepath.dev/v1alpha1/releases",
    );
  });

  it("scope a collection to a namespace, or leave it across all namespaces", () => {
    expect(collectionPath("/api/v1/configmaps", "team-a")).toBe("/api/v1/namespaces/team-a/configmaps");
    expect(collectionPath("/apis/glidepath.dev/v1alpha1/releases", "team-a")).toBe(
      "/apis/glidepath.dev/v1alpha1/namespaces/team-a/releases",
    );
    expect(collectionPath("/apis/apps/v1/deployments")).toBe("/apis/apps/v1/deployments");
  });

  it.each([
    "/apis/apps/v1/namespaces/team-a/deployments",
    "apis/apps/v1/deployments",
    "/apis/apps/v1",
    "/api/v1/configmaps/",
    "/apis/apps/v1/deployments?watch=1",
  ])("rejects %j, which is not a collection path", (path) => {
    expect(() => collectionPath(path, "team-a")).toThrow(/resource path must look like/);
  });
});
