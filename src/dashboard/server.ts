// The dashboard's HTTP server on 127.0.0.1: the page and its bundle, the live list as
// server-sent events from one watch, a release's details, and the actions — each done
// with the person's own kubeconfig through the CLI's code. Every request passes
// guardRequest (requests.ts) first; see docs/security.md.
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { validateRelease, type Release, type StrategyFile } from "../api/index.ts";
import { doraWindowMs } from "../cli/command-line.ts";
import { CliError } from "../cli/exit-codes.ts";
import { readRecords } from "../cli/read-commands.ts";
import type { ReleaseApi } from "../cli/releases.ts";
import { releaseHistory } from "../cli/views.ts";
import { doraByGroup, doraFigures } from "../record/dora.ts";
import { withRecordedReleases } from "../record/release-record.ts";
import { describeApiError } from "../kube/index.ts";
import { ReleaseFeed } from "./feed.ts";
import type { ActionResult, FeedEvent } from "./protocol.ts";
import {
  actionBodySchema,
  describeBodyError,
  guardRequest,
  MAX_BODY_BYTES,
  parseHistoryPath,
  parseReleasePath,
  type ActionBody,
  type HistoryRef,
  type Listening,
  type ReleaseRef,
} from "./requests.ts";
import { eventRows, releaseDetail, targetHistory, type DetailPlan } from "./views.ts";

/** The loopback address, and nothing else: the server acts with the person's credentials. */
export const DASHBOARD_HOST = "127.0.0.1";

/** The bundle's files, by the path the page asks for; nothing else is served from disk. */
const ASSETS: Record<string, { file: string; type: string }> = {
  "/assets/app.js": { file: "app.js", type: "text/javascript; charset=utf-8" },
  "/assets/app.css": { file: "app.css", type: "text/css; charset=utf-8" },
};

/** Paths the page answers (it routes itself): the list, one release, one target's history. */
const PAGE_PATHS = [/^\/$/, /^\/releases\/[^/]+\/[^/]+$/, /^\/history\/[^/]+\/[^/]+$/];

const SECURITY_HEADERS = {
  "Content-Security-Policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; " +
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "X-Content-Type-Options": "nosniff",
  "X-Frame-Options": "DENY",
  "Referrer-Policy": "no-referrer",
  "Cache-Control": "no-store",
};

/** A quiet event stream gets a comment this often, so proxies and browsers keep it open. */
const KEEPALIVE_MS = 20_000;

export interface DashboardOptions {
  /** 0: any free port. */
  port: number;
  api: ReleaseApi;
  /** Watch one namespace, or all without one. */
  namespace?: string;
  strategy: StrategyFile | undefined;
  /** Where the esbuild bundle is (app.js, app.css). */
  assetsDir: string;
  /** Runs an action as the CLI would, with the person's credentials. */
  act: (ref: ReleaseRef, body: ActionBody) => Promise<ActionResult>;
  now: () => number;
  /** How long the first list of Releases may take. */
  syncTimeoutMs?: number;
}

export interface Dashboard {
  url: string;
  port: number;
  close(): Promise<void>;
}

