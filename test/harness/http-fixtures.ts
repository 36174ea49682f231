// Small HTTP servers tests run in-process: a metrics endpoint for Prometheus to scrape,
// and a webhook receiver that records what Alertmanager (or anyone) POSTs to it.
import { createServer } from "node:http";
import type { IncomingHttpHeaders, Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface MetricsServer {
  /** "127.0.0.1:port", the form Prometheus scrape targets take. */
  target: string;
  url: string;
  close(): Promise<void>;
}

/** Serves `render()` (Prometheus text format) at /metrics. */
export async function serveMetrics(render: () => string): Promise<MetricsServer> {
  const server = createServer((request, response) => {
    if (request.url?.startsWith("/metrics")) {
      response.writeHead(200, { "Content-Type": "text/plain; version=0.0.4" });
      response.end(render());
    } else {
      response.writeHead(404).end();
    }
  });
  const port = await listen(server);
  return { target: `127.0.0.1:${port}`, url: `http://127.0.0.1:${port}/metrics`, close: () => close(server) };
}

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  json: unknown;
  receivedAt: Date;
}

export interface WebhookRecorder {
  url: string;
  readonly requests: readonly RecordedRequest[];
  /** Resolves with the first recorded request (past or future) that `match` accepts. */
  waitForRequest(match?: (request: RecordedRequest) => boolean, timeoutMs?: number): Promise<RecordedRequest>;
  close(): Promise<void>;
}

/**
 * Records every request and answers 200, or 401 when `bearerToken` is set and the
 * request does not carry it (rejected requests are recorded too).
 */
export async function startWebhookRecorder(
  options: { path?: string; bearerToken?: string } = {},
): Promise<WebhookRecorder> {
  const requests: RecordedRequest[] = [];
  const waiters = new Set<() => void>();
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      let json: unknown;
      try {
        json = JSON.parse(body);
      } catch {
        json = undefined;
      }
      requests.push({
        method: request.method ?? "",
        path: request.url ?? "",
        headers: request.headers,
        body,
        json,
        receivedAt: new Date(),
      });
      const authorized =
        !options.bearerToken || request.headers.authorization === `Bearer ${options.bearerToken}`;
      response.writeHead(authorized ? 200 : 401).end();
      for (const wake of waiters) wake();
    });
  });
  const port = await listen(server);
  return {
    url: `http://127.0.0.1:${port}${options.path ?? "/webhook"}`,
    requests,
    waitForRequest(match = () => true, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const check = (): boolean => {
          const found = requests.find(match);
          if (!found) return false;
          clearTimeout(timer);
          waiters.delete(wake);
          resolve(found);
          return true;
        };
        const wake = (): void => void check();
        const timer = setTimeout(() => {
          waiters.delete(wake);
          reject(new Error(`no matching webhook request within ${timeoutMs} ms; got ${requests.length}`));
        }, timeoutMs);
        waiters.add(wake);
        check();
      });
    },
    close: () => close(server),
  };
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port));
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}
