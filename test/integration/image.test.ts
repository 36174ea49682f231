// The container image, as far as these machines allow: there is no Docker engine, so the
// image is never built. Instead the Dockerfile's stages are run on the host — production
// dependencies only (`npm ci --omit=dev`) into an empty folder, the controller compiled
// with `tsc -p tsconfig.build.json` — and the image's entry point is started from there:
// it fails cleanly without a kubeconfig, and with one it serves /readyz against the real
// API server. So the runtime stage needs no devDependency and no TypeScript source.
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { installControllerRbac } from "../harness/controller.ts";
import { freePort, ProcessSupervisor, runCommand, type ManagedProcess } from "../harness/processes.ts";
import { stackInfo, waitFor } from "../harness/context.ts";
import { dockerEntrypoint, readRepoFile, repoRoot } from "../unit/install/objects.ts";

const dockerfile = readRepoFile("Dockerfile");
const runLines = dockerfile.split("\n").filter((line) => line.startsWith("RUN "));
/** What the image's WORKDIR /app holds, built on this machine. */
let app: string;
/** Node 24, the runtime the image has (the `node` devDependency runs the tests too). */
const node = process.execPath;

/** The entry point as the image runs it, with `args`, in `app`; resolves with its exit and output. */
/** The ENTRYPOINT's arguments to node (its V8 flags, then the script), with /app/ mapped to this stage's copy. */
function entrypointArgs(): string[] {
  const [, ...nodeArgs] = dockerEntrypoint();
  const script = nodeArgs.pop() ?? "";
  return [...nodeArgs, join(app, script.replace(/^\/app\//, ""))];
}

async function runEntrypoint(args: string[], env: NodeJS.ProcessEnv) {
  return runCommand(node, [...entrypointArgs(), ...args], {
    cwd: app,
    env,
    allowFailure: true,
    timeoutMs: 60_000,
  });
}

/** An environment with no way to find a cluster: no KUBECONFIG, no service host, an empty HOME. */
function isolatedEnv(): NodeJS.ProcessEnv {
  const home = join(app, "..", "home");
  mkdirSync(home, { recursive: true });
  const { KUBECONFIG: _k, KUBERNETES_SERVICE_HOST: _h, KUBERNETES_SERVICE_PORT: _p, ...env } = process.env;
  return { ...env, HOME: home, NODE_ENV: "production" };
}

describe("the Dockerfile", () => {
  it("uses the Node version the tests run on, and the commands this test reproduces", () => {
    const nodeVersion = (
      JSON.parse(readRepoFile("node_modules/node/package.json")) as {
        version: string;
      }
    ).version;
    expect(dockerfile).toContain(`ARG NODE_VERSION=${nodeVersion}`);
    expect(process.version).toBe(`v${nodeVersion}`);
    expect(runLines).toEqual([
      "RUN npm ci --ignore-scripts --no-audit --no-fund",
      "RUN node node_modules/typescript/bin/tsc -p tsconfig.build.json",
      "RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force",
    ]);
    expect(dockerfile).toMatch(/^USER 1000:1000$/m);
  });

  it("copies only files that .dockerignore lets into the build context", () => {
    const allowed = new Set(
      readRepoFile(".dockerignore")
        .split("\n")
        .filter((line) => line.startsWith("!"))
        .map((line) => line.slice(1)),
    );
    const copied = dockerfile
      .split("\n")
      .filter((line) => line.startsWith("COPY ") && !line.includes("--from="))
      .flatMap((line) => line.split(/\s+/).slice(1, -1));
    expect(copied.length).toBeGreaterThan(0);
    for (const source of copied) {
      expect(allowed.has(source), `${source} is excluded by .dockerignore`).toBe(true);
      expect(existsSync(join(repoRoot, source)), source).toBe(true);
    }
  });
});

describe("the image's stages, run on this machine", () => {
  const supervisor = () => new ProcessSupervisor(stackInfo().runDir);
  let controller: ManagedProcess | undefined;

  beforeAll(async () => {
    app = join(stackInfo().runDir, "image", "app");
    rmSync(dirname(app), { recursive: true, force: true });
    mkdirSync(app, { recursive: true });
    // Stage "deps": production dependencies only, from the lock file.
    for (const file of ["package.json", "package-lock.json"]) cpSync(join(repoRoot, file), join(app, file));
    const npmEnv = { ...process.env, PATH: `${dirname(node)}:${process.env.PATH ?? ""}` };
    await runCommand(
      "npm",
      ["ci", "--omit=dev", "--ignore-scripts", "--no-audit", "--no-fund", "--prefer-offline"],
      { cwd: app, env: npmEnv, timeoutMs: 300_000 },
    );
    // Stage "build": the compiler over src/ (here straight into the runtime folder).
    await runCommand(
      node,
      [
        join(repoRoot, "node_modules/typescript/bin/tsc"),
        "-p",
        "tsconfig.build.json",
        "--outDir",
        join(app, "dist"),
      ],
      { cwd: repoRoot, timeoutMs: 300_000 },
    );
    // The runtime stage's other files.
    mkdirSync(join(app, "rollout"));
    cpSync(join(repoRoot, "rollout/rollout-strategy.json"), join(app, "rollout/rollout-strategy.json"));
  }, 400_000);

  afterAll(async () => {
    await controller?.stop(10_000);
  });

  it("installs every production package of the lock file and no development-only one", () => {
    // @types/node is a dependency of @kubernetes/client-node, so the lock file does not mark it dev.
    const lock = JSON.parse(readRepoFile("package-lock.json")) as {
      packages: Record<string, { dev?: boolean; optional?: boolean }>;
    };
    const entries = Object.entries(lock.packages).filter(([path, entry]) => path !== "" && !entry.optional);
    const wrong = entries
      .filter(([path, entry]) => existsSync(join(app, path)) === Boolean(entry.dev))
      .map(([path, entry]) => `${path} (${entry.dev ? "dev, installed" : "production, missing"})`);
    expect(wrong).toEqual([]);
    expect(entries.filter(([, entry]) => entry.dev).length).toBeGreaterThan(0);
    expect(existsSync(join(app, "node_modules", "typescript"))).toBe(false);
    expect(existsSync(join(app, "dist", "main.js"))).toBe(true);
  });

  it("exits 2 with a message a person can act on when there is no cluster to talk to", async () => {
    const missing = await runEntrypoint(["--kubeconfig", "/nonexistent/kubeconfig"], isolatedEnv());
    expect(missing.code).toBe(2);
    expect(missing.stdout).toContain("kubeconfig /nonexistent/kubeconfig does not exist");

    const nothing = await runEntrypoint([], isolatedEnv());
    expect(nothing.code).toBe(2);
    expect(nothing.stdout).toContain("no Kubernetes client configuration");

    const unknown = await runEntrypoint(["--no-such-flag"], isolatedEnv());
    expect(unknown.code).toBe(2);
    expect(unknown.stdout).toContain("Unknown option '--no-such-flag'");
  });

  it("serves /healthz, /readyz and /metrics against the real API server under the controller's ServiceAccount", async () => {
    const info = stackInfo();
    const kubeconfigPath = await installControllerRbac({
      kubectlPath: info.kubectlPath,
      adminKubeconfigPath: info.kubeconfigPath,
    });
    const port = await freePort();
    const configPath = join(app, "..", "config.yaml");
    // The default strategyFile (rollout/rollout-strategy.json) resolves in /app, as in the image.
    writeFileSync(
      configPath,
      stringify({
        prometheus: { url: info.prometheus.url },
        port,
        // The Lease rbac.yaml lets the controller's ServiceAccount renew (its Role names it).
        leaderElection: { leaseName: "glidepath-controller", leaseNamespace: "glidepath-system" },
      }),
    );
    controller = supervisor().start({
      name: "image-entrypoint",
      command: node,
      args: [
        ...entrypointArgs(),
        "--config",
        configPath,
        "--kubeconfig",
        kubeconfigPath,
        "--host",
        "127.0.0.1",
        "--identity",
        "image-test",
      ],
      cwd: app,
      env: { ...isolatedEnv(), POD_NAME: "image-test" },
    });
    const url = `http://127.0.0.1:${port}`;
    await waitFor(async () => (await fetch(`${url}/readyz`)).ok, {
      timeoutMs: 60_000,
      description: `the compiled controller ready on ${url}`,
    });
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    expect(await (await fetch(`${url}/metrics`)).text()).toContain("glidepath_releases");
    const log = readFileSync(controller.logFile, "utf8");
    expect(log).toContain('"msg":"controller started"');
    await controller.stop(10_000);
    expect((await controller.exited).code).toBe(0);
  });
});
