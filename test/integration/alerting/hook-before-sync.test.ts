import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kubeconfigThrough, startApiProxy, type ApiProxy } from "../../harness/api-proxy.ts";
import { fileURLToPath } from "node:url";
import { stringify } from "yaml";
import { CONTROLLER_NAMESPACE, controllerArgs } from "../../harness/controller.ts";
import { stackInfo, waitFor } from "../../harness/context.ts";
import { freePort, ProcessSupervisor, type ManagedProcess } from "../../harness/processes.ts";
import type { ControllerProcess } from "../../harness/controller.ts";
import { controllerKubeconfigPath, givenController, givenService } from "../controller/scenario.ts";
import { fingerprint, postHook, webhookBody } from "./hook-client.ts";

// Found by the chaos suite (issue 13 item 7): Alertmanager delivering an alert to a
// replica restarted a moment ago, whose Release cache had not had its first list yet. The
// replica matched the alert against nothing, answered 200, and the alert was lost. A
// replica that has not loaded the Releases answers 503, so Alertmanager sends it again.

const TOKEN = randomBytes(24).toString("base64url");
const auth = { authorization: `Bearer ${TOKEN}` };
const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));
let proxy: ApiProxy;
let leader: ControllerProcess | undefined;
let follower: ManagedProcess | undefined;

beforeAll(async () => {
  const info = stackInfo();
  proxy = await startApiProxy({ apiServerUrl: info.apiServerUrl, caCertPath: info.caCertPath });
});

afterAll(async () => {
  await follower?.stop(10_000);
  await leader?.stop();
  await proxy?.close();
});

describe("an alert reaching a replica that has not loaded the Releases yet", () => {
  it("is refused with 503 rather than answered 200 and lost; sent again once loaded, it rolls the release back", async () => {
    const info = stackInfo();
    leader = await givenController({ identity: `hook-before-sync-leader-${process.pid}` });
    const scenario = await givenService("hook-before-sync");
    const name = "checkout-2-0-0";
    await scenario.release(name, "2.0.0", {
      stages: [
        { name: "canary", weight: 1, hold: "10m" },
        { name: "ga", weight: 100, hold: "0s" },
      ],
      analysis: { alerts: { matchLabels: { service: "checkout" }, severities: ["critical"] } },
    });

    await scenario.waitForPhase(name, ["Progressing"], { timeoutMs: 60_000 });

    // A replica starts (a restart): its first list of Releases is held, its cache cannot sync.
    proxy.hold(
      (method, path) =>
        method === "GET" && path.startsWith("/apis/glidepath.dev/") && !path.includes("watch=true"),
    );
    const identity = `hook-before-sync-follower-${process.pid}`;
    const tokenFile = join(info.runDir, `${identity}-token`);
    writeFileSync(tokenFile, TOKEN, { mode: 0o600 });
    const port = await freePort();
    const hookUrl = `http://127.0.0.1:${port}`;
    const configPath = join(info.runDir, `${identity}.yaml`);
    writeFileSync(
      configPath,
      stringify({
        strategyFile: join(repoRoot, "rollout", "rollout-strategy.json"),
        prometheus: { url: info.prometheus.url, timeout: "5s" },
        port,
        leaderElection: {
          leaseNamespace: CONTROLLER_NAMESPACE,
          leaseDuration: "6s",
          renewDeadline: "4s",
          retryPeriod: "1s",
        },
        hooks: { alertmanager: { token: { file: tokenFile } } },
        kubernetes: { requestTimeout: "5s" },
      }),
    );
    // Started by hand: the harness's start waits for /readyz, which this test holds back.
    follower = new ProcessSupervisor(info.runDir).start({
      name: identity,
      command: join(repoRoot, "node_modules", ".bin", "node"),
      args: controllerArgs({
        configPath,
        kubeconfigPath: kubeconfigThrough(
          await controllerKubeconfigPath(),
          proxy.url,
          join(info.runDir, `${identity}.kubeconfig`),
        ),
        identity,
      }),
    });
    await waitFor(async () => (await fetch(`${hookUrl}/healthz`).catch(() => undefined))?.ok === true, {
      timeoutMs: 60_000,
      description: "the controller's hook port answers",
    });
    await waitFor(async () => proxy.heldNow().length > 0, {
      timeoutMs: 30_000,
      description: "the controller's list of Releases is held",
    });

    const body = webhookBody([
      {
        status: "firing",
        labels: {
          alertname: "CheckoutErrors",
          namespace: scenario.namespace,
          service: "checkout",
          severity: "critical",
        },
        startsAt: new Date().toISOString(),
        fingerprint: fingerprint(),
      },
    ]);
    const early = await postHook(hookUrl, body, auth);
    expect(early.status, JSON.stringify(early.json)).toBe(503);
    expect(early.json).toMatchObject({ error: "this replica has not loaded the Releases yet; send again" });

    // The proxy forwards again; the held list runs out at its deadline and is retried.
    proxy.forwardAll();
    await waitFor(async () => (await fetch(`${hookUrl}/readyz`).catch(() => undefined))?.ok === true, {
      timeoutMs: 150_000,
      description: "the controller has loaded the Releases (ready)",
    });
    const again = await postHook(hookUrl, body, auth);
    expect(again.status, JSON.stringify(again.json)).toBe(200);
    expect(again.json).toMatchObject({ matched: [`${scenario.namespace}/${name}`], handledBy: "follower" });
    const release = await scenario.waitForPhase(name, ["RolledBack", "Failed", "Succeeded"], {
      timeoutMs: 60_000,
    });
    expect(release.status?.phase).toBe("RolledBack");
    expect(release.status?.rollback?.trigger).toBe("alert");
    await scenario.tearDown();
  });
});
