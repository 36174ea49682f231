import { X509Certificate, createPrivateKey, createPublicKey } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  caBundle,
  certificateFacts,
  issueCa,
  issueServing,
  planCertificates,
  servingCertificateNames,
  type CertificateFacts,
} from "../../../src/admission/index.ts";

// The webhook's self-managed certificates (issue 12.1): which names the serving certificate
// needs, when a certificate is renewed, and real certificates made and checked with Node's
// own X509Certificate.

const HOUR = 3600_000;
const DAY = 24 * HOUR;
const lifetimes = { validityMs: 90 * DAY, renewBeforeMs: 30 * DAY, caValidityMs: 3650 * DAY };
const now = new Date("2026-12-06T12:00:00Z");
const at = (offsetMs: number) => new Date(now.getTime() + offsetMs);
const names = { dnsNames: ["glidepath-controller.glidepath-system.svc"], ipAddresses: [] };

const ca: CertificateFacts = { notBefore: at(-DAY), notAfter: at(3000 * DAY), dnsNames: [], ipAddresses: [] };
const serving = (overrides: Partial<CertificateFacts> = {}): CertificateFacts => ({
  notBefore: at(-DAY),
  notAfter: at(60 * DAY),
  ...names,
  signedByCa: true,
  ...overrides,
});

describe("servingCertificateNames", () => {
  it("names the Service as the API server calls it, <service>.<namespace>.svc, and the extra names once each", () => {
    expect(
      servingCertificateNames({
        service: { namespace: "glidepath-system", name: "glidepath-controller" },
        dnsNames: ["glidepath-controller.glidepath-system.svc", "webhook.example.com"],
        ipAddresses: ["127.0.0.1"],
      }),
    ).toEqual({
      dnsNames: ["glidepath-controller.glidepath-system.svc", "webhook.example.com"],
      ipAddresses: ["127.0.0.1"],
    });
    expect(servingCertificateNames({ ipAddresses: ["127.0.0.1"] })).toEqual({
      dnsNames: [],
      ipAddresses: ["127.0.0.1"],
    });
  });
});

describe("planCertificates", () => {
  it("issues a CA and a serving certificate when there is nothing yet", () => {
    expect(planCertificates({}, names, now, lifetimes)).toEqual({
      issueCa: "there is no CA yet",
      issueServing: "a new CA signs a new serving certificate",
    });
  });

  it("leaves a valid serving certificate with the right names alone", () => {
    expect(planCertificates({ ca, serving: serving() }, names, now, lifetimes)).toEqual({});
  });

  it("renews the serving certificate once it is within renewBefore of its end, not a moment earlier", () => {
    const justOutside = serving({ notAfter: at(30 * DAY + 1) });
    expect(planCertificates({ ca, serving: justOutside }, names, now, lifetimes)).toEqual({});
    const due = serving({ notAfter: at(30 * DAY) });
    expect(planCertificates({ ca, serving: due }, names, now, lifetimes).issueServing).toContain(
      "renewal is due",
    );
    const expired = serving({ notAfter: at(-HOUR) });
    expect(planCertificates({ ca, serving: expired }, names, now, lifetimes)).toEqual({
      issueServing: `the serving certificate ends at ${at(-HOUR).toISOString()}: renewal is due`,
    });
  });

  it("re-issues a serving certificate whose names differ (the Service was renamed) or that another CA signed", () => {
    const renamed = serving({ dnsNames: ["old.glidepath-system.svc"] });
    expect(planCertificates({ ca, serving: renamed }, names, now, lifetimes)).toEqual({
      issueServing:
        "the serving certificate names old.glidepath-system.svc, not glidepath-controller.glidepath-system.svc",
    });
    expect(
      planCertificates({ ca, serving: serving({ signedByCa: false }) }, names, now, lifetimes).issueServing,
    ).toBe("the serving certificate was not signed by the current CA");
  });

  it("replaces the CA (and so the serving certificate) once it could not cover a whole serving certificate", () => {
    const ending = { ...ca, notAfter: at(120 * DAY - 1) };
    const plan = planCertificates({ ca: ending, serving: serving() }, names, now, lifetimes);
    expect(plan.issueCa).toContain("too soon to sign a certificate valid for its whole term");
    expect(plan.issueServing).toBe("a new CA signs a new serving certificate");
    const enough = { ...ca, notAfter: at(120 * DAY) };
    expect(planCertificates({ ca: enough, serving: serving() }, names, now, lifetimes)).toEqual({});
  });
});

describe("caBundle", () => {
  it("trusts the current CA first and earlier CAs only while they are valid", () => {
    const bundle = caBundle(
      { pem: "NEW" },
      [
        { pem: "OLD", notAfter: at(DAY) },
        { pem: "EXPIRED", notAfter: at(-1) },
        { pem: "NEW", notAfter: at(DAY) },
      ],
      now,
    );
    expect(bundle).toBe("NEW\nOLD\n");
  });
});

describe("issueCa and issueServing", () => {
  it("make a CA and a serving certificate for exactly the wanted names that Node verifies and whose key matches", async () => {
    const authority = await issueCa(now, lifetimes.caValidityMs, "glidepath-webhook-ca");
    const wanted = { dnsNames: ["glidepath-controller.glidepath-system.svc"], ipAddresses: ["127.0.0.1"] };
    const pair = await issueServing(authority, wanted, now, lifetimes.validityMs);

    const caCertificate = new X509Certificate(authority.cert);
    const certificate = new X509Certificate(pair.cert);
    expect(caCertificate.ca).toBe(true);
    expect(certificate.ca).toBe(false);
    expect(certificate.checkIssued(caCertificate)).toBe(true);
    expect(certificate.verify(caCertificate.publicKey)).toBe(true);
    expect(certificate.checkHost("glidepath-controller.glidepath-system.svc")).toBe(
      "glidepath-controller.glidepath-system.svc",
    );
    expect(certificate.checkIP("127.0.0.1")).toBe("127.0.0.1");
    expect(certificate.checkHost("glidepath-controller.other.svc")).toBeUndefined();
    expect(certificate.keyUsage).toEqual(["1.3.6.1.5.5.7.3.1"]);
    // The key is the certificate's.
    expect(
      createPublicKey(createPrivateKey(pair.key)).export({ format: "pem", type: "spki" }).toString(),
    ).toBe(certificate.publicKey.export({ format: "pem", type: "spki" }).toString());

    const facts = certificateFacts(pair.cert, authority.cert);
    expect(facts).toEqual({
      notBefore: new Date(Math.floor((now.getTime() - 5 * 60_000) / 1000) * 1000),
      notAfter: new Date(now.getTime() + lifetimes.validityMs),
      ...wanted,
      signedByCa: true,
    });
    const otherCa = await issueCa(now, lifetimes.caValidityMs, "someone-else");
    expect(certificateFacts(pair.cert, otherCa.cert).signedByCa).toBe(false);
    expect(
      planCertificates({ ca: certificateFacts(authority.cert), serving: facts }, wanted, now, lifetimes),
    ).toEqual({});
  });

  it("never makes a serving certificate that outlives its CA", async () => {
    const shortCa = await issueCa(now, 10 * DAY, "short");
    const pair = await issueServing(shortCa, names, now, lifetimes.validityMs);
    expect(new X509Certificate(pair.cert).validTo).toBe(new X509Certificate(shortCa.cert).validTo);
  });
});
