// Writing Release status and recording Events against the real API server and the
// Release CRD from manifests/crds/.
import { Writable } from "node:stream";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { API_GROUP, API_VERSION } from "../../../src/api/release.ts";
import type { Release, ReleaseStatus } from "../../../src/api/release.ts";
import { makeKubeClients } from "../../../src/kube/client.ts";
import { EventPublisher } from "../../../src/kube/events.ts";
import { RELEASE_PLURAL, ReleaseStatusWriter, StatusWriteError } from "../../../src/kube/status-writer.ts";
import { exampleRelease } from "../../fixtures/releases.ts";
import {
  createNamespace,
  deleteNamespace,
  kubeConfig,
  mergePatch,
  serviceAccountKubeconfig,
  waitFor,
} from "../../harness/context.ts";

const logger = pino({ level: process.env.GLIDEPATH_TEST_LOG ?? "silent" });
const clients = makeKubeClients(kubeConfig());
const releases = { group: API_GROUP, version: API_VERSION, plural: RELEASE_PLURAL };
const writer = new ReleaseStatusWriter({ customObjects: clients.customObjects });
let namespace: string;
let releaseCounter = 0;

beforeAll(async () => {
  namespace = await createNamespace("status");
});
afterAll(async () => {
  await deleteNamespace(namespace);
});

async function createRelease(): Promise<Release> {
  const body = exampleRelease();
  body.metadata = { name: `checkout-${++releaseCounter}`, namespace };
  return (await clients.customObjects.createNamespacedCustomObject({
    ...releases,
    namespace,
    body,
  })) as Release;
}

function readRelease(name: string): Promise<Release> {
  return clients.customObjects.getNamespacedCustomObject({
    ...releases,
    namespace,
    name,
  }) as Promise<Release>;
}

function status(phase: ReleaseStatus["phase"], message: string): ReleaseStatus {
  return { phase, message, stages: [], approvals: [], transitions: [], conditions: [] };
}

describe("release status writer", () => {
  it("given a status decided from a stale read, reports a conflict and overwrites nothing", async () => {
    const read = await createRelease();
    const first = await writer.writeStatus(read, status("Progressing", "stage canary"));
    expect(first.outcome).toBe("written");
    expect(first.outcome === "written" && first.release.status?.phase).toBe("Progressing");

    // Decided from the same, now outdated, read.
    const stale = await writer.writeStatus(read, status("Paused", "paused by the stale decision"));
    expect(stale.outcome).toBe("conflict");
    expect(stale.outcome === "conflict" && stale.message).toMatch(
      /409 Conflict: .*the object has been modified/,
    );
    expect((await readRelease(read.metadata.name)).status?.phase).toBe("Progressing");

    // Re-read, decide again, and the write goes through.
    const fresh = await readRelease(read.metadata.name);
    const retried = await writer.writeStatus(fresh, status("Paused", "paused after re-reading"));
    expect(retried.outcome).toBe("written");
    expect((await readRelease(read.metadata.name)).status?.message).toBe("paused after re-reading");
  });

  it("makes no request when the status is unchanged", async () => {
    const read = await createRelease();
    const written = await writer.writeStatus(read, status("Progressing", "stage canary"));
    if (written.outcome !== "written") throw new Error(`expected a write, got ${written.outcome}`);
    const again = await writer.writeStatus(written.release, status("Progressing", "stage canary"));
    expect(again.outcome).toBe("unchanged");
    expect((await readRelease(read.metadata.name)).metadata.resourceVersion).toBe(written.resourceVersion);
  });

  it("status cannot be changed through the main resource: PUT and merge patch ignore it", async () => {
    const read = await createRelease();
    const written = await writer.writeStatus(read, status("Progressing", "set by the controller"));
    if (written.outcome !== "written") throw new Error(`expected a write, got ${written.outcome}`);

    const edited = structuredClone(written.release);
    edited.spec.version = "2.4.1";
    edited.status = status("Succeeded", "forged through the main resource");
    const replaced = (await clients.customObjects.replaceNamespacedCustomObject({
      ...releases,
      namespace,
      name: read.metadata.name,
      body: edited,
    })) as Release;
    expect(replaced.spec.version).toBe("2.4.1");
    expect(replaced.status?.phase).toBe("Progressing");

    await clients.customObjects.patchNamespacedCustomObject(
      { ...releases, namespace, name: read.metadata.name, body: { status: { phase: "Failed" } } },
      mergePatch,
    );
    const after = await readRelease(read.metadata.name);
    expect(after.status).toMatchObject({ phase: "Progressing", message: "set by the controller" });
  });

  it("reports a deleted Release as gone, and a status the schema rejects as an error naming the Release", async () => {
    const read = await createRelease();
    const invalid = { ...status("Progressing", "x"), phase: "Exploded" } as unknown as ReleaseStatus;
    const failure = await writer.writeStatus(read, invalid).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(StatusWriteError);
    expect((failure as StatusWriteError).code).toBe(422);
    expect((failure as Error).message).toContain(`Release ${namespace}/${read.metadata.name}`);
    expect((failure as Error).message).toMatch(/status\.phase/);

    await clients.customObjects.deleteNamespacedCustomObject({
      ...releases,
      namespace,
      name: read.metadata.name,
    });
    expect((await writer.writeStatus(read, status("Failed", "too late"))).outcome).toBe("gone");
  });

  it("refuses a write without the resourceVersion it was decided from", async () => {
    await expect(
      writer.writeStatus({ metadata: { name: "checkout", namespace } }, status("Pending", "")),
    ).rejects.toThrow(/no resourceVersion .* refusing an unconditional write/);
  });
});

