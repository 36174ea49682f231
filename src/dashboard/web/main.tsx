// The dashboard's page: one event stream per tab (the server keeps one watch for all
// tabs), the list page and the release page; a release page reloads its details when the
// stream says that release changed. No polling.
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import type { FeedEvent, ReleaseSummary } from "../protocol.ts";
import { openFeed, type FeedState } from "./api.ts";
import { ReleaseList } from "./list.tsx";
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

  useEffect(() => {
    document.title =
      route.page === "release"
        ? `${route.name} · Glidepath`
        : route.page === "list"
          ? "Releases · Glidepath"
          : "Glidepath";
  }, [route]);

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
      ) : (
        <main id="main">
          <h1>Not here yet</h1>
          <p>
            {route.page === "history"
              ? "Release history and DORA figures per target will be shown here."
              : `Nothing at ${route.path}.`}{" "}
            <Link href="/">All releases</Link>
          </p>
        </main>
      )}
    </>
  );
}

const root = document.getElementById("app");
if (root) {
  root.textContent = "";
  render(<App />, root);
}
