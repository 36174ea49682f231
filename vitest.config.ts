import { defineConfig } from "vitest/config";

// Three projects: `unit` is pure logic (no processes, no network, seconds);
// `integration` runs against the real control plane, Prometheus and
// Alertmanager that test/harness/global-setup.ts starts once per run; `crd` runs the
// generated CRDs on Kubernetes 1.36's apiextensions-apiserver (CEL), which its one file
// starts itself (test/harness/crd-server.ts).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["test/unit/**/*.test.ts"],
          environment: "node",
          // Property tests run hundreds of histories; CI shares 2 cores with real processes.
          testTimeout: 60_000,
        },
      },
      {
        test: {
          name: "integration",
          include: ["test/integration/**/*.test.ts"],
          environment: "node",
          globalSetup: ["test/harness/global-setup.ts"],
          // One shared control plane on a 2-core machine: files run one at a time.
          fileParallelism: false,
          testTimeout: 180_000,
          hookTimeout: 180_000,
        },
      },
      {
        test: {
          name: "crd",
          include: ["test/crd/**/*.test.ts"],
          environment: "node",
          testTimeout: 120_000,
          hookTimeout: 300_000,
        },
      },
    ],
  },
});
