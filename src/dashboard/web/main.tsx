// The dashboard's page: one event stream per tab (the server keeps one watch for all
// tabs), the list page and the release page; a release page reloads its details when the
// stream says that release changed. No polling.
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import type { FeedEvent, ReleaseSummary } from "../protocol.ts";
import { openFeed, type FeedState } from "./api.ts";
import { ReleaseList } from "./list.tsx";
import { HistoryPage } from "./history.tsx";
import { ReleasePage } from "./release.tsx";
import { Link, useRoute } from "./router.tsx";
import "./app.css";

/** Ages on screen move on with this clock; it asks the server nothing. */
const CLOCK_MS = 5_000;

function App() {
  const route = useRoute();
  const [rows, setRows] = useState<Map<string, ReleaseSummary>>(new Map());
  const [versions, setVersions] = useState<Map<string, number>>(new Map());
  const [scope, setScope] = useState("");
  const [state, setState] = useState<FeedState>("connecting");
  const [nowMs, setNow] = useState(Date.now());

  useEffect(() => {
    const bump = (key: string) => setVersions((old) => new Map(old).set(key, (old.get(key) ?? 0) + 1));
    const onEvent = (event: FeedEvent) => {
      if (event.type === "snapshot") {
        setRows(new Map(event.releases.map((row) => [row.key, row])));
        setScope(event.scope);
        for (const row of event.releases) bump(row.key);
      } else if (event.type === "upsert") {
        setRows((old) => new Map(old).set(event.release.key, event.release));
        bump(event.release.key);
      } else {
        setRows((old) => {
          const next = new Map(old);
          next.delete(event.key);
          return next;
        });
        bump(event.key);
      }
    };
    const close = openFeed(onEvent, setState);
    const clock = setInterval(() => setNow(Date.now()), CLOCK_MS);
    return () => {
      close();
      clearInterval(clock);
    };
  }, []);

  const title =
    route.page === "release"
      ? `${route.name} · Glidepath`
      : route.page === "history"
        ? `History of ${route.target} · Glidepath`
        : route.page === "list"
          ? "Releases · Glidepath"
          : "Glidepath";
  useEffect(() => {
    document.title = title;
  }, [title]);

  const sorted = [...rows.values()].sort((a, b) => a.key.localeCompare(b.key));
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <Link href="/" class="brand">
          Glidepath
        </Link>
        <nav aria-label="Pages">
          <Link href="/">Releases</Link>
        </nav>
      </header>
      {route.page === "list" ? (
        <ReleaseList rows={sorted} scope={scope} state={state} nowMs={nowMs} />
      ) : route.page === "release" ? (
        <ReleasePage
          namespace={route.namespace}
          name={route.name}
          version={versions.get(`${route.namespace}/${route.name}`) ?? 0}
          nowMs={nowMs}
        />
      ) : route.page === "history" ? (
        <HistoryPage
          namespace={route.namespace}
          target={route.target}
          window={route.window}
          version={targetVersion(rows, versions, route.namespace, route.target)}
        />
      ) : (
        <main id="main">
          <h1>Not here</h1>
          <p>
            Nothing at {route.path}. <Link href="/">All releases</Link>
          </p>
        </main>
      )}
    </>
  );
}

/** Moves whenever the event stream reports a change of one of the target's Releases. */
function targetVersion(
  rows: Map<string, ReleaseSummary>,
  versions: Map<string, number>,
  namespace: string,
  target: string,
): number {
  let sum = 0;
  for (const [key, version] of versions) {
    const row = rows.get(key);
    // A deleted release has no row: still a change the history may show (its record).
    if (!row ? key.startsWith(`${namespace}/`) : row.namespace === namespace && row.target === target)
      sum += version;
  }
  return sum;
}

const root = document.getElementById("app");
if (root) {
  root.textContent = "";
  render(<App />, root);
}