describe("event publisher", () => {
  it("publishes an Event on a Release, and folds a repeat into its count", async () => {
    const release = await createRelease();
    const publisher = new EventPublisher({ core: clients.core, logger, instance: "glidepath-0" });
    await publisher.publish(release, "Normal", "StageAdvanced", "advanced to stage canary (1%)");
    await publisher.publish(release, "Normal", "StageAdvanced", "advanced to stage canary (1%)");
    await publisher.publish(release, "Warning", "AnalysisFailed", "error-rate 0.08 > max 0.05");

    const events = await waitFor(
      async () => {
        const list = await clients.core.listNamespacedEvent({
          namespace,
          fieldSelector: `involvedObject.uid=${release.metadata.uid}`,
        });
        return list.items.length === 2 && list.items;
      },
      { description: "two Events on the Release" },
    );
    const advanced = events.find((event) => event.reason === "StageAdvanced");
    expect(advanced).toMatchObject({
      type: "Normal",
      count: 2,
      message: "advanced to stage canary (1%)",
      reportingComponent: "glidepath",
      reportingInstance: "glidepath-0",
      source: { component: "glidepath", host: "glidepath-0" },
      involvedObject: {
        apiVersion: `${API_GROUP}/${API_VERSION}`,
        kind: "Release",
        name: release.metadata.name,
        namespace,
        uid: release.metadata.uid,
      },
    });
    expect(events.find((event) => event.reason === "AnalysisFailed")?.type).toBe("Warning");
  });

  it("never throws into the caller: a refused Event is logged and the call resolves", async () => {
    const release = await createRelease();
    // A ServiceAccount without any RBAC binding: the API server refuses the Event.
    const { kubeConfig: unprivileged } = await serviceAccountKubeconfig(namespace, "no-rights");
    const lines: string[] = [];
    const captured = pino(
      { level: "warn" },
      new Writable({
        write(chunk: Buffer, _encoding, done) {
          lines.push(chunk.toString());
          done();
        },
      }),
    );
    const publisher = new EventPublisher({ core: makeKubeClients(unprivileged).core, logger: captured });
    await expect(publisher.publish(release, "Warning", "RolledBack", "rolled back")).resolves.toBeUndefined();
    expect(lines.join("")).toMatch(/could not publish event RolledBack on Release .*: 403 Forbidden/);
  });
});
