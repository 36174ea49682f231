import { z } from "zod";
import type { Release } from "../api/index.ts";

// Who did what with the CLI, and when, kept on the Release itself. spec.control says
// who aborted, promoted and approved, but not who paused or resumed; this annotation
// holds every CLI action in order, so the record can name each person.

export const ACTIONS_ANNOTATION = "glidepath.dev/cli-actions";
/** On a Release the CLI created to roll a target back: the Release it undoes. */
export const ROLLBACK_OF_LABEL = "glidepath.dev/rollback-of";
/** The newest actions kept; annotations count towards the object's size. */
export const MAX_ACTIONS = 30;

export const cliActionNames = ["approve", "pause", "resume", "promote", "abort", "rollback"] as const;
export type CliActionName = (typeof cliActionNames)[number];

const cliActionSchema = z.object({
  action: z.enum(cliActionNames),
  by: z.string().min(1).max(256),
  at: z.string().min(1).max(64),
  detail: z.string().max(1024).optional(),
});
export type CliAction = z.infer<typeof cliActionSchema>;

/** The actions recorded on a Release; an annotation someone mangled reads as none. */
export function recordedActions(release: Pick<Release, "metadata">): CliAction[] {
  const text = release.metadata.annotations?.[ACTIONS_ANNOTATION];
  if (!text) return [];
  try {
    const parsed = z.array(cliActionSchema).safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : [];
  } catch {
    return [];
  }
}

/** The annotation's value with `action` appended, the oldest dropped past MAX_ACTIONS. */
export function withAction(release: Pick<Release, "metadata">, action: CliAction): string {
  const detail = action.detail === undefined ? {} : { detail: action.detail.slice(0, 1024) };
  return JSON.stringify([...recordedActions(release), { ...action, ...detail }].slice(-MAX_ACTIONS));
}
