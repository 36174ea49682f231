// The `crd` tier: the generated CRDs on Kubernetes 1.36's apiextensions-apiserver (built by
// scripts/install-infra.sh; see test/harness/crd-server.ts), driven with the real kubectl
// 1.33, as a platform team on a current cluster meets them. The 1.20 tier
// (test/integration/release-crd.test.ts) cannot run CEL: there, the rules below are only
// the controller's zod checks. Here each one must refuse the Release at `kubectl apply`.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, parseAllDocuments, stringify } from "yaml";
import { ensureTools } from "../harness/binaries.ts";
import { httpsGet } from "../harness/control-plane.ts";
import { startCrdServer, type CrdServer } from "../harness/crd-server.ts";
import { createRunDir, ProcessSupervisor, runCommand, type CommandResult } from "../harness/processes.ts";
import { exampleRelease, malformedCases } from "../fixtures/releases.ts";
import { repoRoot } from "../unit/install/objects.ts";

const NAMESPACE = "shop"; // no core API here, so no Namespace objects: any name serves
const RELEASE_CRD = join(repoRoot, "manifests", "crds", "glidepath.dev_releases.yaml");
const crdFiles = readdirSync(join(repoRoot, "manifests", "crds"))
  .filter((name) => name.endsWith(".yaml") && name !== "kustomization.yaml")
  .map((name) => join(repoRoot, "manifests", "crds", name));

let supervisor: ProcessSupervisor;
let server: CrdServer;
let tools: { kubectl: string; helm: string };

function kubectl(args: string[], input?: string): Promise<CommandResult> {
  return runCommand(tools.kubectl, ["--kubeconfig", server.kubeconfigPath, ...args], {
    input,
    allowFailure: true,
  });
}

/** Every `message` of an `x-kubernetes-validations` rule in the Release CRD. */
function declaredCelMessages(): string[] {
  const messages: string[] = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (node === null || typeof node !== "object") return;
    for (const [key, value] of Object.entries(node)) {
      if (key === "x-kubernetes-validations")
        messages.push(...(value as { message: string }[]).map((r) => r.message));
      else walk(value);
    }
  };
  walk(parse(readFileSync(RELEASE_CRD, "utf8")));
  return messages;
}

function releaseNamed(name: string) {
  const release = exampleRelease();
  release.metadata = { name, namespace: NAMESPACE };
  return release;
}

beforeAll(async () => {
  supervisor = new ProcessSupervisor(createRunDir("crd"));
  [server, tools] = await Promise.all([startCrdServer(supervisor), ensureTools()]);
  console.log(`[crd] apiextensions-apiserver ${server.gitVersion} on etcd ${server.etcdVersion}`);
}, 300_000);

afterAll(async () => {
  await supervisor?.stopAll();
});

describe("the generated CRDs on Kubernetes 1.36", () => {
  it("run on apiextensions-apiserver 1.36, which answers only clients with a certificate", async () => {
    expect(server.gitVersion).toMatch(/^v1\.36\./);
    const anonymous = await httpsGet(`${server.url}/apis`, { rejectUnauthorized: false });
    expect(anonymous.status).toBe(403);
  });

  it.each(crdFiles)(
    "%s installs with server-side apply (as Helm 4 applies crds/) and is Established",
    async (file) => {
      const applied = await kubectl(["apply", "--server-side", "-f", file]);
      // A rule that does not compile, or whose estimated cost exceeds the budget, refuses the
      // whole CRD here; warnings (cost near the budget, deprecated fields) are printed.
      expect(applied.stderr.trim(), applied.stderr).toBe("");
      expect(applied.code).toBe(0);
      expect(applied.stdout).toMatch(/serverside-applied/);
      const name = (parse(readFileSync(file, "utf8")) as { metadata: { name: string } }).metadata.name;
      const waited = await kubectl(["wait", "--for=condition=Established", "--timeout=60s", `crd/${name}`]);
      expect(waited.code, waited.stderr).toBe(0);
      console.log(
        `[crd] ${name}: accepted by ${server.gitVersion}, no warnings (every CEL rule compiles within the cost budget)`,
      );
    },
  );

  it("refuses a rule over the cost budget at install, so the accepted CRD is not merely unchecked", async () => {
    // The same CRD with the stages' O(n²) rules given 1,000 stages instead of 10: the server
    // estimates every rule's cost from maxItems and refuses. This shows how far the real
    // CRD is from the budget (its stages have maxItems 10).
    const crd = parse(readFileSync(RELEASE_CRD, "utf8"));
    const spec = crd.spec.versions[0].schema.openAPIV3Schema.properties.spec;
    spec.properties.stages.maxItems = 1000;
    crd.metadata.name = "releases.budget.glidepath.dev";
    crd.spec.group = "budget.glidepath.dev";
    const refused = await kubectl(["apply", "--server-side", "--dry-run=server", "-f", "-"], stringify(crd));
    console.log(`[crd] with 1,000 stages: ${refused.stderr.trim()}`);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/cost/i);
  });
});

