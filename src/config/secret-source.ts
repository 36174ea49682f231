import { readFile } from "node:fs/promises";
import type { SecretSource } from "../api/index.ts";

// Secrets named by the configuration: a mounted Secret file, re-read now and then so a
// rotated Secret takes effect without a restart, or an environment variable. Error
// messages name the source, never the value.

export interface SecretReader {
  /** Where the secret comes from, for messages: `file /path` or `env NAME`. */
  readonly source: string;
  /** The secret, trimmed; rejects when it is missing or empty. */
  value(): Promise<string>;
}

export interface SecretReaderOptions {
  /** A file is re-read when its cached value is older than this. Default 30 s. */
  refreshMs?: number;
  /** Default process.env. */
  env?: Record<string, string | undefined>;
}

export function describeSecretSource(source: SecretSource): string {
  return "file" in source ? `file ${source.file}` : `environment variable ${source.env}`;
}

export function createSecretReader(source: SecretSource, options: SecretReaderOptions = {}): SecretReader {
  const described = describeSecretSource(source);
  if ("env" in source) {
    const env = options.env ?? process.env;
    return {
      source: described,
      value: async () => nonEmpty(env[source.env], described),
    };
  }
  const refreshMs = options.refreshMs ?? 30_000;
  let cached: { value: string; readAt: number } | undefined;
  let reading: Promise<string> | undefined;
  const read = async (): Promise<string> => {
    let text: string;
    try {
      text = await readFile(source.file, "utf8");
    } catch (error) {
      throw new Error(`cannot read the secret from ${described}: ${(error as NodeJS.ErrnoException).code}`, {
        cause: error,
      });
    }
    const value = nonEmpty(text, described);
    cached = { value, readAt: performance.now() };
    return value;
  };
  return {
    source: described,
    async value() {
      if (cached && performance.now() - cached.readAt < refreshMs) return cached.value;
      reading ??= read().finally(() => (reading = undefined));
      try {
        return await reading;
      } catch (error) {
        // A Secret briefly unreadable while kubelet swaps it: keep the last good value.
        if (cached) return cached.value;
        throw error;
      }
    },
  };
}

function nonEmpty(value: string | undefined, described: string): string {
  const trimmed = value?.trim() ?? "";
  if (trimmed === "") throw new Error(`the secret from ${described} is missing or empty`);
  return trimmed;
}
