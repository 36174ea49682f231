import { describe, expect, it } from "vitest";
import type { Notification } from "../../../src/controller/ports.ts";
import {
  alertmanagerAlerts,
  describeNotification,
  slackBody,
  slackEscape,
  webhookBody,
} from "../../../src/notify/index.ts";
import { aRelease, iso, T0 } from "../engine/builders.ts";

const NOW = new Date(T0 + 90_000);

function rolledBack(): Notification {
  const release = aRelease({}, {
    phase: "RollingBack",
    startedAt: iso(T0),
    previous: { version: "2.3.1", images: { checkout: "registry.example.com/checkout:2.3.1" } },
    rollback: {
      trigger: "alert",
      reason:
        "alert CheckoutCanaryErrors is firing (since 2026-03-02T10:00:01.123Z, fingerprint c6c3ac3e1b6f5c8d)",
      at: iso(T0 + 60_000),
      alert: { name: "CheckoutCanaryErrors", fingerprint: "c6c3ac3e1b6f5c8d", labels: { namespace: "shop" } },
    },
    stages: [],
    approvals: [],
    transitions: [],
    conditions: [],
  } as never);
  return {
    event: "rolledBack",
    message: "rolled back to 2.3.1: alert CheckoutCanaryErrors is firing",
    release: { ...release, metadata: { ...release.metadata, uid: "uid-1" } },
  };
}

describe("what a notification says", () => {
  it("names the release, the version, the change and, for a rollback, its trigger and reason", () => {
    expect(describeNotification(rolledBack(), NOW)).toEqual({
      event: "rolledBack",
      severity: "critical",
      title: "shop/checkout-2-4-0: checkout 2.4.0 rolled back",
      message: "rolled back to 2.3.1: alert CheckoutCanaryErrors is firing",
      at: "2026-03-02T10:01:30.000Z",
      release: { namespace: "shop", name: "checkout-2-4-0", uid: "uid-1" },
      phase: "RolledBack",
      target: "checkout",
      version: "2.4.0",
      previousVersion: "2.3.1",
      changeRequest: {
        id: "CHG-1042",
        title: "Fix checkout timeout",
        type: "standard",
        risk: "low",
        requestedBy: "alice",
      },
      rollback: {
        trigger: "alert",
        reason: expect.stringContaining("CheckoutCanaryErrors") as unknown as string,
        alert: "CheckoutCanaryErrors",
      },
    });
  });

  it("is informational for a success or an approval gate, with no rollback part", () => {
    const release = aRelease();
    const succeeded = describeNotification({ event: "succeeded", message: "2.4.0 is live", release }, NOW);
    expect(succeeded).toMatchObject({
      severity: "info",
      phase: "Succeeded",
      title: expect.stringMatching(/succeeded$/),
    });
    expect(succeeded.rollback).toBeUndefined();
    const approval = describeNotification({ event: "awaitingApproval", message: "approve GA", release }, NOW);
    expect(approval.title).toBe("shop/checkout-2-4-0: checkout 2.4.0 waits for approval");
  });
});

describe("the generic JSON webhook", () => {
  it("carries the facts with a kind and a schema version", () => {
    const facts = describeNotification(rolledBack(), NOW);
    expect(webhookBody(facts)).toEqual({ kind: "GlidepathNotification", schemaVersion: 1, ...facts });
  });
});

describe("the Slack message", () => {
  it("has a fallback text, a header, the reason and the facts as fields", () => {
    const body = slackBody(describeNotification(rolledBack(), NOW)) as {
      text: string;
      blocks: { type: string; text?: { text: string }; fields?: { text: string }[] }[];
    };
    expect(body.text).toBe(
      ":rotating_light: shop/checkout-2-4-0: checkout 2.4.0 rolled back: rolled back to 2.3.1: alert CheckoutCanaryErrors is firing",
    );
    expect(body.blocks.map((block) => block.type)).toEqual(["header", "section", "section", "context"]);
    expect(body.blocks[0]?.text?.text).toBe("shop/checkout-2-4-0: checkout 2.4.0 rolled back");
    expect(body.blocks[2]?.fields?.map((field) => field.text)).toEqual([
      "*Release*\nshop/checkout-2-4-0",
      "*Version*\n2.4.0 (was 2.3.1)",
      "*Change*\nCHG-1042: Fix checkout timeout",
      "*Type and risk*\nstandard, low risk",
      "*Trigger*\nalert (CheckoutCanaryErrors)",
    ]);
  });

  it("escapes what Slack would read as markup, and keeps within Slack's limits", () => {
    expect(slackEscape("a < b && c > <@U123>")).toBe("a &lt; b &amp;&amp; c &gt; &lt;@U123&gt;");
    const notification = rolledBack();
    notification.message = "<!channel> ".repeat(1000);
    const body = slackBody(describeNotification(notification, NOW)) as {
      text: string;
      blocks: { text?: { text: string } }[];
    };
    expect(body.blocks[1]?.text?.text).not.toContain("<!channel>");
    expect(body.blocks[1]?.text?.text.length).toBeLessThanOrEqual(3000);
    expect(body.text.length).toBeLessThanOrEqual(3000);
  });

  it("links the change request when it has a ticket URL", () => {
    const notification = rolledBack();
    notification.release.spec.changeRequest.ticketUrl = "https://tickets.example.com/CHG-1042";
    const body = slackBody(describeNotification(notification, NOW)) as {
      blocks: { fields?: { text: string }[] }[];
    };
    expect(body.blocks[2]?.fields?.[2]?.text).toBe(
      "*Change*\n<https://tickets.example.com/CHG-1042|CHG-1042>: Fix checkout timeout",
    );
  });
});

describe("the alert sent to Alertmanager's API v2", () => {
  const [alert] = alertmanagerAlerts(describeNotification(rolledBack(), NOW), {
    labels: { team: "payments", severity: "overridden" },
    resolveAfterMs: 3_600_000,
  });

  it("is routable like any alert: alertname, severity, the configured labels", () => {
    expect(alert?.labels).toEqual({
      team: "payments",
      alertname: "GlidepathReleaseRolledBack",
      severity: "critical",
      release: "checkout-2-4-0",
      release_namespace: "shop",
      target: "checkout",
      version: "2.4.0",
      event: "rolledBack",
      change_request: "CHG-1042",
      glidepath_notification: "true",
    });
  });

  it("has no namespace label and is marked as Glidepath's, so it can never roll another release back", () => {
    expect(alert?.labels.namespace).toBeUndefined();
    expect(alert?.labels.glidepath_notification).toBe("true");
  });

  it("says what happened in its annotations and stays active for resolveAfter", () => {
    expect(alert?.annotations).toMatchObject({
      summary: "shop/checkout-2-4-0: checkout 2.4.0 rolled back",
      description: "rolled back to 2.3.1: alert CheckoutCanaryErrors is firing",
      rollback_trigger: "alert",
      rollback_alert: "CheckoutCanaryErrors",
      previous_version: "2.3.1",
    });
    expect(alert?.startsAt).toBe("2026-03-02T10:01:30.000Z");
    expect(alert?.endsAt).toBe("2026-03-02T11:01:30.000Z");
  });
});
