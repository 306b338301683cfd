// The audit log: every change made through the API or the command line, of a recent period,
// narrowed by the filters the API supports; each entry says who did what to which object, and
// opens to its ids and error code.
import { useState } from "preact/hooks";
import { Empty, Field, More, Page, Status, Table, Time, WorkspacePicker, html, usePaged, useQuery } from "../lib/ui.js";
import { Since, TextFilter, sinceOf } from "../lib/log-filters.js";

const ENTRIES = `query ConsoleAuditLog($filter: AuditLogFilter, $first: Int, $after: String) {
  auditLog(filter: $filter, first: $first, after: $after) {
    edges { node {
      id actorKind actorId endUserId workspaceId operation objectType objectId outcome errorCode createdAt
    } }
    pageInfo { hasNextPage endCursor }
  }
}`;
const KEYS = `query ConsoleAuditKeys { apiKeys(first: 100) { edges { node { id name } } } }`;

const ACTORS = { API_KEY: "API key", CONNECT_TOKEN: "Connect session", OPERATOR: "Operator (command line)" };

function Actor({ entry, keyNames }) {
  if (entry.actorKind === "API_KEY" && entry.actorId) {
    const name = keyNames.get(entry.actorId);
    return html`<span>API key ${name ? html`<strong>${name}</strong>` : html`<code>${entry.actorId}</code>`}</span>`;
  }
  return html`<span>${ACTORS[entry.actorKind] || entry.actorKind}${entry.actorId && html` <code>${entry.actorId}</code>`}</span>`;
}

function Target({ entry }) {
  if (!entry.objectId && !entry.objectType) return html`<span class="muted">—</span>`;
  return html`<span>${entry.objectType && html`${entry.objectType.replaceAll("_", " ")} `}${entry.objectId && html`<code>${entry.objectId}</code>`}</span>`;
}

function Details({ entry }) {
  return html`<details>
    <summary>Details</summary>
    <dl class="facts">
      <dt>Id</dt><dd class="mono">${entry.id}</dd>
      <dt>Actor</dt><dd>${ACTORS[entry.actorKind] || entry.actorKind} <code>${entry.actorId || "—"}</code></dd>
      <dt>Workspace</dt><dd class="mono">${entry.workspaceId || "—"}</dd>
      <dt>End user</dt><dd class="mono">${entry.endUserId || "—"}</dd>
      <dt>Object</dt><dd>${entry.objectType || "—"} <code>${entry.objectId || ""}</code></dd>
      <dt>Error code</dt><dd>${entry.errorCode ? html`<code>${entry.errorCode}</code>` : html`<span class="muted">none</span>`}</dd>
    </dl>
  </details>`;
}

export default function Audit({ query }) {
  const [workspaceId, setWorkspaceId] = useState(query.get("workspace") || "");
  const [outcome, setOutcome] = useState(query.get("outcome") || "");
  const [operation, setOperation] = useState(query.get("operation") || "");
  const [actorId, setActorId] = useState(query.get("actor") || "");
  const [objectId, setObjectId] = useState(query.get("object") || "");
  const [period, setPeriod] = useState(query.get("period") || "day");
  const [since, setSince] = useState(() => sinceOf(period));
  const filter = {
    since,
    ...(workspaceId && { workspaceId }),
    ...(outcome && { outcome }),
    ...(operation && { operation }),
    ...(actorId && { actorId }),
    ...(objectId && { objectId }),
  };
  const list = usePaged(ENTRIES, { filter }, (data) => data.auditLog, [JSON.stringify(filter)], 50);
  const keys = useQuery(KEYS, {});
  const keyNames = new Map(keys.data ? keys.data.apiKeys.edges.map((edge) => [edge.node.id, edge.node.name]) : []);
  const narrowed = workspaceId || outcome || operation || actorId || objectId;
  const columns = [
    { label: "Time", render: (entry) => html`<${Time} value=${entry.createdAt} />` },
    { label: "Actor", render: (entry) => html`<${Actor} entry=${entry} keyNames=${keyNames} />` },
    { label: "Action", render: (entry) => html`<code class="nowrap">${entry.operation}</code>` },
    { label: "Target", render: (entry) => html`<${Target} entry=${entry} />` },
    { label: "Outcome", render: (entry) => html`<${Status} value=${entry.outcome} />${entry.errorCode && html` <code>${entry.errorCode}</code>`}` },
    { label: "More", render: (entry) => html`<${Details} entry=${entry} />` },
  ];
  return html`<${Page} title="Audit log">
    <div class="filters">
      <${Since} value=${period} onChange=${(value) => { setPeriod(value); setSince(sinceOf(value)); }} />
      <${WorkspacePicker} value=${workspaceId} onChange=${setWorkspaceId} />
      <${Field} label="Outcome">
        ${(id) => html`<select id=${id} value=${outcome} onChange=${(event) => setOutcome(event.currentTarget.value)}>
          <option value="">Any outcome</option><option value="SUCCEEDED">succeeded</option><option value="FAILED">failed</option>
        </select>`}
      <//>
      <${TextFilter} label="Operation" hint="A mutation, e.g. createApiKey" value=${operation} onApply=${setOperation} />
      <${TextFilter} label="Actor id" hint="An API key or connect session id" value=${actorId} onApply=${setActorId} />
      <${TextFilter} label="Object id" value=${objectId} onApply=${setObjectId} />
      <button type="button" class="secondary" onClick=${() => { setSince(sinceOf(period)); list.reload(); }}>Refresh</button>
    </div>
    <p class="hint">Oldest first, from ${new Date(since).toLocaleString()}.</p>
    <${Table} caption="Audit log, oldest first" columns=${columns} rows=${list.items}
      empty=${!list.loading && !list.error && html`<${Empty} title=${narrowed ? "No change matches these filters" : "No changes in this period"}>
        ${narrowed
          ? "Clear a filter or pick a longer period."
          : "Every change made through the API (a mutation) or the command line is recorded here: make one, e.g. create an API key, or pick a longer period."}
      <//>`} />
    <${More} list=${list} />
  <//>`;
}
