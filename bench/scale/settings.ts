// The scale benchmark's settings, from the environment (bench/README.md lists them).
import { readFileSync } from "node:fs";

export const settings = {
  active: (process.env.BENCH_ACTIVE ?? "100,1000")
    .split(",")
    .map(Number)
    .filter((count) => count > 0)
    .sort((a, b) => a - b),
  completed: Number(process.env.BENCH_COMPLETED ?? 10_000),
  windowSeconds: Number(process.env.BENCH_WINDOW_S ?? 120),
  steadySeconds: Number(process.env.BENCH_STEADY_S ?? 180),
  /** After the last Release reached its canary, before a window starts. */
  settleSeconds: Number(process.env.BENCH_SETTLE_S ?? 15),
  /** Services (and active Releases) per namespace; sharding splits by namespace, so small runs want fewer. */
  perNamespace: Number(process.env.BENCH_PER_NAMESPACE ?? 50),
  profile: process.env.BENCH_PROFILE as "cpu" | "heap" | undefined,
  /** Controller configuration (workers) and Node flags, for experiments; unset = the product's defaults. */
  workers: process.env.BENCH_WORKERS ? Number(process.env.BENCH_WORKERS) : undefined,
  /** Controller replicas; above 1 they run sharded (sharding.replicas) and a failover phase replaces the restart. */
  replicas: Math.max(1, Number(process.env.BENCH_REPLICAS ?? 1)),
  nodeOptions:
    process.env.BENCH_NODE_OPTIONS === undefined
      ? imageNodeFlags()
      : process.env.BENCH_NODE_OPTIONS.split(" ").filter(Boolean),
};

/** The Node flags of the image's ENTRYPOINT (between `node` and the script), so the controller runs as in a Pod. */
function imageNodeFlags(): string[] {
  const entrypoint = readFileSync(new URL("../../Dockerfile", import.meta.url), "utf8")
    .split("\n")
    .find((line) => line.startsWith("ENTRYPOINT "));
  if (!entrypoint) throw new Error("the Dockerfile has no ENTRYPOINT");
  return (JSON.parse(entrypoint.slice("ENTRYPOINT ".length)) as string[]).slice(1, -1);
}
