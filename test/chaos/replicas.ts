// The controller replicas of the chaos suite, kept running as a Deployment's pods would
// be: each one a separate OS process (so it can be SIGKILLed or SIGSTOPped) under its own
// ServiceAccount, so the API server's audit log names the replica behind every write. A
// replica that exits (killed, or exiting on a lost Lease) is replaced by a new one with a
// new identity a second later, as the kubelet would restart the pod.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CoordinationV1Api, RbacAuthorizationV1Api, type KubeConfig } from "@kubernetes/client-node";
import { stringify } from "yaml";
import { createServiceAccountKubeconfig } from "../harness/control-plane.ts";
import { CONTROLLER_NAMESPACE, controllerArgs, installControllerRbac } from "../harness/controller.ts";
import { freePort, type ManagedProcess } from "../harness/processes.ts";
import type { Stack } from "../harness/stack.ts";

const repoRoot = fileURLToPath(new URL("../../", import.meta.url));
const LEASE = "glidepath-controller";
/** Every ServiceAccount in the controller's namespace gets the controller's rights. */
export const REPLICAS_GROUP = `system:serviceaccounts:${CONTROLLER_NAMESPACE}`;

export interface Replica {
  identity: string;
  /** The audit log's username for it. */
  user: string;
  url: string;
  process: ManagedProcess;
}

export interface ReplicaOptions {
  /** Replicas kept running. */
  count: number;
  prometheusUrl: string;
  hookTokenFile: string;
  /** ServiceAccounts made up front (the API server may be down when one is needed). */
  pool: number;
  /** Merged over each replica's configuration (e.g. sharding). */
  config?: Record<string, unknown>;
  /** Replace a replica that exits (default true, as the kubelet would). */
  restart?: boolean;
}

export class Replicas {
  readonly #stack: Stack;
  readonly #options: ReplicaOptions;
  readonly #kubeconfigs: { identity: string; path: string }[] = [];
  readonly #running = new Set<Replica>();
  readonly #coordination: CoordinationV1Api;
  #stopping = false;
  #restarts = 0;

  private constructor(stack: Stack, options: ReplicaOptions, kubeConfig: KubeConfig) {
    this.#stack = stack;
    this.#options = options;
    this.#coordination = kubeConfig.makeApiClient(CoordinationV1Api);
  }

  /** Grants the rights, makes the pool's ServiceAccounts and starts `count` replicas. */
  static async start(stack: Stack, options: ReplicaOptions): Promise<Replicas> {
    const kubeConfig = stack.kubeConfig();
    await installControllerRbac({
      kubectlPath: stack.info.kubectlPath,
      adminKubeconfigPath: stack.info.kubeconfigPath,
    });
    await grantToGroup(kubeConfig);
    const replicas = new Replicas(stack, options, kubeConfig);
    const made = await Promise.all(
      Array.from({ length: options.pool }, async (_, index) => {
        const identity = `chaos-r${index + 1}`;
        const { path } = await createServiceAccountKubeconfig(stack.info.kubeconfigPath, {
          namespace: CONTROLLER_NAMESPACE,
          name: identity,
        });
        return { identity, path };
      }),
    );
    replicas.#kubeconfigs.push(...made);
    for (let index = 0; index < options.count; index++) await replicas.#spawn();
    return replicas;
  }

  /** Replicas started to replace ones that exited. */
  get restarts(): number {
    return this.#restarts;
  }

  running(): Replica[] {
    return [...this.#running];
  }

  /** The replica holding the Lease, if it is alive; undefined when none (or the API server does not answer). */
  async leader(): Promise<Replica | undefined> {
    const lease = await this.#coordination
      .readNamespacedLease({ name: LEASE, namespace: CONTROLLER_NAMESPACE })
      .catch(() => undefined);
    const holder = lease?.spec?.holderIdentity;
    return this.running().find((replica) => replica.identity === holder && replica.process.isRunning());
  }

  /** Starts one more replica (a new identity from the pool); returns it. */
  async add(): Promise<Replica> {
    const before = new Set(this.#running);
    await this.#spawn();
    return [...this.#running].find((replica) => !before.has(replica)) as Replica;
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    await Promise.all(this.running().map((replica) => replica.process.stop(10_000)));
  }

  async #spawn(): Promise<void> {
    const next = this.#kubeconfigs.shift();
    if (!next) throw new Error(`the pool of ${this.#options.pool} replica ServiceAccounts is used up`);
    const port = await freePort();
    const config = {
      strategyFile: join(repoRoot, "rollout", "rollout-strategy.json"),
      prometheus: { url: this.#options.prometheusUrl, timeout: "10s" },
      port,
      leaderElection: {
        leaseNamespace: CONTROLLER_NAMESPACE,
        leaseDuration: "6s",
        renewDeadline: "4s",
        retryPeriod: "1s",
      },
      hooks: { alertmanager: { token: { file: this.#options.hookTokenFile } } },
      ...this.#options.config,
    };
    const configPath = join(this.#stack.info.runDir, `${next.identity}.yaml`);
    writeFileSync(configPath, stringify(config));
    const process = this.#stack.supervisor.start({
      name: next.identity,
      command: join(repoRoot, "node_modules", ".bin", "node"),
      args: controllerArgs({ configPath, kubeconfigPath: next.path, identity: next.identity }),
      env: { ...globalThis.process.env, LOG_LEVEL: "info" },
    });
    const replica: Replica = {
      identity: next.identity,
      user: `system:serviceaccount:${CONTROLLER_NAMESPACE}:${next.identity}`,
      url: `http://127.0.0.1:${port}`,
      process,
    };
    this.#running.add(replica);
    void process.exited.then(async () => {
      this.#running.delete(replica);
      if (this.#stopping || this.#options.restart === false) return;
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      if (this.#stopping) return;
      this.#restarts++;
      await this.#spawn();
    });
  }
}

/** Binds the controller's roles to every ServiceAccount of its namespace (the pool's replicas). */
async function grantToGroup(kubeConfig: KubeConfig): Promise<void> {
  const rbac = kubeConfig.makeApiClient(RbacAuthorizationV1Api);
  const subjects = [{ kind: "Group", name: REPLICAS_GROUP, apiGroup: "rbac.authorization.k8s.io" }];
  for (const role of ["glidepath-controller", "glidepath-controller-webhook"]) {
    await rbac.createClusterRoleBinding({
      body: {
        metadata: { name: `chaos-${role}` },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: role },
        subjects,
      },
    });
  }
  for (const role of ["glidepath-leader-election", "glidepath-webhook-certificate"]) {
    await rbac.createNamespacedRoleBinding({
      namespace: CONTROLLER_NAMESPACE,
      body: {
        metadata: { name: `chaos-${role}` },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: role },
        subjects,
      },
    });
  }
}
