import { readFile } from "node:fs/promises";
import { validate as isCronExpression } from "node-cron";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { durationSchema } from "./duration.ts";
import { dnsLabelSchema } from "./names.ts";
import { formatIssues, type ValidationIssue } from "./validation.ts";

// The controller's own configuration (a YAML or JSON file, a ConfigMap in a cluster).

const cronSchema = z
  .string()
  .min(1)
  .max(128)
  .refine((expression) => isCronExpression(expression), {
    message: 'must be a cron expression such as "0 9 * * 1-5" (minute hour day-of-month month day-of-week)',
  });

export const changeWindowSchema = z.object({
  name: z.string().min(1).max(63),
  /** When the window opens. */
  cron: cronSchema,
  /** How long it stays open. */
  duration: durationSchema,
});

export const changeFreezeSchema = z
  .object({
    name: z.string().min(1).max(63),
    reason: z.string().max(500).default(""),
    /** A recurring freeze: starts at each cron match and lasts `duration`. */
    cron: cronSchema.optional(),
    duration: durationSchema.optional(),
    /** A one-off freeze between two instants. */
    from: z.iso.datetime({ offset: true }).optional(),
    to: z.iso.datetime({ offset: true }).optional(),
  })
  .superRefine((freeze, ctx) => {
    const recurring = freeze.cron !== undefined || freeze.duration !== undefined;
    const oneOff = freeze.from !== undefined || freeze.to !== undefined;
    if (recurring === oneOff) {
      ctx.addIssue({
        code: "custom",
        path: [],
        message: "a freeze has either cron and duration, or from and to",
      });
    } else if (recurring && (freeze.cron === undefined || freeze.duration === undefined)) {
      ctx.addIssue({ code: "custom", path: [], message: "a recurring freeze needs both cron and duration" });
    } else if (oneOff && (freeze.from === undefined || freeze.to === undefined)) {
      ctx.addIssue({ code: "custom", path: [], message: "a one-off freeze needs both from and to" });
    }
  });

export const controllerConfigSchema = z.object({
  /** Path of the rollout strategy file. */
  strategyFile: z.string().min(1).default("rollout/rollout-strategy.json"),
  /** Namespaces to watch; empty means all. */
  namespaces: z.array(dnsLabelSchema).default([]),
  prometheus: z
    .object({
      url: z.url({ protocol: /^https?$/ }).default("http://127.0.0.1:9090"),
      timeout: durationSchema.default("10s"),
    })
    .default({ url: "http://127.0.0.1:9090", timeout: "10s" }),
  changeWindows: z
    .object({
      timezone: z.string().min(1).default("UTC"),
      /** Without windows, every time is inside one. */
      windows: z.array(changeWindowSchema).default([]),
      freezes: z.array(changeFreezeSchema).default([]),
    })
    .default({ timezone: "UTC", windows: [], freezes: [] }),
  leaderElection: z
    .object({
      enabled: z.boolean().default(true),
      leaseName: dnsLabelSchema.default("glidepath-controller"),
      leaseNamespace: dnsLabelSchema.default("glidepath-system"),
      leaseDuration: durationSchema.default("15s"),
      renewDeadline: durationSchema.default("10s"),
      retryPeriod: durationSchema.default("2s"),
    })
    .default({
      enabled: true,
      leaseName: "glidepath-controller",
      leaseNamespace: "glidepath-system",
      leaseDuration: "15s",
      renewDeadline: "10s",
      retryPeriod: "2s",
    }),
  /** Port of the HTTP server for /metrics, /healthz, /readyz and the hooks. */
  port: z.int().min(0).max(65535).default(8080),
  workers: z.int().min(1).max(64).default(4),
});
export type ControllerConfig = z.infer<typeof controllerConfigSchema>;
export type ChangeWindowConfig = ControllerConfig["changeWindows"];

export class ControllerConfigError extends Error {
  readonly issues: ValidationIssue[];
  constructor(source: string, issues: ValidationIssue[]) {
    super(
      `${source} is not a valid controller configuration:\n${issues.map((i) => `  ${i.path}: ${i.message}`).join("\n")}`,
    );
    this.name = "ControllerConfigError";
    this.issues = issues;
  }
}

export function parseControllerConfig(raw: unknown, source = "controller configuration"): ControllerConfig {
  const parsed = controllerConfigSchema.safeParse(raw ?? {});
  if (!parsed.success) throw new ControllerConfigError(source, formatIssues(parsed.error));
  return parsed.data;
}

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
