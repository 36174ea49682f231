import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot } from "./objects.ts";

// Issue 14 item 5: no file in src/ or bench/ over 400 lines without a reason written at its
// top. The reason is the file's first line, "// Over 400 lines on purpose…", so a reader
// sees it before the code and a file that grows past the limit fails here, not in review.

const LIMIT = 400;
const REASON = /^\/\/ Over 400 lines on purpose\b.{20,}/;
const skippedFolders = new Set(["node_modules", "results"]);

function typeScriptUnder(path: string): string[] {
  const absolute = join(repoRoot, path);
  if (!statSync(absolute).isDirectory()) return path.endsWith(".ts") || path.endsWith(".tsx") ? [path] : [];
  return readdirSync(absolute).flatMap((name) =>
    skippedFolders.has(name) ? [] : typeScriptUnder(join(path, name)),
  );
}

describe("long files", () => {
  const files = ["src", "bench"].flatMap(typeScriptUnder);

  it("finds the sources it checks", () => {
    expect(files).toContain(join("src", "main.ts"));
    expect(files).toContain(join("bench", "scale.ts"));
  });

  it(`every file in src/ and bench/ over ${LIMIT} lines says why on its first line`, () => {
    const unexplained = files.flatMap((file) => {
      const lines = readFileSync(join(repoRoot, file), "utf8").split("\n");
      const count = lines.at(-1) === "" ? lines.length - 1 : lines.length;
      return count > LIMIT && !REASON.test(lines[0] ?? "") ? [`${file} (${count} lines)`] : [];
    });
    expect(unexplained).toEqual([]);
  });
});
