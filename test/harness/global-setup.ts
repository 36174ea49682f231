// vitest globalSetup of the `integration` project: one stack for the whole run, shared
// by every test file (files run one at a time). Tests reach it through context.ts.
//
// GLIDEPATH_STACK_INFO=<run dir>/stack.json reuses a stack that is already running
// (started with `node test/harness/start-stack.ts`), which saves its start-up in
// watch mode; it is then left running.
import { readFileSync } from "node:fs";
import type { TestProject } from "vitest/node";
import type {} from "./context.ts";
import { startStack } from "./stack.ts";
import type { StackInfo } from "./stack.ts";

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const reuse = process.env.GLIDEPATH_STACK_INFO;
  if (reuse) {
    const info = JSON.parse(readFileSync(reuse, "utf8")) as StackInfo;
    console.log(`[stack] reusing the running stack described in ${reuse}`);
    project.provide("stack", info);
    return async () => {};
  }
  const stack = await startStack();
  project.provide("stack", stack.info);
  return () => stack.stop();
}
