// Alert hooks and notifications on the real stack: a Prometheus rule on the canary's
// error ratio fires, the real Alertmanager posts to the controller (a process, with a
// bearer token), the release rolls back at once with trigger "alert"; the rollback is
// announced to a webhook and, through Alertmanager's API, as an alert. Requests that
// must change nothing change nothing, and a follower's hook is not lost.
import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { CoordinationV1Api } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolveAlertmanager, resolvePrometheus } from "../../harness/binaries.ts";
import type { ControllerProcess } from "../../harness/controller.ts";
import { runCommand } from "../../harness/processes.ts";
import { CONTROLLER_NAMESPACE } from "../../harness/controller.ts";
import {
  alertmanager,
  kubeConfig,
  prometheus,
  stackInfo,
  startWebhookRecorder,
  waitFor,
} from "../../harness/context.ts";
import type { RecordedRequest, WebhookRecorder } from "../../harness/http-fixtures.ts";
import type { Release } from "../../../src/api/index.ts";
import { FIRING_ALERTS_ANNOTATION, type HookSummary } from "../../../src/hooks/index.ts";
import {
  expectRouteAsBefore,
  givenController,
  givenService,
  type ServiceScenario,
} from "../controller/scenario.ts";
import { counterValue, fingerprint, postHook, webhookBody } from "./hook-client.ts";

const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));
const TOKEN = randomBytes(24).toString("base64url");
const ONCALL_TOKEN = randomBytes(24).toString("base64url");
const MAX_BODY_BYTES = 64 * 1024;
const auth = { authorization: `Bearer ${TOKEN}` };

let leader: ControllerProcess;
let oncall: WebhookRecorder;
let controllerConfig: Record<string, unknown>;

beforeAll(async () => {
  const info = stackInfo();
  const tokenFile = join(info.runDir, `alerting-hook-token-${process.pid}`);
  writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
  // The notifier's own token comes from the environment, which the controller process inherits.
  process.env.GLIDEPATH_TEST_ONCALL_TOKEN = ONCALL_TOKEN;
  oncall = await startWebhookRecorder({ path: "/oncall", bearerToken: ONCALL_TOKEN });
  controllerConfig = {
    hooks: { alertmanager: { token: { file: tokenFile }, maxBodyBytes: MAX_BODY_BYTES } },
    notifiers: [
      {
        name: "oncall-webhook",
        type: "webhook",
        url: oncall.url,
        bearerToken: { env: "GLIDEPATH_TEST_ONCALL_TOKEN" },
        events: ["rolledBack", "failed"],
      },
      {
        name: "alertmanager",
        type: "alertmanager",
        url: info.alertmanager.url,
        labels: { team: "checkout-team" },
        // Short, so the shared Alertmanager does not keep this alert for later test files.
        resolveAfter: "45s",
      },
    ],
  };
  leader = await givenController({ identity: `alerting-leader-${process.pid}`, config: controllerConfig });
  await alertmanager().setWebhookReceiver(`${leader.url}/hooks/alertmanager`, { bearerToken: TOKEN });
});

afterAll(async () => {
  await alertmanager().clearReceiver();
  await leader?.stop();
  await oncall?.close();
  delete process.env.GLIDEPATH_TEST_ONCALL_TOKEN;
});

/** A release held long at a 1% canary, analysed rarely: only an alert can end it soon. */
function heldRelease(
  scenario: ServiceScenario,
  name: string,
  version: string,
  matchLabels: Record<string, string> = { service: "checkout" },
): Promise<void> {
  return scenario.release(name, version, {
    stages: [
      { name: "canary", weight: 1, hold: "10m" },
      { name: "ga", weight: 100, hold: "0s" },
    ],
    analysis: {
      interval: "2m",
      metrics: [{ name: "error-rate", template: "http-error-ratio", max: 0.99, inconclusiveLimit: 30 }],
      alerts: { matchLabels, severities: ["critical"] },
    },
  });
}

