import { describe, expect, it } from "vitest";
import { ControllerConfigError, parseControllerConfig } from "../../../src/api/index.ts";
import { isRetryableStatus, retryAfter } from "../../../src/notify/index.ts";

describe("notification delivery", () => {
  it("retries what may pass later (timeouts, throttling, server errors) and not what will fail again", () => {
    for (const status of [408, 425, 429, 500, 502, 503, 504])
      expect(isRetryableStatus(status), `${status}`).toBe(true);
    for (const status of [400, 401, 403, 404, 410, 413, 422])
      expect(isRetryableStatus(status), `${status}`).toBe(false);
  });

  it("honours a Retry-After in seconds, within reason", () => {
    expect(retryAfter("3")).toBe(3000);
    expect(retryAfter("3600")).toBe(30_000);
    expect(retryAfter("Wed, 21 Oct 2026 07:28:00 GMT")).toBeUndefined();
    expect(retryAfter(undefined)).toBeUndefined();
  });
});

describe("the notifiers section of the controller configuration", () => {
  it("has none by default", () => {
    expect(parseControllerConfig({}).notifiers).toEqual([]);
  });

  it("takes a webhook, a Slack webhook from a Secret, and Alertmanager, with defaults", () => {
    const { notifiers } = parseControllerConfig({
      notifiers: [
        {
          name: "oncall",
          type: "webhook",
          url: "https://hooks.example.com/glidepath",
          bearerToken: { env: "ONCALL_TOKEN" },
        },
        {
          name: "slack",
          type: "slack",
          urlFrom: { file: "/etc/glidepath/slack/url" },
          events: ["rolledBack"],
        },
        {
          name: "paging",
          type: "alertmanager",
          url: "http://alertmanager.monitoring:9093",
          labels: { team: "shop" },
        },
      ],
    });
    expect(notifiers).toEqual([
      {
        name: "oncall",
        type: "webhook",
        url: "https://hooks.example.com/glidepath",
        bearerToken: { env: "ONCALL_TOKEN" },
        timeout: "5s",
        attempts: 4,
      },
      {
        name: "slack",
        type: "slack",
        urlFrom: { file: "/etc/glidepath/slack/url" },
        events: ["rolledBack"],
        timeout: "5s",
        attempts: 4,
      },
      {
        name: "paging",
        type: "alertmanager",
        url: "http://alertmanager.monitoring:9093",
        labels: { team: "shop" },
        resolveAfter: "1h",
        timeout: "5s",
        attempts: 4,
      },
    ]);
  });

  it.each([
    [
      "both url and urlFrom",
      { name: "a", type: "webhook", url: "https://x.example.com", urlFrom: { env: "X" } },
      /exactly one of url and urlFrom/,
    ],
    [
      "a Slack webhook URL written inline (it is a credential)",
      { name: "a", type: "slack", url: "https://hooks.slack.com/services/T0/B0/x" },
      /\$\.notifiers\[0\]\.url: a Slack webhook URL is a credential: put it in a Secret and give urlFrom/,
    ],
    [
      "a Slack notifier without urlFrom",
      { name: "a", type: "slack" },
      /\$\.notifiers\[0\]\.urlFrom: a Slack notifier needs urlFrom/,
    ],
    ["neither", { name: "a", type: "webhook" }, /exactly one of url and urlFrom/],
    ["an unknown type", { name: "a", type: "pagerduty", url: "https://x.example.com" }, /type/],
    [
      "an unknown event",
      { name: "a", type: "webhook", url: "https://x.example.com", events: ["deployed"] },
      /events/,
    ],
    ["a non-http URL", { name: "a", type: "webhook", url: "ftp://x.example.com" }, /url/],
  ])("refuses %s", (_name, notifier, message) => {
    expect(() => parseControllerConfig({ notifiers: [notifier] })).toThrow(ControllerConfigError);
    expect(() => parseControllerConfig({ notifiers: [notifier] })).toThrow(message);
  });

  it("refuses two notifiers of one name (their metrics would mix)", () => {
    const twice = { name: "oncall", type: "webhook", url: "https://x.example.com" };
    expect(() => parseControllerConfig({ notifiers: [twice, twice] })).toThrow(
      /duplicate notifier name "oncall"/,
    );
  });
});
