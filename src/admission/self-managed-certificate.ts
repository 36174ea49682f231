// The webhook's serving certificate when the controller manages it itself (no
// cert-manager): a CA and a serving certificate kept in one Secret that every replica
// shares, the CA written into the MutatingWebhookConfiguration's caBundle, both renewed
// before they end. Each check is a small reconcile: read the Secret, issue what
// planCertificates() says is due, write it with its resourceVersion (a replica that lost
// the race reads the winner's), make caBundle match, and hand the serving pair to the
// server, which swaps its TLS context without a restart.
import type { AdmissionregistrationV1Api, CoreV1Api, V1Secret } from "@kubernetes/client-node";
import type { Logger } from "pino";
import { parseDuration, type SelfManagedCertificateConfig } from "../api/index.ts";
import { apiError, isConflict, isNotFound } from "../kube/index.ts";
import { certificateFacts, issueCa, issueServing, type PemPair } from "./certificate-authority.ts";
import { caBundle, planCertificates, servingCertificateNames } from "./certificate-plan.ts";

/** Ten years: the CA is replaced, well before its end, only when it could not cover a serving certificate. */
const CA_VALIDITY_MS = 10 * 365 * 24 * 3600_000;
/** How often each replica looks again: a certificate another replica renewed is picked up by then. */
const CHECK_INTERVAL_MS = 60_000;

const KEYS = {
  caCert: "ca.crt",
  caKey: "ca.key",
  /** The CAs the API server trusts: the current one and earlier ones still valid. */
  caBundle: "ca-bundle.crt",
  cert: "tls.crt",
  key: "tls.key",
} as const;

export interface SelfManagedCertificateOptions {
  config: SelfManagedCertificateConfig;
  core: Pick<CoreV1Api, "readNamespacedSecret" | "createNamespacedSecret" | "replaceNamespacedSecret">;
  registration: Pick<
    AdmissionregistrationV1Api,
    "readMutatingWebhookConfiguration" | "replaceMutatingWebhookConfiguration"
  >;
  logger: Logger;
  clock?: () => Date;
}

export class SelfManagedCertificate {
  readonly #options: SelfManagedCertificateOptions;
  readonly #log: Logger;
  readonly #clock: () => Date;
  #timer: NodeJS.Timeout | undefined;
  #served: string | undefined;

  constructor(options: SelfManagedCertificateOptions) {
    this.#options = options;
    this.#log = options.logger.child({ component: "webhook-certificate" });
    this.#clock = options.clock ?? (() => new Date());
  }

  /** Makes sure a valid certificate is stored and trusted; returns the serving pair. */
  async ensure(): Promise<PemPair> {
    for (let attempt = 1; ; attempt++) {
      try {
        const stored = await this.#ensureSecret();
        await this.#ensureCaBundle(stored[KEYS.caBundle] ?? stored[KEYS.caCert] ?? "");
        return { cert: stored[KEYS.cert] ?? "", key: stored[KEYS.key] ?? "" };
      } catch (error) {
        // Another replica wrote first: read what it wrote and go again.
        if (isConflict(error) && attempt < 5) continue;
        throw error;
      }
    }
  }

  /** Checks every minute; `serve` gets each new serving pair. */
  start(serve: (pair: PemPair) => void, initial: PemPair): void {
    this.#served = initial.cert;
    const check = () => {
      void this.ensure()
        .then((pair) => {
          if (pair.cert === this.#served) return;
          serve(pair);
          this.#served = pair.cert;
          this.#log.info(
            { notAfter: certificateFacts(pair.cert).notAfter.toISOString() },
            "serving the renewed webhook certificate",
          );
        })
        .catch((error: unknown) =>
          this.#log.warn(
            { err: error },
            "could not check the webhook's certificate; trying again in a minute",
          ),
        );
    };
    this.#timer = setInterval(check, CHECK_INTERVAL_MS);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  async #ensureSecret(): Promise<Record<string, string>> {
    const { config, core } = this.#options;
    const { namespace, name } = config.secret;
    const where = `Secret ${namespace}/${name}`;
    let secret: V1Secret | undefined;
    try {
      secret = await core.readNamespacedSecret({ namespace, name });
    } catch (error) {
      if (!isNotFound(error)) throw apiError(`reading ${where}`, error);
    }
    const stored = decode(secret?.data);
    const now = this.#clock();
    const wanted = servingCertificateNames(config);
    const lifetimes = {
      validityMs: parseDuration(config.validity),
      renewBeforeMs: parseDuration(config.renewBefore),
      caValidityMs: CA_VALIDITY_MS,
    };
    const plan = planCertificates(
      {
        ca: readable(stored[KEYS.caCert], stored[KEYS.caKey]),
        serving: readable(stored[KEYS.cert], stored[KEYS.key], stored[KEYS.caCert]),
      },
      wanted,
      now,
      lifetimes,
    );
    if (!plan.issueServing) return stored;

