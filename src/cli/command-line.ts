// Over 400 lines on purpose: the CLI's whole grammar, each command's type, flags and zod checks side by side, so a new flag is added in one place.
// The glidepath command line: commander parses it, zod validates every value, and the
// result is plain data (an Invocation) that the commands run. Pure: the environment
// comes in as an argument, output is captured, nothing exits, so tests call it directly.
import { Command, CommanderError } from "commander";
import { z } from "zod";
import { dnsLabelSchema, dnsSubdomainSchema, durationSchema, labelValueSchema } from "../api/index.ts";
import { parseDuration } from "../api/index.ts";
import { EXIT, type ExitCode } from "./exit-codes.ts";

/** kubectl's own flags, which kubectl passes through to plugins as they were typed. */
export interface GlobalOptions {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
  allNamespaces: boolean;
}

export type CliCommand =
  | { name: "list"; output: "table" | "json" | "yaml" }
  | {
      name: "status";
      release: string;
      watch: boolean;
      output: "text" | "json";
      timeoutMs?: number;
      strategyFile?: string;
    }
  | { name: "history"; target: string; output: "table" | "json" }
  | { name: "record"; release: string; output: "md" | "json" | "yaml" }
  | { name: "approve"; release: string; by: string; comment?: string }
  | { name: "pause"; release: string; by: string; reason?: string }
  | { name: "resume"; release: string; by: string }
  | { name: "promote"; release: string; by: string; full: boolean }
  | { name: "abort"; release: string; by: string; reason?: string }
  | {
      name: "rollback";
      target: string;
      /** "previous", or the spec.version of an earlier Release. */
      version: string;
      by: string;
      reason?: string;
      changeId?: string;
      wait: boolean;
      timeoutMs: number;
      verifyTimeoutMs: number;
      prometheusUrl?: string;
      strategyFile?: string;
    }
  | {
      name: "dora";
      target?: string;
      windowMs: number;
      /** The window as typed, for headings ("30d"). */
      window: string;
      groupBy: "target" | "namespace" | "cluster";
      output: "table" | "json";
    }
  | {
      name: "dashboard";
      /** 0: any free port. */
      port: number;
      open: boolean;
      /** Who acts with the page's buttons, as --by of the other commands. */
      by: string;
      strategyFile?: string;
    };

export type CommandName = CliCommand["name"];

export type Invocation =
  | { kind: "run"; globals: GlobalOptions; command: CliCommand }
  /** Help, or a usage error: print these and exit. */
  | { kind: "exit"; exitCode: ExitCode; stdout: string; stderr: string };

/** What the command line may default from; the caller reads it from the process. */
export interface CliEnvironment {
  /** Who acts, when --by is not given ($GLIDEPATH_USER). */
  GLIDEPATH_USER?: string | undefined;
  /** Prometheus for `rollback --wait` ($GLIDEPATH_PROMETHEUS). */
  GLIDEPATH_PROMETHEUS?: string | undefined;
  /** The strategy file whose presets name the stages ($GLIDEPATH_STRATEGY_FILE). */
  GLIDEPATH_STRATEGY_FILE?: string | undefined;
  /** "kubectl glidepath" when run as the kubectl plugin. */
  GLIDEPATH_PROG_NAME?: string | undefined;
  /** The operating-system user, the last default for who acts. */
  osUser?: string | undefined;
}

export const DEFAULT_WAIT_TIMEOUT = "15m";
export const DEFAULT_VERIFY_TIMEOUT = "5m";
export const DEFAULT_DASHBOARD_PORT = 8090;

/** A DORA window as `--window` takes it (and the dashboard's history page): "30d". */
export const doraWindowSchema = z
  .string()
  .regex(/^[1-9][0-9]{0,3}d$/, { message: 'must be a number of days, e.g. "30d" (1d to 9999d)' });

/** "30d" → milliseconds. */
export function doraWindowMs(window: string): number {
  return Number(window.slice(0, -1)) * 86_400_000;
}

// ---- value schemas: each names what a person must type ----

const releaseName = dnsSubdomainSchema;
const deploymentName = dnsLabelSchema;
const person = z
  .string()
  .trim()
  .min(1, { message: "must name a person" })
  .max(256, { message: "must be at most 256 characters" });
