import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot } from "./objects.ts";

// A clone has nothing beside it: no file the project runs may name a path outside the
// repository (a folder next to the checkout, an absolute path of one machine).

const scanned = [
  "src",
  "test",
  "demo",
  "bench",
  "scripts",
  "helm",
  ".ci",
  "package.json",
  "vitest.config.ts",
];
const skippedFolders = new Set(["node_modules", "results", ".test-runs"]);
const thisFile = "test/unit/install/self-contained.test.ts";

// The folder that sits beside the checkout on the developers' machines and CI's, and in no
// clone. Built from a variable so this detector does not itself look like a reference to it.
const SIBLING = "shared";

/** Ways of reaching out of the repository: a relative path to the sibling folder, one built with "..", a fixed /work/ path. */
const outsidePatterns: { what: string; pattern: RegExp }[] = [
  { what: `a relative path to ../${SIBLING}`, pattern: new RegExp(`\\.\\./${SIBLING}\\b`) },
  {
    what: `a path built with "..", "${SIBLING}"`,
    pattern: new RegExp(`["']\\.\\.["']\\s*,\\s*["']${SIBLING}["']`),
  },
  { what: "an absolute path of one machine", pattern: /(^|[\s"'`=(])\/work\// },
];

function filesUnder(path: string): string[] {
  const absolute = join(repoRoot, path);
  if (!statSync(absolute).isDirectory()) return [path];
  return readdirSync(absolute).flatMap((name) =>
    skippedFolders.has(name) ? [] : filesUnder(relative(repoRoot, join(absolute, name))),
  );
}

export function outsideReferences(text: string): string[] {
  return text
    .split("\n")
    .flatMap((line, index) =>
      outsidePatterns
        .filter(({ pattern }) => pattern.test(line))
        .map(({ what }) => `line ${index + 1}: ${what}`),
    );
}

describe("the repository is self-contained", () => {
  it("recognises each way of reaching outside it", () => {
    expect(outsideReferences(`const crds = join(repoRoot, "..", "${SIBLING}", "testdata");`)).toEqual([
      `line 1: a path built with "..", "${SIBLING}"`,
    ]);
    expect(outsideReferences(`cp ../${SIBLING}/testdata/x.yaml .`)).toEqual([
      `line 1: a relative path to ../${SIBLING}`,
    ]);
    expect(outsideReferences('root="/work/main"')).toEqual(["line 1: an absolute path of one machine"]);
    expect(outsideReferences('join(repoRoot, "test", "fixtures")')).toEqual([]);
  });

  it("names no path outside it in what it runs", () => {
    const files = scanned.flatMap(filesUnder).filter((file) => file !== thisFile);
    expect(files.length).toBeGreaterThan(100);
    const found = files.flatMap((file) =>
      outsideReferences(readFileSync(join(repoRoot, file), "utf8")).map((where) => `${file} ${where}`),
    );
    expect(found).toEqual([]);
  });
});
