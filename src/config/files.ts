import { readFile } from "node:fs/promises";
import { parse as parseYaml } from "yaml";
import {
  ControllerConfigError,
  parseControllerConfig,
  parseStrategyFile,
  type ControllerConfig,
  type StrategyFile,
} from "../api/index.ts";

// Reading the files the process is given: the controller configuration and the strategy
// file. src/api parses and validates them; reading stays out of it, so api stays pure.

/** Reads a YAML (or JSON) configuration file; no file means all defaults. */
export async function loadControllerConfig(path: string | undefined): Promise<ControllerConfig> {
  if (path === undefined) return parseControllerConfig({});
  let raw: unknown;
  try {
    raw = parseYaml(await readFile(path, "utf8"));
  } catch (error) {
    throw new ControllerConfigError(path, [{ path: "$", message: (error as Error).message }]);
  }
  return parseControllerConfig(raw, path);
}

export async function loadStrategyFile(path: string): Promise<StrategyFile> {
  return parseStrategyFile(await readFile(path, "utf8"), path);
}
