// A real Prometheus for tests: 1 s scrape and evaluation intervals, scrape targets from
// file_sd (added at run time without a restart), rules from a directory (loaded with
// POST /-/reload), alerts sent to the harness Alertmanager.
//
// The server lives in one process (the vitest globalSetup, or the demo) while tests run
// in worker processes: everything a test needs is reachable from PrometheusInfo alone
// (files + HTTP), see prometheusControl(). startPrometheus() can be called any number of
// times, e.g. for a private Prometheus that a test stops to see "Prometheus unreachable".
import { mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { stringify } from "yaml";
import { resolvePrometheus } from "./binaries.ts";
import { freePort, waitUntilReady } from "./processes.ts";
import type { ManagedProcess, ProcessSupervisor } from "./processes.ts";

/** Serialisable: enough to control a running Prometheus from another process. */
export interface PrometheusInfo {
  url: string;
  dir: string;
  targetsDir: string;
  rulesDir: string;
}

export interface PrometheusSample {
  metric: Record<string, string>;
  /** Prometheus sends values as strings ("1", "NaN", "+Inf"). */
  value: [number, string];
}

export interface ScrapeTarget {
  job: string;
  instance: string;
  health: "up" | "down" | "unknown";
  lastError: string;
  labels: Record<string, string>;
}

export interface WaitOptions {
  timeoutMs?: number;
  intervalMs?: number;
}

export interface PrometheusControl {
  readonly url: string;
  readonly info: PrometheusInfo;
  /**
   * Sets the scrape targets of `job` ("127.0.0.1:port"); file_sd picks the change up
   * within about a second. `labels` may include __metrics_path__ or __scheme__.
   */
  setScrapeTargets(job: string, targets: string[], labels?: Record<string, string>): void;
  removeScrapeTargets(job: string): void;
  /** Writes rules/<name>.yml and reloads; a rule file Prometheus rejects throws with its error. */
  setRules(name: string, yamlText: string): Promise<void>;
  removeRules(name: string): Promise<void>;
  reload(): Promise<void>;
  /** Instant query (POST form); throws on an error envelope. */
  query(promql: string): Promise<PrometheusSample[]>;
  targets(): Promise<ScrapeTarget[]>;
  /** Waits until a target of `job` (and `instance`, when given) is scraped successfully. */
  waitForTarget(job: string, instance?: string, options?: WaitOptions): Promise<ScrapeTarget>;
  /** Waits until the query returns a non-empty vector accepted by `accept`. */
  waitForQuery(
    promql: string,
    accept?: (samples: PrometheusSample[]) => boolean,
    options?: WaitOptions,
  ): Promise<PrometheusSample[]>;
}

export interface PrometheusServer extends PrometheusControl {
  readonly process: ManagedProcess;
  readonly startupMs: number;
  stop(): Promise<void>;
}

export interface StartPrometheusOptions {
  supervisor: ProcessSupervisor;
  /** Parent directory for this instance's directory; default the supervisor's run directory. */
  parentDir?: string;
  /** Instance name (directory and log file); made unique if taken. Default "prometheus". */
  name?: string;
  /** Alertmanager base URL (http://127.0.0.1:port) to send alerts to. */
  alertmanagerUrl?: string;
  binary?: string;
  extraArgs?: string[];
  readyTimeoutMs?: number;
}

export async function startPrometheus(options: StartPrometheusOptions): Promise<PrometheusServer> {
  const started = Date.now();
  const dir = uniqueDir(options.parentDir ?? options.supervisor.runDir, options.name ?? "prometheus");
  const targetsDir = join(dir, "targets");
  const rulesDir = join(dir, "rules");
  mkdirSync(targetsDir, { recursive: true });
  mkdirSync(rulesDir, { recursive: true });
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const configFile = join(dir, "prometheus.yml");
  const config: Record<string, unknown> = {
    global: { scrape_interval: "1s", scrape_timeout: "1s", evaluation_interval: "1s" },
    rule_files: [join(rulesDir, "*.yml")],
    scrape_configs: [
      {
        job_name: "file-sd",
        // Each targets/<job>.json sets its own job label, so one scrape config serves all.
        file_sd_configs: [{ files: [join(targetsDir, "*.json")], refresh_interval: "5s" }],
      },
    ],
  };
  if (options.alertmanagerUrl) {
    const alertmanager = new URL(options.alertmanagerUrl);
    config.alerting = {
      alertmanagers: [
        {
          static_configs: [{ targets: [alertmanager.host] }],
          path_prefix: alertmanager.pathname === "/" ? undefined : alertmanager.pathname,
          timeout: "2s",
        },
      ],
    };
  }
  writeFileSync(configFile, stringify(config));
  const proc = options.supervisor.start({
    name: basename(dir),
    command: options.binary ?? resolvePrometheus(),
    args: [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
      `--web.external-url=${url}`,
      "--web.enable-lifecycle",
      // After a rule reload there is briefly no Alertmanager to send to; with the default
      // (1m) a firing alert would be re-sent only a minute later.
      "--rules.alert.resend-delay=1s",
      "--storage.tsdb.retention.time=2h",
      ...(options.extraArgs ?? []),
    ],
  });
  await waitUntilReady(
    proc,
    async () => (await fetch(`${url}/-/ready`)).ok,
    options.readyTimeoutMs ?? 30_000,
    50,
  );
  const control = prometheusControl({ url, dir, targetsDir, rulesDir });
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

/** Controls a running Prometheus from any process, through its files and HTTP API. */
export function prometheusControl(info: PrometheusInfo): PrometheusControl {
  const { url, targetsDir, rulesDir } = info;
  const api = async <T>(path: string, form?: Record<string, string>): Promise<T> => {
    const response = await fetch(`${url}${path}`, {
      method: form ? "POST" : "GET",
      body: form ? new URLSearchParams(form) : undefined,
      signal: AbortSignal.timeout(10_000),
    });
    const envelope = (await response.json()) as {
      status: string;
      data: T;
      errorType?: string;
      error?: string;
    };
    if (envelope.status !== "success") {
      throw new Error(
        `Prometheus ${path} ${JSON.stringify(form ?? {})}: ${envelope.errorType}: ${envelope.error}`,
      );
    }
    return envelope.data;
  };
  const reload = async (): Promise<void> => {
    const response = await fetch(`${url}/-/reload`, { method: "POST", signal: AbortSignal.timeout(30_000) });
    if (!response.ok)
      throw new Error(`Prometheus reload failed (${response.status}): ${await response.text()}`);
  };
  const control: PrometheusControl = {
    url,
    info,
    setScrapeTargets(job, targets, labels = {}) {
      writeAtomically(
        join(targetsDir, `${safeName(job)}.json`),
        JSON.stringify([{ targets, labels: { ...labels, job } }]),
      );
    },
    removeScrapeTargets(job) {
      rmSync(join(targetsDir, `${safeName(job)}.json`), { force: true });
    },
    async setRules(name, yamlText) {
      const file = join(rulesDir, `${safeName(name)}.yml`);
      writeAtomically(file, yamlText);
      try {
        await reload();
      } catch (error) {
        // Leave no broken file behind to fail every later reload.
        rmSync(file, { force: true });
        await reload();
        throw error;
      }
    },
    async removeRules(name) {
      rmSync(join(rulesDir, `${safeName(name)}.yml`), { force: true });
      await reload();
    },
    reload,
    async query(promql) {
      const data = await api<{ resultType: string; result: PrometheusSample[] }>("/api/v1/query", {
        query: promql,
      });
      if (data.resultType !== "vector")
        throw new Error(`query ${promql} returned a ${data.resultType}, not a vector`);
      return data.result;
    },
    async targets() {
      const data = await api<{
        activeTargets: {
          labels: Record<string, string>;
          health: ScrapeTarget["health"];
          lastError: string;
        }[];
      }>("/api/v1/targets?state=active");
      return data.activeTargets.map((target) => ({
        job: target.labels.job ?? "",
        instance: target.labels.instance ?? "",
        health: target.health,
        lastError: target.lastError,
        labels: target.labels,
      }));
    },
    async waitForTarget(job, instance, options = {}) {
      let last: ScrapeTarget[] = [];
      return poll(
        async () => {
          last = (await control.targets()).filter(
            (target) => target.job === job && (instance === undefined || target.instance === instance),
          );
          return last.find((target) => target.health === "up");
        },
        options,
        () =>
          `Prometheus target job=${job}${instance ? ` instance=${instance}` : ""} up; saw ${JSON.stringify(last)}`,
      );
    },
    async waitForQuery(promql, accept = () => true, options = {}) {
      let last: PrometheusSample[] = [];
      return poll(
        async () => {
          last = await control.query(promql);
          return last.length > 0 && accept(last) ? last : undefined;
        },
        options,
        () => `query ${promql} to return an accepted vector; last result ${JSON.stringify(last)}`,
      );
    },
  };
  return control;
}

async function poll<T>(
  attempt: () => Promise<T | undefined>,
  options: WaitOptions,
  describe: () => string,
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const result = await attempt();
      if (result !== undefined) return result;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const cause = lastError ? ` (last error: ${(lastError as Error).message})` : "";
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${describe()}${cause}`);
    }
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 250));
  }
}

/** Write then rename, so file watchers (file_sd) never read half a file. */
export function writeAtomically(path: string, content: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, content);
  renameSync(tmp, path);
}

/** A new directory named `name`, or `name-2`, `name-3`… when taken. */
export function uniqueDir(parent: string, name: string): string {
  mkdirSync(parent, { recursive: true });
  for (let attempt = 1; ; attempt++) {
    const dir = join(parent, attempt === 1 ? name : `${name}-${attempt}`);
    try {
      mkdirSync(dir);
      return dir;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
  }
}

function safeName(name: string): string {
  if (!/^[A-Za-z0-9_.-]+$/.test(name))
    throw new Error(`"${name}" is not a safe file name (use [A-Za-z0-9_.-])`);
  return name;
}
