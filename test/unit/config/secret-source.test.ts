import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createSecretReader } from "../../../src/config/index.ts";

const dir = mkdtempSync(join(tmpdir(), "glidepath-secret-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("secrets named by the configuration", () => {
  it("come from a mounted file, without the trailing newline a Secret usually has", async () => {
    const file = join(dir, "token");
    writeFileSync(file, "abc123-token\n");
    expect(await createSecretReader({ file }).value()).toBe("abc123-token");
  });

  it("pick up a rotated file once the cached value is old enough", async () => {
    const file = join(dir, "rotating");
    writeFileSync(file, "first");
    const reader = createSecretReader({ file }, { refreshMs: 0 });
    expect(await reader.value()).toBe("first");
    writeFileSync(file, "second");
    expect(await reader.value()).toBe("second");
  });

  it("come from an environment variable", async () => {
    const reader = createSecretReader({ env: "HOOK_TOKEN" }, { env: { HOOK_TOKEN: " xyz " } });
    expect(await reader.value()).toBe("xyz");
    expect(reader.source).toBe("environment variable HOOK_TOKEN");
  });

  it("fail with the source named and the value never shown", async () => {
    await expect(createSecretReader({ env: "MISSING" }, { env: {} }).value()).rejects.toThrow(
      "the secret from environment variable MISSING is missing or empty",
    );
    const empty = join(dir, "empty");
    writeFileSync(empty, "  \n");
    await expect(createSecretReader({ file: empty }).value()).rejects.toThrow(
      `file ${empty} is missing or empty`,
    );
    await expect(createSecretReader({ file: join(dir, "nope") }).value()).rejects.toThrow(/ENOENT/);
  });
});
