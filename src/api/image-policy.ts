import { z } from "zod";

// The optional image policy: rollout-strategy.json's `allowedImages`, globally and per
// preset. A Release's images must each satisfy every list that applies to it (the global
// one, its change type's preset's, the preset of its stages). Pure: the admission webhook
// refuses with it, and the engine re-checks with it (the webhook may be off or bypassed).
//
// Image references are read the way Docker and the kubelet read them
// (github.com/distribution/reference): a first path segment holding a "." or a ":", or
// "localhost", is the registry; otherwise the registry is docker.io, and a single-segment
// name is an official image under library/. So "nginx" is docker.io/library/nginx.
// The policy says where images come from: a tag or a digest is never part of the match.

/** An image reference split the way the container runtime reads it. */
export interface ImageReference {
  /** Lower-case host, with its port: "registry.example.com:5000"; "docker.io" for Docker Hub. */
  registry: string;
  /** The path under the registry: "team/app", "library/nginx". */
  path: string;
  /** registry/path: what the policy matches. */
  name: string;
  tag?: string;
  digest?: string;
}

const DOMAIN_COMPONENT = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const DOMAIN = new RegExp(`^${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*(?::[0-9]+)?$`);
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^\w[\w.-]{0,127}$/;
const DIGEST = /^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9A-Fa-f]{32,}$/;
const NAME_MAX = 255;
const DOCKER_HUB = "docker.io";

/** Docker Hub's other spelling, which Docker normalises to docker.io. */
function normaliseRegistry(host: string): string {
  const lower = host.toLowerCase();
  return lower === "index.docker.io" ? DOCKER_HUB : lower;
}

/** Whether a reference's first segment names a registry rather than a Docker Hub user. */
function isRegistryHost(segment: string): boolean {
  return (
    segment.includes(".") ||
    segment.includes(":") ||
    segment === "localhost" ||
    segment !== segment.toLowerCase()
  );
}

/** The reference split and normalised, or why it is not an image reference. */
export function parseImageReference(
  image: string,
): { ok: true; reference: ImageReference } | { ok: false; problem: string } {
  let rest = image;
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) return { ok: false, problem: `"@${digest}" is not a digest (algorithm:hex)` };
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(":");
  if (colon > rest.lastIndexOf("/")) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) return { ok: false, problem: `":${tag}" is not a tag` };
  }
  const segments = rest.split("/");
  const first = segments[0] ?? "";
  let registry = DOCKER_HUB;
  if (segments.length > 1 && isRegistryHost(first)) {
    if (!DOMAIN.test(first)) return { ok: false, problem: `"${first}" is not a registry host` };
    registry = normaliseRegistry(first);
    segments.shift();
  }
  // Docker Hub's official images: "nginx" and "docker.io/nginx" are docker.io/library/nginx.
  if (registry === DOCKER_HUB && segments.length === 1) segments.unshift("library");
  const bad = segments.find((segment) => !PATH_COMPONENT.test(segment));
  if (bad !== undefined)
    return {
      ok: false,
      problem: `"${bad}" is not a repository path segment (lower-case letters and digits, joined by ".", "_", "__" or "-")`,
    };
  const path = segments.join("/");
  const name = `${registry}/${path}`;
  if (name.length > NAME_MAX)
    return { ok: false, problem: `the repository name is longer than ${NAME_MAX} characters` };
  return {
    ok: true,
    reference: {
      registry,
      path,
      name,
      ...(tag === undefined ? {} : { tag }),
      ...(digest === undefined ? {} : { digest }),
    },
  };
}

// ---- entries of allowedImages ----

/**
 * Whether the normalised repository `name` (registry/path, no tag or digest) matches one
 * entry. Without a wildcard an entry is a registry or repository and everything below it,
 * in whole path segments ("registry.example.com/team" admits team and team/app, never
 * team-evil/x). With one, the pattern matches the whole name: "*" within one segment,
 * "**" across segments. A trailing "/" means "anything below".
 */
export function matchesAllowedImage(name: string, entry: string): boolean {
  const slash = entry.indexOf("/");
  const host = normaliseRegistry(slash < 0 ? entry : entry.slice(0, slash));
  const normalised = slash < 0 ? host : `${host}${entry.slice(slash)}`;
  const below = normalised.endsWith("/");
  const pattern = below ? normalised.slice(0, -1) : normalised;
  if (!pattern.includes("*"))
    return below ? name.startsWith(`${pattern}/`) : name === pattern || name.startsWith(`${pattern}/`);
  const source = pattern
    .split(/(\*\*|\*)/)
    .map((part) =>
      part === "**" ? ".*" : part === "*" ? "[^/]*" : part.replace(/[.+?^${}()|[\]\\]/g, "\\$&"),
    )
    .join("");
  return new RegExp(`^${source}${below ? "/.+" : ""}$`).test(name);
}

