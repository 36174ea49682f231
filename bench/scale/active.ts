// Phase 3, active: Releases held at their canary stage (hold 4h, analysis every 30 s),
// added up to each count of BENCH_ACTIVE in turn on one controller; once every one is at
// its canary and a pause has passed, one measurement window (window.ts).
import { createReleases, listReleases, releaseBody, type Target } from "../lib/fixtures.ts";
import { formatQuantile, mib } from "../lib/format.ts";
import { say } from "../lib/run.ts";
import { sleep } from "../lib/wait.ts";
import type { Context, Watched } from "./context.ts";
import {
  ACTIVE_ANALYSIS,
  ACTIVE_STAGES,
  ANALYSIS_INTERVAL_SECONDS,
  isFinished,
  isInCanary,
  phases,
} from "./releases.ts";
import { settings } from "./settings.ts";
import { analysisLags } from "./lag.ts";
import { measureWindow, type WindowResult } from "./window.ts";

export interface ActiveResult extends WindowResult {
  releases: number;
  /** Releases created → every one at its canary stage (or the wait gave up). */
  rampMs: number;
  inCanaryAtStart: number;
}

/** Adds Releases for targets[from, to) to those already active, then measures `to` active. */
export async function activePhase(
  context: Context,
  watched: Watched | readonly Watched[],
  targets: readonly Target[],
  from: number,
  to: number,
): Promise<ActiveResult> {
  const namespaces = [...new Set(targets.slice(0, to).map((target) => target.namespace))];
  const bodies = targets.slice(from, to).map((target) =>
    releaseBody(target, {
      version: "2.0.0",
      set: "active",
      stages: ACTIVE_STAGES,
      analysis: ACTIVE_ANALYSIS,
      progressDeadline: "30m",
    }),
  );
  say(`active ${to}: creating ${bodies.length} Releases`);
  const started = Date.now();
  await createReleases(context.apis, bodies, 16);
  // Up to a minute per 100 new Releases, at least 3 minutes.
  const deadline = started + Math.max(180_000, bodies.length * 600);
  let inCanary: number;
  for (;;) {
    const releases = await listReleases(context.apis, namespaces, "active");
    inCanary = releases.filter(isInCanary).length;
    if (inCanary >= to) break;
    say(`  ${JSON.stringify(phases(releases))}`);
    if (Date.now() > deadline) {
      say(`  giving up waiting: ${inCanary}/${to} at their canary stage`);
      break;
    }
    await sleep(5_000);
  }
  const rampMs = Date.now() - started;
  say(
    `active ${to}: ${inCanary} at their canary stage after ${(rampMs / 1000).toFixed(0)} s; settling ${settings.settleSeconds} s`,
  );
  await sleep(settings.settleSeconds * 1000);
  say(`active ${to}: measuring for ${settings.windowSeconds} s`);
  const window = await measureWindow(context, watched, {
    seconds: settings.windowSeconds,
    analysisIntervalSeconds: ANALYSIS_INTERVAL_SECONDS,
    countActive: async () => {
      const releases = await listReleases(context.apis, namespaces, "active");
      return releases.filter((release) => !isFinished(release)).length;
    },
    analysisLags: async (from, to) =>
      analysisLags(
        await listReleases(context.apis, namespaces, "active"),
        ANALYSIS_INTERVAL_SECONDS,
        from,
        to,
      ),
  });
  say(
    `  ${window.reconcile.perSecond} reconciles/s, p50 ${formatQuantile(window.reconcile.p50)}, p99 ${formatQuantile(window.reconcile.p99)}, ` +
      `RSS ${(window.replicas ?? []).map((replica) => mib(replica.usage?.rssEndBytes)).join(" + ")} MiB, CPU ${window.controller?.cpuCores.toFixed(2)}, ` +
      `analysis lag p99 ${window.analysisLag?.p99 ?? "–"} s of ${ANALYSIS_INTERVAL_SECONDS} s, ` +
      `API ${window.apiRequests.perSecond}/s, Prometheus ${window.prometheus.queriesPerSecond}/s`,
  );
  return { releases: to, rampMs, inCanaryAtStart: inCanary, ...window };
}
