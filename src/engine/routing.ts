import { sameRouting, stageRoutingOf, type StageRouting } from "../api/index.ts";
import { isBaking } from "./position.ts";
import type { DecisionContext } from "./context.ts";

// Routing stages (docs/routing-stages.md): which match or mirror the route should carry
// beside the weight. Only the running stage's own; none before the first stage, while
// baking, rolling back or being deleted, so the route is restored as soon as a routing
// stage ends, whichever way it ends.

/** The match or mirror of the running stage (none while baking or before the first stage). */
export function stageRouting(ctx: DecisionContext): StageRouting | undefined {
  const current = ctx.status.currentStage;
  if (!current || isBaking(ctx)) return undefined;
  const stage = ctx.plan.stages[current.index];
  return stage ? stageRoutingOf(stage) : undefined;
}

/** The router holds exactly this match or mirror (undefined: none at all). */
export function routingHolds(ctx: DecisionContext, routing: StageRouting | undefined): boolean {
  return sameRouting(ctx.observations.traffic.routing, routing);
}
