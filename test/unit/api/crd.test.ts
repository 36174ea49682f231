import { readFileSync } from "node:fs";
import { Ajv } from "ajv";
import addFormats from "ajv-formats";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  DURATION_LIMITS,
  parseDuration,
  releaseCrd,
  releaseSchema,
  validateRelease,
} from "../../../src/api/index.ts";
import { loadStrategyFile } from "../../../src/config/index.ts";
import { generatedFiles } from "../../../src/api/generated-files.ts";
import { exampleRelease, malformedCases, type LooseSpec } from "../../fixtures/releases.ts";

type Schema = Record<string, unknown>;
const crd = releaseCrd() as {
  spec: {
    names: Record<string, unknown>;
    versions: {
      subresources: unknown;
      additionalPrinterColumns: { name: string }[];
      schema: { openAPIV3Schema: Schema };
    }[];
  };
};
const version = crd.spec.versions[0]!;
const openApi = version.schema.openAPIV3Schema;
const strategy = await loadStrategyFile("rollout/rollout-strategy.json");

// The API server's OpenAPI checks, reproduced with a JSON Schema validator: the
// Kubernetes extensions are unknown keywords to it, which non-strict mode skips.
const ajv = new Ajv({ strict: false, allErrors: true });
addFormats.default(ajv);
const openApiAccepts = ajv.compile(openApi);

describe("the generated files", () => {
  it.each(generatedFiles())("$path is what `npm run generate` writes", (file) => {
    const committed = readFileSync(file.path, "utf8");
    expect(committed, `${file.path} is stale: run npm run generate`).toBe(file.content);
  });
});

describe("the Release CRD", () => {
  it("has the names, columns and status subresource kubectl users expect", () => {
    expect(crd.spec.names).toMatchObject({
      kind: "Release",
      plural: "releases",
      shortNames: ["rel"],
      categories: ["glidepath"],
    });
    expect(version.subresources).toEqual({ status: {} });
    expect(version.additionalPrinterColumns.map((c) => c.name.toUpperCase())).toEqual([
      "TARGET",
      "VERSION",
      "PHASE",
      "STAGE",
      "WEIGHT",
      "CHANGE",
      "AGE",
    ]);
  });

  it("is structural: every node has a type, no refs, no closed objects, no unsupported keywords", () => {
    const problems: string[] = [];
    const walk = (node: Schema, path: string) => {
      if (!("type" in node) && !("x-kubernetes-preserve-unknown-fields" in node))
        problems.push(`${path}: no type`);
      for (const banned of ["$ref", "anyOf", "oneOf", "allOf", "not", "propertyNames", "const", "$schema"]) {
        if (banned in node) problems.push(`${path}: ${banned}`);
      }
      if (node.additionalProperties === false) problems.push(`${path}: additionalProperties false`);
      if (node.properties && node.additionalProperties)
        problems.push(`${path}: properties with additionalProperties`);
      for (const [key, child] of Object.entries((node.properties ?? {}) as Record<string, Schema>)) {
        walk(child, `${path}.${key}`);
      }
      if (node.items) walk(node.items as Schema, `${path}[]`);
      if (typeof node.additionalProperties === "object")
        walk(node.additionalProperties as Schema, `${path}{}`);
    };
    walk(openApi, "$");
    expect(problems).toEqual([]);
  });

  it("carries the cross-field rules as CEL for API servers that run it", () => {
    const text = JSON.stringify(openApi);
    for (const rule of [
      "self.type != 'emergency' || has(self.rollbackPlan)",
      "!(has(self.strategy) && has(self.stages))",
      "self[size(self) - 1].weight == 100",
      "has(self.template) != has(self.query)",
      "!has(self.canaryScale) || !has(self.traffic.replicas)",
    ]) {
      expect(text).toContain(JSON.stringify(rule).slice(1, -1));
    }
  });

  it("accepts the example", () => {
    expect(openApiAccepts(exampleRelease()), JSON.stringify(openApiAccepts.errors)).toBe(true);
  });

  describe.each(malformedCases.filter((c) => c.openApiExpresses))(
    "rejects $name in OpenAPI too",
    (malformed) => {
      it(malformed.path, () => {
        const release = exampleRelease();
        malformed.mutate(release.spec as Record<string, unknown>);
        expect(openApiAccepts(release)).toBe(false);
      });
    },
  );
});

