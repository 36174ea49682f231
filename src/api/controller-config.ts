// Over 400 lines on purpose: the one schema of the controller's configuration file, each setting with its default, bounds and description (the docs and the Helm values follow it).
import { validate as isCronExpression } from "node-cron";
import { z } from "zod";
import { boundedDuration, parseDuration } from "./duration.ts";
import { dnsLabelSchema } from "./names.ts";
import { formatIssues, type ValidationIssue } from "./validation.ts";

// The controller's own configuration (a YAML or JSON file, a ConfigMap in a cluster).

const cronSchema = z
  .string()
  .min(1)
  .max(128)
  // Five fields: windows open on a minute; a seconds field would be honoured only at second 0.
  .refine((expression) => expression.trim().split(/\s+/).length === 5 && isCronExpression(expression), {
    message: 'must be a cron expression such as "0 9 * * 1-5" (minute hour day-of-month month day-of-week)',
  });

export const changeWindowSchema = z.object({
  name: z.string().min(1).max(63),
  /** When the window opens. */
  cron: cronSchema,
  /** How long it stays open. */
  duration: boundedDuration("duration", { max: "168h" }, "How long the window stays open."),
});

/** What a freeze does to releases that started before it began. */
export const freezeInFlightPolicies = ["continue", "holdBetweenStages"] as const;

export const changeFreezeSchema = z
  .object({
    name: z.string().min(1).max(63),
    reason: z.string().max(500).default(""),
    /** A recurring freeze: starts at each cron match and lasts `duration`. */
    cron: cronSchema.optional(),
    duration: boundedDuration("duration", { max: "744h" }, "How long each freeze lasts.").optional(),
    /** A one-off freeze between two instants. */
    from: z.iso.datetime({ offset: true }).optional(),
    to: z.iso.datetime({ offset: true }).optional(),
    /**
     * Releases already in flight when the freeze begins: `continue` (they carry on; a
     * condition, an Event and a notification say the freeze is on) or `holdBetweenStages`
     * (they finish the stage they are in and enter the next only after the freeze).
     * Rollbacks are never held, nor changes whose type may pass a freeze.
     */
    inFlight: z.enum(freezeInFlightPolicies).default("continue"),
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
    } else if (oneOff && Date.parse(freeze.to as string) <= Date.parse(freeze.from as string)) {
      ctx.addIssue({
        code: "custom",
        path: ["to"],
        message: `to (${freeze.to}) must be after from (${freeze.from})`,
      });
    }
  });

/**
 * Where a secret comes from: a file (a mounted Secret; re-read when it changes) or an
 * environment variable. The configuration names the source, never the secret itself.
 */
export const secretSourceSchema = z.union([
  z.object({ file: z.string().min(1).max(4096) }).strict(),
  z
    .object({
      env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { message: "must be an environment variable name" }),
    })
    .strict(),
]);
export type SecretSource = z.infer<typeof secretSourceSchema>;

export const alertmanagerHookSchema = z.object({
  /** The bearer token Alertmanager sends (`http_config.authorization.credentials`). */
  token: secretSourceSchema,
  /** Larger bodies are refused with 413 before they are read. At most 4 MiB: bodies are held in memory. */
  maxBodyBytes: z
    .int()
    .min(1024)
    .max(4 * 1024 * 1024)
    .default(1024 * 1024),
  /** How long a matched alert waits in memory for its release to act, and how long a repeat is recognised. */
  retention: boundedDuration("retention", { max: "24h" }, "How long a matched alert is kept.").default("1h"),
});
export type AlertmanagerHookConfig = z.infer<typeof alertmanagerHookSchema>;

/**
 * What a notifier can be told of: entering one of five phases (camelCase here, as in the
 * notifier configuration and payloads), and two that are no phase of the Release: `deleted`
 * once a Release deleted mid-release has its traffic back on stable, `freeze` when a
 * change freeze begins while it is in flight.
 */
export const notificationEvents = [
  ...(["rolledBack", "failed", "awaitingApproval", "succeeded", "paused"] as const),
  ...(["deleted", "freeze"] as const),
] as const;
export type NotificationEvent = (typeof notificationEvents)[number];

const notifierCommon = {
  /** Names the notifier in logs and in glidepath_notifications_total. */
  name: dnsLabelSchema,
  /** Which events it receives; default: all (Alertmanager: rolledBack and failed). */
  events: z.array(z.enum(notificationEvents)).min(1).optional(),
  /** Per attempt. */
  timeout: boundedDuration("timeout", { min: "1ms", max: "5m" }, "Per attempt.").default("5s"),
  /** Attempts in all, the first included. */
  attempts: z.int().min(1).max(10).default(4),
};

