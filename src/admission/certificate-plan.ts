// When the webhook's self-managed certificates must be (re)issued, and which names the
// serving certificate needs. Pure: certificates come in as the facts read from them, the
// time as a value; src/admission/self-managed-certificate.ts does the I/O.

/** What the plan needs to know of one certificate. */
export interface CertificateFacts {
  notBefore: Date;
  notAfter: Date;
  dnsNames: string[];
  ipAddresses: string[];
  /** For the serving certificate: whether the current CA signed it. */
  signedByCa?: boolean;
}

export interface CertificateNames {
  dnsNames: string[];
  ipAddresses: string[];
}

export interface CertificateLifetimes {
  /** A serving certificate is valid this long… */
  validityMs: number;
  /** …and replaced this long before it ends. */
  renewBeforeMs: number;
  /** The CA is valid this long; it is replaced once it could not cover a whole serving certificate. */
  caValidityMs: number;
}

export interface CertificatePlan {
  /** Why a new CA is made (and so a new serving certificate), if one is. */
  issueCa?: string;
  /** Why a new serving certificate is made, if one is. */
  issueServing?: string;
}

/**
 * The names the API server checks: it calls a Service-backed webhook at
 * `<service>.<namespace>.svc`, and a `url` webhook at its host.
 */
export function servingCertificateNames(options: {
  service?: { namespace: string; name: string } | undefined;
  dnsNames?: readonly string[];
  ipAddresses?: readonly string[];
}): CertificateNames {
  const service = options.service ? [`${options.service.name}.${options.service.namespace}.svc`] : [];
  return {
    dnsNames: unique([...service, ...(options.dnsNames ?? [])]),
    ipAddresses: unique([...(options.ipAddresses ?? [])]),
  };
}

export function planCertificates(
  current: { ca?: CertificateFacts | undefined; serving?: CertificateFacts | undefined },
  wanted: CertificateNames,
  now: Date,
  lifetimes: CertificateLifetimes,
): CertificatePlan {
  const { ca, serving } = current;
  let issueCa: string | undefined;
  if (!ca) issueCa = "there is no CA yet";
  else if (ca.notBefore.getTime() > now.getTime())
    issueCa = `the CA is not valid before ${ca.notBefore.toISOString()}`;
  // A CA that would end before a fresh serving certificate does is replaced early, so a
  // serving certificate always gets its whole validity.
  else if (ca.notAfter.getTime() - now.getTime() < lifetimes.validityMs + lifetimes.renewBeforeMs)
    issueCa = `the CA ends at ${ca.notAfter.toISOString()}, too soon to sign a certificate valid for its whole term`;
  if (issueCa) return { issueCa, issueServing: "a new CA signs a new serving certificate" };

  let issueServing: string | undefined;
  if (!serving) issueServing = "there is no serving certificate yet";
  else if (serving.signedByCa === false)
    issueServing = "the serving certificate was not signed by the current CA";
  else if (serving.notBefore.getTime() > now.getTime())
    issueServing = `the serving certificate is not valid before ${serving.notBefore.toISOString()}`;
  else if (serving.notAfter.getTime() - now.getTime() <= lifetimes.renewBeforeMs)
    issueServing = `the serving certificate ends at ${serving.notAfter.toISOString()}: renewal is due`;
  else if (!sameSet(serving.dnsNames, wanted.dnsNames) || !sameSet(serving.ipAddresses, wanted.ipAddresses))
    issueServing = `the serving certificate names ${describeNames(serving)}, not ${describeNames(wanted)}`;
  return issueServing ? { issueServing } : {};
}

/**
 * The CAs the API server should trust: the current one first, then earlier ones still
 * valid (a replica may serve a certificate they signed until it reloads).
 */
export function caBundle(
  current: { pem: string },
  earlier: readonly { pem: string; notAfter: Date }[],
  now: Date,
): string {
  const kept = earlier.filter((ca) => ca.notAfter.getTime() > now.getTime() && ca.pem !== current.pem);
  return [current.pem, ...kept.map((ca) => ca.pem)].map((pem) => `${pem.trim()}\n`).join("");
}

function describeNames(names: CertificateNames): string {
  const all = [...names.dnsNames, ...names.ipAddresses];
  return all.length === 0 ? "nothing" : all.join(", ");
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  const left = new Set(a);
  const right = new Set(b);
  return left.size === right.size && [...left].every((value) => right.has(value));
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}
