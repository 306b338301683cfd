// Building blocks every page uses: the html template tag, data hooks over the API, and a few
// accessible components (tables, empty states, fields, confirmations, one-time secrets).
import { h } from "preact";
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import htm from "htm";
import { ApiError, gql, onFeedResumed, subscribe } from "./api.js";

export const html = htm.bind(h);

/** Go to a console route, e.g. navigate("/syncs/sync_123"). */
export function navigate(path) {
  location.hash = `#${path}`;
}

/** Run `query` now and whenever `deps` change: { data, error, loading, reload }. */
export function useQuery(query, variables, deps = []) {
  const [state, setState] = useState({ data: null, error: null, loading: true });
  const serial = useRef(0);
  const reload = useCallback(() => {
    const mine = ++serial.current;
    setState((previous) => ({ ...previous, loading: true }));
    gql(query, variables).then(
      (data) => mine === serial.current && setState({ data, error: null, loading: false }),
      (error) => mine === serial.current && setState({ data: null, error, loading: false }),
    );
  }, deps); // eslint-disable-line
  useEffect(() => {
    reload();
  }, [reload]);
  useEffect(() => onFeedResumed(reload), [reload]);
  return { ...state, reload };
}

/**
 * A paginated connection field: `pick(data)` returns `{ edges { node }, pageInfo { hasNextPage
 * endCursor } }`. The query takes `$first` and `$after`. Returns { items, error, loading,
 * hasMore, more, reload }.
 */
export function usePaged(query, variables, pick, deps = [], pageSize = 25) {
  const [state, setState] = useState({ items: [], error: null, loading: true, cursor: null, hasMore: false });
  const serial = useRef(0);
  const load = useCallback(
    (after, previous) => {
      const mine = ++serial.current;
      setState((current) => ({ ...current, loading: true }));
      gql(query, { ...variables, first: pageSize, after }).then(
        (data) => {
          if (mine !== serial.current) return;
          const page = pick(data);
          setState({
            items: [...previous, ...page.edges.map((edge) => edge.node)],
            error: null,
            loading: false,
            cursor: page.pageInfo.endCursor,
            hasMore: page.pageInfo.hasNextPage,
          });
        },
        (error) => mine === serial.current && setState((current) => ({ ...current, error, loading: false })),
      );
    },
    deps, // eslint-disable-line
  );
  useEffect(() => load(null, []), [load]);
  useEffect(() => onFeedResumed(() => load(null, [])), [load]);
  return {
    ...state,
    more: () => load(state.cursor, state.items),
    reload: () => load(null, []),
    /** Replace or add one item (by id), e.g. from a subscription event. */
    upsert: (node, atStart = false) =>
      setState((current) => {
        const index = current.items.findIndex((item) => item.id === node.id);
        if (index >= 0) {
          const items = current.items.slice();
          items[index] = { ...items[index], ...node };
          return { ...current, items };
        }
        return { ...current, items: atStart ? [node, ...current.items] : [...current.items, node] };
      }),
  };
}

/** Subscribe while mounted (and again when `deps` change); `onData` gets each event's data. */
export function useSubscription(query, variables, onData, deps = []) {
  const handler = useRef(onData);
  handler.current = onData;
  const [error, setError] = useState(null);
  useEffect(() => {
    setError(null);
    return subscribe(query, variables, (data) => handler.current(data), setError);
  }, deps); // eslint-disable-line
  return error;
}

/** A mutation with its pending state and error: [run, { pending, error }]. */
export function useMutation(mutation) {
  const [state, setState] = useState({ pending: false, error: null });
  const run = useCallback(
    async (variables) => {
      setState({ pending: true, error: null });
      try {
        const data = await gql(mutation, variables);
        setState({ pending: false, error: null });
        return data;
      } catch (error) {
        setState({ pending: false, error });
        throw error;
      }
    },
    [mutation],
  );
  return [run, state];
}

