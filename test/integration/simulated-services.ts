// The set-up the analysis tests share (analysis.test.ts, analysis-batched.test.ts): one
// traffic simulator per service, each with its own canary scenario, all scraped by the
// shared Prometheus under one job, and the template variables the controller would give a
// release of each service.
import type { TemplateVariables } from "../../src/analysis/index.ts";
import { prometheus } from "../harness/context.ts";
import { startTrafficSimulator, type TrafficSimulator } from "../harness/traffic-simulator.ts";
import { TrafficSimulatorClient } from "../harness/traffic-simulator-client.ts";

/** How one service's canary behaves. */
export interface CanaryScenario {
  canaryWeight: number;
  canaryErrors: number;
  /** Default 80 ms. */
  canaryLatencyMs?: number;
}

export interface SimulatedServicesOptions {
  namespace: string;
  /** The scrape job they all belong to. */
  job: string;
  /** The analysis window (the `interval` variable). */
  window: string;
  stable: { version: string; errorRatio: number };
  canaryVersion: string;
  scenarios: Record<string, CanaryScenario>;
}

export interface SimulatedServices {
  /** Each started service's simulator and its client, by service name. */
  simulators: Map<string, { simulator: TrafficSimulator; client: TrafficSimulatorClient }>;
  /** The variables templateVariablesFor would give a release of `service`, with `overrides`. */
  variablesFor(service: string, overrides?: TemplateVariables): TemplateVariables;
  /** Starts every simulator and waits until Prometheus scrapes them and `otherTargets` under the job. */
  start(otherTargets?: string[]): Promise<void>;
  /** Stops the scraping and every simulator started. */
  stop(): Promise<void>;
}

export function simulatedServices(options: SimulatedServicesOptions): SimulatedServices {
  const { namespace, job, window, stable, canaryVersion, scenarios } = options;
  const simulators: SimulatedServices["simulators"] = new Map();
  return {
    simulators,
    variablesFor: (service, overrides = {}) => ({
      namespace,
      service,
      target: service,
      canary: `${service}-canary`,
      canaryService: `${service}-canary`,
      analysedService: `${service}-canary`,
      version: canaryVersion,
      stableVersion: stable.version,
      interval: window,
      ...overrides,
    }),
    async start(otherTargets = []) {
      for (const [service, scenario] of Object.entries(scenarios)) {
        const simulator = await startTrafficSimulator({
          namespace,
          service,
          requestsPerSecond: 200,
          canaryWeight: scenario.canaryWeight,
          stable,
          canary: {
            version: canaryVersion,
            errorRatio: scenario.canaryErrors,
            latencyMs: scenario.canaryLatencyMs ?? 80,
          },
        });
        simulators.set(service, { simulator, client: new TrafficSimulatorClient(simulator.url) });
      }
      const targets = [...[...simulators.values()].map(({ client }) => client.target), ...otherTargets];
      prometheus().setScrapeTargets(job, targets);
      for (const target of targets) await prometheus().waitForTarget(job, target, { timeoutMs: 30_000 });
    },
    async stop() {
      prometheus().removeScrapeTargets(job);
      await Promise.all([...simulators.values()].map(({ simulator }) => simulator.stop()));
    },
  };
}
