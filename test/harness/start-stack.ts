// Starts the test stack and keeps it running until Ctrl-C, for working on integration
// tests without paying start-up on every run:
//   node test/harness/start-stack.ts
//   GLIDEPATH_STACK_INFO=<printed path> npx vitest --project integration
import { startStack } from "./stack.ts";

const stack = await startStack();
console.log(`\nkubectl:   ${stack.info.kubectlPath} --kubeconfig ${stack.info.kubeconfigPath} get nodes`);
console.log(`Prometheus ${stack.info.prometheus.url}   Alertmanager ${stack.info.alertmanager.url}`);
console.log(`stack info ${stack.info.runDir}/stack.json — Ctrl-C stops everything`);
// The child processes keep us alive; processes.ts stops them in order on Ctrl-C.
