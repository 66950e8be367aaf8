/** Data loading for pages: one call, its result or error, reloadable, optionally refreshed on a timer. */
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';

export interface Loaded<T> {
  data?: T;
  error?: Error;
  loading: boolean;
  reload: () => void;
}

/**
 * Runs `load` when `deps` change (and every `everyMs` while the page is visible, when given). A
 * refresh keeps the previous data on screen until the new one arrives.
 */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[], everyMs?: number): Loaded<T> {
  const [state, setState] = useState<{ data?: T; error?: Error; loading: boolean }>({ loading: true });
  const seq = useRef(0);
  const run = useCallback(() => {
    const n = ++seq.current;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => n === seq.current && setState({ data, loading: false }),
      (error: Error) => n === seq.current && setState((s) => ({ data: s.data, error, loading: false }))
    );
  }, deps);
  useEffect(() => {
    run();
    if (!everyMs) return undefined;
    const timer = setInterval(() => {
      if (document.visibilityState === 'visible') run();
    }, everyMs);
    return () => clearInterval(timer);
  }, [run, everyMs]);
  return { ...state, reload: run };
}
