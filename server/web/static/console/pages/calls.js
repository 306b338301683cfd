// The call log: every action and proxy call made with a connection, of a recent period, narrowed
// by the filters the API supports; each row opens to its ids and error code.
import { useState } from "preact/hooks";
import { Empty, Field, More, Page, Status, Table, Time, WorkspacePicker, html, usePaged } from "../lib/ui.js";
import { Since, TextFilter, sinceOf } from "../lib/log-filters.js";

const CALLS = `query ConsoleCalls($filter: CallLogFilter, $first: Int, $after: String) {
  calls(filter: $filter, first: $first, after: $after) {
    edges { node {
      id kind integrationName connectionId workspaceId apiKeyId endUserId action method path
      status httpStatus errorCode durationMs createdAt
    } }
    pageInfo { hasNextPage endCursor }
  }
}`;

function what(call) {
  if (call.kind === "ACTION") return html`<code class="nowrap">${call.action || "?"}</code>`;
  return html`<code>${call.method || ""} ${call.path || ""}</code>`;
}

function Details({ call }) {
  return html`<details>
    <summary>Details</summary>
    <dl class="facts">
      <dt>Id</dt><dd class="mono">${call.id}</dd>
      <dt>Connection</dt><dd>${call.connectionId ? html`<a class="mono" href=${`#/connections/${call.connectionId}`}>${call.connectionId}</a>` : html`<span class="muted">none</span>`}</dd>
      <dt>Workspace</dt><dd class="mono">${call.workspaceId || "—"}</dd>
      <dt>API key</dt><dd class="mono">${call.apiKeyId || "—"}</dd>
      <dt>End user</dt><dd class="mono">${call.endUserId || "—"}</dd>
      <dt>Error code</dt><dd>${call.errorCode ? html`<code>${call.errorCode}</code>` : html`<span class="muted">none</span>`}</dd>
    </dl>
  </details>`;
}

export default function Calls({ query }) {
  const [workspaceId, setWorkspaceId] = useState(query.get("workspace") || "");
  const [kind, setKind] = useState(query.get("kind") || "");
  const [status, setStatus] = useState(query.get("status") || "");
  const [integrationName, setIntegrationName] = useState(query.get("integration") || "");
  const [connectionId, setConnectionId] = useState(query.get("connection") || "");
  const [action, setAction] = useState(query.get("action") || "");
  const [period, setPeriod] = useState(query.get("period") || "day");
  const [since, setSince] = useState(() => sinceOf(period));
  const filter = {
    since,
    ...(workspaceId && { workspaceId }),
    ...(kind && { kind }),
    ...(status && { status }),
    ...(integrationName && { integrationName }),
    ...(connectionId && { connectionId }),
    ...(action && { action }),
  };
  const list = usePaged(CALLS, { filter }, (data) => data.calls, [JSON.stringify(filter)], 50);
  const narrowed = workspaceId || kind || status || integrationName || connectionId || action;
  const columns = [
    { label: "Time", render: (call) => html`<${Time} value=${call.createdAt} />` },
    { label: "Integration", render: (call) => html`${call.integrationName} <span class="muted">${call.kind.toLowerCase()}</span>` },
    { label: "Call", render: what },
    { label: "Outcome", render: (call) => html`<${Status} value=${call.status} />${call.httpStatus !== null && html` <code>HTTP ${call.httpStatus}</code>`}${call.errorCode && html` <code>${call.errorCode}</code>`}` },
    { label: "Took", render: (call) => `${call.durationMs} ms` },
    { label: "More", render: (call) => html`<${Details} call=${call} />` },
  ];
  return html`<${Page} title="Call log">
    <div class="filters">
      <${Since} value=${period} onChange=${(value) => { setPeriod(value); setSince(sinceOf(value)); }} />
      <${WorkspacePicker} value=${workspaceId} onChange=${setWorkspaceId} />
      <${Field} label="Kind">
        ${(id) => html`<select id=${id} value=${kind} onChange=${(event) => setKind(event.currentTarget.value)}>
          <option value="">Actions and proxy</option><option value="ACTION">Actions</option><option value="PROXY">Proxy</option>
        </select>`}
      <//>
      <${Field} label="Outcome">
        ${(id) => html`<select id=${id} value=${status} onChange=${(event) => setStatus(event.currentTarget.value)}>
          <option value="">Any outcome</option><option value="SUCCEEDED">succeeded</option><option value="FAILED">failed</option>
        </select>`}
      <//>
      <${TextFilter} label="Integration" hint="e.g. slack" value=${integrationName} onApply=${setIntegrationName} />
      <${TextFilter} label="Connection id" value=${connectionId} onApply=${setConnectionId} />
      <${TextFilter} label="Action" value=${action} onApply=${setAction} />
      <button type="button" class="secondary" onClick=${() => { setSince(sinceOf(period)); list.reload(); }}>Refresh</button>
    </div>
    <p class="hint">Oldest first, from ${new Date(since).toLocaleString()}; bodies and secrets are never logged.</p>
    <${Table} caption="Calls, oldest first" columns=${columns} rows=${list.items}
      empty=${!list.loading && !list.error && html`<${Empty} title=${narrowed ? "No call matches these filters" : "No calls in this period"}>
        ${narrowed
          ? "Clear a filter or pick a longer period."
          : html`Calls appear here when a program runs an action (<code>executeAction</code>) or sends a request through the proxy (<code>/proxy/…</code>) with a connection. Pick a longer period to see older ones.`}
      <//>`} />
    <${More} list=${list} />
  <//>`;
}