export async function startDashboard(options: DashboardOptions): Promise<Dashboard> {
  const token = randomBytes(32).toString("base64url");
  const planOf = (release: Release): DetailPlan => {
    if (options.strategy) {
      const validation = validateRelease(release, options.strategy);
      if (validation.ok)
        return {
          stages: validation.plan.stages,
          bakeMs: validation.plan.bakeMs,
          metrics: validation.plan.metrics,
        };
    }
    return {
      ...(release.spec.stages ? { stages: release.spec.stages } : {}),
      ...(release.spec.analysis?.metrics ? { metrics: release.spec.analysis.metrics } : {}),
    };
  };
  const feed = new ReleaseFeed({
    kubeConfig: options.api.clients.kubeConfig,
    ...(options.namespace === undefined ? {} : { namespace: options.namespace }),
    plannedStages: (release) => planOf(release).stages,
  });
  // Fail at start, with the API server's words, when the person may not list Releases.
  await options.api.list(options.namespace);
  try {
    await feed.start(options.syncTimeoutMs ?? 30_000);
  } catch (error) {
    await feed.stop(); // its watch would keep the process alive
    throw error;
  }

  const streams = new Set<ServerResponse>();
  let listening: Listening = { port: options.port, token };

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (!response.headersSent) sendJson(response, 500, { message: (error as Error).message });
      else response.destroy();
    });
  });

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? "/", "http://dashboard.invalid");
    const path = url.pathname;
    const refuse = (kind: "page" | "read" | "write") => {
      const guard = guardRequest(
        {
          method: request.method ?? "GET",
          headers: request.headers,
          queryToken: url.searchParams.get("token") ?? undefined,
        },
        kind,
        listening,
      );
      if (guard.ok) return false;
      sendJson(response, guard.status, { message: guard.message });
      return true;
    };

    if (PAGE_PATHS.some((pattern) => pattern.test(path))) {
      if (refuse("page")) return;
      return sendPage(response, token);
    }
    const asset = ASSETS[path];
    if (asset) {
      if (refuse("page")) return;
      return sendAsset(response, join(options.assetsDir, asset.file), asset.type);
    }
    if (path === "/api/events") {
      if (refuse("read")) return;
      return openStream(request, response);
    }
    const releasePath = parseReleasePath(path);
    if (releasePath) {
      const writes = request.method?.toUpperCase() === "POST" || (releasePath.ok && releasePath.actions);
      if (refuse(writes ? "write" : "read")) return;
      if (!releasePath.ok) return sendJson(response, 400, { message: releasePath.message });
      if (!releasePath.actions) return sendDetail(response, releasePath.ref);
      const body = await readJsonBody(request);
      if (!body.ok) return sendJson(response, 400, { message: body.message });
      const parsed = actionBodySchema.safeParse(body.value);
      if (!parsed.success) return sendJson(response, 400, { message: describeBodyError(parsed.error) });
      const result = await options.act(releasePath.ref, parsed.data);
      return sendJson(response, 200, result);
    }
    const historyPath = parseHistoryPath(path, url.searchParams.get("window"));
    if (historyPath) {
      if (refuse("read")) return;
      if (!historyPath.ok) return sendJson(response, 400, { message: historyPath.message });
      return sendHistory(response, historyPath.ref);
    }
    if (refuse("page")) return;
    sendJson(response, 404, { message: `nothing at ${path}` });
  }

  function openStream(request: IncomingMessage, response: ServerResponse): void {
    response.writeHead(200, {
      ...SECURITY_HEADERS,
      "Content-Type": "text/event-stream; charset=utf-8",
      Connection: "keep-alive",
    });
    const send = (event: FeedEvent) => response.write(`data: ${JSON.stringify(event)}\n\n`);
    const { snapshot, unsubscribe } = feed.subscribe(send);
    response.write("retry: 2000\n\n");
    send(snapshot);
    streams.add(response);
    const keepalive = setInterval(() => response.write(": keepalive\n\n"), KEEPALIVE_MS);
    const end = () => {
      clearInterval(keepalive);
      unsubscribe();
      streams.delete(response);
    };
    request.on("close", end);
    response.on("error", end);
  }

  async function sendDetail(response: ServerResponse, ref: ReleaseRef): Promise<void> {
    let release: Release;
    try {
      release = await options.api.get(ref.namespace, ref.name);
    } catch (error) {
      const status = error instanceof CliError && error.exitCode === 3 ? 404 : 502;
      return sendJson(response, status, { message: (error as Error).message });
    }
    let events: { rows: ReturnType<typeof eventRows> } | { problem: string };
    try {
      const list = await options.api.clients.core.listNamespacedEvent({
        namespace: ref.namespace,
        fieldSelector: `involvedObject.name=${ref.name},involvedObject.kind=Release`,
      });
      events = { rows: eventRows(list.items) };
    } catch (error) {
      events = { problem: `the Events could not be read: ${describeApiError(error)}` };
    }
    sendJson(response, 200, releaseDetail(release, planOf(release), events, options.now()));
  }

  /**
   * One target's releases and DORA figures, read as `glidepath history TARGET` and
   * `glidepath dora TARGET --window …` read them (the same functions, the person's
   * kubeconfig), from one list of its ReleaseRecords.
   */
  async function sendHistory(response: ServerResponse, ref: HistoryRef): Promise<void> {
    const now = new Date(options.now());
    const [listed, kept] = await Promise.all([
      options.api.list(ref.namespace).catch((error: unknown) => error as Error),
      readRecords(options.api, ref.namespace, ref.target, { required: true }).catch(
        (error: unknown) => error as Error,
      ),
    ]);
    if (listed instanceof Error) return sendJson(response, 502, { message: listed.message });
    const records = kept instanceof Error ? [] : kept.records;
    const entries = releaseHistory(withRecordedReleases(listed.releases, records), ref.target);
    const windowMs = doraWindowMs(ref.window);
    const group = doraByGroup(records, "target", windowMs, now).find(
      (row) => row.group === `${ref.namespace}/${ref.target}`,
    );
    sendJson(
      response,
      200,
      targetHistory({
        namespace: ref.namespace,
        target: ref.target,
        window: ref.window,
        entries,
        liveNames: new Set(listed.releases.map((release) => release.metadata.name)),
        dora:
          kept instanceof Error
            ? { problem: kept.message }
            : { figures: group?.figures ?? doraFigures([], windowMs, now) },
        problems: [...listed.invalid, ...(kept instanceof Error ? [] : kept.invalid)],
      }),
    );
  }

  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(options.port, DASHBOARD_HOST, () => {
        server.off("error", reject);
        resolve();
      });
    });
  } catch (error) {
    await feed.stop();
    throw error;
  }
  const port = (server.address() as AddressInfo).port;
  listening = { port, token };

  return {
    url: `http://${DASHBOARD_HOST}:${port}/`,
    port,
    async close() {
      for (const stream of streams) stream.end();
      streams.clear();
      await feed.stop();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { ...SECURITY_HEADERS, "Content-Type": "application/json; charset=utf-8" });
  response.end(JSON.stringify(body));
}

