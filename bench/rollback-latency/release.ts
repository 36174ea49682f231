// The Release of one run: the service's next version at a 1% canary held for 10 minutes
// (so only a trigger ends it), with the analysis the run asks for; and reading it back.
import type { ReleaseSpecInput } from "../../src/api/index.ts";
import { waitUntil } from "../lib/wait.ts";
import { weightsOf } from "./route-watch.ts";
import type { RollbackStack } from "./stack.ts";

/** The parts of a Release's status a run looks at. */
export interface ReleaseStatusView {
  phase?: string;
  startedAt?: string;
  currentStage?: { name: string };
  stages?: {
    name: string;
    exitedAt?: string;
    tallies?: { metric: string; pass: number; fail: number; inconclusive: number; error: number }[];
    measurements?: { metric: string; verdict: string; value?: string; at: string }[];
  }[];
  rollback?: { at: string; trigger: string; value?: string };
}

const RELEASES = { group: "glidepath.dev", version: "v1alpha1", plural: "releases" } as const;

export interface CanaryRelease {
  name: string;
  version: string;
  /** The run's number, for the change request's title. */
  run: number;
  analysis: ReleaseSpecInput["analysis"];
}

/** The Release object for `service`: canary 1% held 10 min, then GA. */
export function canaryReleaseBody(service: string, release: CanaryRelease) {
  return {
    apiVersion: "glidepath.dev/v1alpha1",
    kind: "Release",
    metadata: { name: release.name },
    spec: {
      target: { deployment: service, service },
      version: release.version,
      images: { [service]: `registry.example.com/${service}:${release.version}` },
      stages: [
        { name: "canary", weight: 1, hold: "10m" },
        { name: "ga", weight: 100, hold: "0s" },
      ],
      traffic: { gatewayAPI: { httpRoute: service } },
      analysis: release.analysis,
      progressDeadline: "60s",
      bake: "10s",
      changeRequest: {
        id: `BENCH-${release.name}`,
        type: "standard",
        title: `Benchmark run ${release.run}`,
        why: "rollback-latency benchmark",
        risk: "low",
        requestedBy: "bench",
        rollbackPlan: "Revert to 1.0.0",
      },
    },
  };
}

export async function readRelease(
  bench: RollbackStack,
  name: string,
): Promise<{ status?: ReleaseStatusView }> {
  return (await bench.custom.getNamespacedCustomObject({
    ...RELEASES,
    namespace: bench.namespace,
    name,
  })) as { status?: ReleaseStatusView };
}

/**
 * Creates the Release and resolves when the route has the 1% canary (returns the watch's
 * time of it) and the Release is at its canary stage.
 */
export async function startRelease(bench: RollbackStack, release: CanaryRelease): Promise<number> {
  const before = performance.now();
  await bench.custom.createNamespacedCustomObject({
    ...RELEASES,
    namespace: bench.namespace,
    body: canaryReleaseBody(bench.service, release),
  });
  const canaryAt = await bench.route.changed(
    (object) => weightsOf(object)[`${bench.service}-canary`] === 1,
    before,
    60_000,
  );
  await waitUntil(`${release.name} at its canary stage`, async () => {
    const status = (await readRelease(bench, release.name)).status;
    return status?.phase === "Progressing" && status.currentStage?.name === "canary" ? true : undefined;
  });
  return canaryAt;
}

/** Its status once it has ended RolledBack (or Failed). */
export function waitRolledBack(bench: RollbackStack, name: string): Promise<ReleaseStatusView> {
  return waitUntil(`${name} RolledBack`, async () => {
    const status = (await readRelease(bench, name)).status;
    return status?.phase === "RolledBack" || status?.phase === "Failed" ? status : undefined;
  });
}