const ENTRY_CHARACTERS = /^[A-Za-z0-9._\-/:*]+$/;

/** The problems of one allowedImages entry, said so that whoever wrote it can fix it. */
export function entryProblems(entry: string): string[] {
  if (!ENTRY_CHARACTERS.test(entry))
    return [
      `"${entry}" may hold only letters, digits, ".", "_", "-", "/", ":" (a registry's port) and the wildcards * and **; a digest (@sha256:…) is never part of a policy`,
    ];
  const problems: string[] = [];
  const [host = "", ...path] = entry.split("/");
  if (!(host.includes(".") || host.includes(":") || host === "localhost"))
    problems.push(
      `"${entry}" does not begin with a registry host: write it in full, e.g. "docker.io/library/${host || "nginx"}" (an image "nginx" means docker.io/library/nginx)`,
    );
  if (entry.includes("***")) problems.push(`"${entry}": use * (one path segment) or ** (any depth), not ***`);
  if (path.slice(0, -1).some((segment) => segment === ""))
    problems.push(`"${entry}" has an empty path segment ("//")`);
  if (path.some((segment) => segment.includes(":")))
    problems.push(
      `"${entry}" names a tag: allowedImages says which registries and repositories images come from; tags and digests are not matched`,
    );
  if (
    normaliseRegistry(host) === DOCKER_HUB &&
    path.length === 1 &&
    path[0] !== "" &&
    !path[0]?.includes("*")
  )
    problems.push(
      `"${entry}" is ambiguous on Docker Hub: write "docker.io/library/${path[0]}" for the official image, or "docker.io/${path[0]}/" for everything of the user ${path[0]}`,
    );
  if (path.some((segment) => segment !== segment.toLowerCase()))
    problems.push(`"${entry}" has upper-case letters in its path, which no image reference can have`);
  return problems;
}

export const allowedImagesSchema = z
  .array(
    z
      .string()
      .min(1)
      .max(NAME_MAX)
      .superRefine((entry, ctx) => {
        for (const message of entryProblems(entry)) ctx.addIssue({ code: "custom", message });
      }),
  )
  .max(100)
  .describe(
    'Each entry a registry or repository: "registry.example.com/team/" (everything below), ' +
      '"registry.example.com/team" (it and everything below, whole path segments), or a glob ("registry.example.com/team/*": ' +
      "* never crosses /, ** does). Tags and digests are not matched; an image without a registry is on docker.io " +
      '("nginx" is docker.io/library/nginx). Empty or absent: no policy.',
  );

// ---- the lists that apply to a Release, and the check ----

/** One allowedImages list and where in rollout-strategy.json it comes from. */
export interface AllowedImagesList {
  /** "global" for the top-level list, else the preset's name. */
  preset?: string;
  entries: string[];
}

export function describeList(list: AllowedImagesList): string {
  return list.preset === undefined ? "the global allowedImages" : `preset "${list.preset}"'s allowedImages`;
}

/** An image of spec.images that the policy does not admit. */
export interface ImageRefusal {
  container: string;
  image: string;
  /** The lists it fails (every list, when it is not an image reference at all). */
  lists: AllowedImagesList[];
  /** Set when the image is not a reference the policy can read. */
  problem?: string;
}

/** The images that fail a list that applies; empty when every image is admitted or no list applies. */
export function checkImages(
  images: Record<string, string>,
  lists: readonly AllowedImagesList[],
): ImageRefusal[] {
  const applying = lists.filter((list) => list.entries.length > 0);
  if (applying.length === 0) return [];
  const refusals: ImageRefusal[] = [];
  for (const [container, image] of Object.entries(images)) {
    const parsed = parseImageReference(image);
    if (!parsed.ok) {
      refusals.push({ container, image, lists: applying, problem: parsed.problem });
      continue;
    }
    const failed = applying.filter(
      (list) => !list.entries.some((entry) => matchesAllowedImage(parsed.reference.name, entry)),
    );
    if (failed.length > 0) refusals.push({ container, image, lists: failed });
  }
  return refusals;
}

/** One line per refused image: the image, where it is, the lists it fails and where they come from. */
export function describeImageRefusals(refusals: readonly ImageRefusal[]): string {
  return refusals
    .map((refusal) => {
      const lists = refusal.lists
        .map((list) => `${describeList(list)} (${list.entries.map((entry) => `"${entry}"`).join(", ")})`)
        .join(" nor ");
      const where = `spec.images.${refusal.container} "${refusal.image}"`;
      return refusal.problem === undefined
        ? `${where} is not allowed: it matches no entry of ${lists} in rollout-strategy.json`
        : `${where} is not an image reference the image policy can check (${refusal.problem}); it must match ${lists} in rollout-strategy.json`;
    })
    .join("; ");
}
