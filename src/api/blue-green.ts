import { parseDuration } from "./duration.ts";
import type { BlueGreen, Stage } from "./release.ts";
import { canaryServiceName } from "./workload-names.ts";

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

/** What the record and `glidepath status` say of the shape: one line, or undefined for a weighted canary. */
export function describeBlueGreen(spec: {
  blueGreen?: BlueGreen | undefined;
  target: { service: string };
  changeRequest: { requiresApproval: boolean };
}): string | undefined {
  const blueGreen = spec.blueGreen;
  if (!blueGreen) return undefined;
  const approval = blueGreen.requiresApproval === true || spec.changeRequest.requiresApproval;
  return (
    `blue/green: the new version at full size behind the preview Service ${canaryServiceName(spec.target.service)} ` +
    `with no user traffic for ${blueGreen.preview ?? BLUE_GREEN_DEFAULTS.preview}` +
    `${approval ? ", then a person's approval" : ""}, then 100% at once; the old version kept as it was for ` +
    `${blueGreen.scaleDownDelay ?? BLUE_GREEN_DEFAULTS.scaleDownDelay} after the switch (a rollback is one route write), then promoted`
  );
}

/** What each blue/green step does, for the record's stage headings. */
export const BLUE_GREEN_STEP_NOTES: Record<string, string> = {
  [BLUE_GREEN_STAGES.preview]:
    "The new version at stable's size behind the preview Service, no user traffic; analysed there.",
  [BLUE_GREEN_STAGES.switch]:
    "All traffic on the new version at once; the old version (stable) kept as it was for scaleDownDelay, " +
    "so a rollback is one route write.",
  [BLUE_GREEN_STAGES.promote]:
    "stable gets the new version (the old version's pods go); traffic stays on the preview until stable is Ready.",
};
