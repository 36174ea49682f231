import type { Stage } from "../api/index.ts";
import type { DecisionContext } from "./context.ts";

// Where the release stands in its plan, read from status.

export function stageAt(ctx: DecisionContext, index: number): Stage {
  const stage = ctx.plan.stages[index];
  if (!stage) {
    throw new Error(
      `engine: release ${ctx.release.metadata.name} is at stage ${index}, but its plan has ${ctx.plan.stages.length} stages (were the stages edited after the start?)`,
    );
  }
  return stage;
}

export function gaIndex(ctx: DecisionContext): number {
  return ctx.plan.stages.length - 1;
}

/** In the weight-100 stage, where stable is being promoted. */
export function isGAStage(ctx: DecisionContext): boolean {
  const { status } = ctx;
  return status.bakeStartedAt === undefined && status.currentStage?.index === gaIndex(ctx);
}

export function isBaking(ctx: DecisionContext): boolean {
  return ctx.status.bakeStartedAt !== undefined;
}
