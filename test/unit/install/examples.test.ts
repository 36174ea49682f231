import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseStrategyFile, validateRelease, type Release } from "../../../src/api/index.ts";
import { parseObjects, readRepoFile, repoRoot, type KubeObject } from "./objects.ts";

const strategy = parseStrategyFile(readRepoFile("rollout/rollout-strategy.json"));
const examples = readdirSync(join(repoRoot, "manifests/examples"))
  .filter((file) => file.endsWith(".yaml"))
  .flatMap((file) => parseObjects(readRepoFile(`manifests/examples/${file}`), file))
  .filter((object) => object.kind === "Release" || object.kind === "HTTPRoute");
const releases = examples.filter((o) => o.kind === "Release") as (KubeObject & Release)[];

describe("manifests/examples", () => {
  it("has a Release for each change type", () => {
    expect(releases.map((r) => r.spec.changeRequest.type).sort()).toEqual([
      "emergency",
      "expedited",
      "standard",
    ]);
  });

  it.each(releases.map((release) => [release.metadata.name, release] as const))(
    "%s is valid and resolves to its change type's plan",
    (_name, release) => {
      const result = validateRelease(release, strategy);
      expect(result.ok ? [] : result.issues).toEqual([]);
      if (!result.ok) return;
      const preset = strategy.presets[release.spec.strategy ?? release.spec.changeRequest.type];
      expect(result.plan.stages.map((s) => s.weight)).toEqual(preset?.stages.map((s) => s.weight));
    },
  );

  it("routes the example service through the HTTPRoute every example Release names", () => {
    const routes = examples.filter((o) => o.kind === "HTTPRoute") as (KubeObject & {
      spec: { rules: { backendRefs: { name: string }[] }[] };
    })[];
    for (const release of releases) {
      const route = routes.find(
        (r) =>
          r.metadata.name === release.spec.traffic.gatewayAPI?.httpRoute &&
          r.metadata.namespace === release.metadata.namespace,
      );
      expect(route, `HTTPRoute for ${release.metadata.name}`).toBeDefined();
      expect(route?.spec.rules.flatMap((rule) => rule.backendRefs.map((b) => b.name))).toContain(
        release.spec.target.service,
      );
    }
  });
});
