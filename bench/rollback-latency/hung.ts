// The hung trigger: as alert, but the Release analyses every 2 s and the controller's
// Prometheus is stopped (SIGSTOP) once a round is recorded, 3 s before the POST, so a
// round is in flight and hangs; continued (SIGCONT) once the route is on stable, and
// always before the run ends. A rollback trigger must not wait on analysis.
import { sleep, waitUntil } from "../lib/wait.ts";
import { startAlertRelease, timeAlertRollback, type AlertRun } from "./alert.ts";
import { readRelease } from "./release.ts";
import { HUNG_ANALYSIS_INTERVAL_MS, HUNG_BEFORE_ALERT_MS } from "./settings.ts";
import type { RollbackStack } from "./stack.ts";

export async function hungRun(bench: RollbackStack, run: number): Promise<AlertRun> {
  const name = await startAlertRelease(bench, "hung", run, `${HUNG_ANALYSIS_INTERVAL_MS / 1000}s`);
  await waitUntil(`${name}: an analysis round recorded`, async () => {
    const stage = (await readRelease(bench, name)).status?.stages?.find((record) => record.name === "canary");
    return (stage?.measurements?.length ?? 0) >= 1 ? true : undefined;
  });
  const prometheusPid = bench.stack.prometheus.process.pid;
  let prometheusStopped = true;
  const continuePrometheus = () => {
    if (prometheusStopped) process.kill(prometheusPid, "SIGCONT");
    prometheusStopped = false;
  };
  process.kill(prometheusPid, "SIGSTOP");
  try {
    await sleep(HUNG_BEFORE_ALERT_MS);
    return await timeAlertRollback(bench, name, run, continuePrometheus);
  } finally {
    continuePrometheus();
  }
}