const note = (max: number) => z.string().trim().min(1, { message: "must not be empty" }).max(max);
const duration = durationSchema.transform((text) => parseDuration(text));
const positiveDuration = duration.refine((ms) => ms > 0, { message: "must be longer than 0s" });
const changeId = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, { message: "must be letters, digits, '.', '_' or '-'" });
const httpUrl = z.url({ protocol: /^https?$/, message: "must be an http:// or https:// URL" });
const rollbackVersion = z.union([z.literal("previous"), labelValueSchema.min(1)], {
  error: '"previous", or the version of an earlier Release (a label value such as 2.3.1)',
});

const globalsSchema = z.object({
  kubeconfig: z.string().min(1, { message: "must be a file path" }).optional(),
  context: z.string().min(1, { message: "must name a context" }).optional(),
  namespace: dnsLabelSchema.optional(),
  allNamespaces: z.boolean().default(false),
});

const commandSchemas = {
  list: z.object({ output: z.enum(["table", "json", "yaml"]).default("table") }),
  status: z.object({
    release: releaseName,
    watch: z.boolean().default(false),
    output: z.enum(["text", "json"]).default("text"),
    timeout: positiveDuration.optional(),
    strategyFile: z.string().min(1).optional(),
  }),
  history: z.object({ target: deploymentName, output: z.enum(["table", "json"]).default("table") }),
  record: z.object({ release: releaseName, output: z.enum(["md", "json", "yaml"]).default("md") }),
  approve: z.object({ release: releaseName, by: person, comment: note(1000).optional() }),
  pause: z.object({ release: releaseName, by: person, reason: note(1000).optional() }),
  resume: z.object({ release: releaseName, by: person }),
  promote: z.object({ release: releaseName, by: person, full: z.boolean().default(false) }),
  abort: z.object({ release: releaseName, by: person, reason: note(1000).optional() }),
  rollback: z.object({
    target: deploymentName,
    version: rollbackVersion,
    by: person,
    reason: note(1000).optional(),
    changeId: changeId.optional(),
    wait: z.boolean().default(false),
    timeout: positiveDuration.default(parseDuration(DEFAULT_WAIT_TIMEOUT)),
    verifyTimeout: positiveDuration.default(parseDuration(DEFAULT_VERIFY_TIMEOUT)),
    prometheus: httpUrl.optional(),
    strategyFile: z.string().min(1).optional(),
  }),
  dora: z.object({
    target: deploymentName.optional(),
    window: doraWindowSchema.default("30d"),
    groupBy: z.enum(["target", "namespace", "cluster"]).default("target"),
    output: z.enum(["table", "json"]).default("table"),
  }),
  dashboard: z.object({
    port: z.coerce
      .number({ message: "must be a port number" })
      .int({ message: "must be a whole number" })
      .min(0, { message: "must be 0 (any free port) to 65535" })
      .max(65535, { message: "must be 0 (any free port) to 65535" })
      .default(DEFAULT_DASHBOARD_PORT),
    open: z.boolean().default(true),
    by: person,
    strategyFile: z.string().min(1).optional(),
  }),
} as const;

/** Positional arguments, as the usage line names them in messages. */
const POSITIONALS: Record<string, string> = { release: "NAME", target: "TARGET" };

// The dashboard's buttons act as the other commands do, so it needs who acts too.
const MUTATING = new Set<CommandName>([
  "approve",
  "pause",
  "resume",
  "promote",
  "abort",
  "rollback",
  "dashboard",
]);
const ALL_NAMESPACES_OK = new Set<CommandName>(["list", "dora", "dashboard"]);

const EXIT_CODES_HELP = `
Exit codes:
  0  done (status --watch: Succeeded; rollback --wait: restored and verified)
  1  the operation failed, the release ended RolledBack or Failed, or verification failed
  2  bad usage: unknown command or option, missing or malformed argument
  3  not found: the Release, the target Deployment or the version does not exist
  4  conflict: the request does not fit the Release's state (e.g. it has finished)
  5  timed out waiting (--timeout)

Environment:
  KUBECONFIG             kubeconfig files, as kubectl reads them
  GLIDEPATH_USER         who acts, when --by is not given (default: the OS user)
  GLIDEPATH_PROMETHEUS   Prometheus URL for rollback --wait
  GLIDEPATH_STRATEGY_FILE  the rollout strategy file, for preset stages and default metrics

Docs: docs/cli.md`;

