import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { pino, type Logger } from "pino";
import type { Registry } from "prom-client";
import { readCertificatePair, reloadOnChange, type CertificateFiles } from "./certificate-files.ts";

// The controller's HTTP endpoint: /metrics, /healthz, /readyz, and the hooks
// (POST /hooks/...) registered by the code that owns them.

export type RouteHandler = (request: IncomingMessage, response: ServerResponse) => Promise<void> | void;

export interface HttpServerOptions {
  port: number;
  /** Default 0.0.0.0 in a cluster; tests pass 127.0.0.1. */
  host?: string;
  registry: Registry;
  /** Liveness: the process is working (its loops are alive). */
  isHealthy: () => boolean;
  /** Readiness: caches synced; followers are ready too (they forward hooks). */
  isReady: () => boolean;
  /** Extra routes by "METHOD /path". */
  routes?: Record<string, RouteHandler>;
  /** Serve /metrics here (default); false when it has a port of its own. */
  metrics?: boolean;
  /** HTTPS with this certificate, re-read when its files change; plain HTTP without. */
  tls?: CertificateFiles & { reloadMs?: number };
  /** Says when the certificate is reloaded (with tls). */
  logger?: Logger;
}

export interface HttpServer {
  port: number;
  url: string;
  close(): Promise<void>;
}

export function sendJson(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    ...headers,
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
  });
  response.end(text);
}

/** Where no logger is given: the reload messages go nowhere. */
const silentLogger = pino({ level: "silent" });

export const HEADERS_TIMEOUT_MS = 10_000;
export const REQUEST_TIMEOUT_MS = 30_000;
export const MAX_CONNECTIONS = 256;

export async function startHttpServer(options: HttpServerOptions): Promise<HttpServer> {
  const metricsRoute: Record<string, RouteHandler> =
    options.metrics === false
      ? {}
      : {
          "GET /metrics": async (_request, response) => {
            const text = await options.registry.metrics();
            response.writeHead(200, { "content-type": options.registry.contentType });
            response.end(text);
          },
        };
  const routes: Record<string, RouteHandler> = {
    ...metricsRoute,
    "GET /healthz": (_request, response) =>
      sendJson(response, options.isHealthy() ? 200 : 503, { ok: options.isHealthy() }),
    "GET /readyz": (_request, response) =>
      sendJson(response, options.isReady() ? 200 : 503, { ok: options.isReady() }),
    ...options.routes,
  };
  const handle = (request: IncomingMessage, response: ServerResponse): void => {
    const path = (request.url ?? "/").split("?")[0];
    const handler = routes[`${request.method} ${path}`];
    if (!handler) {
      sendJson(response, 404, { error: `no route for ${request.method} ${path}` });
      return;
    }
    Promise.resolve(handler(request, response)).catch((error: unknown) => {
      if (!response.headersSent) sendJson(response, 500, { error: (error as Error).message });
      else response.destroy();
    });
  };
  // Timeouts are checked every 2 s (Node's default is 30 s), so a slow client is cut off near its limit.
  const serverOptions = { connectionsCheckingInterval: 2_000 };
  let stopReloading = (): void => undefined;
  let server: Server;
  if (options.tls) {
    const tls = options.tls;
    const https = createHttpsServer({ ...serverOptions, ...(await readCertificatePair(tls)) }, handle);
    stopReloading = await reloadOnChange(tls, (pair) => https.setSecureContext(pair), {
      log: options.logger ?? silentLogger,
      what: "the HTTP server's certificate",
      ...(tls.reloadMs === undefined ? {} : { everyMs: tls.reloadMs }),
    });
    server = https;
  } else {
    server = createServer(serverOptions, handle);
  }
  // Bounded, so slow or idle clients cannot hold the process: headers within 10 s, the
  // whole request within 30 s, at most MAX_CONNECTIONS sockets at once (more are refused).
  server.keepAliveTimeout = 5_000;
  server.headersTimeout = HEADERS_TIMEOUT_MS;
  server.requestTimeout = REQUEST_TIMEOUT_MS;
  server.maxConnections = MAX_CONNECTIONS;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host ?? "0.0.0.0", () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: `${options.tls ? "https" : "http"}://${options.host ?? "127.0.0.1"}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        stopReloading();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
