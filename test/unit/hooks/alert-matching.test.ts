import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseStrategyFile } from "../../../src/api/index.ts";
import { alertTargets, dedupeKeyOf, matchAlert, observationOf } from "../../../src/hooks/index.ts";
import { iso, T0 } from "../engine/builders.ts";
import { anAlert, aStartedRelease } from "./payloads.ts";

const strategy = parseStrategyFile(
  readFileSync(new URL("../../../rollout/rollout-strategy.json", import.meta.url), "utf8"),
);

const checkoutRules = { matchLabels: { service: "checkout" }, severities: ["critical"] };

describe("which releases a firing alert rolls back", () => {
  it("the active release whose namespace, matchLabels and severity all match", () => {
    const targets = alertTargets([aStartedRelease(checkoutRules)], strategy);
    const decision = matchAlert(anAlert(), targets);
    expect(decision.outcome).toBe("matched");
    if (decision.outcome !== "matched") return;
    expect(decision.targets.map((target) => target.key)).toEqual(["shop/checkout-2-4-0"]);
    expect(decision.observation).toEqual({
      name: "CheckoutCanaryErrors",
      fingerprint: "c6c3ac3e1b6f5c8d",
      // In UTC, so the engine and the record compare times as strings.
      startsAt: "2026-03-02T10:00:01.123Z",
      labels: {
        alertname: "CheckoutCanaryErrors",
        namespace: "shop",
        service: "checkout",
        severity: "critical",
      },
    });
  });

  it("never one in another namespace, even when every other label matches", () => {
    const targets = alertTargets([aStartedRelease(checkoutRules, { namespace: "payments" })], strategy);
    expect(matchAlert(anAlert(), targets)).toEqual({
      outcome: "unmatched",
      reason: "no active release in namespace shop",
    });
  });

  it("never through an alert without a namespace label, even for a release that matches every label", () => {
    const targets = alertTargets([aStartedRelease({ matchLabels: {}, severities: ["critical"] })], strategy);
    const { namespace: _namespace, ...labels } = anAlert().labels;
    expect(matchAlert(anAlert({ labels }), targets)).toMatchObject({
      outcome: "unmatched",
      reason: "the alert has no namespace label",
    });
  });

  it("not when a matchLabel differs or is missing", () => {
    const targets = alertTargets([aStartedRelease(checkoutRules)], strategy);
    const other = anAlert({ labels: { ...anAlert().labels, service: "cart" } });
    const { service: _service, ...withoutService } = anAlert().labels;
    expect(matchAlert(other, targets).outcome).toBe("unmatched");
    expect(matchAlert(anAlert({ labels: withoutService }), targets).outcome).toBe("unmatched");
  });

  it("only at the severities the release names (critical by default)", () => {
    const warning = anAlert({ labels: { ...anAlert().labels, severity: "warning" } });
    const byDefault = alertTargets([aStartedRelease()], strategy);
    expect(matchAlert(warning, byDefault).outcome).toBe("unmatched");
    expect(matchAlert(anAlert(), byDefault).outcome).toBe("matched");
    const pagesOnWarnings = alertTargets(
      [aStartedRelease({ matchLabels: {}, severities: ["warning", "critical"] })],
      strategy,
    );
    expect(matchAlert(warning, pagesOnWarnings).outcome).toBe("matched");
    const optedOut = alertTargets([aStartedRelease({ severities: [] })], strategy);
    expect(matchAlert(anAlert(), optedOut).outcome).toBe("unmatched");
  });

  it("every active release it matches — two targets in one namespace", () => {
    const targets = alertTargets(
      [
        aStartedRelease({ matchLabels: {} }, { name: "checkout-2-4-0" }),
        aStartedRelease({ matchLabels: {} }, { name: "cart-1-2-0" }),
      ],
      strategy,
    );
    const decision = matchAlert(anAlert(), targets);
    expect(decision.outcome === "matched" && decision.targets.map((target) => target.name)).toEqual([
      "checkout-2-4-0",
      "cart-1-2-0",
    ]);
  });

  it("never on a resolved alert", () => {
    const targets = alertTargets([aStartedRelease(checkoutRules)], strategy);
    expect(matchAlert(anAlert({ status: "resolved", endsAt: iso(T0 + 60_000) }), targets)).toEqual({
      outcome: "resolved",
    });
  });

  it("not on an alert that began before the release started: it is not evidence against it", () => {
    const targets = alertTargets([aStartedRelease(checkoutRules)], strategy);
    const decision = matchAlert(anAlert({ startsAt: "2026-03-02T10:59:59+01:00" }), targets);
    expect(decision.outcome).toBe("unmatched");
    expect(decision.outcome === "unmatched" && decision.reason).toMatch(
      /before the matching releases started/,
    );
  });

  it("not releases that have not started, are rolling back, or have finished", () => {
    const releases = [
      aStartedRelease(checkoutRules, { name: "pending", status: { phase: "Pending", startedAt: undefined } }),
      aStartedRelease(checkoutRules, {
        name: "rolling-back",
        status: {
          phase: "RollingBack",
          rollback: { trigger: "metric", reason: "error-rate", at: iso(T0 + 1000) },
        },
      }),
      aStartedRelease(checkoutRules, { name: "done", status: { phase: "Succeeded" } }),
      aStartedRelease(checkoutRules, { name: "rolled-back", status: { phase: "RolledBack" } }),
    ];
    expect(alertTargets(releases, strategy)).toEqual([]);
  });

  it("pays no attention to Glidepath's own notifications routed back to the hook", () => {
    const targets = alertTargets([aStartedRelease({ matchLabels: {} })], strategy);
    const own = anAlert({ labels: { ...anAlert().labels, glidepath_notification: "true" } });
    expect(matchAlert(own, targets).outcome).toBe("ignored");
  });

  it("skip a Release that does not validate rather than fail the whole webhook", () => {
    const broken = aStartedRelease(checkoutRules);
    const invalid = { ...broken, spec: { ...broken.spec, version: "" } };
    expect(alertTargets([invalid, aStartedRelease(checkoutRules, { name: "ok" })], strategy)).toHaveLength(1);
  });
});

describe("an alert as the engine and the record get it", () => {
  it("is deduplicated on fingerprint and start, whatever offset the time was written with", () => {
    expect(dedupeKeyOf(anAlert())).toBe(
      dedupeKeyOf(anAlert({ startsAt: "2026-03-02T10:00:01.123Z", status: "resolved" })),
    );
    expect(dedupeKeyOf(anAlert())).not.toBe(dedupeKeyOf(anAlert({ startsAt: "2026-03-02T10:05:00Z" })));
    expect(dedupeKeyOf(anAlert())).not.toBe(dedupeKeyOf(anAlert({ fingerprint: "0000000000000001" })));
  });

  it("has bounded labels, so a noisy alert cannot bloat the Release status", () => {
    const labels: Record<string, string> = { alertname: "Noisy", namespace: "shop", severity: "critical" };
    for (let index = 0; index < 100; index++)
      labels[`label_${String(index).padStart(3, "0")}`] = "x".repeat(2000);
    const observation = observationOf(anAlert({ labels }));
    expect(Object.keys(observation.labels)).toHaveLength(32);
    expect(Math.max(...Object.values(observation.labels).map((value) => value.length))).toBe(512);
    expect(observation.labels.alertname).toBe("Noisy");
  });

  it("is called (unnamed alert) when it has no alertname", () => {
    const { alertname: _name, ...labels } = anAlert().labels;
    expect(observationOf(anAlert({ labels })).name).toBe("(unnamed alert)");
  });
});