const httpUrlSchema = z.url({ protocol: /^https?$/ });

/** The webhook address: inline, or from a secret (a Slack webhook URL is a credential). */
const notifierUrl = {
  url: httpUrlSchema.optional(),
  urlFrom: secretSourceSchema.optional(),
};

function exactlyOneUrl(
  notifier: { url?: string | undefined; urlFrom?: unknown },
  ctx: z.RefinementCtx,
): void {
  if ((notifier.url === undefined) === (notifier.urlFrom === undefined)) {
    ctx.addIssue({ code: "custom", path: ["url"], message: "give exactly one of url and urlFrom" });
  }
}

export const notifierSchema = z.discriminatedUnion("type", [
  z
    .object({
      type: z.literal("webhook"),
      ...notifierCommon,
      ...notifierUrl,
      /** Sent as `Authorization: Bearer …`. */
      bearerToken: secretSourceSchema.optional(),
    })
    .strict()
    .superRefine(exactlyOneUrl),
  // A Slack incoming-webhook URL is itself the credential (whoever holds it may post to
  // the channel): it comes from a Secret, never inline in a ConfigMap.
  z
    .object({
      type: z.literal("slack"),
      ...notifierCommon,
      url: z
        .never({
          error:
            "a Slack webhook URL is a credential: put it in a Secret and give urlFrom ({ file } or { env })",
        })
        .optional(),
      urlFrom: secretSourceSchema.optional(),
    })
    .strict()
    .superRefine((notifier, ctx) => {
      if (notifier.urlFrom === undefined && notifier.url === undefined)
        ctx.addIssue({
          code: "custom",
          path: ["urlFrom"],
          message: "a Slack notifier needs urlFrom: the webhook URL from a Secret ({ file } or { env })",
        });
    }),
  z
    .object({
      type: z.literal("alertmanager"),
      ...notifierCommon,
      /** Alertmanager's base URL; alerts go to `<url>/api/v2/alerts`. */
      url: httpUrlSchema,
      bearerToken: secretSourceSchema.optional(),
      /** Extra labels on every alert (e.g. team), for the organisation's routing. */
      labels: z.record(z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/), z.string().max(1024)).default({}),
      /** The alert's endsAt: how long it stays active unless sent again. */
      resolveAfter: boundedDuration("resolveAfter", { max: "720h" }, "The alert's endsAt.").default("1h"),
    })
    .strict(),
]);
export type NotifierConfig = z.infer<typeof notifierSchema>;

/**
 * The webhook's serving certificate, made and rotated by the controller itself: a CA and a
 * serving certificate kept in a Secret (shared by the replicas), the CA written into the
 * MutatingWebhookConfiguration's caBundle.
 */
export const selfManagedCertificateSchema = z
  .object({
    /** Where the CA and the serving certificate are kept: a Secret only the controller reads. */
    secret: z.object({ namespace: dnsLabelSchema, name: z.string().min(1).max(253) }).strict(),
    /** The Service the API server calls: the certificate names <name>.<namespace>.svc. */
    service: z.object({ namespace: dnsLabelSchema, name: dnsLabelSchema }).strict().optional(),
    /** More names for the certificate (e.g. 127.0.0.1 when the webhook's url points there). */
    dnsNames: z.array(z.string().min(1).max(253)).max(20).default([]),
    ipAddresses: z
      .array(z.union([z.ipv4(), z.ipv6()]))
      .max(20)
      .default([]),
    /** Whose webhooks get the CA as caBundle. */
    mutatingWebhookConfiguration: z.string().min(1).max(253),
    /** How long a serving certificate is valid, and how long before its end it is replaced. */
    validity: boundedDuration("validity", { min: "1h", max: "8760h" }, "").default("2160h"),
    renewBefore: boundedDuration("renewBefore", { min: "1m", max: "8760h" }, "").default("720h"),
  })
  .strict()
  .superRefine((managed, ctx) => {
    if (!managed.service && managed.dnsNames.length === 0 && managed.ipAddresses.length === 0)
      ctx.addIssue({
        code: "custom",
        path: ["service"],
        message: "the certificate needs a name: give service (or dnsNames / ipAddresses)",
      });
    if (parseDuration(managed.renewBefore) >= parseDuration(managed.validity))
      ctx.addIssue({
        code: "custom",
        path: ["renewBefore"],
        message: `renewBefore (${managed.renewBefore}) must be shorter than validity (${managed.validity}), or every certificate would be renewed at once`,
      });
  });
export type SelfManagedCertificateConfig = z.infer<typeof selfManagedCertificateSchema>;

