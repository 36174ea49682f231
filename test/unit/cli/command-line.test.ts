import { describe, expect, it } from "vitest";
import { parseCommandLine, type CliEnvironment, type Invocation } from "../../../src/cli/command-line.ts";

const env: CliEnvironment = { osUser: "ops" };

function run(argv: string[], environment: CliEnvironment = env) {
  const invocation = parseCommandLine(argv, environment);
  if (invocation.kind !== "run") throw new Error(`expected a command, got: ${invocation.stderr}`);
  return invocation;
}

function usageError(
  argv: string[],
  environment: CliEnvironment = env,
): Extract<Invocation, { kind: "exit" }> {
  const invocation = parseCommandLine(argv, environment);
  if (invocation.kind !== "exit") throw new Error(`expected a usage error for ${argv.join(" ")}`);
  expect(invocation.exitCode).toBe(2);
  return invocation;
}

describe("kubectl's flags", () => {
  it("are read before and after the command, as kubectl passes them to plugins", () => {
    const before = run(["-n", "shop", "--context", "prod", "list"]);
    const after = run(["list", "-n", "shop", "--context", "prod"]);
    expect(before).toEqual(after);
    expect(before.globals).toEqual({ namespace: "shop", context: "prod", allNamespaces: false });
  });

  it("take --kubeconfig=PATH and -A", () => {
    expect(run(["list", "--kubeconfig=/tmp/k", "-A"]).globals).toEqual({
      kubeconfig: "/tmp/k",
      allNamespaces: true,
    });
  });

  it("reject a namespace that is not a DNS label", () => {
    const error = usageError(["list", "-n", "Shop_Prod"]);
    expect(error.stderr).toContain("--namespace: must be a DNS-1123 label");
  });

  it("allow -A with list only, and never with -n", () => {
    expect(usageError(["status", "x", "-A"]).stderr).toContain(
      "-A/--all-namespaces works with list, dora and dashboard only",
    );
    expect(usageError(["list", "-A", "-n", "shop"]).stderr).toContain("exclude each other");
  });
});

