// A small CA for the admission webhook: makes the CA and serving certificates (ECDSA
// P-256) and reads the facts certificate-plan.ts decides on. Node's crypto verifies and
// parses certificates but cannot create them, hence @peculiar/x509 (its dependency
// tsyringe needs the reflect-metadata polyfill, loaded first).
import "reflect-metadata";
import { randomBytes, webcrypto, X509Certificate, createPrivateKey } from "node:crypto";
import * as x509 from "@peculiar/x509";
import type { CertificateFacts, CertificateNames } from "./certificate-plan.ts";

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const ALGORITHM = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;
/** Certificates start a little in the past: clocks of the API server and the controller differ. */
const BACKDATE_MS = 5 * 60_000;

export interface PemPair {
  cert: string;
  key: string;
}

export async function issueCa(now: Date, validityMs: number, commonName: string): Promise<PemPair> {
  const keys = await generateKeys();
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumber(),
    name: `CN=${escapeRdn(commonName)}`,
    notBefore: new Date(now.getTime() - BACKDATE_MS),
    notAfter: new Date(now.getTime() + validityMs),
    keys,
    signingAlgorithm: ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert: certificate.toString("pem"), key: await privateKeyPem(keys.privateKey) };
}

export async function issueServing(
  ca: PemPair,
  names: CertificateNames,
  now: Date,
  validityMs: number,
): Promise<PemPair> {
  const caCertificate = new x509.X509Certificate(ca.cert);
  const caKey = await webcrypto.subtle.importKey(
    "pkcs8",
    createPrivateKey(ca.key).export({ format: "der", type: "pkcs8" }),
    ALGORITHM,
    false,
    ["sign"],
  );
  const keys = await generateKeys();
  const notAfter = Math.min(now.getTime() + validityMs, caCertificate.notAfter.getTime());
  const subjectName = names.dnsNames[0] ?? names.ipAddresses[0] ?? "glidepath-webhook";
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    subject: `CN=${escapeRdn(subjectName)}`,
    issuer: caCertificate.subject,
    notBefore: new Date(now.getTime() - BACKDATE_MS),
    notAfter: new Date(notAfter),
    signingKey: caKey,
    publicKey: keys.publicKey,
    signingAlgorithm: ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([
        ...names.dnsNames.map((value) => ({ type: "dns" as const, value })),
        ...names.ipAddresses.map((value) => ({ type: "ip" as const, value })),
      ]),
      await x509.AuthorityKeyIdentifierExtension.create(caCertificate),
    ],
  });
  return { cert: certificate.toString("pem"), key: await privateKeyPem(keys.privateKey) };
}

/** What planCertificates() needs of a PEM certificate; `caPem` to check who signed it. */
export function certificateFacts(pem: string, caPem?: string): CertificateFacts {
  const certificate = new X509Certificate(pem);
  const names = (certificate.subjectAltName ?? "").split(", ").filter(Boolean);
  const facts: CertificateFacts = {
    notBefore: new Date(certificate.validFrom),
    notAfter: new Date(certificate.validTo),
    dnsNames: names.filter((name) => name.startsWith("DNS:")).map((name) => name.slice(4)),
    ipAddresses: names
      .filter((name) => name.startsWith("IP Address:"))
      .map((name) => name.slice("IP Address:".length)),
  };
  if (caPem !== undefined) {
    const ca = new X509Certificate(caPem);
    facts.signedByCa = certificate.checkIssued(ca) && certificate.verify(ca.publicKey);
  }
  return facts;
}

async function generateKeys(): Promise<webcrypto.CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(ALGORITHM, true, ["sign", "verify"])) as webcrypto.CryptoKeyPair;
}

async function privateKeyPem(key: webcrypto.CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey("pkcs8", key));
  return createPrivateKey({ key: der, format: "der", type: "pkcs8" })
    .export({ format: "pem", type: "pkcs8" })
    .toString();
}

/** A positive 16-byte serial (RFC 5280: at most 20 bytes, positive). */
function serialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] ?? 0) & 0x7f;
  return bytes.toString("hex");
}

function escapeRdn(value: string): string {
  return value.replace(/[,+"\\<>;=]/g, (character) => `\\${character}`);
}