/**
 * Identity: the key that signs and verifies identity stamps, and the admission webhook
 * that writes them (docs/security.md). Without the webhook no approval can be verified,
 * so approval gates stay closed.
 */
export const trustSchema = z
  .object({
    /** The HMAC key: a Secret only the controller may read, mounted as a file (or an env variable). */
    stampKey: secretSourceSchema.optional(),
    /** The admission webhook (HTTPS); the API server calls it on every CREATE and UPDATE of a Release. */
    webhook: z
      .object({
        port: z.int().min(0).max(65535).default(9443),
        /** The serving certificate and key (PEM files, e.g. cert-manager's Secret mounted); re-read when they change. */
        certFile: z.string().min(1).max(4096).optional(),
        keyFile: z.string().min(1).max(4096).optional(),
        /** Or: the controller makes its own CA and serving certificate (docs/security.md). */
        selfManagedCertificate: selfManagedCertificateSchema.optional(),
        /**
         * The MutatingWebhookConfiguration that sends Release writes to this webhook: stamps
         * count only for Releases it covers (docs/security.md). Defaults to
         * selfManagedCertificate.mutatingWebhookConfiguration; required with certFile.
         */
        configurationName: z.string().min(1).max(253).optional(),
        /**
         * A CA (PEM file) whose client certificates alone may call the webhook: the API server
         * presents one when its --admission-control-config-file says so (docs/security.md).
         * Without it the webhook answers whoever reaches its port. Re-read with the certificate.
         */
        clientCAFile: z.string().min(1).max(4096).optional(),
        /** Larger AdmissionReview bodies are refused. */
        maxBodyBytes: z
          .int()
          .min(1024)
          .max(16 * 1024 * 1024)
          .default(3 * 1024 * 1024),
      })
      .strict()
      .superRefine((webhook, ctx) => {
        const files = webhook.certFile !== undefined || webhook.keyFile !== undefined;
        if (files === (webhook.selfManagedCertificate !== undefined))
          ctx.addIssue({
            code: "custom",
            path: [],
            message: "give either certFile and keyFile, or selfManagedCertificate",
          });
        else if (files && (webhook.certFile === undefined || webhook.keyFile === undefined))
          ctx.addIssue({ code: "custom", path: [], message: "certFile and keyFile go together" });
        const managed = webhook.selfManagedCertificate?.mutatingWebhookConfiguration;
        if (webhook.configurationName === undefined && managed === undefined)
          ctx.addIssue({
            code: "custom",
            path: ["configurationName"],
            message:
              "name the MutatingWebhookConfiguration that calls this webhook (configurationName): stamps count only in namespaces it covers",
          });
        else if (
          webhook.configurationName !== undefined &&
          managed !== undefined &&
          webhook.configurationName !== managed
        )
          ctx.addIssue({
            code: "custom",
            path: ["configurationName"],
            message: `configurationName (${webhook.configurationName}) differs from selfManagedCertificate.mutatingWebhookConfiguration (${managed}): name one configuration`,
          });
      })
      .optional(),
  })
  .strict()
  .superRefine((trust, ctx) => {
    if (trust.webhook && !trust.stampKey)
      ctx.addIssue({
        code: "custom",
        path: ["stampKey"],
        message: "the webhook signs what it stamps: give stampKey (a Secret file) as well",
      });
  });
export type TrustConfig = z.infer<typeof trustSchema>;

/** The MutatingWebhookConfiguration whose coverage decides where stamps count. */
export function webhookConfigurationName(webhook: NonNullable<TrustConfig["webhook"]>): string {
  return webhook.configurationName ?? webhook.selfManagedCertificate?.mutatingWebhookConfiguration ?? "";
}