describe.each(malformedCases.filter((c) => !c.openApiExpresses))(
  "a Release with $name (caught only by zod on 1.20)",
  (malformed) => {
    it(`is refused at kubectl apply by the CEL rule "${malformed.cel}"`, async () => {
      expect(malformed.cel, "each CEL-only case names the CRD's message").toBeDefined();
      const release = releaseNamed(`cel-${malformedCases.indexOf(malformed)}`);
      malformed.mutate(release.spec as Record<string, unknown>);
      const applied = await kubectl(["apply", "-f", "-"], stringify(release));
      expect(applied.code, applied.stdout).not.toBe(0);
      expect(applied.stderr).toContain(`${malformed.cel}`);
      expect(declaredCelMessages(), "the message is one the CRD declares").toContain(malformed.cel);
    });
  },
);

describe.each(malformedCases.filter((c) => c.openApiExpresses))(
  "a Release with $name (refused by OpenAPI on 1.20 too)",
  (malformed) => {
    it(`is refused at kubectl apply, naming ${malformed.path}`, async () => {
      const release = releaseNamed(`openapi-${malformedCases.indexOf(malformed)}`);
      malformed.mutate(release.spec as Record<string, unknown>);
      const applied = await kubectl(["apply", "-f", "-"], stringify(release));
      expect(applied.code, applied.stdout).not.toBe(0);
      // 1.36 names the field with its list indices ("spec.stages[0].weight").
      expect(applied.stderr).toContain(malformed.path.slice(2));
    });
  },
);