describe("commands", () => {
  it("list defaults to a table and takes -o json|yaml", () => {
    expect(run(["list"]).command).toEqual({ name: "list", output: "table" });
    expect(run(["list", "-o", "yaml"]).command).toEqual({ name: "list", output: "yaml" });
    expect(usageError(["list", "-o", "wide"]).stderr).toContain("--output:");
  });

  it("status takes a Release name, --watch with a --timeout, -o json", () => {
    expect(run(["status", "checkout-2-4-0", "-w", "--timeout", "10m", "-o", "json"]).command).toEqual({
      name: "status",
      release: "checkout-2-4-0",
      watch: true,
      output: "json",
      timeoutMs: 600_000,
    });
    expect(usageError(["status", "Checkout"]).stderr).toContain("NAME: must be a DNS-1123 subdomain");
    expect(usageError(["status", "x", "--timeout", "10m"]).stderr).toContain("--timeout needs --watch");
    expect(usageError(["status", "x", "-w", "--timeout", "ten"]).stderr).toContain(
      '--timeout: must be a duration such as "30s"',
    );
    expect(usageError(["status"]).stderr).toContain("glidepath status: NAME: is required\n");
  });

  it("history takes a Deployment name; record takes md|json|yaml", () => {
    expect(run(["history", "checkout"]).command).toEqual({
      name: "history",
      target: "checkout",
      output: "table",
    });
    expect(run(["record", "r1", "-o", "json"]).command).toEqual({
      name: "record",
      release: "r1",
      output: "json",
    });
    expect(usageError(["record", "r1", "-o", "pdf"]).stderr).toContain("--output:");
    expect(usageError(["history", "checkout.v2"]).stderr).toContain("TARGET: must be a DNS-1123 label");
  });

  it("records who acts: --by, else $GLIDEPATH_USER, else the OS user", () => {
    expect(run(["pause", "r1", "--by", "paula"]).command).toMatchObject({ by: "paula" });
    expect(run(["pause", "r1"], { GLIDEPATH_USER: "gina", osUser: "ops" }).command).toMatchObject({
      by: "gina",
    });
    expect(run(["pause", "r1"], { osUser: "ops" }).command).toMatchObject({ by: "ops" });
    expect(usageError(["pause", "r1"], {}).stderr).toContain("--by: say who acts");
    expect(usageError(["approve", "r1", "--by", "   "]).stderr).toContain("--by: must name a person");
  });

  it("approve, pause, resume, promote and abort carry their options", () => {
    expect(run(["approve", "r1", "--by", "carol", "--comment", "looks good"]).command).toEqual({
      name: "approve",
      release: "r1",
      by: "carol",
      comment: "looks good",
    });
    expect(run(["promote", "r1", "--full"]).command).toEqual({
      name: "promote",
      release: "r1",
      by: "ops",
      full: true,
    });
    expect(run(["promote", "r1"]).command).toEqual({
      name: "promote",
      release: "r1",
      by: "ops",
      full: false,
    });
    expect(run(["resume", "r1"]).command).toEqual({ name: "resume", release: "r1", by: "ops" });
    expect(run(["abort", "r1", "--reason", "errors"]).command).toEqual({
      name: "abort",
      release: "r1",
      by: "ops",
      reason: "errors",
    });
    expect(usageError(["abort", "r1", "--reason", "x".repeat(1001)]).stderr).toContain("--reason:");
  });

  it("rollback needs --version=previous or a version, and Prometheus to --wait", () => {
    expect(run(["rollback", "checkout", "--version=previous"]).command).toEqual({
      name: "rollback",
      target: "checkout",
      version: "previous",
      by: "ops",
      wait: false,
      timeoutMs: 15 * 60_000,
      verifyTimeoutMs: 5 * 60_000,
    });
    expect(
      run(
        [
          "rollback",
          "checkout",
          "--version",
          "2.3.1",
          "--wait",
          "--verify-timeout",
          "90s",
          "--change-id",
          "CHG-9",
        ],
        { osUser: "ops", GLIDEPATH_PROMETHEUS: "http://prometheus:9090" },
      ).command,
    ).toMatchObject({
      version: "2.3.1",
      wait: true,
      verifyTimeoutMs: 90_000,
      prometheusUrl: "http://prometheus:9090",
      changeId: "CHG-9",
    });
    expect(usageError(["rollback", "checkout"]).stderr).toContain(
      "glidepath rollback: --version: is required\n",
    );
    expect(usageError(["rollback", "checkout", "--version=2.3.1 beta"]).stderr).toContain("--version:");
    expect(usageError(["rollback", "checkout", "--version=previous", "--wait"]).stderr).toContain(
      "--wait verifies the error ratio in Prometheus",
    );
    expect(
      usageError(["rollback", "checkout", "--version=previous", "--wait", "--prometheus", "ftp://x"]).stderr,
    ).toContain("--prometheus: must be an http:// or https:// URL");
    expect(usageError(["rollback", "checkout", "--version=previous", "--timeout", "0s"]).stderr).toContain(
      "--timeout: must be longer than 0s",
    );
  });

  it("reports every problem at once, and where to read the usage", () => {
    const error = usageError(["rollback", "Bad_Target", "--version=previous", "-n", "Bad_NS"]);
    expect(error.stderr).toContain("--namespace:");
    expect(error.stderr).toContain("TARGET:");
    expect(error.stderr).toContain("Run 'glidepath rollback --help' for usage.");
  });

  it("names the command and every bad argument: unknown options, extra arguments, missing and malformed values", () => {
    const error = usageError(["rollback", "--bogus", "Bad_Target", "extra", "--wiat", "-n", "Bad_NS"]);
    expect(error.stderr.split("\n")).toEqual([
      "glidepath rollback: unknown option '--bogus'",
      "glidepath rollback: unknown option '--wiat'",
      "glidepath rollback: unexpected argument 'extra'",
      expect.stringMatching(/^glidepath rollback: --namespace: must be a DNS-1123 label/),
      expect.stringMatching(/^glidepath rollback: TARGET: must be a DNS-1123 label/),
      "glidepath rollback: --version: is required",
      "Run 'glidepath rollback --help' for usage.",
      "",
    ]);
    // Commander's own errors (an option without its value) carry the same prefix.
    expect(usageError(["status", "r1", "--timeout"]).stderr).toMatch(
      /^glidepath status: option '--timeout <duration>' argument missing\n/,
    );
  });
});

