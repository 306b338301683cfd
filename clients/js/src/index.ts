// @weir/connect: Weir's connect widget as a Promise. It drives the served, dependency-free
// weir.js (loaded from Weir when the page has not loaded it already) and settles once.

/** Where the flow got to; `close` events carry the furthest step reached. */
export type WeirStep =
  | "loading"
  | "open"
  | "integration_selected"
  | "oauth_started"
  | "form_error"
  | "success";

/** Which account the new connection is, in the host's own terms (from the connect session). */
export interface WeirAccount {
  displayName: string | null;
  externalId: string | null;
}

/** What `connect()` resolves with. */
export interface WeirConnection {
  connectionId: string;
  sessionId: string;
  integration: string | null;
  account: WeirAccount;
}

export type WeirEvent =
  | { type: "open"; mode: WeirMode }
  | { type: "integration_selected"; integration: string }
  | { type: "oauth_started"; integration: string }
  | { type: "form_error"; integration: string; fields: string[]; message: string }
  | ({ type: "success" } & WeirConnection)
  | { type: "error"; code: WeirErrorCode; message: string }
  | { type: "close"; completed: boolean; step: WeirStep };

export type WeirMode = "modal" | "inline" | "popup" | "redirect";

/** Stable codes; `USER_EXIT` means the user closed the widget before connecting. */
export type WeirErrorCode =
  | "USER_EXIT"
  | "ORIGIN_NOT_ALLOWED"
  | "TOKEN_EXPIRED"
  | "TOKEN_INVALID"
  | "SESSION_COMPLETED"
  | "POPUP_BLOCKED"
  | "LOAD_FAILED"
  | "NETWORK_ERROR"
  | "INVALID_OPTIONS"
  | "ACCESS_DENIED"
  | "STATE_REUSED"
  | "ISSUER_MISMATCH"
  | "TOKEN_EXCHANGE_FAILED"
  | "OAUTH_ERROR"
  | "WINDOW_CLOSED"
  | (string & {});

export interface WeirConnectOptions {
  /** The connect token from `createConnectSession`. */
  token: string;
  mode?: WeirMode;
  /** Weir's URL; needed unless weir.js is already on the page. */
  baseUrl?: string;
  /** Element or selector; required for `inline`. */
  container?: Element | string;
  /** SRI hash of weir.js (`python -m server.web.widget` prints it), used when the package loads it. */
  integrity?: string;
  popupWidth?: number;
  popupHeight?: number;
  fallbackToRedirect?: boolean;
  height?: number;
  timeout?: number;
  title?: string;
  /** Every step: open, integration_selected, oauth_started, form_error, success, error, close. */
  onEvent?: (event: WeirEvent) => void;
  /** Abort: closes the widget and rejects with `USER_EXIT`. */
  signal?: AbortSignal;
}

/** The Promise's rejection: `code` is stable, `step` is how far the user got. */
export class WeirConnectError extends Error {
  readonly code: WeirErrorCode;
  readonly step: WeirStep;
  constructor(code: WeirErrorCode, message: string, step: WeirStep) {
    super(message || code);
    this.name = "WeirConnectError";
    this.code = code;
    this.step = step;
  }
}

// Errors after which the flow cannot go on: the Promise rejects at once. Others (a refused
// consent, a closed sign-in window) let the user try again on the page; they reject only if
// the user then leaves.
const FATAL = new Set([
  "ORIGIN_NOT_ALLOWED", "TOKEN_EXPIRED", "TOKEN_INVALID", "SESSION_COMPLETED", "POPUP_BLOCKED",
  "LOAD_FAILED", "NETWORK_ERROR", "INVALID_OPTIONS",
]);

interface RawHandle { close(): void }
interface RawWeir { connect(options: Record<string, unknown>): RawHandle; version: string }

declare global {
  interface Window { Weir?: RawWeir }
}

const loading = new Map<string, Promise<RawWeir>>();

/** weir.js from `baseUrl` (once per page), or the one already loaded. */
export function loadWidget(baseUrl?: string, integrity?: string): Promise<RawWeir> {
  if (window.Weir && typeof window.Weir.connect === "function") return Promise.resolve(window.Weir);
  if (!baseUrl) {
    return Promise.reject(new WeirConnectError("INVALID_OPTIONS", "baseUrl is required when weir.js is not loaded", "loading"));
  }
  const src = new URL("/widget/v1/weir.js", baseUrl).href;
  let pending = loading.get(src);
  if (!pending) {
    pending = new Promise<RawWeir>((resolve, reject) => {
      const script = document.createElement("script");
      script.src = src;
      script.async = true;
      if (integrity) {
        script.integrity = integrity;
        script.crossOrigin = "anonymous";
      }
      script.onload = () => (window.Weir ? resolve(window.Weir)
        : reject(new WeirConnectError("LOAD_FAILED", "weir.js did not define Weir", "loading")));
      script.onerror = () => {
        loading.delete(src);
        reject(new WeirConnectError("LOAD_FAILED", "weir.js could not be loaded from " + src, "loading"));
      };
      document.head.appendChild(script);
    });
    loading.set(src, pending);
  }
  return pending;
}

/**
 * Opens Weir's connect flow and resolves with the new connection, or rejects with a
 * `WeirConnectError`. In `redirect` mode the tab leaves the page and the Promise never settles:
 * read `connection_id` on your `redirectUri` instead.
 */
export async function connect(options: WeirConnectOptions): Promise<WeirConnection> {
  const { onEvent, signal, integrity, ...rest } = options;
  if (signal?.aborted) throw new WeirConnectError("USER_EXIT", "aborted", "loading");
  const weir = await loadWidget(options.baseUrl, integrity);
  return new Promise<WeirConnection>((resolve, reject) => {
    let step: WeirStep = "loading";
    let lastError: { code: string; message: string } | null = null;
    let settled = false;
    let handle: RawHandle | null = null;
    const settle = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener("abort", abort);
      fn();
    };
    const abort = (): void => {
      settle(() => reject(new WeirConnectError("USER_EXIT", "aborted", step)));
      handle?.close();
    };
    const listener = (event: WeirEvent): void => {
      if (event.type === "close") step = event.step ?? step;
      else if (event.type !== "error") step = event.type;
      try {
        onEvent?.(event);
      } finally {
        if (event.type === "success") {
          settle(() => resolve({ connectionId: event.connectionId, sessionId: event.sessionId,
            integration: event.integration ?? null,
            account: event.account ?? { displayName: null, externalId: null } }));
        } else if (event.type === "error") {
          lastError = { code: event.code, message: event.message };
          if (FATAL.has(event.code)) settle(() => reject(new WeirConnectError(event.code, event.message, step)));
        } else if (event.type === "close" && !event.completed) {
          const error = lastError ?? { code: "USER_EXIT", message: "The user closed the connect flow" };
          settle(() => reject(new WeirConnectError(error.code, error.message, step)));
        }
      }
    };
    signal?.addEventListener("abort", abort);
    handle = weir.connect({ ...rest, onEvent: listener });
    if (settled) handle.close();
  });
}

export const Weir = { connect, loadWidget };
export default Weir;
