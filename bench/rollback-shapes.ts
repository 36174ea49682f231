// Rollback latency per release shape (issue 17), measured as bench/rollback-latency.ts
// measures its alert trigger: the same stack (prepareRollbackStack: sample service,
// traffic simulator, controller with its hook token, a watch on the HTTPRoute), the same
// firing alert POSTed to /hooks/alertmanager, timed from just before the POST until a
// watch sees the traffic back on stable. Per shape (bench/rollback-shapes/runs.ts):
// blue/green after its switch, a header match stage, a mirror stage, a canary compared
// with a baseline, an autoscaled target (also: until the canary's HPA copy is gone), and a
// StatefulSet with the replica split, whose end point is different: it has no route, so
// it is every pod on the old revision and Ready (a watch on the StatefulSet's status).
//
// `npm run bench:shapes`; BENCH_RUNS per shape (default 10), BENCH_SHAPES (comma list,
// default all). A table on stdout and one JSON file in bench/results/. It reports; it
// never fails on the numbers.
import { startStack } from "../test/harness/stack.ts";
import { describeMachine, loadAverage, writeResults } from "./lib/results.ts";
import { reasonOf, runBenchmark } from "./lib/run.ts";
import { measured, summarise } from "./lib/statistics.ts";
import { prepareRollbackStack } from "./rollback-latency/stack.ts";
import { prepareShape, shapeRun, type ShapeRun } from "./rollback-shapes/runs.ts";
import { parseRuns, parseShapes, shapeTable, type Shape, type ShapeRow } from "./rollback-shapes/shapes.ts";

const RUNS = parseRuns(process.env.BENCH_RUNS, 10);
const SHAPES_MEASURED = parseShapes(process.env.BENCH_SHAPES);

const END_POINT: Record<Shape, string> = {
  "blue-green": "alert → route all on stable (after the switch)",
  match: "alert → match rule gone from the route",
  mirror: "alert → RequestMirror filter gone",
  baseline: "alert → canary and baseline at weight 0",
  autoscaled: "alert → route on stable",
  statefulset: "alert → every pod old and Ready (no route)",
};

const DESCRIPTION: Record<Shape, string> = {
  "blue-green":
    "A blue/green Release (preview 1 s, scaleDownDelay 10 m) after its switch: the route watch sees the new version at 100; the run ends when it sees 100% on stable.",
  match:
    "A header match stage (weight 0, x-internal-user: true, hold 10 m): armed when the route has a rule with matches to the canary; ends when no rule sends the canary a request.",
  mirror:
    "A mirror stage (weight 0, percent 100, hold 10 m): armed when the route has a RequestMirror filter to the canary; ends when it is gone and no rule sends the canary a request.",
  baseline:
    "A 10% canary with error-rate compared with the baseline: armed when the canary and the baseline both have a share; ends when both are at weight 0 (or gone) on every rule.",
  autoscaled:
    "A 1% canary of a Deployment with an HPA (v2beta2, min 2, max 6): armed when the route has the canary at 1 and the canary's HPA copy exists; ends when the route is all on stable; hpaCopyGoneMs is POST → a watch on the HPAs sees the copy deleted.",
  statefulset:
    "A StatefulSet of 4 with the replica split at 25% (one pod on the new revision, Ready). The replica split has no route, so this end point is different: POST → a watch on the StatefulSet sees its status with every replica updated to the old revision and Ready (observedGeneration current).",
};

interface ShapeResult {
  runs: ShapeRun[];
  failures: string[];
}

async function main(): Promise<void> {
  const started = new Date();
  const loadBefore = loadAverage();
  console.log(
    `rollback latency per release shape: ${SHAPES_MEASURED.join(", ")}; ${RUNS} runs each on the real stack; starting it…`,
  );
  const stack = await startStack({ log: () => undefined });
  const results = new Map<Shape, ShapeResult>();
  try {
    const bench = await prepareRollbackStack(stack, {
      controllerConfig: { prometheus: { url: stack.info.prometheus.url, timeout: "5s" } },
    });
    for (const shape of SHAPES_MEASURED) {
      const result: ShapeResult = { runs: [], failures: [] };
      results.set(shape, result);
      console.log(`${shape}:`);
      let context;
      try {
        context = await prepareShape(bench, shape);
      } catch (error) {
        result.failures.push(`set-up: ${reasonOf(error)}`);
        console.log(`  set-up FAILED ${reasonOf(error)}`);
        continue;
      }
      for (let run = 1; run <= RUNS; run++) {
        try {
          const measuredRun = await shapeRun(context, run);
          result.runs.push(measuredRun);
          const copy =
            measuredRun.hpaCopyGoneMs === undefined
              ? ""
              : `, HPA copy gone ${Math.round(measuredRun.hpaCopyGoneMs)} ms`;
          console.log(
            `  run ${run}: ${Math.round(measuredRun.toStableMs)} ms${copy} (hook answered in ${Math.round(measuredRun.hookAnswerMs)} ms)`,
          );
        } catch (error) {
          result.failures.push(`run ${run}: ${reasonOf(error)}`);
          console.log(`  run ${run}: FAILED ${reasonOf(error)}`);
        }
      }
      await context.teardown().catch((error: unknown) => console.log(`  teardown: ${reasonOf(error)}`));
    }
    await bench.stop();
  } finally {
    await stack.stop();
  }

  const rows: ShapeRow[] = [];
  const shapes: Record<string, unknown> = {};
  for (const [shape, { runs, failures }] of results) {
    const toStable = summarise(runs.map((run) => run.toStableMs));
    rows.push({ label: `${shape}: ${END_POINT[shape]}`, summary: toStable, failures: failures.length });
    const hpaCopyGone =
      shape === "autoscaled" ? summarise(measured(runs.map((run) => run.hpaCopyGoneMs))) : undefined;
    if (hpaCopyGone)
      rows.push({
        label: `${shape}: alert → canary's HPA copy gone`,
        summary: hpaCopyGone,
        failures: failures.length,
      });
    shapes[shape] = {
      description: DESCRIPTION[shape],
      endPoint: END_POINT[shape],
      summary: toStable,
      ...(hpaCopyGone ? { hpaCopyGoneSummary: hpaCopyGone } : {}),
      hookAnswerSummary: summarise(runs.map((run) => run.hookAnswerMs)),
      runs,
      failures,
    };
  }
  console.log("");
  for (const line of shapeTable(rows)) console.log(line);
  const file = writeResults("rollback-shapes", started, {
    benchmark: "rollback-shapes",
    description:
      "Per release shape, an alert-triggered rollback timed as rollback-latency's alert trigger: the same stack and controller, the Alertmanager webhook POSTed to /hooks/alertmanager, from just before the POST until a watch sees the traffic back on stable (StatefulSet: every pod on the old revision and Ready, a different end point since the replica split has no route).",
    startedAt: started.toISOString(),
    finishedAt: new Date().toISOString(),
    runsRequested: RUNS,
    shapes,
    machine: describeMachine(stack.info.kubernetesVersion.gitVersion, loadBefore),
  });
  console.log(`results: ${file}`);
}

await runBenchmark(main, { exitCodeOnFailure: 0 });