/** Parses and validates a command line (without the program name). */
export function parseCommandLine(argv: readonly string[], env: CliEnvironment = {}): Invocation {
  const programName = env.GLIDEPATH_PROG_NAME || "glidepath";
  const stdout: string[] = [];
  const stderr: string[] = [];
  let chosen: { name: CommandName; raw: Record<string, unknown>; leftovers: string[] } | undefined;
  const program = buildProgram(programName, (name, raw, leftovers) => {
    chosen = { name, raw, leftovers };
  });
  // Subcommands copy their settings when made, so each gets the capture too. Commander's
  // own messages start "error:"; ours name the command, as every other message does.
  for (const command of [program, ...program.commands]) {
    const prefix = command === program ? programName : `${programName} ${command.name()}`;
    command.configureOutput({
      writeOut: (text) => stdout.push(text),
      writeErr: (text) => stderr.push(text),
      outputError: (text, write) => write(text.replace(/^error: /, `${prefix}: `)),
    });
  }
  try {
    program.parse(argv as string[], { from: "user" });
  } catch (error) {
    if (!(error instanceof CommanderError)) throw error;
    const exitCode = error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    if (exitCode === EXIT.usage && error.code !== "commander.help") {
      const command = argv.find((arg) => program.commands.some((candidate) => candidate.name() === arg));
      stderr.push(`Run '${programName}${command ? ` ${command}` : ""} --help' for usage.\n`);
    }
    return { kind: "exit", exitCode, stdout: stdout.join(""), stderr: stderr.join("") };
  }
  if (!chosen) {
    return { kind: "exit", exitCode: EXIT.usage, stdout: "", stderr: program.helpInformation() };
  }
  return validate(programName, chosen.name, chosen.raw, chosen.leftovers, program.opts(), env);
}

function validate(
  programName: string,
  name: CommandName,
  raw: Record<string, unknown>,
  leftovers: readonly string[],
  rawGlobals: Record<string, unknown>,
  env: CliEnvironment,
): Invocation {
  const problems: string[] = leftovers.map((arg) =>
    /^-./.test(arg) ? `unknown option '${arg.split("=")[0]}'` : `unexpected argument '${arg}'`,
  );
  const globals = globalsSchema.safeParse(rawGlobals);
  if (!globals.success) problems.push(...describe(globals.error, rawGlobals));
  if (globals.success && globals.data.allNamespaces && !ALL_NAMESPACES_OK.has(name)) {
    problems.push(`-A/--all-namespaces works with list, dora and dashboard only; name the namespace with -n`);
  }
  if (globals.success && globals.data.allNamespaces && globals.data.namespace) {
    problems.push(`-n/--namespace and -A/--all-namespaces exclude each other`);
  }

  const input: Record<string, unknown> = { ...raw };
  if (MUTATING.has(name)) {
    input.by ??= nonEmpty(env.GLIDEPATH_USER) ?? nonEmpty(env.osUser);
    if (input.by === undefined) problems.push("--by: say who acts (or set GLIDEPATH_USER)");
  }
  if (name === "rollback") input.prometheus ??= nonEmpty(env.GLIDEPATH_PROMETHEUS);
  if (name === "status" || name === "rollback" || name === "dashboard")
    input.strategyFile ??= nonEmpty(env.GLIDEPATH_STRATEGY_FILE);

  const parsed = commandSchemas[name].safeParse(input);
  if (!parsed.success) problems.push(...describe(parsed.error, input));
  if (parsed.success && name === "rollback") {
    const options = parsed.data as z.infer<(typeof commandSchemas)["rollback"]>;
    if (options.wait && options.prometheus === undefined) {
      problems.push(
        "--wait verifies the error ratio in Prometheus: pass --prometheus URL or set GLIDEPATH_PROMETHEUS",
      );
    }
  }
  if (parsed.success && name === "status") {
    const options = parsed.data as z.infer<(typeof commandSchemas)["status"]>;
    if (options.timeout !== undefined && !options.watch) problems.push("--timeout needs --watch");
  }

  if (problems.length > 0 || !globals.success || !parsed.success) {
    const lines = problems.map((problem) => `${programName} ${name}: ${problem}\n`).join("");
    return {
      kind: "exit",
      exitCode: EXIT.usage,
      stdout: "",
      stderr: `${lines}Run '${programName} ${name} --help' for usage.\n`,
    };
  }
  return { kind: "run", globals: definedOnly(globals.data), command: toCommand(name, parsed.data) };
}

