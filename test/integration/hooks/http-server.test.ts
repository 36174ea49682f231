import { connect } from "node:net";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHttpServer, type HttpServer } from "../../../src/http/server.ts";

// The controller's HTTP server on 127.0.0.1, as the controller starts it: a client that
// never finishes its headers must not hold a socket (and a slot) for long.

let server: HttpServer;

beforeAll(async () => {
  server = await startHttpServer({
    port: 0,
    host: "127.0.0.1",
    registry: new Registry(),
    isHealthy: () => true,
    isReady: () => true,
  });
});

afterAll(async () => {
  await server.close();
});

describe("the controller's HTTP server", () => {
  it("answers 408 and closes a connection whose headers never end", async () => {
    const socket = connect({ host: "127.0.0.1", port: server.port });
    await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
    const received: string[] = [];
    socket.on("data", (chunk) => received.push(String(chunk)));
    const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
    socket.write("POST /hooks/alertmanager HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    await closed;
    expect(received.join("")).toMatch(/^HTTP\/1\.1 408 Request Timeout/);
  });
});
