// The copies that the Helm chart and the plain install carry of files that live elsewhere:
// the generated CRDs (helm/glidepath/crds/), manifests/install/rbac.yaml (the chart
// takes its rules from files/rbac.yaml), manifests/install/user-roles.yaml (the roles for
// people, rendered as they are) and rollout/rollout-strategy.json (the chart's files/ and
// manifests/install/configmap.yaml). Helm reads only files inside the
// chart, and kubectl apply -k takes no file from outside its folder, so they are copies.
// `npm run generate` runs this after scripts/generate.ts; test/unit/install/copies.test.ts
// fails when a copy is stale.
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { isMap, parseDocument, Scalar } from "yaml";
import { generatedFiles } from "../src/api/generated-files.ts";

const repoRoot = fileURLToPath(new URL("../", import.meta.url));
const CRD_PATHS = [
  "manifests/crds/glidepath.dev_releases.yaml",
  "manifests/crds/glidepath.dev_releaserecords.yaml",
];
const STRATEGY_PATH = "rollout/rollout-strategy.json";
const RBAC_PATH = "manifests/install/rbac.yaml";
const USER_ROLES_PATH = "manifests/install/user-roles.yaml";
export const INSTALL_CONFIGMAP_PATH = "manifests/install/configmap.yaml";

function read(path: string): string {
  return readFileSync(new URL(path, `file://${repoRoot}`), "utf8");
}

/** manifests/install/configmap.yaml with its rollout-strategy.json key set to `strategy`; the rest kept as written. */
export function withStrategy(configMapYaml: string, strategy: string): string {
  const document = parseDocument(configMapYaml);
  const data = document.get("data");
  if (!isMap(data)) throw new Error(`${INSTALL_CONFIGMAP_PATH} has no data map`);
  const value = new Scalar(strategy);
  value.type = Scalar.BLOCK_LITERAL;
  data.set("rollout-strategy.json", value);
  return document.toString({ lineWidth: 0 });
}

/** Every copy, relative to the repository root, with the content it must have. */
export function installCopies(): { path: string; content: string }[] {
  const crds = CRD_PATHS.map((path) => {
    const crd = generatedFiles().find((file) => file.path === path);
    if (!crd) throw new Error(`generatedFiles() no longer writes ${path}`);
    return { path: path.replace("manifests/crds/", "helm/glidepath/crds/"), content: crd.content };
  });
  const strategy = read(STRATEGY_PATH);
  return [
    ...crds,
    { path: "helm/glidepath/files/rollout-strategy.json", content: strategy },
    { path: "helm/glidepath/files/rbac.yaml", content: read(RBAC_PATH) },
    { path: "helm/glidepath/files/user-roles.yaml", content: read(USER_ROLES_PATH) },
    { path: INSTALL_CONFIGMAP_PATH, content: withStrategy(read(INSTALL_CONFIGMAP_PATH), strategy) },
  ];
}

if (import.meta.main) {
  for (const file of installCopies()) {
    writeFileSync(new URL(file.path, `file://${repoRoot}`), file.content);
    console.log(`wrote ${file.path}`);
  }
}
