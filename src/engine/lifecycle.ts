import { foldMeasurements } from "./analysis.ts";
import { isTerminal, phaseOf, type DecisionContext } from "./context.ts";
import { IMAGE_HOLD, imagesNotAllowed } from "./image-policy.ts";
import { pendingPromote, phaseAfterPause, recordApprovals, stepBeforeStart } from "./gates.ts";
import { transition } from "./record.ts";
import { recordSignOff } from "./sign-off.ts";
import { abortRequest, findRollbackTrigger, startRollback, stepRollingBack } from "./rollback.ts";
import { driftPauseMessage, unacceptedDrift, watchStable } from "./stable-watch.ts";
import { judgeCurrent, recordProgressFacts, stepForward } from "./stages.ts";

// One pass of the state machine, in order of precedence: terminal phases stay,
// a rollback under way continues, people and alarms come before progress.

const HUMAN_PAUSE =
  "paused by a person (spec.control.paused); analysis continues and a failure still rolls back";

export function step(ctx: DecisionContext): void {
  const phase = phaseOf(ctx.status);
  if (isTerminal(phase)) return;
  recordApprovals(ctx);
  recordSignOff(ctx);
  if (phase === "RollingBack") {
    stepRollingBack(ctx);
    return;
  }
  const control = ctx.release.spec.control;

  if (ctx.status.startedAt === undefined) {
    if (control?.abort) startRollback(ctx, abortRequest(control.abort));
    else if (control?.paused) transition(ctx, "Paused", HUMAN_PAUSE);
    else {
      if (phase === "Paused") transition(ctx, phaseAfterPause(ctx), "resumed");
      stepBeforeStart(ctx);
    }
    return;
  }

  foldMeasurements(ctx);
  recordProgressFacts(ctx);
  const verdict = judgeCurrent(ctx);
  const rollback = findRollbackTrigger(ctx, verdict);
  if (rollback) {
    startRollback(ctx, rollback);
    return;
  }
  watchStable(ctx);
  if (control?.paused) {
    transition(ctx, "Paused", HUMAN_PAUSE);
    return;
  }
  // Someone else changed what stable runs: nothing moves until a person has looked.
  const drift = unacceptedDrift(ctx);
  if (drift) {
    transition(ctx, "Paused", driftPauseMessage(ctx, drift), "paused");
    return;
  }
  // The policy was tightened in flight: no further stage, no promotion, not even a person's.
  if (imagesNotAllowed(ctx)) {
    transition(ctx, "Paused", IMAGE_HOLD, "paused");
    return;
  }
  const promote = pendingPromote(ctx);
  // At an approval gate the stage has already passed: a person is looking anyway.
  if (verdict?.paused && !promote && phase !== "AwaitingApproval") {
    transition(
      ctx,
      "Paused",
      `paused: ${verdict.paused}; promote to accept the stage as it is, or abort to roll back`,
      "paused",
    );
    return;
  }
  if (phase === "Paused")
    transition(ctx, phaseAfterPause(ctx), promote ? `resumed: promoted by ${promote.by}` : "resumed");
  stepForward(ctx, promote, verdict);
}