describe("help and mistakes", () => {
  it("prints help on stdout with exit 0, naming the exit codes", () => {
    const help = parseCommandLine(["--help"], env);
    expect(help).toMatchObject({ kind: "exit", exitCode: 0 });
    if (help.kind !== "exit") return;
    expect(help.stdout).toContain("Usage: glidepath");
    expect(help.stdout).toContain("4  conflict");
    const sub = parseCommandLine(["rollback", "--help"], env);
    expect(sub).toMatchObject({ kind: "exit", exitCode: 0 });
  });

  it("names itself as kubectl users type it when run as the plugin", () => {
    const help = parseCommandLine(["--help"], { GLIDEPATH_PROG_NAME: "kubectl glidepath" });
    expect(help.kind === "exit" && help.stdout).toContain("Usage: kubectl glidepath");
    const error = usageError(["approve"], { GLIDEPATH_PROG_NAME: "kubectl glidepath", osUser: "ops" });
    expect(error.stderr).toContain("Run 'kubectl glidepath approve --help' for usage.");
  });

  it("answers an unknown command or option with exit 2 and a suggestion", () => {
    expect(usageError(["lsit"]).stderr).toContain("Did you mean list?");
    expect(usageError(["list", "--watch"]).stderr).toContain("unknown option '--watch'");
    expect(usageError([]).stderr).toContain("Usage: glidepath");
  });
});

describe("dashboard", () => {
  it("serves on port 8090 and opens the browser by default; --port 0 --no-open -A and --by are taken", () => {
    expect(run(["dashboard"]).command).toEqual({ name: "dashboard", port: 8090, open: true, by: "ops" });
    const invocation = run(["dashboard", "--port", "0", "--no-open", "-A", "--by", "carol"]);
    expect(invocation.command).toEqual({ name: "dashboard", port: 0, open: false, by: "carol" });
    expect(invocation.globals.allNamespaces).toBe(true);
  });

  it("refuses a port that is not one", () => {
    expect(usageError(["dashboard", "--port", "70000"]).stderr).toContain(
      "--port: must be 0 (any free port) to 65535",
    );
    expect(usageError(["dashboard", "--port", "http"]).stderr).toContain("--port: must be a port number");
  });
});

describe("glidepath dora", () => {
  it("defaults to 30 days per target, and takes a target, a window, a scope and -A", () => {
    expect(run(["dora"]).command).toEqual({
      name: "dora",
      window: "30d",
      windowMs: 30 * 86_400_000,
      groupBy: "target",
      output: "table",
    });
    const given = run(["dora", "checkout", "--window", "7d", "--group-by", "namespace", "-o", "json", "-A"]);
    expect(given.command).toEqual({
      name: "dora",
      target: "checkout",
      window: "7d",
      windowMs: 7 * 86_400_000,
      groupBy: "namespace",
      output: "json",
    });
    expect(given.globals.allNamespaces).toBe(true);
  });

  it("says what is wrong with a window or a scope", () => {
    expect(usageError(["dora", "--window", "2w"]).stderr).toContain(
      'glidepath dora: --window: must be a number of days, e.g. "30d" (1d to 9999d)',
    );
    expect(usageError(["dora", "--group-by", "team"]).stderr).toContain("glidepath dora: --group-by:");
  });
});