function toCommand(name: CommandName, data: Record<string, unknown>): CliCommand {
  if (name === "status") {
    const { timeout, ...rest } = data as z.infer<(typeof commandSchemas)["status"]>;
    return definedOnly({ name, ...rest, ...(timeout === undefined ? {} : { timeoutMs: timeout }) });
  }
  if (name === "rollback") {
    const { timeout, verifyTimeout, prometheus, ...rest } = data as z.infer<
      (typeof commandSchemas)["rollback"]
    >;
    return definedOnly({
      name,
      ...rest,
      timeoutMs: timeout,
      verifyTimeoutMs: verifyTimeout,
      ...(prometheus === undefined ? {} : { prometheusUrl: prometheus }),
    });
  }
  if (name === "dora") {
    const options = data as z.infer<(typeof commandSchemas)["dora"]>;
    return definedOnly({ name, ...options, windowMs: doraWindowMs(options.window) });
  }
  return definedOnly({ name, ...data }) as CliCommand;
}

/** "--verify-timeout: must be a duration…", "NAME: must be a DNS-1123 subdomain…". */
function describe(error: z.ZodError, input: Record<string, unknown>): string[] {
  return error.issues.map((issue) => {
    const key = String(issue.path[0] ?? "");
    const where = POSITIONALS[key] ?? `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
    const message = input[key] === undefined ? "is required" : issue.message;
    return `${where}: ${message}`;
  });
}

function nonEmpty(value: string | undefined): string | undefined {
  return value !== undefined && value.trim() !== "" ? value : undefined;
}

function definedOnly<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/**
 * Called with the command's options, its positional argument (under `positional`, when
 * it has one) and what commander could not place: unknown options and extra arguments,
 * so that validation reports them with every other bad argument, not just the first.
 */
type Capture = (name: CommandName, raw: Record<string, unknown>, leftovers: string[]) => void;

/** Commander lets unknown options and extra arguments through; they are reported in validate(). */
function captured(
  capture: Capture,
  name: CommandName,
  positional: "release" | "target" | undefined,
): (...args: unknown[]) => void {
  return (...args: unknown[]) => {
    const command = args.at(-1) as Command;
    const options = args.at(-2) as Record<string, unknown>;
    // An unknown option may come before the positional: commander then counts it as one.
    const operands = command.args.filter((arg) => !/^-./.test(arg));
    const unknown = command.args.filter((arg) => /^-./.test(arg));
    const [first, ...extra] = positional === undefined ? [] : operands;
    const excess = positional === undefined ? operands : extra;
    capture(name, { ...options, ...(positional && first !== undefined ? { [positional]: first } : {}) }, [
      ...unknown,
      ...excess,
    ]);
  };
}

function buildProgram(programName: string, capture: Capture): Command {
  const program = new Command(programName)
    .description(
      "Glidepath: progressive delivery for Kubernetes. Inspect and steer Releases: staged canary " +
        "rollouts analysed with Prometheus, with a change record for every release.",
    )
    .option("--kubeconfig <path>", "kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)")
    .option("--context <name>", "kubeconfig context to use")
    .option("-n, --namespace <namespace>", "namespace (default: the context's, then 'default')")
    .option("-A, --all-namespaces", "list, dora, dashboard: every namespace")
    .exitOverride()
    .showSuggestionAfterError()
    .addHelpText("after", EXIT_CODES_HELP);
  program.configureHelp({ sortSubcommands: false });

  const by = [
    "--by <who>",
    "who acts, recorded on the Release (default: $GLIDEPATH_USER or the OS user)",
  ] as const;

  program
    .command("list")
    .description("list Releases, as kubectl get does")
    .option("-o, --output <format>", "table, json or yaml", "table")
    .action(captured(capture, "list", undefined));

  program
    .command("status")
    .description("a Release's phase, stage bar, traffic weights, newest measurements and conditions")
    .argument("[name]", "the Release")
    .option("-w, --watch", "follow the Release until it finishes (exit 0 Succeeded, 1 RolledBack or Failed)")
    .option("-o, --output <format>", "text or json (json with --watch: one object per line)", "text")
    .option("--timeout <duration>", "with --watch: give up after this long (exit 5)")
    .option("--strategy-file <path>", "rollout strategy file naming the preset stages")
    .action(captured(capture, "status", "release"));

  program
    .command("history")
    .description("the Releases of a Deployment, newest first, with their outcome")
    .argument("[target]", "the target Deployment")
    .option("-o, --output <format>", "table or json", "table")
    .action(captured(capture, "history", "target"));

  program
    .command("dora")
    .description(
      "DORA figures from the ReleaseRecords: deployment frequency, lead time, change failure rate, time to restore",
    )
    .argument("[target]", "only this target Deployment")
    .option("--window <days>", 'how far back, in days, e.g. "30d"', "30d")
    .option("--group-by <scope>", "target, namespace or cluster", "target")
    .option("-o, --output <format>", "table or json", "table")
    .action(captured(capture, "dora", "target"));

  program
    .command("record")
    .description("a Release's change record: the change request, approvals, stages, metrics, rollback")
    .argument("[name]", "the Release")
    .option("-o, --output <format>", "md, json or yaml", "md")
    .action(captured(capture, "record", "release"));

  program
    .command("approve")
    .description("approve a Release waiting at an approval gate (or approve ahead of it)")
    .argument("[name]", "the Release")
    .option(...by)
    .option("--comment <text>", "why, recorded with the approval")
    .action(captured(capture, "approve", "release"));

  program
    .command("pause")
    .description("hold a Release where it is; analysis goes on and a failure still rolls back")
    .argument("[name]", "the Release")
    .option(...by)
    .option("--reason <text>", "why, recorded on the Release")
    .action(captured(capture, "pause", "release"));

  program
    .command("resume")
    .description("let a paused Release go on")
    .argument("[name]", "the Release")
    .option(...by)
    .action(captured(capture, "resume", "release"));

  program
    .command("promote")
    .description("end the current stage now (with --full: go straight to GA); approval gates still hold")
    .argument("[name]", "the Release")
    .option(...by)
    .option("--full", "skip every remaining stage up to GA")
    .action(captured(capture, "promote", "release"));

  program
    .command("abort")
    .description("roll a Release back now: traffic to stable, canary to zero, stable reverted")
    .argument("[name]", "the Release")
    .option(...by)
    .option("--reason <text>", "why, recorded in the rollback")
    .action(captured(capture, "abort", "release"));

  program
    .command("rollback")
    .description(
      "roll a Deployment back: mid-release, abort the active Release; after GA, release the " +
        "chosen earlier version straight to GA as an emergency change",
    )
    .argument("[target]", "the target Deployment")
    .option(
      "--version <version>",
      "'previous' (the version before the newest release; after a rollback, the one it restored) or a version",
    )
    .option(...by)
    .option("--reason <text>", "why: the change request's reason and the abort's")
    .option(
      "--change-id <id>",
      "change-request id of the rollback (default: <id of the release undone>-rollback)",
    )
    .option("--wait", "wait until done, then verify pods Ready and metrics under threshold (exit 1 if not)")
    .option("--timeout <duration>", "with --wait: how long the rollback may take", DEFAULT_WAIT_TIMEOUT)
    .option(
      "--verify-timeout <duration>",
      "with --wait: how long pods and metrics get to verify",
      DEFAULT_VERIFY_TIMEOUT,
    )
    .option("--prometheus <url>", "Prometheus for the verification (default: $GLIDEPATH_PROMETHEUS)")
    .option("--strategy-file <path>", "rollout strategy file whose default metrics apply")
    .action(captured(capture, "rollback", "target"));

  program
    .command("dashboard")
    .description(
      "a live web dashboard on 127.0.0.1: every release, each one's stages, metrics and record, and " +
        "buttons that act with your own kubeconfig (docs/dashboard.md)",
    )
    .option("--port <port>", "port on 127.0.0.1; 0 picks a free one", String(DEFAULT_DASHBOARD_PORT))
    .option("--no-open", "print the URL only; do not open a browser")
    .option(...by)
    .option("--strategy-file <path>", "rollout strategy file naming the preset stages")
    .action(captured(capture, "dashboard", undefined));

  for (const command of program.commands) {
    command.exitOverride().showSuggestionAfterError().allowUnknownOption().allowExcessArguments();
  }
  return program;
}
