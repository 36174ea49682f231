// A few lines of routing: real links (keyboard and middle-click work), the History API
// for moves inside the page, and the path parsed into a page.
import type { ComponentChildren } from "preact";
import { useEffect, useState } from "preact/hooks";

export type Route =
  | { page: "list" }
  | { page: "release"; namespace: string; name: string }
  // Room for the history and DORA page (issue 16 items 1–2): /history/NAMESPACE/TARGET.
  | { page: "history"; path: string }
  | { page: "missing"; path: string };

export function parseRoute(pathname: string): Route {
  if (pathname === "/") return { page: "list" };
  const release = /^\/releases\/([^/]+)\/([^/]+)$/.exec(pathname);
  if (release)
    return {
      page: "release",
      namespace: decodeURIComponent(release[1] ?? ""),
      name: decodeURIComponent(release[2] ?? ""),
    };
  if (/^\/history(\/.*)?$/.test(pathname)) return { page: "history", path: pathname };
  return { page: "missing", path: pathname };
}

const listeners = new Set<() => void>();

export function navigate(href: string): void {
  history.pushState(null, "", href);
  for (const listener of listeners) listener();
}

export function useRoute(): Route {
  const [path, setPath] = useState(location.pathname);
  useEffect(() => {
    const update = () => setPath(location.pathname);
    listeners.add(update);
    addEventListener("popstate", update);
    return () => {
      listeners.delete(update);
      removeEventListener("popstate", update);
    };
  }, []);
  return parseRoute(path);
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
