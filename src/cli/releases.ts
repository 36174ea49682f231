// The CLI's access to Releases on the API server: read, list, merge-patch with a
// resourceVersion precondition (retried on conflict), create, and follow one Release
// with the project's resilient informer. API failures become CliErrors a person can act on.
import { PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import { pino } from "pino";
import {
  API_GROUP,
  API_VERSION,
  describeIssues,
  formatIssues,
  RELEASE_RECORD_PLURAL,
  releaseRecordSchema,
  releaseSchema,
  type Release,
  type ReleaseRecord,
} from "../api/index.ts";
import {
  apiStatusCode,
  describeApiError,
  Informer,
  RELEASE_PLURAL,
  resourcePath,
  type KubeClients,
} from "../kube/index.ts";
import { CliError, EXIT } from "./exit-codes.ts";

const mergePatch = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);
const group = API_GROUP;
const version = API_VERSION;
const plural = RELEASE_PLURAL;

export interface ListedReleases {
  releases: Release[];
  /** Objects that are not valid Releases (by name, with why); left out of `releases`. */
  invalid: string[];
}

/** An API failure as a CliError: 404 not found, 409 conflict, anything else failed. */
export function apiFailure(error: unknown, what: string): CliError {
  if (error instanceof CliError) return error;
  const code = apiStatusCode(error);
  const detail = describeApiError(error);
  if (code === 404) return new CliError(EXIT.notFound, `${what}: not found (${detail})`);
  if (code === 409) return new CliError(EXIT.conflict, `${what}: ${detail}`);
  if (code === undefined)
    return new CliError(EXIT.failed, `${what}: cannot reach the Kubernetes API server: ${detail}`);
  return new CliError(EXIT.failed, `${what}: ${detail}`);
}

export function parseRelease(raw: unknown): Release {
  const parsed = releaseSchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const name = (raw as { metadata?: { name?: string } } | undefined)?.metadata?.name ?? "?";
  throw new CliError(
    EXIT.failed,
    `release ${name} is not a valid Release: ${describeIssues(formatIssues(parsed.error))}`,
  );
}

export class ReleaseApi {
  readonly clients: KubeClients;

  constructor(clients: KubeClients) {
    this.clients = clients;
  }

  async get(namespace: string, name: string): Promise<Release> {
    let raw: unknown;
    try {
      raw = await this.clients.customObjects.getNamespacedCustomObject({
        group,
        version,
        plural,
        namespace,
        name,
      });
    } catch (error) {
      if (apiStatusCode(error) === 404)
        throw new CliError(EXIT.notFound, `release ${name} not found in namespace ${namespace}`);
      throw apiFailure(error, `reading release ${namespace}/${name}`);
    }
    return parseRelease(raw);
  }

  /** The Releases of one namespace, or of all without one; only those matching `labelSelector` if given. */
  async list(
    namespace: string | undefined,
    options: { labelSelector?: string } = {},
  ): Promise<ListedReleases> {
    let list: { items?: unknown[] };
    const selector = options.labelSelector === undefined ? {} : { labelSelector: options.labelSelector };
    try {
      list = (await (namespace === undefined
        ? this.clients.customObjects.listClusterCustomObject({ group, version, plural, ...selector })
        : this.clients.customObjects.listNamespacedCustomObject({
            group,
            version,
            plural,
            namespace,
            ...selector,
          }))) as {
        items?: unknown[];
      };
    } catch (error) {
      throw apiFailure(
        error,
        `listing releases${namespace === undefined ? "" : ` in namespace ${namespace}`}`,
      );
    }
    const releases: Release[] = [];
    const invalid: string[] = [];
    for (const item of list.items ?? []) {
      const withKind = { apiVersion: `${group}/${version}`, kind: "Release", ...(item as object) };
      try {
        releases.push(parseRelease(withKind));
      } catch (error) {
        invalid.push((error as Error).message);
      }
    }
    return { releases, invalid };
  }

