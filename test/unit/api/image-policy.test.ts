import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  checkImages,
  describeImageRefusals,
  imagePolicy,
  matchesAllowedImage,
  parseImageReference,
  parseStrategyFile,
  StrategyFileError,
  type StrategyFile,
} from "../../../src/api/index.ts";

// allowedImages: which images a Release may name. The matcher is pure; these cases are
// the ones a platform team writes policies around, and the properties are the promises
// the docs make (tags and digests never matter, * never crosses a /, a prefix is whole
// path segments).

const name = (image: string): string => {
  const parsed = parseImageReference(image);
  if (!parsed.ok) throw new Error(`${image}: ${parsed.problem}`);
  return parsed.reference.name;
};
const admits = (entry: string, image: string) => matchesAllowedImage(name(image), entry);

describe("image references, read as the container runtime reads them", () => {
  it.each([
    ["nginx", "docker.io/library/nginx"],
    ["nginx:1.27", "docker.io/library/nginx"],
    ["bitnami/redis:7", "docker.io/bitnami/redis"],
    ["docker.io/nginx", "docker.io/library/nginx"],
    ["index.docker.io/library/nginx", "docker.io/library/nginx"],
    ["localhost/app", "localhost/app"],
    ["localhost:5000/team/app:v1", "localhost:5000/team/app"],
    ["Registry.Example.com/team/app", "registry.example.com/team/app"],
    ["registry.example.com/team/app:1.2@sha256:" + "a".repeat(64), "registry.example.com/team/app"],
    ["registry.example.com/team/app@sha256:" + "b".repeat(64), "registry.example.com/team/app"],
  ])("%s is %s", (image, expected) => {
    expect(name(image)).toBe(expected);
  });

  it("keeps the tag and the digest apart from the name", () => {
    const digest = `sha256:${"c".repeat(64)}`;
    expect(parseImageReference(`registry.example.com:5000/app:2.4.0@${digest}`)).toEqual({
      ok: true,
      reference: {
        registry: "registry.example.com:5000",
        path: "app",
        name: "registry.example.com:5000/app",
        tag: "2.4.0",
        digest,
      },
    });
  });

  it.each([
    ["registry.example.com/team/../evil", '".." is not a repository path segment'],
    ["registry.example.com/Team/app", '"Team" is not a repository path segment'],
    ["registry.example.com/team/app@sha256:short", "is not a digest"],
    ["registry.example.com/team/app:bad tag", "is not a tag"],
    ["-bad-.example.com/app", "is not a registry host"],
    ["registry.example.com//app", '"" is not a repository path segment'],
  ])("refuses %s: %s", (image, problem) => {
    const parsed = parseImageReference(image);
    expect(parsed.ok).toBe(false);
    expect(parsed.ok ? "" : parsed.problem).toContain(problem);
  });
});

describe("matchesAllowedImage", () => {
  it("a prefix is whole path segments: team admits team/app, never team-evil/x", () => {
    for (const entry of ["registry.example.com/team", "registry.example.com/team/"]) {
      expect(admits(entry, "registry.example.com/team/app:1")).toBe(true);
      expect(admits(entry, "registry.example.com/team/sub/app:1")).toBe(true);
      expect(admits(entry, "registry.example.com/team-evil/x:1")).toBe(false);
      expect(admits(entry, "registry.example.com/teamx:1")).toBe(false);
      expect(admits(entry, "other.example.com/team/app:1")).toBe(false);
    }
    expect(admits("registry.example.com/team", "registry.example.com/team:1")).toBe(true);
    expect(admits("registry.example.com/team/", "registry.example.com/team:1")).toBe(false);
  });

  it("a registry alone admits everything on it, not on a host that merely begins the same", () => {
    expect(admits("registry.example.com", "registry.example.com/a/b/c")).toBe(true);
    expect(admits("registry.example.com", "registry.example.com.evil.io/a")).toBe(false);
    expect(admits("registry.example.com", "registry.example.com:5000/a")).toBe(false);
  });

  it("* stays within a path segment, ** crosses them", () => {
    expect(admits("registry.example.com/team/*", "registry.example.com/team/app")).toBe(true);
    expect(admits("registry.example.com/team/*", "registry.example.com/team/sub/app")).toBe(false);
    expect(admits("registry.example.com/team/**", "registry.example.com/team/sub/app")).toBe(true);
    expect(admits("registry.example.com/team/app-*", "registry.example.com/team/app-web")).toBe(true);
    expect(admits("registry.example.com/team/app-*", "registry.example.com/team/api")).toBe(false);
    expect(admits("*.example.com/team/", "eu.example.com/team/app")).toBe(true);
    expect(admits("*.example.com/team/", "eu.evil.io/x/example.com/team/app")).toBe(false);
    // A "." in an entry is a dot, not "any character".
    expect(admits("registry.example.com/*", "registryXexample.com/app")).toBe(false);
  });

  it("official images are docker.io/library/…, whichever way they are written", () => {
    for (const image of [
      "nginx",
      "nginx:1.27",
      "docker.io/library/nginx",
      "index.docker.io/library/nginx:1",
    ]) {
      expect(admits("docker.io/library/nginx", image)).toBe(true);
      expect(admits("docker.io/library/", image)).toBe(true);
    }
    expect(admits("docker.io/library/", "bitnami/redis")).toBe(false);
    expect(admits("index.docker.io/bitnami/", "bitnami/redis")).toBe(true);
  });
});

