import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { validateRelease } from "../../src/api/index.ts";
import { loadStrategyFile } from "../../src/config/index.ts";
import { createNamespace, deleteNamespace, kubeClients, kubectl, mergePatch } from "../harness/context.ts";
import { exampleRelease, malformedCases } from "../fixtures/releases.ts";

const group = "glidepath.dev";
const version = "v1alpha1";
const plural = "releases";
const strategy = await loadStrategyFile("rollout/rollout-strategy.json");
const { custom, extensions } = kubeClients();
let namespace: string;

beforeAll(async () => {
  namespace = await createNamespace("crd");
});
afterAll(async () => {
  await deleteNamespace(namespace);
});

function releaseNamed(name: string) {
  const release = exampleRelease();
  release.metadata = { name, namespace };
  return release;
}

function apiErrorMessage(error: unknown): string {
  const body = (error as { body?: unknown }).body;
  const parsed = typeof body === "string" ? JSON.parse(body) : body;
  return (parsed as { message?: string })?.message ?? String(error);
}

describe("the generated Release CRD on a real API server", () => {
  it("is Established", async () => {
    const crd = await extensions.readCustomResourceDefinition({ name: `${plural}.${group}` });
    const established = crd.status?.conditions?.find((c) => c.type === "Established");
    expect(established?.status).toBe("True");
  });

  it("takes the example with kubectl and shows the printer columns", async () => {
    const release = releaseNamed("checkout-2-4-0");
    const applied = await kubectl(["apply", "-f", "-"], { input: stringify(release) });
    expect(applied.stdout).toContain("release.glidepath.dev/checkout-2-4-0 created");

    const table = await kubectl(["get", "releases", "-n", namespace]);
    const [header, row] = table.stdout.trim().split("\n");
    expect(header?.split(/\s+/)).toEqual([
      "NAME",
      "TARGET",
      "VERSION",
      "PHASE",
      "STAGE",
      "WEIGHT",
      "CHANGE",
      "AGE",
    ]);
    expect(row?.split(/\s+/).slice(0, 3)).toEqual(["checkout-2-4-0", "checkout", "2.4.0"]);
    expect(row).toContain("CHG-1042");

    const byShortName = await kubectl(["get", "rel", "-n", namespace, "-o", "name"]);
    expect(byShortName.stdout.trim()).toBe("release.glidepath.dev/checkout-2-4-0");
    const byCategory = await kubectl(["get", "glidepath", "-n", namespace, "-o", "name"]);
    expect(byCategory.stdout.trim()).toBe("release.glidepath.dev/checkout-2-4-0");
  });

  it("applies the schema's defaults, which the controller's zod schema accepts as they are", async () => {
    const release = releaseNamed("defaults");
    delete release.spec.changeRequest.requiresApproval;
    await custom.createNamespacedCustomObject({ group, version, namespace, plural, body: release });
    const stored = await custom.getNamespacedCustomObject({
      group,
      version,
      namespace,
      plural,
      name: "defaults",
    });
    expect(stored.spec.changeRequest.requiresApproval).toBe(false);
    expect(validateRelease(stored, strategy).ok).toBe(true);
  });

  describe.each(malformedCases)("a Release with $name", (malformed) => {
    it(
      malformed.openApiExpresses
        ? `is rejected by the API server at ${malformed.path}`
        : `is rejected by the controller's validation at ${malformed.path}`,
      async () => {
        const name = `bad-${malformedCases.indexOf(malformed)}`;
        const release = releaseNamed(name);
        malformed.mutate(release.spec as Record<string, unknown>);
        const created = custom.createNamespacedCustomObject({
          group,
          version,
          namespace,
          plural,
          body: release,
        });
        if (malformed.openApiExpresses) {
          const error = await created.then(
            () => new Error("the API server accepted it"),
            (rejection: unknown) => rejection,
          );
          expect((error as { code?: number }).code).toBe(422);
          // The 1.20 API server names the field without the "$." root and without list indices.
          expect(apiErrorMessage(error)).toContain(malformed.path.slice(2).replace(/\[\d+\]/g, ""));
          return;
        }
        // The 1.20 API server cannot run the CEL twin of this rule; the controller's zod check does.
        await created;
        const stored = await custom.getNamespacedCustomObject({ group, version, namespace, plural, name });
        const result = validateRelease(stored, strategy);
        expect(result.ok).toBe(false);
        const issue = result.ok ? undefined : result.issues.find((i) => i.path === malformed.path);
        expect(issue?.message).toMatch(malformed.message);
      },
    );
  });

  it("rejects at least twelve malformed Releases in all", () => {
    expect(malformedCases.length).toBeGreaterThanOrEqual(12);
    expect(malformedCases.filter((c) => c.openApiExpresses).length).toBeGreaterThanOrEqual(6);
  });

  describe("status", () => {
    const name = "status-owner";

    beforeAll(async () => {
      await custom.createNamespacedCustomObject({
        group,
        version,
        namespace,
        plural,
        body: releaseNamed(name),
      });
    });

    it("is not changed through the main resource", async () => {
      await custom.patchNamespacedCustomObject(
        { group, version, namespace, plural, name, body: { status: { phase: "Succeeded" } } },
        mergePatch,
      );
      const stored = await custom.getNamespacedCustomObject({ group, version, namespace, plural, name });
      expect(stored.status?.phase).toBeUndefined();
    });

    it("is written through the status subresource", async () => {
      await custom.patchNamespacedCustomObjectStatus(
        { group, version, namespace, plural, name, body: { status: { phase: "Progressing" } } },
        mergePatch,
      );
      const stored = await custom.getNamespacedCustomObject({ group, version, namespace, plural, name });
      expect(stored.status.phase).toBe("Progressing");
    });

    it("is held to the schema too", async () => {
      const error = await custom
        .patchNamespacedCustomObjectStatus(
          { group, version, namespace, plural, name, body: { status: { phase: "Exploded" } } },
          mergePatch,
        )
        .then(
          () => new Error("accepted"),
          (rejection: unknown) => rejection,
        );
      expect((error as { code?: number }).code).toBe(422);
      expect(apiErrorMessage(error)).toContain("status.phase");
    });
  });
});
