// Both pages show what one fetch returns and load it again when the event stream reports a
// change that concerns them.
import { useCallback, useEffect, useState } from "preact/hooks";

/** A burst of changes (an analysis round writes status, then Events) costs one reload. */
const RELOAD_AFTER_MS = 250;

/**
 * What `fetch` (memoised by the caller) returns: loaded at once, and again shortly after each
 * move of `version`, the event stream's count of changes to what the page shows. `problem`
 * says why the last load failed; `reload` loads now.
 */
export function useReloading<T>(
  fetch: () => Promise<T>,
  version: number,
): { loaded: T | undefined; problem: string | undefined; reload: () => void } {
  const [loaded, setLoaded] = useState<T | undefined>();
  const [problem, setProblem] = useState<string | undefined>();
  const reload = useCallback(() => {
    fetch()
      .then((value) => {
        setLoaded(value);
        setProblem(undefined);
      })
      .catch((error: Error) => setProblem(error.message));
  }, [fetch]);
  useEffect(() => {
    const timer = setTimeout(reload, version === 0 ? 0 : RELOAD_AFTER_MS);
    return () => clearTimeout(timer);
  }, [reload, version]);
  return { loaded, problem, reload };
}
