import { parseDuration } from "./duration.ts";
import type { BlueGreen, Stage } from "./release.ts";

// A blue/green release (docs/blue-green.md) as the stages the engine already walks:
//   preview  weight 0:   the new version at stable's size behind the preview Service (the
//                        canary Service), analysed with no user traffic;
//   switch   weight 100: all traffic at once, after an optional approval; the old version
//                        (the stable Deployment) stays as it was for scaleDownDelay, so a
//                        rollback is one write of the route;
//   promote  weight 100: GA as for any release: stable gets the new version (its old pods
//                        go, which is the old version scaling to zero), then the bake puts
//                        the route back on stable and scales the preview to zero.

export const BLUE_GREEN_DEFAULTS = { preview: "1m", scaleDownDelay: "30s" } as const;

export const BLUE_GREEN_STAGES = { preview: "preview", switch: "switch", promote: "promote" } as const;

/** What the plan keeps of a blue/green spec, resolved. */
export interface BlueGreenPlan {
  previewMs: number;
  scaleDownDelayMs: number;
}

export function blueGreenPlan(blueGreen: BlueGreen): BlueGreenPlan {
  return {
    previewMs: parseDuration(blueGreen.preview ?? BLUE_GREEN_DEFAULTS.preview),
    scaleDownDelayMs: parseDuration(blueGreen.scaleDownDelay ?? BLUE_GREEN_DEFAULTS.scaleDownDelay),
  };
}

/**
 * The stages of a blue/green release. `approvalBeforeGA` (the change request's
 * requiresApproval) gates the switch, the moment users first see the new version.
 */
export function blueGreenStages(blueGreen: BlueGreen, approvalBeforeGA: boolean): Stage[] {
  const minimum =
    blueGreen.minMeasurements === undefined ? {} : { minMeasurements: blueGreen.minMeasurements };
  const approval = blueGreen.requiresApproval === true || approvalBeforeGA;
  return [
    {
      name: BLUE_GREEN_STAGES.preview,
      weight: 0,
      hold: blueGreen.preview ?? BLUE_GREEN_DEFAULTS.preview,
      ...minimum,
    },
    {
      name: BLUE_GREEN_STAGES.switch,
      weight: 100,
      hold: blueGreen.scaleDownDelay ?? BLUE_GREEN_DEFAULTS.scaleDownDelay,
      ...minimum,
      ...(approval ? { requiresApproval: true } : {}),
    },
    { name: BLUE_GREEN_STAGES.promote, weight: 100, hold: "0s" },
  ];
}
