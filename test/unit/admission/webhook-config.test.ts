import { describe, expect, it } from "vitest";
import { parseControllerConfig } from "../../../src/api/index.ts";

// trust.webhook's certificate: files (cert-manager, or your own CA) or made by the
// controller itself (issue 12.1), exactly one of them, with messages that say what is wrong.

const stampKey = { file: "/etc/glidepath/stamp-key/key" };
const managed = {
  secret: { namespace: "glidepath-system", name: "glidepath-webhook-tls" },
  service: { namespace: "glidepath-system", name: "glidepath-controller" },
  mutatingWebhookConfiguration: "glidepath-controller",
};
const parse = (webhook: Record<string, unknown>) => parseControllerConfig({ trust: { stampKey, webhook } });

describe("trust.webhook's certificate", () => {
  it("takes a self-managed certificate with 90-day certificates renewed 30 days before their end by default", () => {
    expect(parse({ selfManagedCertificate: managed }).trust.webhook).toEqual({
      port: 9443,
      maxBodyBytes: 3 * 1024 * 1024,
      selfManagedCertificate: {
        ...managed,
        dnsNames: [],
        ipAddresses: [],
        validity: "2160h",
        renewBefore: "720h",
      },
    });
  });

  it("takes certificate files as before", () => {
    expect(parse({ certFile: "/tls/tls.crt", keyFile: "/tls/tls.key" }).trust.webhook).toMatchObject({
      certFile: "/tls/tls.crt",
      keyFile: "/tls/tls.key",
    });
  });

  it("refuses both, neither, or half of the files", () => {
    expect(() => parse({ selfManagedCertificate: managed, certFile: "/a", keyFile: "/b" })).toThrow(
      /give either certFile and keyFile, or selfManagedCertificate/,
    );
    expect(() => parse({})).toThrow(/give either certFile and keyFile, or selfManagedCertificate/);
    expect(() => parse({ certFile: "/a" })).toThrow(/certFile and keyFile go together/);
  });

  it("refuses a certificate with no name, a renewal window as long as the validity, or a bad address", () => {
    const { service: _service, ...nameless } = managed;
    expect(() => parse({ selfManagedCertificate: nameless })).toThrow(/the certificate needs a name/);
    expect(() =>
      parse({ selfManagedCertificate: { ...nameless, ipAddresses: ["127.0.0.1"] } }),
    ).not.toThrow();
    expect(() =>
      parse({ selfManagedCertificate: { ...managed, validity: "24h", renewBefore: "24h" } }),
    ).toThrow(/renewBefore \(24h\) must be shorter than validity \(24h\)/);
    expect(() => parse({ selfManagedCertificate: { ...managed, ipAddresses: ["localhost"] } })).toThrow(
      /ipAddresses/,
    );
  });
});
