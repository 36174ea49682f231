import type { KubernetesObject } from "@kubernetes/client-node";
import type { Release } from "../api/index.ts";
import { canaryDeploymentName, canaryIngressName, canaryServiceName } from "../workload/index.ts";

/** The kinds of object a Release depends on, each watched by its own informer. */
export type WatchedKind = "deployment" | "httproute" | "ingress" | "service";

/**
 * Which Releases care about which object: the stable and canary Deployments, the
 * canary Service, the HTTPRoute, the stable and canary Ingress. An event on one of them wakes exactly
 * those Releases, so no scan is needed and a change someone else makes (a weight
 * edited by hand, a Deployment scaled) is noticed at once rather than at the next timer.
 */
export class TargetIndex {
  readonly #byObject = new Map<string, Set<string>>();
  readonly #byRelease = new Map<string, string[]>();

  update(releaseKey: string, release: Release): void {
    this.remove(releaseKey);
    const objects = objectsOf(release);
    this.#byRelease.set(releaseKey, objects);
    for (const object of objects) {
      let keys = this.#byObject.get(object);
      if (!keys) this.#byObject.set(object, (keys = new Set()));
      keys.add(releaseKey);
    }
  }

  remove(releaseKey: string): void {
    for (const object of this.#byRelease.get(releaseKey) ?? []) {
      const keys = this.#byObject.get(object);
      keys?.delete(releaseKey);
      if (keys?.size === 0) this.#byObject.delete(object);
    }
    this.#byRelease.delete(releaseKey);
  }

  /** The Releases of a stable or canary Deployment. */
  releasesOf(deployment: KubernetesObject): string[] {
    return this.releasesWatching("deployment", deployment);
  }

  /** The Releases that depend on this object of this kind. */
  releasesWatching(kind: WatchedKind, object: KubernetesObject): string[] {
    const key = indexKey(kind, object.metadata?.namespace, object.metadata?.name);
    return [...(this.#byObject.get(key) ?? [])];
  }
}

function indexKey(kind: WatchedKind, namespace: string | undefined, name: string | undefined): string {
  return `${kind}:${namespace ?? ""}/${name ?? ""}`;
}

function objectsOf(release: Release): string[] {
  const namespace = release.metadata?.namespace;
  const spec = release.spec as Partial<Release["spec"]> | undefined;
  const target = spec?.target?.deployment;
  if (!namespace || typeof target !== "string") return [];
  const objects = [
    indexKey("deployment", namespace, target),
    indexKey("deployment", namespace, canaryDeploymentName(target)),
  ];
  const service = spec?.target?.service;
  if (typeof service === "string") objects.push(indexKey("service", namespace, canaryServiceName(service)));
  const route = spec?.traffic?.gatewayAPI?.httpRoute;
  if (typeof route === "string") objects.push(indexKey("httproute", namespace, route));
  const ingress = spec?.traffic?.nginx?.ingress;
  if (typeof ingress === "string") {
    objects.push(
      indexKey("ingress", namespace, ingress),
      indexKey("ingress", namespace, canaryIngressName(ingress)),
    );
  }
  return objects;
}