// Random Releases built from the rules: valid ones must pass both validators;
// ones broken in a way OpenAPI expresses must fail both.
const dnsLabel = fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,20}[a-z0-9])?$/);
const duration = fc
  .array(fc.tuple(fc.integer({ min: 0, max: 999 }), fc.constantFrom("ms", "s", "m", "h")), {
    minLength: 1,
    maxLength: 3,
  })
  .map((parts) => parts.map(([n, unit]) => `${n}${unit}`).join(""));
const durationWithin = (limits: { min?: string; max: string }) =>
  duration.filter((text) => {
    const ms = parseDuration(text);
    return ms <= parseDuration(limits.max) && ms >= parseDuration(limits.min ?? "0s");
  });
const stages = fc
  .uniqueArray(fc.integer({ min: 1, max: 99 }), { maxLength: 5 })
  .map((weights) => [...weights.sort((a, b) => a - b), 100])
  .chain((weights) =>
    fc.tuple(
      ...weights.map((weight, index) =>
        durationWithin(DURATION_LIMITS.hold).map((hold) => ({ name: `stage-${index}`, weight, hold })),
      ),
    ),
  );
const threshold = fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 });
const metric = fc
  .record({
    name: dnsLabel,
    template: fc.constantFrom("http-error-ratio", "gateway-latency-p99"),
    max: threshold,
    failureLimit: fc.integer({ min: 0, max: 100 }),
    onInconclusive: fc.constantFrom("pause", "fail"),
  })
  .map((m) => m);
const validRelease = fc
  .record({
    deployment: dnsLabel,
    version: fc.stringMatching(/^[A-Za-z0-9]([-A-Za-z0-9_.]{0,30}[A-Za-z0-9])?$/),
    container: dnsLabel,
    stages,
    metrics: fc.uniqueArray(metric, { maxLength: 3, selector: (m) => m.name }),
    interval: durationWithin(DURATION_LIMITS.analysisInterval),
    type: fc.constantFrom("standard", "expedited", "emergency"),
    risk: fc.constantFrom("low", "medium", "high"),
  })
  .map((r) => {
    const release = exampleRelease();
    const spec = release.spec as LooseSpec;
    spec.target.deployment = r.deployment;
    spec.version = r.version;
    spec.images = { [r.container]: `registry.example.com/${r.container}:${r.version}` };
    delete spec.strategy;
    spec.stages = r.stages;
    spec.analysis.metrics = r.metrics;
    spec.analysis.interval = r.interval;
    spec.changeRequest.type = r.type;
    spec.changeRequest.risk = r.risk;
    return release;
  });

describe("OpenAPI and zod agree", () => {
  it("on random valid Releases", () => {
    fc.assert(
      fc.property(validRelease, (release) => {
        const zodResult = validateRelease(release, strategy);
        expect(zodResult.ok ? [] : zodResult.issues).toEqual([]);
        expect(openApiAccepts(release), JSON.stringify(openApiAccepts.errors)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  const breakages: [string, (spec: LooseSpec) => void][] = [
    ["an upper-case deployment", (s) => (s.target.deployment = s.target.deployment.toUpperCase() + "X")],
    ["a weight over 100", (s) => (s.stages.at(-1).weight = 101)],
    [
      "a negative failure limit",
      (s) => s.analysis.metrics.length && (s.analysis.metrics[0].failureLimit = -1),
    ],
    ["a duration without unit", (s) => (s.analysis.interval = s.analysis.interval.replace(/[a-z]+$/, ""))],
    ["an unknown change type", (s) => (s.changeRequest.type = "urgent")],
    ["a missing service", (s) => delete s.target.service],
    ["no images", (s) => (s.images = {})],
    ["a string for a weight", (s) => (s.stages[0].weight = String(s.stages[0].weight))],
  ];

  it("on random Releases broken in a way OpenAPI expresses", () => {
    fc.assert(
      fc.property(validRelease, fc.constantFrom(...breakages), (release, [, breakIt]) => {
        const before = JSON.stringify(release);
        breakIt(release.spec as Record<string, unknown>);
        fc.pre(JSON.stringify(release) !== before);
        expect(releaseSchema.safeParse(release).success).toBe(false);
        expect(openApiAccepts(release)).toBe(false);
      }),
      { numRuns: 300 },
    );
  });
});
