import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { parseControllerConfig } from "../../../src/api/index.ts";
import { readRepoFile } from "./objects.ts";

const values = parseYaml(readRepoFile("helm/glidepath/values.yaml")) as Record<string, unknown>;
const readme = readRepoFile("helm/glidepath/README.md");

/** Values documented as one row (their fields are Kubernetes' own). */
const documentedWhole = [
  "resources",
  "livenessProbe",
  "readinessProbe",
  "podSecurityContext",
  "securityContext",
];

function leafPaths(value: unknown, prefix = ""): string[] {
  const isMap = typeof value === "object" && value !== null && !Array.isArray(value);
  if (!isMap || Object.keys(value).length === 0 || documentedWhole.includes(prefix)) return [prefix];
  return Object.entries(value).flatMap(([key, child]) => leafPaths(child, prefix ? `${prefix}.${key}` : key));
}

/** The first cell of every row of the README's values table. */
const documented = [...readme.matchAll(/^\| `([A-Za-z0-9.]+)` +\|/gm)].map((match) => match[1] as string);

describe("the chart's values", () => {
  it("are all described in helm/glidepath/README.md", () => {
    expect(leafPaths(values).filter((path) => !documented.includes(path))).toEqual([]);
  });

  it("are all that README.md describes (no value documented that values.yaml lacks)", () => {
    const exists = (path: string) =>
      path.split(".").reduce<unknown>((node, key) => (node as Record<string, unknown>)?.[key], values) !==
      undefined;
    expect(documented.filter((path) => !exists(path))).toEqual([]);
  });

  it("hold a controller configuration the controller accepts once the chart adds its own keys", () => {
    const config = parseControllerConfig(
      {
        ...(values.config as object),
        strategyFile: "/etc/glidepath/config/rollout-strategy.json",
        port: values.containerPort,
      },
      "values.yaml config",
    );
    expect(config.prometheus.url).toMatch(/^http/);
    expect(config.leaderElection.enabled).toBe(true);
  });
});