function sendPage(response: ServerResponse, token: string): void {
  response.writeHead(200, { ...SECURITY_HEADERS, "Content-Type": "text/html; charset=utf-8" });
  response.end(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="glidepath-token" content="${token}">
<title>Glidepath</title>
<link rel="stylesheet" href="/assets/app.css">
</head>
<body>
<div id="app"><p>Loading the Glidepath dashboard…</p></div>
<script type="module" src="/assets/app.js"></script>
</body>
</html>
`);
}

async function sendAsset(response: ServerResponse, file: string, type: string): Promise<void> {
  let content: Buffer;
  try {
    content = await readFile(file);
  } catch {
    return sendJson(response, 500, {
      message: `the dashboard's bundle ${file} is missing: run 'npm run build:dashboard'`,
    });
  }
  response.writeHead(200, { ...SECURITY_HEADERS, "Content-Type": type });
  response.end(content);
}

async function readJsonBody(
  request: IncomingMessage,
): Promise<{ ok: true; value: unknown } | { ok: false; message: string }> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES)
      return { ok: false, message: `the body is larger than ${MAX_BODY_BYTES} bytes` };
    chunks.push(chunk as Buffer);
  }
  try {
    return { ok: true, value: JSON.parse(Buffer.concat(chunks).toString("utf8")) };
  } catch {
    return { ok: false, message: "the body is not JSON" };
  }
}
