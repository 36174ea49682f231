// A paged LIST of any collection by URL path, built-in kinds and custom resources
// alike. client-node's typed list calls need one function per kind; the informer
// needs one that takes a path, as Watch does.
import {
  ApiException,
  HttpMethod,
  IsomorphicFetchHttpLibrary,
  RequestContext,
} from "@kubernetes/client-node";
import type { KubeConfig, KubernetesListObject, KubernetesObject } from "@kubernetes/client-node";

export interface ResourceRef {
  /** "" for the core group. */
  group: string;
  version: string;
  /** Lower-case plural, e.g. "deployments", "releases". */
  plural: string;
}

/** /api/v1/pods, /apis/apps/v1/deployments, /apis/glidepath.dev/v1alpha1/releases. */
export function resourcePath(resource: ResourceRef): string {
  return resource.group === ""
    ? `/api/${resource.version}/${resource.plural}`
    : `/apis/${resource.group}/${resource.version}/${resource.plural}`;
}

const RESOURCE_PATH = /^\/(api\/[a-z0-9]+|apis\/[a-z0-9.-]+\/[a-z0-9]+)\/([a-z0-9.-]+)$/;

/** The collection's path in one namespace, or across all namespaces without one. */
export function collectionPath(path: string, namespace?: string): string {
  const match = RESOURCE_PATH.exec(path);
  if (!match) {
    throw new Error(
      `resource path must look like /api/v1/<plural> or /apis/<group>/<version>/<plural>, not "${path}"`,
    );
  }
  return namespace ? `/${match[1]}/namespaces/${encodeURIComponent(namespace)}/${match[2]}` : path;
}

export interface ListCollectionOptions {
  labelSelector?: string;
  fieldSelector?: string;
  /** Objects per page (LIST with limit/continue). Default 500. */
  pageSize?: number;
  signal?: AbortSignal;
}

export interface ListedCollection<T> {
  items: T[];
  /** The snapshot's resourceVersion: where a watch continues from. */
  resourceVersion: string;
}

/**
 * Lists every object of a collection, page by page, from one consistent snapshot.
 * List items come without apiVersion/kind; they are filled in from the list so that
 * listed and watched objects look alike. Failures throw ApiException, like typed calls.
 */
export async function listCollection<T extends KubernetesObject>(
  kubeConfig: KubeConfig,
  path: string,
  options: ListCollectionOptions = {},
): Promise<ListedCollection<T>> {
  const items: T[] = [];
  let resourceVersion = "";
  let continueToken: string | undefined;
  do {
    const page = await getJson<KubernetesListObject<T>>(
      kubeConfig,
      path,
      {
        limit: String(options.pageSize ?? 500),
        continue: continueToken,
        labelSelector: options.labelSelector,
        fieldSelector: options.fieldSelector,
      },
      options.signal,
    );
    const itemKind = page.kind?.endsWith("List") ? page.kind.slice(0, -"List".length) : undefined;
    for (const item of page.items ?? []) {
      item.apiVersion ??= page.apiVersion;
      item.kind ??= itemKind;
      items.push(item);
    }
    resourceVersion ||= page.metadata?.resourceVersion ?? "";
    // Raw JSON: "continue", which client-node's V1ListMeta type calls "_continue".
    continueToken = (page.metadata as { continue?: string } | undefined)?.continue || undefined;
  } while (continueToken);
  if (!resourceVersion) throw new Error(`list ${path} answered without a resourceVersion`);
  return { items, resourceVersion };
}

async function getJson<T>(
  kubeConfig: KubeConfig,
  path: string,
  query: Record<string, string | undefined>,
  signal: AbortSignal | undefined,
): Promise<T> {
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster)
    throw new Error(`no current cluster in the kubeconfig (context "${kubeConfig.currentContext}")`);
  const url = new URL(cluster.server.replace(/\/+$/, "") + path);
  for (const [name, value] of Object.entries(query)) {
    if (value !== undefined) url.searchParams.set(name, value);
  }
  const request = new RequestContext(url.toString(), HttpMethod.GET);
  request.setHeaderParam("Accept", "application/json");
  await kubeConfig.applySecurityAuthentication(request);
  if (signal) request.setSignal(signal);
  const response = await new IsomorphicFetchHttpLibrary().send(request).toPromise();
  const text = await response.body.text();
  if (response.httpStatusCode < 200 || response.httpStatusCode > 299) {
    throw new ApiException(response.httpStatusCode, `GET ${path}`, text, response.headers);
  }
  return JSON.parse(text) as T;
}