describe("matchesAllowedImage, as properties", () => {
  const segment = fc.stringMatching(/^[a-z0-9]{1,6}(?:[-_.][a-z0-9]{1,4})?$/);
  const path = fc.array(segment, { minLength: 1, maxLength: 4 }).map((segments) => segments.join("/"));
  const host = fc.constantFrom("registry.example.com", "localhost:5000", "ghcr.io", "docker.io");
  const tag = fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,10}$/);
  const digest = fc.stringMatching(/^[0-9a-f]{64}$/).map((hex) => `sha256:${hex}`);
  const image = fc.tuple(host, path).map(([h, p]) => `${h}/${p}`);
  const entry = fc.oneof(
    fc
      .tuple(host, fc.option(path, { nil: undefined }), fc.boolean())
      .map(([h, p, slash]) => `${h}${p === undefined ? "" : `/${p}`}${slash ? "/" : ""}`),
    fc.tuple(host, path).map(([h, p]) => `${h}/${p}/*`),
    fc.tuple(host, path).map(([h, p]) => `${h}/${p}/**`),
  );

  it("a tag or a digest never changes the verdict", () => {
    fc.assert(
      fc.property(image, entry, tag, digest, (bare, allowed, someTag, someDigest) => {
        const verdict = admits(allowed, bare);
        expect(admits(allowed, `${bare}:${someTag}`)).toBe(verdict);
        expect(admits(allowed, `${bare}@${someDigest}`)).toBe(verdict);
        expect(admits(allowed, `${bare}:${someTag}@${someDigest}`)).toBe(verdict);
      }),
    );
  });

  it("a prefix admits what lies below it, and nothing that only shares its first characters", () => {
    fc.assert(
      fc.property(host, path, path, fc.constantFrom("-", "_", ".", "x", "0"), (h, prefix, below, extra) => {
        for (const allowed of [`${h}/${prefix}`, `${h}/${prefix}/`]) {
          expect(admits(allowed, `${h}/${prefix}/${below}`)).toBe(true);
          expect(admits(allowed, `${h}/${prefix}${extra}${below}`)).toBe(false);
        }
      }),
    );
  });

  it("* admits exactly one more path segment; ** any number", () => {
    fc.assert(
      fc.property(host, path, path, (h, prefix, below) => {
        const depth = below.split("/").length;
        expect(admits(`${h}/${prefix}/*`, `${h}/${prefix}/${below}`)).toBe(depth === 1);
        expect(admits(`${h}/${prefix}/**`, `${h}/${prefix}/${below}`)).toBe(true);
      }),
    );
  });

  it("an image on another registry is never admitted by an entry naming a registry", () => {
    fc.assert(
      fc.property(entry, image, (allowed, candidate) => {
        const entryHost = allowed.split("/")[0];
        const imageHost = candidate.split("/")[0];
        fc.pre(entryHost !== imageHost);
        expect(admits(allowed, candidate)).toBe(false);
      }),
    );
  });
});