/** Swallow the rejection of a mutation whose error the page already shows via useMutation. */
export function shown(promise) {
  return promise.catch((error) => {
    if (!(error instanceof ApiError)) throw error;
    return null;
  });
}

export function Page({ title, actions = null, children }) {
  useEffect(() => {
    document.title = `${title} · Weir console`;
  }, [title]);
  return html`<section class="page" aria-labelledby="page-title">
    <header class="page-header">
      <h1 id="page-title" tabindex="-1">${title}</h1>
      ${actions && html`<div class="page-actions">${actions}</div>`}
    </header>
    ${children}
  </section>`;
}

/** An empty state: what is missing and what to do next. */
export function Empty({ title, children, action = null }) {
  return html`<div class="empty" role="status">
    <h2>${title}</h2>
    <p>${children}</p>
    ${action}
  </div>`;
}

/** An API error, with its stable code. */
export function ErrorNote({ error }) {
  if (!error) return null;
  const fields = error.fields || [];
  return html`<div class="error" role="alert">
    <strong>${error.message}</strong>
    ${error.code && html` <code class="code">${error.code}</code>`}
    ${fields.length > 1 && html`<ul>${fields.map((f) => html`<li><code>${f.field}</code>: ${f.message}</li>`)}</ul>`}
  </div>`;
}

export function Loading({ what = "Loading" }) {
  return html`<p class="loading" role="status">${what}…</p>`;
}

/**
 * A table with a caption (for screen readers) and columns `{ label, render(row) }`; shows
 * `empty` when there are no rows.
 */
export function Table({ caption, columns, rows, empty = null, rowKey = (row) => row.id }) {
  if (!rows.length && empty) return empty;
  return html`<div class="table-wrap">
    <table>
      <caption class="visually-hidden">${caption}</caption>
      <thead><tr>${columns.map((column) => html`<th scope="col">${column.label}</th>`)}</tr></thead>
      <tbody>
        ${rows.map(
          (row) => html`<tr key=${rowKey(row)}>
            ${columns.map((column) => html`<td data-label=${column.label}>${column.render(row)}</td>`)}
          </tr>`,
        )}
      </tbody>
    </table>
  </div>`;
}

/** "Load more" under a paginated list. */
export function More({ list }) {
  if (list.error) return html`<${ErrorNote} error=${list.error} />`;
  if (list.loading) return html`<${Loading} />`;
  if (!list.hasMore) return null;
  return html`<button type="button" class="secondary" onClick=${list.more}>Load more</button>`;
}

const TONES = {
  ACTIVE: "good", SUCCEEDED: "good", WORKING: "good", DELIVERED: "good", ENABLED: "good",
  RUNNING: "busy", QUEUED: "busy", PENDING: "busy", RETRYING: "busy",
  FAILED: "bad", ERROR: "bad", NEEDS_REAUTHORIZATION: "bad", REVOKED: "bad", DEAD: "bad",
  DEGRADED: "warn", MISSING_SCOPES: "warn", CANCELLED: "muted", DISABLED: "muted", EXPIRED: "muted",
};

/** A status word with a colour that is never the only signal (the word is always shown). */
export function Status({ value }) {
  if (!value) return null;
  const tone = TONES[value] || "muted";
  return html`<span class=${`status status-${tone}`}>${value.replaceAll("_", " ").toLowerCase()}</span>`;
}

/** A time as the reader's local date and time, with the exact ISO value on hover. */
export function Time({ value }) {
  if (!value) return html`<span class="muted">—</span>`;
  const date = new Date(value);
  return html`<time datetime=${value} title=${value}>${date.toLocaleString()}</time>`;
}