    let ca: PemPair = { cert: stored[KEYS.caCert] ?? "", key: stored[KEYS.caKey] ?? "" };
    let bundle = stored[KEYS.caBundle] ?? ca.cert;
    if (plan.issueCa) {
      const previous = splitPem(bundle).flatMap((pem) => {
        const facts = tryFacts(pem);
        return facts ? [{ pem, notAfter: facts.notAfter }] : [];
      });
      ca = await issueCa(
        now,
        lifetimes.caValidityMs,
        `glidepath-webhook-ca@${Math.floor(now.getTime() / 1000)}`,
      );
      bundle = caBundle({ pem: ca.cert }, previous, now);
    }
    const serving = await issueServing(ca, wanted, now, lifetimes.validityMs);
    const data = {
      [KEYS.caCert]: ca.cert,
      [KEYS.caKey]: ca.key,
      [KEYS.caBundle]: bundle,
      [KEYS.cert]: serving.cert,
      [KEYS.key]: serving.key,
    };
    const body: V1Secret = {
      apiVersion: "v1",
      kind: "Secret",
      type: "Opaque",
      metadata: {
        name,
        namespace,
        ...(secret?.metadata?.resourceVersion ? { resourceVersion: secret.metadata.resourceVersion } : {}),
        labels: { ...secret?.metadata?.labels, "app.kubernetes.io/managed-by": "glidepath" },
        annotations: secret?.metadata?.annotations ?? {},
      },
      data: encode(data),
    };
    // The resourceVersion makes a concurrent writer's update fail with 409 instead of overwriting.
    if (secret) await core.replaceNamespacedSecret({ namespace, name, body });
    else await core.createNamespacedSecret({ namespace, body });
    this.#log.info(
      {
        secret: `${namespace}/${name}`,
        reason: plan.issueCa ?? plan.issueServing,
        names: [...wanted.dnsNames, ...wanted.ipAddresses],
      },
      plan.issueCa
        ? "issued a new webhook CA and serving certificate"
        : "issued a new webhook serving certificate",
    );
    return data;
  }

  async #ensureCaBundle(bundle: string): Promise<void> {
    const { registration, config } = this.#options;
    const name = config.mutatingWebhookConfiguration;
    const caBundleBase64 = Buffer.from(bundle, "utf8").toString("base64");
    let configuration;
    try {
      configuration = await registration.readMutatingWebhookConfiguration({ name });
    } catch (error) {
      throw apiError(`reading MutatingWebhookConfiguration ${name} to set its caBundle`, error);
    }
    const webhooks = configuration.webhooks ?? [];
    if (webhooks.every((webhook) => webhook.clientConfig.caBundle === caBundleBase64)) return;
    for (const webhook of webhooks) webhook.clientConfig.caBundle = caBundleBase64;
    // Read-modify-replace with its resourceVersion: a concurrent change gets 409 and a retry.
    await registration.replaceMutatingWebhookConfiguration({ name, body: configuration });
    this.#log.info({ mutatingWebhookConfiguration: name }, "set the webhook's caBundle");
  }
}

/** A certificate's facts when it and its key are present and it parses; else undefined (re-issue). */
function readable(cert: string | undefined, key: string | undefined, caPem?: string) {
  if (!cert || !key) return undefined;
  return tryFacts(cert, caPem);
}

function tryFacts(pem: string, caPem?: string) {
  try {
    return certificateFacts(pem, caPem);
  } catch {
    return undefined;
  }
}

function splitPem(bundle: string): string[] {
  return bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}

function decode(data: Record<string, string> | undefined): Record<string, string> {
  return Object.fromEntries(
    Object.entries(data ?? {}).map(([key, value]) => [key, Buffer.from(value, "base64").toString("utf8")]),
  );
}

function encode(data: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(data).map(([key, value]) => [key, Buffer.from(value, "utf8").toString("base64")]),
  );
}
