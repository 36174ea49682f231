// The page's calls to its own server: the session token from the page's <meta>, sent on
// every request (the server refuses API calls without it; see docs/security.md).
import {
  TOKEN_HEADER,
  type ActionResult,
  type ControlAction,
  type FeedEvent,
  type ReleaseDetail,
  type TargetHistory,
} from "../protocol.ts";

const token = document.querySelector<HTMLMetaElement>('meta[name="glidepath-token"]')?.content ?? "";

export class ApiError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

async function json<T>(response: Response): Promise<T> {
  const body = (await response.json().catch(() => ({ message: response.statusText }))) as T & {
    message?: string;
  };
  if (!response.ok) throw new ApiError(response.status, body.message ?? response.statusText);
  return body;
}

function releasePath(namespace: string, name: string): string {
  return `/api/releases/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}`;
}

export async function fetchDetail(namespace: string, name: string): Promise<ReleaseDetail> {
  return json(await fetch(releasePath(namespace, name), { headers: { [TOKEN_HEADER]: token } }));
}

export async function fetchHistory(
  namespace: string,
  target: string,
  window: string,
): Promise<TargetHistory> {
  const path = `/api/history/${encodeURIComponent(namespace)}/${encodeURIComponent(target)}`;
  return json(
    await fetch(`${path}?window=${encodeURIComponent(window)}`, { headers: { [TOKEN_HEADER]: token } }),
  );
}

export interface ActionInput {
  action: ControlAction;
  comment?: string;
  reason?: string;
  full?: boolean;
}

export async function postAction(namespace: string, name: string, input: ActionInput): Promise<ActionResult> {
  return json(
    await fetch(`${releasePath(namespace, name)}/actions`, {
      method: "POST",
      headers: { [TOKEN_HEADER]: token, "Content-Type": "application/json" },
      body: JSON.stringify(input),
    }),
  );
}

export type FeedState = "connecting" | "live" | "reconnecting";

/** The one event stream of this tab: the list's rows, then each change as the watch sees it. */
export function openFeed(
  onEvent: (event: FeedEvent) => void,
  onState: (state: FeedState) => void,
): () => void {
  const source = new EventSource(`/api/events?token=${encodeURIComponent(token)}`);
  onState("connecting");
  source.onopen = () => onState("live");
  source.onerror = () => onState("reconnecting");
  source.onmessage = (message: MessageEvent<string>) => {
    onEvent(JSON.parse(message.data) as FeedEvent);
  };
  return () => source.close();
}
