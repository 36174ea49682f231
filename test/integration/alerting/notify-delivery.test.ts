// Notification delivery over real HTTP: retries with backoff on what may pass later,
// none on what will not, all in the background — notify() returns at once even when
// the endpoint hangs — and nothing secret in the log.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Writable } from "node:stream";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { parseControllerConfig } from "../../../src/api/index.ts";
import type { Notification } from "../../../src/controller/ports.ts";
import { createNotifier, type NotificationOutcome, type OnCallNotifier } from "../../../src/notify/index.ts";
import { waitFor } from "../../harness/context.ts";
import { aRelease } from "../../unit/engine/builders.ts";

interface Received {
  path: string;
  headers: IncomingMessage["headers"];
  body: unknown;
}

/** An endpoint that answers each request with the next status of `script` (the last one repeats); 0 = never answers. */
async function endpoint(script: number[]): Promise<{ url: string; received: Received[]; server: Server }> {
  const received: Received[] = [];
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      received.push({
        path: request.url ?? "",
        headers: request.headers,
        body: JSON.parse(Buffer.concat(chunks).toString("utf8") || "null"),
      });
      const status = script[Math.min(received.length - 1, script.length - 1)] ?? 200;
      if (status === 0) return; // hang
      response.writeHead(status, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  servers.push(server);
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received, server };
}

const servers: Server[] = [];
const notifiers: OnCallNotifier[] = [];
afterEach(async () => {
  await Promise.all(notifiers.splice(0).map((notifier) => notifier.close(100)));
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    server.close();
  }
});

function capturingLogger() {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString("utf8"));
      done();
    },
  });
  return { logger: pino({ level: "debug" }, sink), lines };
}

async function notifierFor(notifier: Record<string, unknown>, env: Record<string, string> = {}) {
  const outcomes: NotificationOutcome[] = [];
  const { logger, lines } = capturingLogger();
  const created = await createNotifier(parseControllerConfig({ notifiers: [notifier] }).notifiers, {
    logger,
    env,
    onOutcome: (_name, outcome) => outcomes.push(outcome),
  });
  notifiers.push(created);
  return { notifier: created, outcomes, lines };
}

function rolledBack(): Notification {
  return {
    event: "rolledBack",
    message: "rolled back to 2.3.1: error-rate 0.08 above 0.05",
    release: aRelease(),
  };
}

describe("notification delivery", () => {
  it("retries a server error with backoff until it is delivered", async () => {
    const server = await endpoint([503, 502, 200]);
    const { notifier, outcomes } = await notifierFor({
      name: "oncall",
      type: "webhook",
      url: `${server.url}/hook`,
    });
    notifier.notify(rolledBack());
    await waitFor(() => outcomes.length > 0, { timeoutMs: 20_000, description: "the delivery to finish" });
    expect(outcomes).toEqual(["delivered"]);
    expect(server.received).toHaveLength(3);
    expect(server.received[2]?.body).toMatchObject({ kind: "GlidepathNotification", event: "rolledBack" });
  });

  it("does not retry an answer that will not change (400), and counts it as failed", async () => {
    const server = await endpoint([400]);
    const { notifier, outcomes, lines } = await notifierFor({
      name: "oncall",
      type: "webhook",
      url: server.url,
    });
    notifier.notify(rolledBack());
    await waitFor(() => outcomes.length > 0, { timeoutMs: 20_000 });
    expect(outcomes).toEqual(["failed"]);
    expect(server.received).toHaveLength(1);
    expect(
      lines.some((line) => line.includes('"status":400') && line.includes("notification delivery failed")),
    ).toBe(true);
  });

  it("never makes the caller wait, even for an endpoint that hangs", async () => {
    const server = await endpoint([0]);
    const { notifier, outcomes } = await notifierFor({
      name: "slow",
      type: "webhook",
      url: server.url,
      timeout: "300ms",
      attempts: 2,
    });
    const started = performance.now();
    for (let index = 0; index < 20; index++) notifier.notify(rolledBack());
    expect(performance.now() - started).toBeLessThan(100);
    await waitFor(() => outcomes.length === 20, {
      timeoutMs: 20_000,
      description: "every delivery to give up",
    });
    expect(new Set(outcomes)).toEqual(new Set(["failed"]));
  });

  it("sends Slack's format to a URL from a secret, and never logs that URL or the token", async () => {
    const server = await endpoint([500, 200]);
    const secretPath = "/services/T000/B000/XXXXSECRETXXXX";
    const { notifier, outcomes, lines } = await notifierFor(
      { name: "slack", type: "slack", urlFrom: { env: "SLACK_URL" } },
      { SLACK_URL: `${server.url}${secretPath}` },
    );
    notifier.notify(rolledBack());
    await waitFor(() => outcomes.length > 0, { timeoutMs: 20_000 });
    expect(outcomes).toEqual(["delivered"]);
    expect(server.received[1]?.path).toBe(secretPath);
    expect(server.received[1]?.body).toMatchObject({
      text: expect.stringContaining("rolled back") as unknown as string,
      blocks: expect.arrayContaining([expect.objectContaining({ type: "header" })]) as unknown as unknown[],
    });
    expect(lines.join("")).not.toContain("XXXXSECRETXXXX");
  });

  it("sends only the events a notifier asks for", async () => {
    const server = await endpoint([200]);
    const { notifier, outcomes } = await notifierFor({
      name: "approvals",
      type: "webhook",
      url: server.url,
      events: ["awaitingApproval"],
    });
    notifier.notify(rolledBack());
    notifier.notify({ event: "awaitingApproval", message: "approve GA", release: aRelease() });
    await waitFor(() => outcomes.length > 0, { timeoutMs: 20_000 });
    expect(server.received.map((request) => (request.body as { event: string }).event)).toEqual([
      "awaitingApproval",
    ]);
  });

  it("refuses to start when a notifier's secret is missing, naming the source only", async () => {
    await expect(
      createNotifier(
        parseControllerConfig({ notifiers: [{ name: "slack", type: "slack", urlFrom: { env: "NOT_SET" } }] })
          .notifiers,
        { logger: pino({ level: "silent" }), env: {}, onOutcome: () => {} },
      ),
    ).rejects.toThrow("the secret from environment variable NOT_SET is missing or empty");
  });
});
