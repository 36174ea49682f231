import { describe, expect, it } from "vitest";
import { installCopies } from "../../../scripts/sync-install.ts";
import { readRepoFile } from "./objects.ts";

// The chart's crds/ and files/ and the plain install's ConfigMap carry copies of the
// generated CRD, manifests/install/rbac.yaml and rollout/rollout-strategy.json.
describe("the copies in the Helm chart and manifests/install", () => {
  it.each(installCopies())("$path is up to date", (file) => {
    expect(readRepoFile(file.path), `${file.path} is stale: run npm run generate`).toBe(file.content);
  });
});