describe("allowedImages in rollout-strategy.json", () => {
  const shipped = JSON.parse(readFileSync("rollout/rollout-strategy.json", "utf8")) as Record<
    string,
    unknown
  >;
  const parse = (file: object): StrategyFile => parseStrategyFile(JSON.stringify(file));
  const problems = (file: object): string[] => {
    try {
      parse(file);
    } catch (error) {
      if (error instanceof StrategyFileError) return error.issues.map((i) => `${i.path}: ${i.message}`);
      throw error;
    }
    return [];
  };
  const presets = shipped.presets as Record<string, object>;

  it("says which entry is wrong, where, and how to write it", () => {
    const found = problems({
      ...shipped,
      allowedImages: [
        "nginx",
        "registry.example.com/team/app:1.2",
        "registry.example.com/x@sha256:abc",
        "docker.io/nginx",
      ],
      presets: {
        ...presets,
        standard: { ...presets.standard, allowedImages: ["registry.example.com/Team/"] },
      },
    });
    expect(found).toEqual([
      expect.stringMatching(
        /^\$\.allowedImages\[0\]: "nginx" does not begin with a registry host: write it in full, e\.g\. "docker\.io\/library\/nginx"/,
      ),
      expect.stringMatching(/^\$\.allowedImages\[1\]: .* names a tag/),
      expect.stringMatching(/^\$\.allowedImages\[2\]: .*a digest \(@sha256:…\) is never part of a policy/),
      expect.stringMatching(
        /^\$\.allowedImages\[3\]: "docker\.io\/nginx" is ambiguous on Docker Hub: write "docker\.io\/library\/nginx" for the official image, or "docker\.io\/nginx\/"/,
      ),
      expect.stringMatching(/^\$\.presets\.standard\.allowedImages\[0\]: .*upper-case letters/),
    ]);
  });

  it("applies the global list and those of the change type's preset and of the stages' preset", () => {
    const file = parse({
      ...shipped,
      allowedImages: ["registry.example.com/"],
      presets: {
        ...presets,
        standard: { ...presets.standard, allowedImages: ["registry.example.com/shop/"] },
        expedited: { ...presets.expedited, allowedImages: [] },
        emergency: { ...presets.emergency, allowedImages: ["registry.example.com/shop/checkout"] },
      },
    });
    expect(imagePolicy({ changeRequest: { type: "standard" } }, file)).toEqual([
      { entries: ["registry.example.com/"] },
      { preset: "standard", entries: ["registry.example.com/shop/"] },
    ]);
    // A laxer stage plan widens nothing; a stricter one narrows.
    expect(imagePolicy({ strategy: "expedited", changeRequest: { type: "standard" } }, file)).toEqual([
      { entries: ["registry.example.com/"] },
      { preset: "standard", entries: ["registry.example.com/shop/"] },
    ]);
    expect(imagePolicy({ strategy: "emergency", changeRequest: { type: "standard" } }, file)).toHaveLength(3);
    expect(imagePolicy({ stages: [], changeRequest: { type: "expedited" } }, file)).toEqual([
      { entries: ["registry.example.com/"] },
    ]);
    expect(imagePolicy({ changeRequest: { type: "standard" } }, parse(shipped))).toEqual([]);
  });
});

describe("checkImages", () => {
  const lists = [
    { entries: ["registry.example.com/"] },
    { preset: "standard", entries: ["registry.example.com/shop/"] },
  ];

  it("admits an image every list admits; no list, no policy", () => {
    expect(checkImages({ checkout: "registry.example.com/shop/checkout:2.4.0" }, lists)).toEqual([]);
    expect(checkImages({ checkout: "anything at all" }, [])).toEqual([]);
    expect(checkImages({ checkout: "anything at all" }, [{ entries: [] }])).toEqual([]);
  });

  it("names the image, where it is, each list it fails and where that list comes from", () => {
    const refusals = checkImages(
      {
        checkout: "registry.example.com/shop/checkout:2.4.0",
        sidecar: "registry.example.com/tools/proxy:1",
        init: "evil.example.com/x:1",
      },
      lists,
    );
    expect(describeImageRefusals(refusals)).toBe(
      'spec.images.sidecar "registry.example.com/tools/proxy:1" is not allowed: it matches no entry of ' +
        'preset "standard"\'s allowedImages ("registry.example.com/shop/") in rollout-strategy.json; ' +
        'spec.images.init "evil.example.com/x:1" is not allowed: it matches no entry of the global allowedImages ' +
        '("registry.example.com/") nor preset "standard"\'s allowedImages ("registry.example.com/shop/") in rollout-strategy.json',
    );
  });

  it("refuses what is not an image reference at all, saying why", () => {
    expect(
      describeImageRefusals(checkImages({ checkout: "registry.example.com/shop/../x" }, lists)),
    ).toContain(
      'spec.images.checkout "registry.example.com/shop/../x" is not an image reference the image policy can check (".." is not a repository path segment',
    );
  });
});
