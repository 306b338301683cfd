// useWeirConnect: a thin React wrapper over connect(). React is a peer dependency.
import { useCallback, useEffect, useRef, useState } from "react";
import { connect, WeirConnectError } from "./index.js";
import type { WeirConnection, WeirConnectOptions, WeirEvent } from "./index.js";

export type WeirConnectStatus = "idle" | "open" | "success" | "error";

export interface UseWeirConnect {
  /** Opens the widget (options given here override the hook's); settles like `connect()`. */
  open: (overrides?: Partial<WeirConnectOptions>) => Promise<WeirConnection>;
  /** Closes an open widget; its Promise rejects with `USER_EXIT`. */
  close: () => void;
  status: WeirConnectStatus;
  connection: WeirConnection | null;
  error: WeirConnectError | null;
  /** The events of the current flow, in order. */
  events: WeirEvent[];
}

export function useWeirConnect(options: Partial<WeirConnectOptions> = {}): UseWeirConnect {
  const latest = useRef(options);
  latest.current = options;
  const running = useRef<AbortController | null>(null);
  const [status, setStatus] = useState<WeirConnectStatus>("idle");
  const [connection, setConnection] = useState<WeirConnection | null>(null);
  const [error, setError] = useState<WeirConnectError | null>(null);
  const [events, setEvents] = useState<WeirEvent[]>([]);

  const close = useCallback(() => {
    running.current?.abort();
  }, []);

  const open = useCallback((overrides: Partial<WeirConnectOptions> = {}) => {
    running.current?.abort();
    const controller = new AbortController();
    running.current = controller;
    const merged = { ...latest.current, ...overrides } as WeirConnectOptions;
    setStatus("open");
    setConnection(null);
    setError(null);
    setEvents([]);
    const current = (): boolean => running.current === controller;
    const result = connect({
      ...merged,
      signal: controller.signal,
      onEvent: (event) => {
        if (current()) setEvents((previous) => [...previous, event]);
        merged.onEvent?.(event);
      },
    }).then((result) => {
      if (current()) { setConnection(result); setStatus("success"); }
      return result;
    }, (reason: unknown) => {
      const failure = reason instanceof WeirConnectError ? reason
        : new WeirConnectError("UNKNOWN", String(reason), "loading");
      if (current()) { setError(failure); setStatus("error"); }
      throw failure;
    });
    // The hook's state already carries the error: a caller that does not await open() (an
    // onClick) gets no unhandled-rejection noise; one that does still sees the rejection.
    result.catch(() => undefined);
    return result;
  }, []);

  useEffect(() => () => running.current?.abort(), []);

  return { open, close, status, connection, error, events };
}

export { WeirConnectError };
export type { WeirConnection, WeirConnectOptions, WeirEvent };
