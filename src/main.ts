// The Glidepath controller: `node src/main.ts [--config FILE] [--kubeconfig FILE] [--context NAME]`.
// In a cluster it uses its ServiceAccount; elsewhere the kubeconfig, like kubectl.
import { hostname } from "node:os";
import { AdmissionregistrationV1Api, AuthorizationV1Api, CoreV1Api } from "@kubernetes/client-node";
import { parseArgs } from "node:util";
import { z } from "zod";
import { describeIssues, formatIssues, parseDuration } from "./api/index.ts";
import { SelfManagedCertificate, startAdmissionWebhook, type AdmissionWebhook } from "./admission/index.ts";
import { MIN_STAMP_KEY_BYTES } from "./api/index.ts";
import { Controller } from "./controller/controller.ts";
import { AlertInboxStore, createAlertmanagerHook, ReleaseAlertRecorder } from "./hooks/index.ts";
import type { RouteHandler } from "./http/server.ts";
import { createSecretReader, loadControllerConfig, loadStrategyFile } from "./config/index.ts";
import { loadKubeConfig, makeKubeClients } from "./kube/index.ts";
import { createNotifier } from "./notify/index.ts";
import { createLogger } from "./telemetry/logger.ts";

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
  const strategy = await loadStrategyFile(config.strategyFile);
  const kubeConfig = loadKubeConfig({
    ...(args.kubeconfig ? { kubeconfigPath: args.kubeconfig } : {}),
    ...(args.context ? { context: args.context } : {}),
  });
  const hookConfig = config.hooks.alertmanager;
  // Read now, so a missing Secret stops start-up with a clear message (never the value).
  const hookToken = hookConfig ? createSecretReader(hookConfig.token) : undefined;
  await hookToken?.value();
  // The identity stamps' key: read now, so a missing or short key stops start-up (its value is never logged).
  const stampKeyReader = config.trust.stampKey ? createSecretReader(config.trust.stampKey) : undefined;
  const stampKey = async (): Promise<Buffer | undefined> => {
    if (!stampKeyReader) return undefined;
    const key = Buffer.from(await stampKeyReader.value(), "utf8");
    if (key.length < MIN_STAMP_KEY_BYTES)
      throw new Error(
        `trust.stampKey (${stampKeyReader.source}) holds ${key.length} bytes; it needs at least ${MIN_STAMP_KEY_BYTES} (e.g. openssl rand -hex 32)`,
      );
    return key;
  };
  await stampKey();
  const alerts = new AlertInboxStore(hookConfig ? { retentionMs: parseDuration(hookConfig.retention) } : {});
  const notifier = await createNotifier(config.notifiers, {
    logger: logger.child({ component: "notifier" }),
    onOutcome: (name, outcome) => controller.metrics.notifications.inc({ notifier: name, outcome }),
  });
  // Filled in below: the hook needs the controller it reports to; the server reads routes at start().
  const routes: Record<string, RouteHandler> = {};
  const controller = new Controller({
    config,
    strategy,
    kubeConfig,
    logger,
    alerts,
    notifier,
    routes,
    host: args.host,
    identity: args.identity ?? `${hostname()}_${process.pid}`,
    stamps: { key: stampKey, webhook: config.trust.webhook !== undefined },
    onLeadershipLost: (reason) => {
      // Another replica may be acting already: stop at once rather than race it.
      logger.error({ reason }, "leadership lost; exiting");
      process.exit(1);
    },
  });
  if (hookConfig && hookToken) {
    routes["POST /hooks/alertmanager"] = createAlertmanagerHook({
      host: controller,
      strategy,
      inbox: alerts,
      // Not the controller's clients: their writes need a fresh Lease, and a follower has none.
      recorder: new ReleaseAlertRecorder(
        makeKubeClients(kubeConfig, {
          requestTimeoutMs: parseDuration(config.kubernetes.requestTimeout),
        }).customObjects,
      ),
      token: hookToken,
      maxBodyBytes: hookConfig.maxBodyBytes,
      metrics: controller.metrics,
      logger,
    });
  } else {
    logger.warn("no hooks.alertmanager token configured: POST /hooks/alertmanager is not served");
  }
  const webhookConfig = config.trust.webhook;
  let webhook: AdmissionWebhook | undefined;
  let selfManaged: SelfManagedCertificate | undefined;
  if (webhookConfig) {
    let certificate: Parameters<typeof startAdmissionWebhook>[0]["certificate"];
    if (webhookConfig.selfManagedCertificate) {
      // The controller's own CA: the certificate exists and the API server trusts it before the webhook serves.
      selfManaged = new SelfManagedCertificate({
        config: webhookConfig.selfManagedCertificate,
        core: kubeConfig.makeApiClient(CoreV1Api),
        registration: kubeConfig.makeApiClient(AdmissionregistrationV1Api),
        logger,
      });
      certificate = { pair: await selfManaged.ensure() };
    } else {
      certificate = { certFile: webhookConfig.certFile ?? "", keyFile: webhookConfig.keyFile ?? "" };
    }
    webhook = await startAdmissionWebhook({
      port: webhookConfig.port,
      host: args.host,
      certificate,
      maxBodyBytes: webhookConfig.maxBodyBytes,
      ...(webhookConfig.clientCAFile ? { clientCaFile: webhookConfig.clientCAFile } : {}),
      stampKey: async () => (await stampKey()) as Buffer,
      strategy,
      authorization: kubeConfig.makeApiClient(AuthorizationV1Api),
      logger,
    });
    if (selfManaged && "pair" in certificate) {
      const served = webhook;
      selfManaged.start((pair) => served.setCertificate(pair), certificate.pair);
    }
  } else {
    logger.warn(
      "trust.webhook is not configured: no approval can be verified, so approval gates stay closed (docs/security.md)",
    );
  }
  await controller.start();
  logger.info(
    {
      url: controller.url,
      metricsUrl: controller.metricsUrl,
      identity: controller.identity,
      alertmanagerHook: Boolean(hookConfig),
      admissionWebhook: webhook?.url,
      notifiers: notifier.notifiers,
    },
    "controller started",
  );
  let stopping = false;
  stopForFatal = () => controller.stop();
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "stopping");
    selfManaged?.stop();
    Promise.all([controller.stop(), webhook?.close()])
      // The last notifications (a rollback just finished) get a few seconds to go out.
      .then(async ([stopped]) => {
        await notifier.close(5_000);
        return stopped;
      })
      .then(
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
