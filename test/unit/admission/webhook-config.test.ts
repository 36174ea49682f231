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

  it("takes certificate files with the name of the webhook configuration that calls it", () => {
    const files = { certFile: "/tls/tls.crt", keyFile: "/tls/tls.key" };
    expect(parse({ ...files, configurationName: "glidepath-controller" }).trust.webhook).toMatchObject({
      ...files,
      configurationName: "glidepath-controller",
    });
  });

  it("needs the webhook configuration's name: stamps count only where it covers (issue 12, coverage)", () => {
    expect(() => parse({ certFile: "/a", keyFile: "/b" })).toThrow(
      /name the MutatingWebhookConfiguration that calls this webhook \(configurationName\)/,
    );
    expect(() => parse({ selfManagedCertificate: managed, configurationName: "another" })).toThrow(
      /configurationName \(another\) differs from selfManagedCertificate.mutatingWebhookConfiguration/,
    );
    expect(() =>
      parse({ selfManagedCertificate: managed, configurationName: "glidepath-controller" }),
    ).not.toThrow();
  });

  it("refuses both, neither, or half of the files", () => {
    expect(() => parse({ selfManagedCertificate: managed, certFile: "/a", keyFile: "/b" })).toThrow(
      /give either certFile and keyFile, or selfManagedCertificate/,
    );
    expect(() => parse({})).toThrow(/give either certFile and keyFile, or selfManagedCertificate/);
    expect(() => parse({ certFile: "/a", configurationName: "c" })).toThrow(
      /certFile and keyFile go together/,
    );
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
