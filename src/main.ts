// The Glidepath controller: `node src/main.ts [--config FILE] [--kubeconfig FILE] [--context NAME]`.
// In a cluster it uses its ServiceAccount; elsewhere the kubeconfig, like kubectl.
// Everything it runs is built in src/wiring.ts; here: the command line, the files, signals.
import { hostname } from "node:os";
import { parseArgs } from "node:util";
import { z } from "zod";
import { describeIssues, formatIssues } from "./api/index.ts";
import { loadControllerConfig, loadStrategyFile } from "./config/index.ts";
import { loadKubeConfig } from "./kube/index.ts";
import { createLogger } from "./telemetry/logger.ts";
import { wireController } from "./wiring.ts";

const argsSchema = z.object({
  config: z.string().min(1).optional(),
  kubeconfig: z.string().min(1).optional(),
  context: z.string().min(1).optional(),
  host: z.string().min(1).default("0.0.0.0"),
  identity: z.string().min(1).max(128).optional(),
});

function parseCommandLine(argv: string[]) {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: "string" },
      kubeconfig: { type: "string" },
      context: { type: "string" },
      host: { type: "string" },
      identity: { type: "string" },
    },
    strict: true,
    allowPositionals: false,
  });
  const parsed = argsSchema.safeParse({
    ...values,
    config: values.config ?? process.env.GLIDEPATH_CONFIG,
    identity: values.identity ?? process.env.POD_NAME,
  });
  if (!parsed.success) throw new Error(`bad arguments: ${describeIssues(formatIssues(parsed.error, "--"))}`);
  return parsed.data;
}

const logger = createLogger({ name: "glidepath-controller" });
/** What a fatal error stops before the process exits; set once the controller runs. */
let stopForFatal: (() => Promise<unknown>) | undefined;
/** A fatal error may not wait on a stop that hangs: exit 1 after this long regardless. */
const FATAL_STOP_CAP_MS = 5_000;
let fatal = false;
const onFatal = (kind: string) => (error: unknown) => {
  logger.fatal({ err: error, kind }, `${kind}: ${(error as Error)?.message ?? String(error)}; stopping`);
  if (fatal) return;
  fatal = true;
  setTimeout(() => process.exit(1), FATAL_STOP_CAP_MS).unref();
  void (stopForFatal?.() ?? Promise.resolve()).finally(() => process.exit(1));
};
// A bug must not leave a half-working leader: stop (time-capped) and exit 1 to be restarted.
process.on("unhandledRejection", onFatal("unhandledRejection"));
process.on("uncaughtException", onFatal("uncaughtException"));
try {
  const args = parseCommandLine(process.argv.slice(2));
  const config = await loadControllerConfig(args.config);
  const glidepath = await wireController({
    config,
    strategy: await loadStrategyFile(config.strategyFile),
    kubeConfig: loadKubeConfig({
      ...(args.kubeconfig ? { kubeconfigPath: args.kubeconfig } : {}),
      ...(args.context ? { context: args.context } : {}),
    }),
    logger,
    host: args.host,
    identity: args.identity ?? `${hostname()}_${process.pid}`,
    onLeadershipLost: (reason) => {
      // Another replica may be acting already: stop at once rather than race it.
      logger.error({ reason }, "leadership lost; exiting");
      process.exit(1);
    },
  });
  await glidepath.start();
  logger.info(glidepath.describe(), "controller started");
  stopForFatal = () => glidepath.stop();
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "stopping");
    glidepath.stop().then(
      // A drain that ran out left the Lease to expire: say so with the exit code too.
      (stopped) => process.exit(stopped.drained ? 0 : 1),
      (error: unknown) => {
        logger.error({ err: error }, "stop failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
} catch (error) {
  logger.fatal({ err: error }, (error as Error).message);
  process.exit(2);
}
