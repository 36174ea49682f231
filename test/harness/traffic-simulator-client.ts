// Drives a traffic simulator (traffic-simulator.ts) over HTTP, in this process or another,
// and starts one as its own process under a ProcessSupervisor (for the demo).
import { fileURLToPath } from "node:url";
import { freePort, waitUntilReady } from "./processes.ts";
import type { ManagedProcess, ProcessSupervisor } from "./processes.ts";
import type { ConfigPatch, SimulatorState, TrafficSimulatorOptions } from "./traffic-simulator.ts";

export class TrafficSimulatorClient {
  readonly url: string;

  constructor(url: string) {
    this.url = url.replace(/\/+$/, "");
  }

  /** host:port, as a Prometheus scrape target. */
  get target(): string {
    return new URL(this.url).host;
  }

  async state(): Promise<SimulatorState> {
    return this.#request<SimulatorState>("GET", "/config");
  }

  /** Changes rate, weights, error ratios or latencies; answers with the new state. */
  async configure(patch: ConfigPatch): Promise<SimulatorState> {
    return this.#request<SimulatorState>("POST", "/config", patch);
  }

  async metrics(): Promise<string> {
    const response = await fetch(`${this.url}/metrics`, { signal: AbortSignal.timeout(5_000) });
    if (!response.ok) throw new Error(`GET ${this.url}/metrics: HTTP ${response.status}`);
    return response.text();
  }

  async #request<T>(method: "GET" | "POST", path: string, body?: unknown): Promise<T> {
    const response = await fetch(`${this.url}${path}`, {
      method,
      headers: body === undefined ? {} : { "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(5_000),
    });
    const text = await response.text();
    if (!response.ok)
      throw new Error(`${method} ${this.url}${path}: HTTP ${response.status}: ${text.trim()}`);
    return JSON.parse(text) as T;
  }
}

export interface SpawnedSimulator {
  client: TrafficSimulatorClient;
  process: ManagedProcess;
}

/** Runs the simulator as its own process (node_modules/.bin/node), ready when this resolves. */
export async function spawnTrafficSimulator(
  supervisor: ProcessSupervisor,
  options: TrafficSimulatorOptions & { name?: string },
): Promise<SpawnedSimulator> {
  const port = options.port || (await freePort());
  const host = options.host ?? "127.0.0.1";
  const args = [
    fileURLToPath(new URL("./traffic-simulator.ts", import.meta.url)),
    `--port=${port}`,
    `--host=${host}`,
    `--namespace=${options.namespace}`,
    `--service=${options.service}`,
    `--stable-version=${options.stable.version}`,
    `--canary-version=${options.canary.version}`,
  ];
  const optional: [string, number | string | undefined][] = [
    ["rps", options.requestsPerSecond],
    ["canary-weight", options.canaryWeight],
    ["stable-error-ratio", options.stable.errorRatio],
    ["canary-error-ratio", options.canary.errorRatio],
    ["stable-latency-ms", options.stable.latencyMs],
    ["canary-latency-ms", options.canary.latencyMs],
    ["route", options.route?.name],
    ["route-namespace", options.route?.namespace],
    ["kubeconfig", options.route?.kubeconfigPath],
    ["poll-ms", options.route?.pollMs],
    ["deployment", options.route?.deployment],
  ];
  for (const [flag, value] of optional) if (value !== undefined) args.push(`--${flag}=${value}`);
  const proc = supervisor.start({
    name: options.name ?? `traffic-simulator-${options.service}`,
    command: fileURLToPath(new URL("../../node_modules/.bin/node", import.meta.url)),
    args,
  });
  const client = new TrafficSimulatorClient(`http://${host.includes(":") ? `[${host}]` : host}:${port}`);
  await waitUntilReady(proc, async () => (await fetch(`${client.url}/healthz`)).ok, 15_000);
  return { client, process: proc };
}
