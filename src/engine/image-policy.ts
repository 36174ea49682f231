import { checkImages, describeImageRefusals } from "../api/index.ts";
import { isTerminal, phaseOf, type DecisionContext } from "./context.ts";
import { releaseTouchedStable } from "./world.ts";

// The controller's own check of rollout-strategy.json's allowedImages: the admission
// webhook refuses such a Release, but it may be off or bypassed, and the policy may be
// tightened while a release is in flight. The controller never writes an image the
// policy does not allow: it does not start the release, and holds one in flight.

/** The Valid/Progressing condition reason, and the Event's. */
export const IMAGE_NOT_ALLOWED = "ImageNotAllowed";

export const IMAGE_HOLD =
  "held: the image policy (allowedImages) does not allow spec.images; it goes on once the policy or spec.images allows them, or abort to roll back; analysis continues and a failure still rolls back";

/**
 * Why the image policy stops this release, if it does: before the start and in flight
 * until stable's promotion is asked for. From then on stable already runs the new images
 * (or is being rolled to them): a policy edit neither holds nor rolls back a release that
 * far, and a rollback only ever writes the previous images.
 */
export function imagesNotAllowed(ctx: DecisionContext): string | undefined {
  const phase = phaseOf(ctx.status);
  if (isTerminal(phase) || phase === "RollingBack" || releaseTouchedStable(ctx)) return undefined;
  const refusals = checkImages(ctx.release.spec.images, ctx.plan.allowedImages);
  return refusals.length > 0 ? describeImageRefusals(refusals) : undefined;
}