describe("a valid Release", () => {
  const name = "checkout-2-4-0";

  it("is accepted with kubectl apply --server-side", async () => {
    const applied = await kubectl(["apply", "--server-side", "-f", "-"], stringify(releaseNamed(name)));
    expect(applied.stderr).toBe("");
    expect(applied.stdout.trim()).toBe(`release.glidepath.dev/${name} serverside-applied`);
  });

  it("is accepted as blue/green on each router with a preview Service (issue 17.1)", async () => {
    for (const [index, traffic] of [
      { gatewayAPI: { httpRoute: "checkout" } },
      { nginx: { ingress: "checkout" } },
    ].entries()) {
      const release = releaseNamed(`checkout-blue-green-${index}`);
      const spec = release.spec as Record<string, unknown>;
      delete spec.strategy;
      spec.traffic = traffic;
      spec.blueGreen = { preview: "5m", scaleDownDelay: "10m", requiresApproval: true };
      const applied = await kubectl(["apply", "--server-side", "-f", "-"], stringify(release));
      expect(applied.stderr).toBe("");
      expect(applied.stdout.trim()).toBe(
        `release.glidepath.dev/checkout-blue-green-${index} serverside-applied`,
      );
    }
  });

  it("takes its status only through the status subresource", async () => {
    const currentStage = { index: 0, name: "canary", weight: 1, startedAt: "2026-12-06T14:00:00Z" };
    const status = { status: { phase: "Progressing", currentStage } };
    const ignored = await kubectl([
      "patch",
      "release",
      name,
      "-n",
      NAMESPACE,
      "--type=merge",
      "-p",
      JSON.stringify({ status: { phase: "Succeeded" } }),
    ]);
    expect(ignored.code, ignored.stderr).toBe(0);
    const patched = await kubectl([
      "patch",
      "release",
      name,
      "-n",
      NAMESPACE,
      "--subresource=status",
      "--type=merge",
      "-p",
      JSON.stringify(status),
    ]);
    expect(patched.code, patched.stderr).toBe(0);
    const stored = JSON.parse(
      (await kubectl(["get", "release", name, "-n", NAMESPACE, "-o", "json"])).stdout,
    );
    expect(stored.status.phase).toBe("Progressing");
    expect(stored.status.currentStage).toEqual(currentStage);
  });

  it("shows the printer columns", async () => {
    const table = await kubectl(["get", "release", name, "-n", NAMESPACE]);
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
    expect(row?.split(/\s+/).slice(0, 7)).toEqual([
      name,
      "checkout",
      "2.4.0",
      "Progressing",
      "canary",
      "1",
      "CHG-1042",
    ]);
  });

  it("is explained by kubectl explain release.spec", async () => {
    const explained = await kubectl(["explain", "release.spec"]);
    expect(explained.code, explained.stderr).toBe(0);
    expect(explained.stdout).toContain("GROUP:      glidepath.dev");
    for (const field of ["changeRequest", "stages", "traffic", "target", "version"]) {
      expect(explained.stdout).toMatch(new RegExp(`^  ${field}\\s`, "m"));
    }
    const hold = await kubectl(["explain", "release.spec.stages.hold"]);
    expect(hold.stdout).toContain("At most 720h.");
  });
});

describe("the Helm chart's CRDs, with and without CEL", () => {
  const chart = join(repoRoot, "helm", "glidepath");
  type Crd = { kind?: string; spec?: unknown; metadata: { name: string } };
  const crdsOf = (yaml: string): Crd[] =>
    parseAllDocuments(yaml)
      .map((document) => document.toJS() as Crd | null)
      .filter((object): object is Crd => object?.kind === "CustomResourceDefinition")
      .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
  const generated = (): Crd[] =>
    crdFiles
      .map((file) => parse(readFileSync(file, "utf8")) as Crd)
      .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
  const specWithoutCel = (crd: Crd): string =>
    JSON.stringify(crd.spec, (key, value: unknown) =>
      key === "x-kubernetes-validations" ? undefined : value,
    );

  it("renders the generated CRDs, CEL rules and all, from crds/ by default", async () => {
    const rendered = await runCommand(tools.helm, ["template", "glidepath", chart, "--include-crds"]);
    const crds = crdsOf(rendered.stdout);
    expect(crds.map((crd) => JSON.stringify(crd.spec))).toEqual(
      generated().map((crd) => JSON.stringify(crd.spec)),
    );
    expect(JSON.stringify(crds)).toContain("x-kubernetes-validations");
  });

  it("renders every CRD without CEL for 1.24 with crd.withoutCel, the same schema otherwise", async () => {
    const rendered = await runCommand(tools.helm, [
      "template",
      "glidepath",
      chart,
      "--kube-version",
      "1.24.0",
      "--set",
      "crd.withoutCel=true",
    ]);
    const crds = crdsOf(rendered.stdout);
    expect(JSON.stringify(crds)).not.toContain("x-kubernetes-validations");
    expect(crds.map((crd) => crd.metadata.name)).toEqual(generated().map((crd) => crd.metadata.name));
    expect(crds.map(specWithoutCel)).toEqual(generated().map(specWithoutCel));
  });

  it("refuses the CEL-free variant on 1.25 and later", async () => {
    const rendered = await runCommand(
      tools.helm,
      ["template", "glidepath", chart, "--kube-version", "1.25.0", "--set", "crd.withoutCel=true"],
      { allowFailure: true },
    );
    expect(rendered.code).not.toBe(0);
    expect(rendered.stderr).toContain("crd.withoutCel is for Kubernetes 1.20-1.24");
  });
});
