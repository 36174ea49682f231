// The controller's own count of its Kubernetes API requests, by verb, resource and
// answer: what kube-apiserver 1.20's apiserver_request_total cannot say per client, and
// what the scale benchmark used to read from the audit log. The labels stay bounded: the
// resource is its plural (with a subresource), never an object's or a namespace's name.
import { HttpMethod, IsomorphicFetchHttpLibrary, Observable } from "@kubernetes/client-node";
import type { HttpLibrary, RequestContext, ResponseContext } from "@kubernetes/client-node";

export interface KubeRequestLabels {
  /** Kubernetes' verb: get, list, create, update, patch, delete, deletecollection. */
  verb: string;
  /** The resource's plural, with its subresource: "pods", "releases/status". */
  resource: string;
  /** The HTTP status as text, or "error" when no answer came (refused, timed out, aborted). */
  code: string;
}

export type KubeRequestObserver = (request: KubeRequestLabels) => void;

/**
 * The verb and resource of a request to the API server from its method and URL:
 * /api/v1/namespaces/ns/pods → list pods; /apis/g/v/namespaces/ns/releases/r/status (PUT)
 * → update releases/status. A path that is no resource (/version, /apis) is "other".
 */
export function describeKubeRequest(method: string, url: string): Omit<KubeRequestLabels, "code"> {
  let path: string;
  try {
    path = new URL(url).pathname;
  } catch {
    path = url;
  }
  const segments = path.split("/").filter(Boolean);
  // /api/<version>/… or /apis/<group>/<version>/…
  let rest: string[];
  if (segments[0] === "api") rest = segments.slice(2);
  else if (segments[0] === "apis") rest = segments.slice(3);
  else return { verb: method.toLowerCase(), resource: "other" };
  // namespaces/<ns>/<resource>… ; namespaces itself (namespaces or namespaces/<ns>) is a resource.
  if (rest[0] === "namespaces" && rest.length >= 3) rest = rest.slice(2);
  const [resource, name, subresource] = rest;
  if (resource === undefined) return { verb: method.toLowerCase(), resource: "other" };
  const named = name !== undefined;
  return {
    verb: verbOf(method.toUpperCase(), named),
    resource: subresource === undefined ? resource : `${resource}/${subresource}`,
  };
}

function verbOf(method: string, named: boolean): string {
  switch (method) {
    case HttpMethod.GET:
      return named ? "get" : "list";
    case HttpMethod.POST:
      return "create";
    case HttpMethod.PUT:
      return "update";
    case HttpMethod.PATCH:
      return "patch";
    case HttpMethod.DELETE:
      return named ? "delete" : "deletecollection";
    default:
      return method.toLowerCase();
  }
}

/** client-node's HTTP library, telling `observe` of every request once it is answered or failed. */
export function observedHttpLibrary(
  observe: KubeRequestObserver,
  inner: HttpLibrary = new IsomorphicFetchHttpLibrary(),
): HttpLibrary {
  return {
    send(request: RequestContext): Observable<ResponseContext> {
      const described = describeKubeRequest(request.getHttpMethod(), request.getUrl());
      const answered = inner
        .send(request)
        .toPromise()
        .then(
          (response) => {
            observe({ ...described, code: String(response.httpStatusCode) });
            return response;
          },
          (error: unknown) => {
            observe({ ...described, code: "error" });
            throw error;
          },
        );
      return new Observable(answered);
    },
  };
}
