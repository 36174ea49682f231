// Phase 1, setup: N services as a team runs them before Glidepath (a Deployment of one
// replica, a Service, an HTTPRoute), every stable Pod Ready; and meanwhile one real
// release run to the end, whose finished status the completed Releases copy.
import type { ReleaseStatus } from "../../src/api/index.ts";
import {
  countReadyDeployments,
  createReleases,
  createTargets,
  listReleases,
  releaseBody,
  type Target,
} from "../lib/fixtures.ts";
import { say } from "../lib/run.ts";
import { sleep } from "../lib/wait.ts";
import { startController, stopController, type Context } from "./context.ts";
import { GOLDEN_ANALYSIS, GOLDEN_STAGES, isFinished } from "./releases.ts";

export interface SetupResult {
  targets: number;
  targetsMs: number;
  extraNodes: number;
}

export async function createAllTargets(context: Context, targets: readonly Target[]): Promise<SetupResult> {
  const started = Date.now();
  let lastSaid = 0;
  await createTargets(context.apis, targets, 16, (done) => {
    if (Date.now() - lastSaid > 10_000 || done === targets.length) {
      lastSaid = Date.now();
      say(`  services created: ${done}/${targets.length}`);
    }
  });
  const namespaces = targets.map((target) => target.namespace);
  for (;;) {
    const { ready, total } = await countReadyDeployments(context.apis, namespaces);
    if (ready >= targets.length) break;
    say(`  stable Deployments Ready: ${ready}/${total}`);
    await sleep(5_000);
  }
  return { targets: targets.length, targetsMs: Date.now() - started, extraNodes: 0 };
}

/** One real release, short stages, run to the end: its status is what the completed ones carry. */
export async function runGoldenRelease(
  context: Context,
): Promise<{ status: ReleaseStatus; ms: number } | undefined> {
  const started = Date.now();
  const target: Target = { namespace: "scale-golden", name: "golden" };
  await createTargets(context.apis, [target], 1);
  for (;;) {
    const { ready } = await countReadyDeployments(context.apis, [target.namespace]);
    if (ready === 1) break;
    await sleep(500);
  }
  const watched = await startController(context, "scale-golden");
  try {
    const body = releaseBody(target, {
      version: "1.1.0",
      set: "golden",
      stages: GOLDEN_STAGES,
      analysis: GOLDEN_ANALYSIS,
      bake: "6s",
      progressDeadline: "3m",
    });
    await createReleases(context.apis, [body], 1);
    const deadline = Date.now() + 240_000;
    while (Date.now() < deadline) {
      const [release] = await listReleases(context.apis, [target.namespace], "golden");
      if (release?.status && isFinished(release)) {
        const phase = release.status.phase;
        if (phase !== "Succeeded") say(`the golden release ended ${phase}: ${release.status.message ?? ""}`);
        return { status: release.status, ms: Date.now() - started };
      }
      await sleep(1_000);
    }
    say("the golden release did not finish within 4 minutes");
    return undefined;
  } finally {
    await stopController(watched);
  }
}
