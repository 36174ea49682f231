import type { z } from "zod";

export interface ValidationIssue {
  /** A JSON path such as `$.spec.stages[2].weight`. */
  path: string;
  message: string;
}

/** `$.spec.stages[2].weight` from zod's path segments. */
export function jsonPath(segments: readonly PropertyKey[], root = "$"): string {
  let path = root;
  for (const segment of segments) {
    if (typeof segment === "number") path += `[${segment}]`;
    else if (typeof segment === "string" && /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(segment)) path += `.${segment}`;
    else path += `[${JSON.stringify(String(segment))}]`;
  }
  return path;
}

/** Every issue zod found, each with where it is; never just the first. */
export function formatIssues(error: z.ZodError, root = "$"): ValidationIssue[] {
  return error.issues.map((issue) => ({ path: jsonPath(issue.path, root), message: issue.message }));
}

export function describeIssues(issues: readonly ValidationIssue[]): string {
  return issues.map((issue) => `${issue.path}: ${issue.message}`).join("; ");
}