export const controllerConfigSchema = z.object({
  /** Path of the rollout strategy file. */
  strategyFile: z.string().min(1).default("rollout/rollout-strategy.json"),
  /** Namespaces to watch; empty means all. */
  namespaces: z.array(dnsLabelSchema).default([]),
  prometheus: z
    .object({
      url: z.url({ protocol: /^https?$/ }).default("http://127.0.0.1:9090"),
      timeout: boundedDuration("timeout", { min: "1ms", max: "5m" }, "Per query.").default("10s"),
      /**
       * The shortest {{interval}} a template looks back over, whatever the analysis
       * interval: rate() needs about four scrapes in its window. The default suits a 15 s
       * scrape interval; with faster scrapes a shorter window sees a breach sooner.
       */
      minimumRateWindow: boundedDuration(
        "minimumRateWindow",
        { min: "1s", max: "1h" },
        "The shortest {{interval}}.",
      ).default("1m"),
    })
    .default({ url: "http://127.0.0.1:9090", timeout: "10s", minimumRateWindow: "1m" }),
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
      leaseDuration: boundedDuration("leaseDuration", { min: "1s", max: "5m" }, "").default("15s"),
      renewDeadline: boundedDuration("renewDeadline", { min: "1s", max: "5m" }, "").default("10s"),
      retryPeriod: boundedDuration("retryPeriod", { min: "100ms", max: "1m" }, "").default("2s"),
    })
    .default({
      enabled: true,
      leaseName: "glidepath-controller",
      leaseNamespace: "glidepath-system",
      leaseDuration: "15s",
      renewDeadline: "10s",
      retryPeriod: "2s",
    }),
  /**
   * Active-active controllers (docs/sharding.md): with `replicas` above 1 every replica
   * reconciles the Releases of the shards it holds, each shard a Lease
   * `<leasePrefix>-<i>` in leaderElection.leaseNamespace with leaderElection's timings.
   * A namespace's Releases all belong to one shard. 1 (the default): one leader, as before.
   */
  sharding: z
    .object({
      /** How many replicas share the shards: the Deployment's replica count. */
      replicas: z.int().min(1).max(64).default(1),
      /** Fixed for the life of an install (changing it moves namespaces); ≥ replicas. */
      shards: z.int().min(1).max(256).default(16),
      leasePrefix: dnsLabelSchema.default("glidepath-shard"),
    })
    .strict()
    .refine((sharding) => sharding.shards >= sharding.replicas, {
      message: "sharding.shards must be at least sharding.replicas, or some replica would hold no shard",
      path: ["shards"],
    })
    .default({ replicas: 1, shards: 16, leasePrefix: "glidepath-shard" }),
  kubernetes: z
    .object({
      /** Every Kubernetes call of the controller is abandoned after this long (watches excepted). */
      requestTimeout: boundedDuration(
        "requestTimeout",
        { min: "100ms", max: "5m" },
        "Per Kubernetes call.",
      ).default("15s"),
    })
    .strict()
    .default({ requestTimeout: "15s" }),
  shutdown: z
    .object({
      /**
       * On SIGTERM, how long reconciles in flight may take to finish. If they do not, the
       * process exits without handing the Lease over: it expires on its own.
       */
      drainTimeout: boundedDuration("drainTimeout", { min: "100ms", max: "5m" }, "").default("10s"),
    })
    .strict()
    .default({ drainTimeout: "10s" }),
  /** Port of the HTTP server for /metrics, /healthz, /readyz and the hooks. */
  port: z.int().min(0).max(65535).default(8080),
  /**
   * The hook port over HTTPS: a certificate and key (a mounted Secret), re-read when they
   * change. Without it the port speaks plain HTTP; the bearer token still guards the hook.
   */
  tls: z
    .object({ certFile: z.string().min(1).max(4096), keyFile: z.string().min(1).max(4096) })
    .strict()
    .optional(),
  /**
   * /metrics (with /healthz and /readyz) on a port of its own, plain HTTP, so Prometheus
   * scrapes without reaching the hook; `port` then serves no /metrics.
   */
  metricsPort: z.int().min(1).max(65535).optional(),
  workers: z.int().min(1).max(64).default(4),
  hooks: z
    .object({
      /** POST /hooks/alertmanager; without this section the hook is not served. */
      alertmanager: alertmanagerHookSchema.optional(),
    })
    .strict()
    .default({}),
  trust: trustSchema.default({}),
  /**
   * ReleaseRecords: the durable change record of each finished release, kept after the
   * Release is deleted. Retention per target: the newest `keepLast`, none older than `maxAge`.
   */
  records: z
    .object({
      enabled: z.boolean().default(true),
      keepLast: z.int().min(1).max(10_000).default(100),
      maxAge: boundedDuration("maxAge", { min: "1h", max: "87600h" }, "How long a record is kept.").default(
        "2160h",
      ),
    })
    .strict()
    .default({ enabled: true, keepLast: 100, maxAge: "2160h" }),
  /** On-call notifications of rollbacks, failures, approvals needed and successes. */
  notifiers: z
    .array(notifierSchema)
    .max(20)
    .default([])
    .superRefine((notifiers, ctx) => {
      const seen = new Set<string>();
      notifiers.forEach((notifier, index) => {
        if (seen.has(notifier.name))
          ctx.addIssue({
            code: "custom",
            path: [index, "name"],
            message: `duplicate notifier name "${notifier.name}"`,
          });
        seen.add(notifier.name);
      });
    }),
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