  /**
   * The ReleaseRecords of one namespace, or of all without one; only those matching
   * `labelSelector` if given. Where the ReleaseRecord CRD is not installed (an older
   * controller), there are none. Records that do not parse are said in `invalid`.
   */
  async records(
    namespace: string | undefined,
    options: { labelSelector?: string; required?: boolean } = {},
  ): Promise<{ records: ReleaseRecord[]; invalid: string[] }> {
    const selector = options.labelSelector === undefined ? {} : { labelSelector: options.labelSelector };
    const where = { group, version, plural: RELEASE_RECORD_PLURAL, ...selector };
    // `required`: the caller has nothing to show without them (dora), so no access is an error.
    let list: { items?: unknown[] };
    try {
      list = (await (namespace === undefined
        ? this.clients.customObjects.listClusterCustomObject(where)
        : this.clients.customObjects.listNamespacedCustomObject({ ...where, namespace }))) as {
        items?: unknown[];
      };
    } catch (error) {
      if (apiStatusCode(error) === 404 && !options.required) return { records: [], invalid: [] };
      // Without the right to read records, the Releases that still exist are still worth showing.
      if (apiStatusCode(error) === 403 && !options.required)
        return {
          records: [],
          invalid: [
            `cannot list release records${namespace === undefined ? "" : ` in namespace ${namespace}`} ` +
              `(${describeApiError(error)}): Releases that are gone are not shown; glidepath-view grants it`,
          ],
        };
      throw apiFailure(
        error,
        `listing release records${namespace === undefined ? "" : ` in namespace ${namespace}`}`,
      );
    }
    const records: ReleaseRecord[] = [];
    const invalid: string[] = [];
    for (const item of list.items ?? []) {
      const parsed = releaseRecordSchema.safeParse({
        apiVersion: `${group}/${version}`,
        kind: "ReleaseRecord",
        ...(item as object),
      });
      if (parsed.success) records.push(parsed.data);
      else
        invalid.push(
          `release record ${(item as { metadata?: { name?: string } }).metadata?.name ?? "?"} is not valid: ${describeIssues(formatIssues(parsed.error))}`,
        );
    }
    return { records, invalid };
  }

  /**
   * Reads the Release, asks `decide` what to send, and sends it as a merge patch that
   * carries the resourceVersion it was decided on; on a conflict (someone wrote in
   * between) it reads and decides again. `decide` returns undefined for "nothing to send".
   */
  async update<T>(
    namespace: string,
    name: string,
    decide: (release: Release) => { patch: object; result: T } | { result: T },
  ): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const release = await this.get(namespace, name);
      const decision = decide(release);
      if (!("patch" in decision)) return decision.result;
      try {
        await this.clients.customObjects.patchNamespacedCustomObject(
          { group, version, plural, namespace, name, body: decision.patch },
          mergePatch,
        );
        return decision.result;
      } catch (error) {
        if (apiStatusCode(error) === 409 && attempt < 5) continue;
        throw apiFailure(error, `updating release ${namespace}/${name}`);
      }
    }
  }

  async create(release: Release): Promise<Release> {
    const namespace = release.metadata.namespace;
    if (!namespace) throw new Error(`release ${release.metadata.name} has no namespace`);
    try {
      return parseRelease(
        await this.clients.customObjects.createNamespacedCustomObject({
          group,
          version,
          plural,
          namespace,
          body: release,
        }),
      );
    } catch (error) {
      throw apiFailure(error, `creating release ${namespace}/${release.metadata.name}`);
    }
  }

  /**
   * Follows one Release (list + watch, re-watched and relisted as needed) and calls
   * `onChange` with each version of it, or undefined once it is deleted. Resolves once
   * the first list answered; call the returned stop() when done.
   */
  async follow(
    namespace: string,
    name: string,
    onChange: (release: Release | undefined) => void,
  ): Promise<{ stop: () => Promise<void> }> {
    const informer = new Informer<{ metadata?: { name?: string } }>({
      kubeConfig: this.clients.kubeConfig,
      path: resourcePath({ group, version, plural }),
      namespace,
      fieldSelector: `metadata.name=${name}`,
      logger: pino({ level: "silent" }),
      watchTimeoutSeconds: 60,
      relistIntervalMs: 60_000,
    });
    informer.on((change) => {
      if (change.type === "deleted") onChange(undefined);
      else {
        try {
          onChange(parseRelease(change.object));
        } catch {
          // A version that does not parse is skipped; the next one will do.
        }
      }
    });
    informer.start();
    try {
      await informer.whenSynced(30_000);
    } catch (error) {
      await informer.stop();
      throw new CliError(EXIT.failed, `watching release ${namespace}/${name}: ${(error as Error).message}`);
    }
    if (informer.list().length === 0) onChange(undefined);
    return { stop: () => informer.stop() };
  }
}
