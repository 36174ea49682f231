// Reading the install artefacts as Kubernetes objects: the plain manifests (as kustomize
// would assemble them, without running it), Helm's rendered output, the Dockerfile's entry
// point. Shared by the unit tests here and test/integration/{helm,manifests}.test.ts.
import { readFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { parse as parseYaml, parseAllDocuments } from "yaml";

export const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));

/** The fields the tests look at; everything else stays reachable through the index signature. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  [field: string]: unknown;
}

export function readRepoFile(path: string): string {
  return readFileSync(join(repoRoot, path), "utf8");
}

/**
 * Every object in a multi-document YAML text (empty documents, e.g. a lone comment, skipped).
 * YAML 1.1, as Kubernetes reads it: `defaultMode: 0440` is octal.
 */
export function parseObjects(text: string, source = "YAML"): KubeObject[] {
  return parseAllDocuments(text, { version: "1.1" }).flatMap((document) => {
    if (document.errors.length > 0) throw new Error(`${source}: ${document.errors[0]?.message}`);
    const object = document.toJS() as KubeObject | null;
    return object?.kind ? [object] : [];
  });
}

export function findObject(objects: KubeObject[], kind: string, name?: string): KubeObject {
  const found = objects.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  if (found.length !== 1) {
    const all = objects.map((o) => `${o.kind}/${o.metadata.name}`).join(", ");
    throw new Error(`expected one ${kind}${name ? ` ${name}` : ""}, found ${found.length} among: ${all}`);
  }
  return found[0] as KubeObject;
}

interface Kustomization {
  resources?: string[];
}

/** The files a kustomization folder lists, recursively through folder resources, repo-relative. */
export function kustomizationFiles(folder: string): string[] {
  const kustomization = parseYaml(readRepoFile(join(folder, "kustomization.yaml"))) as Kustomization;
  return (kustomization.resources ?? []).flatMap((resource) => {
    const path = relative(repoRoot, join(repoRoot, folder, resource));
    return resource.endsWith(".yaml") || resource.endsWith(".yml") ? [path] : kustomizationFiles(path);
  });
}

/** The objects of a kustomization folder (plain resources only, which is all manifests/install uses). */
export function kustomizationObjects(folder: string): KubeObject[] {
  return kustomizationFiles(folder).flatMap((file) => parseObjects(readRepoFile(file), file));
}

// ---- the Deployment's pod, typed as far as the tests need ----

export interface ContainerSpec {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  env?: { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[];
  ports?: { name: string; containerPort: number }[];
  livenessProbe?: { httpGet?: { path: string; port: string | number } };
  readinessProbe?: { httpGet?: { path: string; port: string | number } };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: Record<string, unknown>;
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
}

export interface VolumeSpec {
  name: string;
  configMap?: { name: string; items?: { key: string; path: string }[] };
  secret?: { secretName: string; items?: { key: string; path: string }[]; defaultMode?: number };
  emptyDir?: Record<string, unknown>;
}

export interface PodSpec {
  serviceAccountName?: string;
  securityContext?: Record<string, unknown>;
  containers: ContainerSpec[];
  volumes?: VolumeSpec[];
}

export interface DeploymentObject extends KubeObject {
  spec: {
    replicas: number;
    selector: { matchLabels: Record<string, string> };
    template: { metadata: { labels: Record<string, string> }; spec: PodSpec };
  };
}

export function controllerContainer(deployment: KubeObject): ContainerSpec {
  const container = (deployment as DeploymentObject).spec.template.spec.containers[0];
  if (!container) throw new Error(`Deployment ${deployment.metadata.name} has no container`);
  return container;
}

/** Where a file the container reads comes from: the volume mounted over its path, and the key in it. */
export function volumeSourceOf(
  deployment: KubeObject,
  path: string,
): { volume: VolumeSpec; key: string } | undefined {
  const pod = (deployment as DeploymentObject).spec.template.spec;
  const mount = controllerContainer(deployment).volumeMounts?.find((m) => dirname(path) === m.mountPath);
  const volume = pod.volumes?.find((v) => v.name === mount?.name);
  if (!mount || !volume) return undefined;
  const file = path.slice(mount.mountPath.length + 1);
  const items = volume.configMap?.items ?? volume.secret?.items;
  const key = items ? items.find((item) => item.path === file)?.key : file;
  return key === undefined ? undefined : { volume, key };
}

/** The Dockerfile's ENTRYPOINT (exec form). */
export function dockerEntrypoint(): string[] {
  const line = readRepoFile("Dockerfile")
    .split("\n")
    .find((l) => l.startsWith("ENTRYPOINT "));
  if (!line) throw new Error("the Dockerfile has no ENTRYPOINT");
  return JSON.parse(line.slice("ENTRYPOINT ".length)) as string[];
}

/** Labels and annotations differ between Helm's output and the plain manifests by design; the rest must not. */
export function withoutMetadataDecorations(object: KubeObject): KubeObject {
  const copy = structuredClone(object) as KubeObject & {
    spec?: { template?: { metadata?: { annotations?: unknown } } };
  };
  delete copy.metadata.labels;
  delete copy.metadata.annotations;
  if (copy.spec?.template?.metadata) delete copy.spec.template.metadata.annotations;
  return copy;
}