export function Duration({ from, to }) {
  if (!from) return html`<span class="muted">—</span>`;
  const seconds = Math.max(0, ((to ? new Date(to) : new Date()) - new Date(from)) / 1000);
  const text = seconds < 60 ? `${seconds.toFixed(1)} s` : `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
  return html`<span>${text}</span>`;
}

let fieldSerial = 0;

/** A labelled form field; `children` is a function of the input's id. `error` names the problem. */
export function Field({ label, hint = null, error = null, children }) {
  const id = useRef(`field-${++fieldSerial}`).current;
  const described = [hint && `${id}-hint`, error && `${id}-error`].filter(Boolean).join(" ") || undefined;
  return html`<div class=${`field${error ? " invalid" : ""}`}>
    <label for=${id}>${label}</label>
    ${children(id, described)}
    ${hint && html`<p class="hint" id=${`${id}-hint`}>${hint}</p>`}
    ${error && html`<p class="field-error" id=${`${id}-error`}>${error}</p>`}
  </div>`;
}

/**
 * A button that asks first, in a modal dialog (focus moves into it; Escape cancels). `onConfirm`
 * may return a promise; the dialog closes when it settles.
 */
export function ConfirmButton({ label, title, children, confirmLabel = label, onConfirm, danger = true, disabled = false }) {
  const dialog = useRef(null);
  const titleId = useRef(`dialog-${++fieldSerial}`).current;
  const [pending, setPending] = useState(false);
  const open = () => dialog.current && dialog.current.showModal();
  const close = () => dialog.current && dialog.current.close();
  const confirm = async () => {
    setPending(true);
    try {
      await onConfirm();
    } finally {
      setPending(false);
      close();
    }
  };
  return html`<span>
    <button type="button" class=${danger ? "danger" : "secondary"} onClick=${open} disabled=${disabled}>${label}</button>
    <dialog ref=${dialog} aria-labelledby=${titleId}>
      <h2 id=${titleId}>${title}</h2>
      <div>${children}</div>
      <div class="dialog-actions">
        <button type="button" class="secondary" onClick=${close}>Keep it</button>
        <button type="button" class=${danger ? "danger" : ""} onClick=${confirm} disabled=${pending}>${confirmLabel}</button>
      </div>
    </dialog>
  </span>`;
}

/** A secret shown once: readable, selectable and copyable, with a warning that it will not return. */
export function OneTimeSecret({ label, value, onDone }) {
  const [copied, setCopied] = useState(false);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(value);
      setCopied(true);
    } catch (error) {
      setCopied(false);
    }
  };
  return html`<div class="secret" role="region" aria-label=${label}>
    <p><strong>${label}</strong>: copy it now, it is shown only once.</p>
    <code class="secret-value" tabindex="0">${value}</code>
    <div class="row">
      <button type="button" class="secondary" onClick=${copy}>${copied ? "Copied" : "Copy"}</button>
      ${onDone && html`<button type="button" onClick=${onDone}>Done</button>`}
    </div>
  </div>`;
}

/** A short-lived note that screen readers announce (e.g. "Run queued"). */
export function useNotice() {
  const [notice, setNotice] = useState(null);
  useEffect(() => {
    if (!notice) return undefined;
    const timer = setTimeout(() => setNotice(null), 6000);
    return () => clearTimeout(timer);
  }, [notice]);
  const view = html`<p class="notice" role="status" aria-live="polite">${notice || ""}</p>`;
  return [view, setNotice];
}

/** Pick a workspace (most pages narrow by one); `value` "" means all of them. */
export function WorkspacePicker({ value, onChange, allowAll = true, label = "Workspace" }) {
  const { data, error } = useQuery(`query ConsoleWorkspaces { workspaces(first: 100) { edges { node { id name } } } }`, {});
  if (error) return html`<${ErrorNote} error=${error} />`;
  const workspaces = data ? data.workspaces.edges.map((edge) => edge.node) : [];
  return html`<${Field} label=${label}>
    ${(id) => html`<select id=${id} value=${value} onChange=${(event) => onChange(event.currentTarget.value)}>
      ${allowAll && html`<option value="">All workspaces</option>`}
      ${workspaces.map((workspace) => html`<option value=${workspace.id}>${workspace.name}</option>`)}
    </select>`}
  <//>`;
}
