// A real Alertmanager for tests: no clustering, group_wait 0s and group_interval 1s so
// a firing alert reaches the webhook within seconds. The receiver is set at run time
// (setWebhookReceiver rewrites the config and reloads), from any process.
import { rmSync } from "node:fs";
import { basename, join } from "node:path";
import { stringify } from "yaml";
import { resolveAlertmanager } from "./binaries.ts";
import { freePorts, waitUntilReady } from "./processes.ts";
import type { ManagedProcess, ProcessSupervisor } from "./processes.ts";
import { uniqueDir, writeAtomically } from "./prometheus.ts";

/** Serialisable: enough to control a running Alertmanager from another process. */
export interface AlertmanagerInfo {
  url: string;
  configFile: string;
}

export interface WebhookReceiverOptions {
  bearerToken?: string;
  /** Also send resolved notifications (Alertmanager's default: true). */
  sendResolved?: boolean;
}

export interface AlertmanagerAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  status: { state: string };
  fingerprint: string;
}

export interface AlertmanagerControl {
  readonly url: string;
  readonly info: AlertmanagerInfo;
  /** Route every alert to this webhook URL (replacing any previous receiver) and reload. */
  setWebhookReceiver(url: string, options?: WebhookReceiverOptions): Promise<void>;
  /** Back to a receiver that sends nowhere. */
  clearReceiver(): Promise<void>;
  reload(): Promise<void>;
  /** Alerts Alertmanager currently holds (API v2). */
  alerts(): Promise<AlertmanagerAlert[]>;
}

export interface AlertmanagerServer extends AlertmanagerControl {
  readonly process: ManagedProcess;
  readonly startupMs: number;
  stop(): Promise<void>;
}

export interface StartAlertmanagerOptions {
  supervisor: ProcessSupervisor;
  parentDir?: string;
  name?: string;
  binary?: string;
  extraArgs?: string[];
  readyTimeoutMs?: number;
}

export async function startAlertmanager(options: StartAlertmanagerOptions): Promise<AlertmanagerServer> {
  const started = Date.now();
  const dir = uniqueDir(options.parentDir ?? options.supervisor.runDir, options.name ?? "alertmanager");
  const [port] = (await freePorts(1)) as [number];
  const url = `http://127.0.0.1:${port}`;
  const configFile = join(dir, "alertmanager.yml");
  writeAtomically(configFile, renderConfig(undefined));
  const proc = options.supervisor.start({
    name: basename(dir),
    command: options.binary ?? resolveAlertmanager(),
    args: [
      `--config.file=${configFile}`,
      `--storage.path=${join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
      `--web.external-url=${url}`,
      // Empty: no gossip cluster (it would listen on 0.0.0.0:9094).
      "--cluster.listen-address=",
      ...(options.extraArgs ?? []),
    ],
  });
  await waitUntilReady(
    proc,
    async () => (await fetch(`${url}/-/ready`)).ok,
    options.readyTimeoutMs ?? 30_000,
    50,
  );
  const control = alertmanagerControl({ url, configFile });
  return {
    ...control,
    process: proc,
    startupMs: Date.now() - started,
    async stop() {
      await proc.stop();
      rmSync(join(dir, "data"), { recursive: true, force: true });
    },
  };
}

/** Controls a running Alertmanager from any process, through its config file and HTTP API. */
export function alertmanagerControl(info: AlertmanagerInfo): AlertmanagerControl {
  const reload = async (): Promise<void> => {
    const response = await fetch(`${info.url}/-/reload`, {
      method: "POST",
      signal: AbortSignal.timeout(10_000),
    });
    if (!response.ok)
      throw new Error(`Alertmanager reload failed (${response.status}): ${await response.text()}`);
  };
  return {
    url: info.url,
    info,
    async setWebhookReceiver(url, options = {}) {
      writeAtomically(info.configFile, renderConfig({ url, ...options }));
      await reload();
    },
    async clearReceiver() {
      writeAtomically(info.configFile, renderConfig(undefined));
      await reload();
    },
    reload,
    async alerts() {
      const response = await fetch(`${info.url}/api/v2/alerts`, { signal: AbortSignal.timeout(10_000) });
      if (!response.ok)
        throw new Error(`Alertmanager /api/v2/alerts: ${response.status} ${await response.text()}`);
      return (await response.json()) as AlertmanagerAlert[];
    },
  };
}

function renderConfig(webhook: (WebhookReceiverOptions & { url: string }) | undefined): string {
  const receiver: Record<string, unknown> = { name: "harness" };
  if (webhook) {
    receiver.webhook_configs = [
      {
        url: webhook.url,
        send_resolved: webhook.sendResolved ?? true,
        max_alerts: 0,
        ...(webhook.bearerToken
          ? { http_config: { authorization: { type: "Bearer", credentials: webhook.bearerToken } } }
          : {}),
      },
    ];
  }
  return stringify({
    route: {
      receiver: "harness",
      group_by: ["alertname"],
      group_wait: "0s",
      group_interval: "1s",
      repeat_interval: "4h",
    },
    receivers: [receiver],
  });
}
