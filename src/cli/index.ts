// The glidepath CLI (and kubectl plugin): main.ts is the entry point that bin/glidepath
// runs; runCli takes arguments to an exit code. The rest is pure and tested as such:
// the command line, the spec.control patches, the rollback plan, the views.
export { runCli } from "./run.ts";
export { parseCommandLine, type CliCommand, type CliEnvironment, type Invocation } from "./command-line.ts";
export { CliError, EXIT, type ExitCode } from "./exit-codes.ts";
export { planControl, type ControlDecision, type ControlRequest } from "./control.ts";
export { buildRollbackRelease, planRollback, type RollbackPlan } from "./rollback-plan.ts";
export { renderStatus, stageBar, stageSteps, statusView, type StatusView } from "./status-view.ts";
export { releaseHistory, renderHistory, renderReleaseList } from "./views.ts";
export { judgeVerification } from "./verify.ts";
export { ACTIONS_ANNOTATION, ROLLBACK_OF_LABEL } from "./audit.ts";
