// A few lines of routing: real links (keyboard and middle-click work), the History API
// for moves inside the page, and the path parsed into a page.
import type { ComponentChildren } from "preact";
import { useEffect, useState } from "preact/hooks";

export type Route =
  | { page: "list" }
  | { page: "release"; namespace: string; name: string }
  // One target's history and DORA figures: /history/NAMESPACE/TARGET?window=30d.
  | { page: "history"; namespace: string; target: string; window: string }
  | { page: "missing"; path: string };

export function parseRoute(pathname: string, search = ""): Route {
  if (pathname === "/") return { page: "list" };
  const release = /^\/releases\/([^/]+)\/([^/]+)$/.exec(pathname);
  if (release)
    return {
      page: "release",
      namespace: decodeURIComponent(release[1] ?? ""),
      name: decodeURIComponent(release[2] ?? ""),
    };
  const history = /^\/history\/([^/]+)\/([^/]+)$/.exec(pathname);
  if (history)
    return {
      page: "history",
      namespace: decodeURIComponent(history[1] ?? ""),
      target: decodeURIComponent(history[2] ?? ""),
      // The server checks it (a number of days, as `glidepath dora --window`).
      window: new URLSearchParams(search).get("window") ?? "30d",
    };
  return { page: "missing", path: pathname };
}

const listeners = new Set<() => void>();

export function navigate(href: string): void {
  history.pushState(null, "", href);
  for (const listener of listeners) listener();
}

export function useRoute(): Route {
  const here = () => `${location.pathname}${location.search}`;
  const [path, setPath] = useState(here());
  useEffect(() => {
    const update = () => setPath(here());
    listeners.add(update);
    addEventListener("popstate", update);
    return () => {
      listeners.delete(update);
      removeEventListener("popstate", update);
    };
  }, []);
  const url = new URL(path, location.origin);
  return parseRoute(url.pathname, url.search);
}

export function Link(props: { href: string; children: ComponentChildren; class?: string }) {
  return (
    <a
      href={props.href}
      class={props.class}
      onClick={(event) => {
        if (
          event.defaultPrevented ||
          event.button !== 0 ||
          event.metaKey ||
          event.ctrlKey ||
          event.shiftKey ||
          event.altKey
        )
          return;
        event.preventDefault();
        navigate(props.href);
        scrollTo(0, 0);
      }}
    >
      {props.children}
    </a>
  );
}