function atCanary(release: Release): boolean {
  return release.status?.phase === "Progressing" && release.status.currentStage?.name === "canary";
}

function logTime(controller: ControllerProcess, fragment: string): number | undefined {
  const line = controller.process
    .logTail(100_000)
    .split("\n")
    .find((candidate) => candidate.includes(fragment));
  const time = line ? (JSON.parse(line) as { time?: string }).time : undefined;
  return time ? Date.parse(time) : undefined;
}

describe("a Prometheus alert on the canary's error ratio", () => {
  let scenario: ServiceScenario;
  const rules = `alerting-example-rules-${process.pid}`;

  beforeAll(async () => {
    scenario = await givenService("alerting");
    await scenario.simulator.client.configure({ versions: { "3.1.0": { errorRatio: 0.5 } } });
    // The example rules as shipped, except that they fire at once rather than after
    // `for:` (30 s against a blip in production; the test has no blips to ignore).
    const example = readFileSync(join(repoRoot, "manifests/examples/prometheus-rules.yaml"), "utf8");
    await prometheus().setRules(rules, example.replace(/^(\s+)for: \S+$/gm, "$1for: 0s"));
  });

  afterAll(async () => {
    await prometheus().removeRules(rules);
    await scenario?.tearDown();
  });

  it("reaches the controller through Alertmanager and rolls the release back at once, naming the alert", async () => {
    const name = "checkout-3-1-0";
    const routeBefore = await scenario.routeFields();
    // Aimed at the new version's own alerts: the stable version's series never match.
    await heldRelease(scenario, name, "3.1.0", { service: "checkout", version: "3.1.0" });
    const release = await scenario.waitForPhase(name, ["RolledBack", "Failed", "Succeeded"], {
      timeoutMs: 120_000,
    });

    expect(release.status?.phase, release.status?.message).toBe("RolledBack");
    const rollback = release.status?.rollback;
    expect(rollback?.trigger).toBe("alert");
    expect(rollback?.alert?.name).toBe("VersionErrorRatioHigh");
    expect(rollback?.alert?.fingerprint).toMatch(/^[0-9a-f]{16}$/);
    expect(rollback?.alert?.labels).toMatchObject({
      alertname: "VersionErrorRatioHigh",
      namespace: scenario.namespace,
      service: "checkout",
      version: "3.1.0",
      severity: "critical",
    });
    expect(rollback?.reason).toContain("VersionErrorRatioHigh");
    expect(release.status?.stages.map((stage) => stage.name)).toEqual(["canary"]);
    expect((await scenario.routeWeights())["checkout-canary"] ?? 0).toBe(0);
    // All traffic on stable: the route field by field as before the release.
    await expectRouteAsBefore(scenario, routeBefore);

    // At once: the rollback began within a few seconds of the webhook, not at the next
    // analysis round (2 minutes away) or the end of the hold (10 minutes away).
    const matchedAt = logTime(leader, '"msg":"firing alert matches a release: rolling it back"');
    expect(matchedAt, "the controller logged the matched alert").toBeDefined();
    expect(Date.parse(rollback?.at ?? "") - (matchedAt ?? 0)).toBeLessThan(5_000);
    // The dashboard's alert-to-rollback latency has this rollback in it.
    const exported = await (await fetch(`${leader.url}/metrics`)).text();
    const count = /^glidepath_alert_to_rollback_seconds_count (\S+)$/m.exec(exported)?.[1];
    expect(Number(count)).toBeGreaterThanOrEqual(1);
  });

  it("announces the rollback to the on-call webhook, with its bearer token", async () => {
    const request = await oncall.waitForRequest(
      (candidate: RecordedRequest) =>
        (candidate.json as { event?: string; release?: { name?: string } } | undefined)?.release?.name ===
        "checkout-3-1-0",
      60_000,
    );
    expect(request.headers.authorization).toBe(`Bearer ${ONCALL_TOKEN}`);
    expect(request.json).toMatchObject({
      kind: "GlidepathNotification",
      event: "rolledBack",
      severity: "critical",
      release: { namespace: scenario.namespace, name: "checkout-3-1-0" },
      version: "3.1.0",
      previousVersion: "1.0.0",
      rollback: { trigger: "alert", alert: "VersionErrorRatioHigh" },
    });
  });

  it("shows the rollback as an alert in Alertmanager, for the organisation's routing", async () => {
    const alert = await waitFor(
      async () =>
        (await alertmanager().alerts()).find(
          (candidate) =>
            candidate.labels.alertname === "GlidepathReleaseRolledBack" &&
            candidate.labels.release_namespace === scenario.namespace,
        ),
      { timeoutMs: 60_000, description: "the GlidepathReleaseRolledBack alert in Alertmanager" },
    );
    expect(alert.labels).toMatchObject({
      release: "checkout-3-1-0",
      severity: "critical",
      team: "checkout-team",
      glidepath_notification: "true",
    });
    expect(alert.labels.namespace).toBeUndefined();
    expect(alert.annotations.summary).toBe(
      `${scenario.namespace}/checkout-3-1-0: checkout 3.1.0 rolled back`,
    );
    // Alertmanager routes it back to the controller's own hook (the harness routes every
    // alert there): it is recognised as a notification, not evidence against a release.
    await waitFor(
      async () =>
        (await counterValue(leader.url, "glidepath_alerts_received_total", { outcome: "ignored" })) >= 1,
      {
        timeoutMs: 30_000,
        description: "the hook to ignore Glidepath's own notification",
      },
    );
    expect(
      await counterValue(leader.url, "glidepath_notifications_total", {
        notifier: "oncall-webhook",
        outcome: "delivered",
      }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      await counterValue(leader.url, "glidepath_notifications_total", {
        notifier: "alertmanager",
        outcome: "delivered",
      }),
    ).toBeGreaterThanOrEqual(1);
  });
});

describe("the hook, posted to directly", () => {
  let scenario: ServiceScenario;
  const name = "checkout-4-0-0";
  let startedAt: string;
  const alertLabels = () => ({
    alertname: "CheckoutErrorBudgetBurn",
    namespace: scenario.namespace,
    service: "checkout",
    severity: "critical",
  });

  beforeAll(async () => {
    scenario = await givenService("alert-hook");
    await heldRelease(scenario, name, "4.0.0");
    const release = await scenario.waitForRelease(name, "at the canary stage", atCanary);
    startedAt = release.status?.startedAt as string;
  });

  afterAll(async () => scenario?.tearDown());

  it("refuses, quickly and with a JSON error, requests without the token, malformed or too large", async () => {
    const firing = webhookBody([
      { status: "firing", labels: alertLabels(), startsAt: new Date().toISOString() },
    ]);
    const cases: { what: string; body: string; headers: Record<string, string>; status: number }[] = [
      { what: "no token", body: firing, headers: {}, status: 401 },
      { what: "a wrong token", body: firing, headers: { authorization: `Bearer ${TOKEN}x` }, status: 401 },
      {
        what: "basic auth",
        body: firing,
        headers: { authorization: `Basic ${btoa(`glidepath:${TOKEN}`)}` },
        status: 401,
      },
      { what: "not JSON", body: "{alerts: [", headers: auth, status: 400 },
      {
        what: "another version",
        body: firing.replace('"version":"4"', '"version":"3"'),
        headers: auth,
        status: 400,
      },
      {
        what: "an alert without labels",
        body: JSON.stringify({ ...JSON.parse(firing), alerts: [{ status: "firing", startsAt: startedAt }] }),
        headers: auth,
        status: 400,
      },
      {
        what: "a body over the limit",
        body: webhookBody([
          {
            status: "firing",
            labels: alertLabels(),
            annotations: { description: "x".repeat(MAX_BODY_BYTES) },
            startsAt: new Date().toISOString(),
          },
        ]),
        headers: auth,
        status: 413,
      },
    ];
    for (const { what, body, headers, status } of cases) {
      const answer = await postHook(leader.url, body, headers);
      expect(answer.status, what).toBe(status);
      expect(typeof answer.json.error, what).toBe("string");
      expect(answer.elapsedMs, what).toBeLessThan(2_000);
    }
    // An unauthenticated request learns nothing about the payload rules.
    const unauthenticated = await postHook(leader.url, "{", {});
    expect(unauthenticated.json).toEqual({ error: "missing or wrong bearer token" });
    expect(
      await counterValue(leader.url, "glidepath_alerts_received_total", { outcome: "too_large" }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      await counterValue(leader.url, "glidepath_alerts_received_total", { outcome: "invalid" }),
    ).toBeGreaterThanOrEqual(3);
  });

  it("stays bounded: a flood of requests that trickle their bodies gets 503, and the slots come back", async () => {
    const { hostname: host, port } = new URL(leader.url);
    const openSocket = async (firstBytes: string): Promise<Socket> => {
      const socket = connect({ host, port: Number(port) });
      await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
      socket.write(firstBytes);
      return socket;
    };

    // 32 requests that trickle their bodies occupy every slot; the next one is told to retry.
    const slow = await Promise.all(
      Array.from({ length: 32 }, () =>
        openSocket(
          `POST /hooks/alertmanager HTTP/1.1\r\nHost: ${host}\r\nAuthorization: ${auth.authorization}\r\n` +
            `Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{`,
        ),
      ),
    );
    try {
      const refused = await waitFor(
        async () => {
          const answer = await postHook(leader.url, webhookBody([]), auth);
          return answer.status === 503 ? answer : undefined;
        },
        { timeoutMs: 10_000, intervalMs: 200, description: "a 503 while every slot is taken" },
      );
      expect(refused.json.error).toMatch(/32 webhook requests are being handled/);
    } finally {
      for (const socket of slow) socket.destroy();
    }
    // The slots come back once those clients are gone.
    await waitFor(
      async () => ((await postHook(leader.url, webhookBody([]), auth)).status === 200 ? true : undefined),
      { timeoutMs: 10_000, intervalMs: 200, description: "the hook answering 200 again" },
    );
    expect(
      await counterValue(leader.url, "glidepath_alerts_received_total", { outcome: "busy" }),
    ).toBeGreaterThanOrEqual(1);
  });

  it("takes resolved alerts, alerts older than the release and other namespaces' alerts without acting", async () => {
    const early = new Date(Date.parse(startedAt) + 1).toISOString();
    const answer = await postHook(
      leader.url,
      webhookBody([
        { status: "resolved", labels: alertLabels(), startsAt: early, endsAt: new Date().toISOString() },
        {
          status: "firing",
          labels: alertLabels(),
          startsAt: new Date(Date.parse(startedAt) - 60_000).toISOString(),
        },
        { status: "firing", labels: { ...alertLabels(), namespace: "someone-else" }, startsAt: early },
        { status: "firing", labels: { ...alertLabels(), severity: "warning" }, startsAt: early },
      ]),
      auth,
    );
    expect(answer.status).toBe(200);
    expect(answer.json).toMatchObject({
      alerts: 4,
      matched: [],
      resolved: 1,
      unmatched: 3,
      handledBy: "leader",
    });
    const release = await scenario.read(name);
    expect(atCanary(release), release.status?.message).toBe(true);
    expect(release.status?.rollback).toBeUndefined();
  });

  it("is not lost when a follower receives it: the alert goes onto the Release and the leader rolls back", async () => {
    const follower = await givenController({
      identity: `alerting-follower-${process.pid}`,
      config: controllerConfig,
    });
    try {
      const coordination = kubeConfig().makeApiClient(CoordinationV1Api);
      const lease = await coordination.readNamespacedLease({
        name: "glidepath-controller",
        namespace: CONTROLLER_NAMESPACE,
      });
      expect(lease.spec?.holderIdentity).toBe(leader.identity);

      const alertFingerprint = fingerprint();
      const firstAt = new Date();
      const body = webhookBody([
        {
          status: "firing",
          labels: alertLabels(),
          startsAt: firstAt.toISOString(),
          fingerprint: alertFingerprint,
        },
        // A rule author's long name and control characters: once enough to make the whole
        // hand-off annotation unreadable (a 300-character name) or too large to write.
        {
          status: "firing",
          labels: { ...alertLabels(), alertname: "N".repeat(300), detail: "\u0001".repeat(8000) },
          startsAt: new Date(firstAt.getTime() + 1).toISOString(),
          fingerprint: fingerprint(),
        },
      ]);
      const answer = await postHook(follower.url, body, auth);
      expect(answer.status, JSON.stringify(answer.json)).toBe(200);
      expect(answer.json).toMatchObject({
        matched: [`${scenario.namespace}/${name}`, `${scenario.namespace}/${name}`],
        handledBy: "follower",
      });
      // Alertmanager repeats it every repeat_interval: the repeat is taken once.
      // (Reported as duplicates, or as unmatched when the leader has already acted on the first.)
      const repeat = (await postHook(follower.url, body, auth)).json as unknown as HookSummary;
      expect(repeat.matched).toEqual([]);
      expect(repeat.duplicates + repeat.unmatched).toBe(2);

      const release = await scenario.waitForPhase(name, ["RolledBack", "Failed", "Succeeded"], {
        timeoutMs: 60_000,
      });
      expect(release.status?.phase, release.status?.message).toBe("RolledBack");
      // The alert that rolled it back is the follower's, not the resolved or older ones posted before.
      expect(release.status?.rollback).toMatchObject({
        trigger: "alert",
        alert: { name: "CheckoutErrorBudgetBurn", fingerprint: alertFingerprint },
      });
      expect(JSON.parse(release.metadata.annotations?.[FIRING_ALERTS_ANNOTATION] ?? "[]")).toEqual([
        expect.objectContaining({ fingerprint: alertFingerprint }),
        expect.objectContaining({ name: `${"N".repeat(255)}…` }),
      ]);
      const weights = await scenario.routeWeights();
      expect(weights["checkout-canary"] ?? 0).toBe(0);
    } finally {
      await follower.stop();
    }
  });
});

describe("the examples in manifests/examples", () => {
  const examples = join(repoRoot, "manifests", "examples");

  it("prometheus-rules.yaml passes promtool", async () => {
    const promtool = join(dirname(resolvePrometheus()), "promtool");
    const { stdout } = await runCommand(promtool, [
      "check",
      "rules",
      join(examples, "prometheus-rules.yaml"),
    ]);
    expect(stdout).toContain("SUCCESS: 3 rules found");
  });

  it("alertmanager-receiver.yaml passes amtool, and routes what may roll back to Glidepath and on-call alike", async () => {
    const amtool = join(dirname(resolveAlertmanager()), "amtool");
    const file = join(examples, "alertmanager-receiver.yaml");
    expect((await runCommand(amtool, ["check-config", file])).stdout).toContain("SUCCESS");
    const route = async (labels: string[]) =>
      (
        await runCommand(amtool, ["config", "routes", "test", `--config.file=${file}`, ...labels])
      ).stdout.trim();
    expect(await route(["alertname=VersionErrorRatioHigh", "namespace=shop", "severity=critical"])).toBe(
      "glidepath,on-call",
    );
    expect(await route(["alertname=VersionErrorRatioElevated", "namespace=shop", "severity=warning"])).toBe(
      "on-call",
    );
    expect(await route(["alertname=NodeDown", "severity=critical"])).toBe("on-call");
    expect(
      await route([
        "alertname=GlidepathReleaseRolledBack",
        "release_namespace=shop",
        "severity=critical",
        "glidepath_notification=true",
      ]),
    ).toBe("on-call");
  });
});
