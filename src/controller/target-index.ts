import type { KubernetesObject } from "@kubernetes/client-node";
import type { Release } from "../api/index.ts";
import { canaryDeploymentName } from "../workload/index.ts";

/**
 * Which Releases care about which Deployment ("namespace/name" of the stable and the
 * canary), so a Deployment event wakes exactly those Releases and no scan is needed.
 */
export class TargetIndex {
  readonly #byDeployment = new Map<string, Set<string>>();
  readonly #byRelease = new Map<string, string[]>();

  update(releaseKey: string, release: Release): void {
    this.remove(releaseKey);
    const namespace = release.metadata?.namespace;
    const target = release.spec?.target?.deployment;
    if (!namespace || typeof target !== "string") return;
    const deployments = [`${namespace}/${target}`, `${namespace}/${canaryDeploymentName(target)}`];
    this.#byRelease.set(releaseKey, deployments);
    for (const deployment of deployments) {
      let keys = this.#byDeployment.get(deployment);
      if (!keys) this.#byDeployment.set(deployment, (keys = new Set()));
      keys.add(releaseKey);
    }
  }

  remove(releaseKey: string): void {
    for (const deployment of this.#byRelease.get(releaseKey) ?? []) {
      const keys = this.#byDeployment.get(deployment);
      keys?.delete(releaseKey);
      if (keys?.size === 0) this.#byDeployment.delete(deployment);
    }
    this.#byRelease.delete(releaseKey);
  }

  releasesOf(deployment: KubernetesObject): string[] {
    const key = `${deployment.metadata?.namespace}/${deployment.metadata?.name}`;
    return [...(this.#byDeployment.get(key) ?? [])];
  }
}
