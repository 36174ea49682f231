// An HTTP proxy in front of the API server that can hold requests: the hung call a stuck
// connection or an overloaded API server gives, for the requests a test chooses. The
// client talks plain http to it (loadKubeConfig allows that); the proxy forwards over TLS
// with the stack's CA, headers (the bearer token) and bodies as they are, watches included.
import { readFileSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { request as httpsRequest } from "node:https";
import type { AddressInfo } from "node:net";
import { parse, stringify } from "yaml";

export interface HeldRequest {
  method: string;
  path: string;
  /** How long it was held before its client gave up; undefined while still held. */
  abandonedAfterMs?: number;
}

export interface ApiProxy {
  url: string;
  /** From now on, holds every request `matches` picks: no answer, ever, until its client gives up. */
  hold(matches: (method: string, path: string) => boolean): void;
  /** Forwards new requests again; those held stay held. */
  forwardAll(): void;
  /** Every request held so far. */
  held(): HeldRequest[];
  /** Requests held right now (their clients are still waiting), and for how long so far. */
  heldNow(): (HeldRequest & { heldForMs: number })[];
  close(): Promise<void>;
}

export async function startApiProxy(options: {
  apiServerUrl: string;
  caCertPath: string;
}): Promise<ApiProxy> {
  const upstream = new URL(options.apiServerUrl);
  const ca = readFileSync(options.caCertPath);
  let matches: ((method: string, path: string) => boolean) | undefined;
  const held: HeldRequest[] = [];
  /** Held requests whose clients still wait → when they came. */
  const holding = new Map<HeldRequest, number>();
  const open = new Set<ServerResponse>();

  const forward = (request: IncomingMessage, response: ServerResponse): void => {
    const outgoing = httpsRequest(
      {
        hostname: upstream.hostname,
        port: upstream.port,
        method: request.method,
        path: request.url,
        headers: { ...request.headers, host: upstream.host },
        ca,
      },
      (answer) => {
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(response);
      },
    );
    outgoing.on("error", () => response.destroy());
    response.on("close", () => outgoing.destroy());
    request.pipe(outgoing);
  };

  const server = createServer((request, response) => {
    open.add(response);
    response.on("close", () => open.delete(response));
    const method = request.method ?? "GET";
    const path = request.url ?? "/";
    if (matches?.(method, path)) {
      const entry: HeldRequest = { method, path };
      const since = performance.now();
      held.push(entry);
      holding.set(entry, since);
      // Read and drop the body; answer nothing. The client's deadline is what ends it.
      request.resume();
      response.on("close", () => {
        entry.abandonedAfterMs = Math.round(performance.now() - since);
        holding.delete(entry);
      });
      return;
    }
    forward(request, response);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    hold: (picks) => {
      matches = picks;
    },
    forwardAll: () => {
      matches = undefined;
    },
    held: () => [...held],
    heldNow: () =>
      [...holding].map(([entry, since]) => ({ ...entry, heldForMs: Math.round(performance.now() - since) })),
    close: () =>
      new Promise<void>((resolve) => {
        for (const response of open) response.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A copy of a kubeconfig whose clusters all point at `serverUrl` (plain http: no CA). */
export function kubeconfigThrough(kubeconfigPath: string, serverUrl: string, outPath: string): string {
  const config = parse(readFileSync(kubeconfigPath, "utf8")) as {
    clusters?: { cluster: Record<string, unknown> }[];
  };
  for (const entry of config.clusters ?? []) {
    delete entry.cluster["certificate-authority-data"];
    delete entry.cluster["certificate-authority"];
    entry.cluster.server = serverUrl;
  }
  writeFileSync(outPath, stringify(config), { mode: 0o600 });
  return outPath;
}
