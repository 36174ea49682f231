import { describe, expect, it } from "vitest";
import { parseAlertmanagerPayload } from "../../../src/hooks/index.ts";
import { aPayload, anAlert } from "./payloads.ts";

describe("Alertmanager webhook payloads (version 4)", () => {
  it("accept what Alertmanager sends: offsets, nanoseconds and the zero endsAt of an alert still firing", () => {
    const parsed = parseAlertmanagerPayload(JSON.stringify(aPayload()));
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.payload.alerts[0]).toMatchObject({
      status: "firing",
      startsAt: "2026-03-02T11:00:01.123456789+01:00",
      endsAt: "0001-01-01T00:00:00Z",
      fingerprint: "c6c3ac3e1b6f5c8d",
    });
  });

  it("accept a truncated notification and fields a newer Alertmanager might add", () => {
    const body = aPayload([anAlert()], { truncatedAlerts: 7, someFutureField: { x: 1 } });
    const parsed = parseAlertmanagerPayload(JSON.stringify(body));
    expect(parsed.ok && parsed.payload.truncatedAlerts).toBe(7);
  });

  it("default what older senders leave out (annotations, generatorURL)", () => {
    const { annotations: _a, generatorURL: _g, ...bare } = anAlert();
    const parsed = parseAlertmanagerPayload(JSON.stringify(aPayload([bare])));
    expect(parsed.ok && parsed.payload.alerts[0]).toMatchObject({ annotations: {}, generatorURL: "" });
  });

  it.each([
    ["not JSON", "{alerts:", "$", /not JSON/],
    ["another version", JSON.stringify(aPayload([anAlert()], { version: "3" })), "$.version", /4/],
    [
      "an alert of unknown status",
      JSON.stringify(aPayload([{ ...anAlert(), status: "pending" }])),
      "$.alerts[0].status",
      /firing|resolved/,
    ],
    [
      "a time without an offset",
      JSON.stringify(aPayload([{ ...anAlert(), startsAt: "2026-03-02 10:00:00" }])),
      "$.alerts[0].startsAt",
      /datetime/i,
    ],
    [
      "labels that are not strings",
      JSON.stringify(aPayload([{ ...anAlert(), labels: { severity: 1 } }])),
      "$.alerts[0].labels.severity",
      /string/,
    ],
    [
      "an alert without a fingerprint",
      JSON.stringify(aPayload([{ ...anAlert(), fingerprint: "" }])),
      "$.alerts[0].fingerprint",
      /1/,
    ],
    ["no alerts array", JSON.stringify({ ...aPayload(), alerts: undefined }), "$.alerts", /array/],
  ])("refuse %s, saying where", (_name, body, path, message) => {
    const parsed = parseAlertmanagerPayload(body);
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    const issue = parsed.issues.find((candidate) => candidate.path === path);
    expect(issue, JSON.stringify(parsed.issues)).toBeDefined();
    expect(issue?.message).toMatch(message);
  });
});
