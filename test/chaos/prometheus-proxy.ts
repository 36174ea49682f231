// A proxy between the controllers and Prometheus that the chaos suite turns bad: it
// passes requests through, holds each one 8 s before passing it (a slow Prometheus), or
// answers 200 with garbage (a broken one behind a load balancer).
import { createServer, request, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export type ProxyMode = "pass" | "slow" | "garbage";

export interface PrometheusProxy {
  url: string;
  setMode(mode: ProxyMode): void;
  /** When real answers (Prometheus's own, status 200) to `query` were delivered, in ms since the epoch. */
  realAnswers(query: string): number[];
  close(): Promise<void>;
}

export const SLOW_DELAY_MS = 8_000;

/** Garbage as a broken Prometheus or a proxy in front of it may return it, in turn. */
const GARBAGE = [
  "<html><body>502 Bad Gateway</body></html>",
  '{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"banana"]}]}}',
  '{"status":"success","data":',
  '{"status":"success","data":{"resultType":"matrix","result":"oops"}}',
];

export async function startPrometheusProxy(upstreamUrl: string): Promise<PrometheusProxy> {
  const upstream = new URL(upstreamUrl);
  let mode: ProxyMode = "pass";
  let garbageIndex = 0;
  const open = new Set<ServerResponse>();
  const delivered = new Map<string, number[]>();
  const server = createServer((incoming, response) => {
    open.add(response);
    response.on("close", () => open.delete(response));
    // The whole request first: its query says whose answer it is, and a slow answer is
    // held after the request was read, as a slow Prometheus would.
    const chunks: Buffer[] = [];
    incoming.on("data", (chunk: Buffer) => chunks.push(chunk));
    incoming.on("end", () => {
      const body = Buffer.concat(chunks);
      if (mode === "garbage") {
        const garbage = GARBAGE[garbageIndex++ % GARBAGE.length] as string;
        response.writeHead(200, { "content-type": "application/json" }).end(garbage);
        return;
      }
      const forward = (): void => {
        const outgoing = request(
          {
            hostname: upstream.hostname,
            port: upstream.port,
            method: incoming.method,
            path: incoming.url,
            headers: { ...incoming.headers, host: upstream.host },
          },
          (answer) => {
            // Noted as Prometheus's answer arrives: the controller has it a moment later.
            const query = new URLSearchParams(body.toString("utf8")).get("query");
            if (answer.statusCode === 200 && query) {
              let times = delivered.get(query);
              if (!times) delivered.set(query, (times = []));
              times.push(Date.now());
            }
            response.writeHead(answer.statusCode ?? 502, answer.headers);
            answer.pipe(response);
          },
        );
        outgoing.on("error", () => response.destroy());
        response.on("close", () => outgoing.destroy());
        outgoing.end(body);
      };
      if (mode === "slow") {
        const timer = setTimeout(forward, SLOW_DELAY_MS);
        response.on("close", () => clearTimeout(timer));
      } else forward();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    setMode: (next) => {
      mode = next;
    },
    realAnswers: (query) => [...(delivered.get(query) ?? [])],
    close: () =>
      new Promise<void>((resolve) => {
        for (const response of open) response.destroy();
        server.close(() => resolve());
      }),
  };
}
