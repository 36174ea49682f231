import type { AdmissionregistrationV1Api, CoreV1Api } from "@kubernetes/client-node";
import { webhookCoverage, type Coverage, type WebhookEntry } from "../api/webhook-coverage.ts";
import { describeApiError, isNotFound } from "../kube/errors.ts";

// Reads what webhookCoverage decides on: the controller's own MutatingWebhookConfiguration
// and a Release's Namespace, by GET with a short cache. GET (not a watch) because in the
// namespaced install mode RBAC grants `get` on the watched namespaces by name only, and a
// watch cannot be limited that way. A label changed on a namespace counts within ttlMs.

export const COVERAGE_CACHE_TTL_MS = 30_000;
/** A configuration not found is looked for again sooner: it may be about to be installed. */
const ABSENT_TTL_MS = 5_000;

interface Cached<T> {
  value: T;
  at: number;
}

export class WebhookCoverageReader {
  readonly #registration: AdmissionregistrationV1Api;
  readonly #core: CoreV1Api;
  readonly #configurationName: string;
  readonly #ttlMs: number;
  readonly #now: () => number;
  #configuration: Cached<WebhookEntry[] | undefined> | undefined;
  readonly #namespaces = new Map<string, Cached<Record<string, string>>>();

  constructor(options: {
    registration: AdmissionregistrationV1Api;
    core: CoreV1Api;
    configurationName: string;
    ttlMs?: number;
    now?: () => number;
  }) {
    this.#registration = options.registration;
    this.#core = options.core;
    this.#configurationName = options.configurationName;
    this.#ttlMs = options.ttlMs ?? COVERAGE_CACHE_TTL_MS;
    this.#now = options.now ?? (() => performance.now());
  }

  /** Whether the webhook guards writes to Releases of this namespace; a failed read is "not covered" and says why. */
  async coverage(release: { apiVersion?: string; metadata: { namespace?: string } }): Promise<Coverage> {
    const namespace = release.metadata.namespace ?? "";
    const apiVersion = (release.apiVersion ?? "").split("/").pop() ?? "";
    let webhooks: WebhookEntry[] | undefined;
    try {
      webhooks = await this.#readConfiguration();
    } catch (error) {
      return {
        covered: false,
        problem: `could not read the admission webhook configuration ${this.#configurationName} (${describeApiError(error)}), so whether it covers this Release is unknown`,
      };
    }
    let namespaceLabels: Record<string, string> | undefined;
    try {
      namespaceLabels = await this.#readNamespaceLabels(namespace);
    } catch (error) {
      return {
        covered: false,
        problem: `could not read namespace ${namespace} (${describeApiError(error)}), so whether the admission webhook ${this.#configurationName} covers it is unknown`,
      };
    }
    return webhookCoverage({
      configurationName: this.#configurationName,
      webhooks,
      namespace,
      namespaceLabels,
      apiVersion,
    });
  }

  #fresh<T>(cached: Cached<T> | undefined): cached is Cached<T> {
    if (cached === undefined) return false;
    const ttl = cached.value === undefined ? Math.min(ABSENT_TTL_MS, this.#ttlMs) : this.#ttlMs;
    return this.#now() - cached.at < ttl;
  }

  async #readConfiguration(): Promise<WebhookEntry[] | undefined> {
    if (this.#fresh(this.#configuration)) return this.#configuration.value;
    let value: WebhookEntry[] | undefined;
    try {
      const configuration = await this.#registration.readMutatingWebhookConfiguration({
        name: this.#configurationName,
      });
      value = (configuration.webhooks ?? []) as WebhookEntry[];
    } catch (error) {
      if (!isNotFound(error)) throw error;
      value = undefined;
    }
    this.#configuration = { value, at: this.#now() };
    return value;
  }

  async #readNamespaceLabels(namespace: string): Promise<Record<string, string>> {
    const cached = this.#namespaces.get(namespace);
    if (this.#fresh(cached)) return cached.value;
    const read = await this.#core.readNamespace({ name: namespace });
    const value = read.metadata?.labels ?? {};
    this.#namespaces.set(namespace, { value, at: this.#now() });
    return value;
  }
}
