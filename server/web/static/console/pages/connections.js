// Connections: the list (filters in the URL, health and status live), one connection (facts,
// its syncs, test, reconnect link, delete), and a new connection made through the same hosted
// connect page end users see, followed live until it completes.
import { useEffect, useRef, useState } from "preact/hooks";
import { gql, subscribe } from "../lib/api.js";
import {
  ConfirmButton, Empty, ErrorNote, Field, Loading, More, Page, Status, Table, Time, WorkspacePicker,
  html, navigate, useMutation, usePaged, useQuery,
} from "../lib/ui.js";

const FIELDS = `id integrationName authType scope externalId displayName status statusReason health healthReason
  lastCheckedAt nextCheckAt credentialPreview expiresAt lastRefreshedAt createdAt
  integration { displayName } workspace { id name } endUser { id externalId displayName }`;

const CONNECTIONS = `query ConsoleConnections($filter: ConnectionFilter, $first: Int, $after: String) {
  connections(filter: $filter, first: $first, after: $after) {
    edges { node { ${FIELDS} } } pageInfo { hasNextPage endCursor }
  }
}`;
// "Needs attention" is anything not WORKING; the API filters by one health at a time, so the
// console asks for each of the other three (up to 100 each) and merges them.
const ATTENTION = ["DEGRADED", "NEEDS_REAUTHORIZATION", "MISSING_SCOPES"];
const ATTENTION_QUERY = `query ConsoleConnectionsAttention(
  $degraded: ConnectionFilter!, $reauthorize: ConnectionFilter!, $scopes: ConnectionFilter!) {
  degraded: connections(filter: $degraded, first: 100) { edges { node { ${FIELDS} } } pageInfo { hasNextPage } }
  reauthorize: connections(filter: $reauthorize, first: 100) { edges { node { ${FIELDS} } } pageInfo { hasNextPage } }
  scopes: connections(filter: $scopes, first: 100) { edges { node { ${FIELDS} } } pageInfo { hasNextPage } }
}`;
const CONNECTION = `query ConsoleConnection($id: ID!) { connection(id: $id) { ${FIELDS} parameters } }`;
const WORKSPACES = `query ConsoleConnectionWorkspaces { workspaces(first: 100) { edges { node { id name } } } }`;
const INTEGRATIONS = `query ConsoleConnectionIntegrations($workspaceId: ID) {
  integrations(workspaceId: $workspaceId) { name displayName authTypes requiresConnection description }
}`;
const END_USERS = `query ConsoleConnectionEndUsers($workspaceId: ID) {
  endUsers(workspaceId: $workspaceId, first: 100) { edges { node { id externalId displayName } } }
}`;
const SYNCS = `query ConsoleConnectionSyncs($connectionId: ID!) {
  eltSyncs(filter: { connectionId: $connectionId }, first: 100) {
    edges { node { id destinationSchemaName enabled syncInterval nextRunAt lastRun { id status queuedAt } } }
  }
}`;
const TEST = `mutation ConsoleTestConnection($id: ID!) { testConnection(id: $id) { ok message connection { ${FIELDS} parameters } } }`;
const DELETE = `mutation ConsoleDeleteConnection($id: ID!) { deleteConnection(id: $id) { deletedId } }`;
const RECONNECT = `query ConsoleReconnectSession($id: ID!) {
  connection(id: $id) { id health reconnectSession { id connectUrl expiresAt } }
}`;
const CREATE_SESSION = `mutation ConsoleCreateConnectSession($input: CreateConnectSessionInput!) {
  createConnectSession(input: $input) { connectUrl expiresAt session { id status } }
}`;
const CANCEL_SESSION = `mutation ConsoleCancelConnectSession($id: ID!) { cancelConnectSession(id: $id) { id status } }`;
const SESSION = `query ConsoleConnectSessionNow($id: ID!) {
  connectSession(id: $id) { id status integrationName connectionId errorCode errorMessage expiresAt }
}`;
const SESSION_EVENTS = `subscription ConsoleConnectSession($id: ID!) {
  connectSessionUpdated(id: $id) { id status integrationName connectionId errorCode errorMessage expiresAt }
}`;
const STATUS_EVENTS = `subscription ConsoleConnectionStatus($workspaceId: ID) {
  connectionStatusChanged(workspaceId: $workspaceId, includeCurrent: true) {
    connectionId status reason connection { ${FIELDS} }
  }
}`;
const HEALTH_EVENTS = `subscription ConsoleConnectionHealth($workspaceId: ID) {
  connectionHealthChanged(workspaceId: $workspaceId, includeCurrent: true) {
    connectionId health reason status connection { ${FIELDS} }
  }
}`;

const STATUSES = ["ACTIVE", "ERROR"];
const HEALTHS = ["WORKING", ...ATTENTION];
const FILTERS = ["workspace", "integration", "status", "health", "endUser"];

function who(connection) {
  return connection.displayName || connection.externalId || connection.id;
}

function endUserName(endUser) {
  return endUser.displayName ? `${endUser.displayName} (${endUser.externalId})` : endUser.externalId;
}

function words(value) {
  return value.replaceAll("_", " ").toLowerCase();
}

/**
 * Status and health changes of the connections in `workspaceIds` (null: the organization-wide
 * ones), as they happen: `onChange(connection)` with the connection now. Each subscription starts
 * with the current state, which closes the gap between the page's read and the subscription.
 */
function useConnectionEvents(workspaceIds, onChange) {
  const handler = useRef(onChange);
  handler.current = onChange;
  const key = workspaceIds.join(",");
  useEffect(() => {
    const stops = [];
    for (const workspaceId of workspaceIds) {
      const variables = workspaceId ? { workspaceId } : {};
      const take = (event) => event && event.connection && handler.current(event.connection);
      stops.push(subscribe(STATUS_EVENTS, variables, (data) => take(data.connectionStatusChanged)));
      stops.push(subscribe(HEALTH_EVENTS, variables, (data) => take(data.connectionHealthChanged)));
    }
    return () => stops.forEach((stop) => stop());
  }, [key]); // eslint-disable-line
}

function Health({ connection }) {
  return html`<${Status} value=${connection.health} />
    ${connection.healthReason && html`<span class="connection-reason">${connection.healthReason}</span>`}`;
}

// -- the list ---------------------------------------------------------------------------------

function filterOf(query) {
  const filter = {};
  if (query.get("workspace")) filter.workspaceId = query.get("workspace");
  if (query.get("integration")) filter.integrationName = query.get("integration");
  if (STATUSES.includes(query.get("status"))) filter.status = query.get("status");
  if (HEALTHS.includes(query.get("health"))) filter.health = query.get("health");
  if (query.get("endUser")) filter.endUserId = query.get("endUser");
  return filter;
}

function matches(filter, connection) {
  return (
    (!filter.workspaceId || (connection.workspace && connection.workspace.id === filter.workspaceId)) &&
    (!filter.integrationName || connection.integrationName === filter.integrationName) &&
    (!filter.status || connection.status === filter.status) &&
    (!filter.health || connection.health === filter.health) &&
    (!filter.endUserId || (connection.endUser && connection.endUser.id === filter.endUserId))
  );
}

function setFilter(query, name, value) {
  const next = new URLSearchParams();
  for (const key of FILTERS) {
    const current = key === name ? value : query.get(key);
    if (current) next.set(key, current);
  }
  // Another workspace has other end users.
  if (name === "workspace") next.delete("endUser");
  const search = next.toString();
  navigate(`/connections${search ? `?${search}` : ""}`);
}

function Filters({ query }) {
  const workspaceId = query.get("workspace") || "";
  const integrations = useQuery(INTEGRATIONS, { workspaceId: workspaceId || null }, [workspaceId]);
  const endUsers = useQuery(END_USERS, { workspaceId: workspaceId || null }, [workspaceId]);
  const choose = (name) => (event) => setFilter(query, name, event.currentTarget.value);
  const select = (label, name, options, all) => html`<${Field} label=${label}>
    ${(id) => html`<select id=${id} value=${query.get(name) || ""} onChange=${choose(name)}>
      <option value="">${all}</option>
      ${options.map(([value, text]) => html`<option value=${value}>${text}</option>`)}
    </select>`}
  <//>`;
  const integrationOptions = (integrations.data ? integrations.data.integrations : [])
    .filter((integration) => integration.requiresConnection)
    .map((integration) => [integration.name, integration.displayName]);
  const endUserOptions = (endUsers.data ? endUsers.data.endUsers.edges : []).map(({ node }) => [node.id, endUserName(node)]);
  return html`<div class="filters">
    <${WorkspacePicker} value=${workspaceId} onChange=${(value) => setFilter(query, "workspace", value)} />
    ${select("Integration", "integration", integrationOptions, "All integrations")}
    ${select("Status", "status", STATUSES.map((value) => [value, words(value)]), "Any status")}
    ${select("Health", "health", [["attention", "needs attention (not working)"], ...HEALTHS.map((value) => [value, words(value)])], "Any health")}
    ${select("End user", "endUser", endUserOptions, "Any end user")}
  </div>
  <${ErrorNote} error=${integrations.error || endUsers.error} />`;
}

/** The rows that need attention (anything not WORKING), merged from one query per health. */
function useAttention(filter) {
  const { health, ...rest } = filter;
  const variables = {
    degraded: { ...rest, health: "DEGRADED" },
    reauthorize: { ...rest, health: "NEEDS_REAUTHORIZATION" },
    scopes: { ...rest, health: "MISSING_SCOPES" },
  };
  const result = useQuery(ATTENTION_QUERY, variables, [JSON.stringify(rest)]);
  const [live, setLive] = useState({});
  useEffect(() => setLive({}), [result.data]);
  const parts = result.data ? [result.data.degraded, result.data.reauthorize, result.data.scopes] : [];
  const items = parts
    .flatMap((part) => part.edges.map((edge) => edge.node))
    .sort((a, b) => (a.createdAt < b.createdAt ? -1 : 1))
    .map((node) => ({ ...node, ...(live[node.id] || {}) }));
  return {
    items,
    error: result.error,
    loading: result.loading,
    truncated: parts.some((part) => part.pageInfo.hasNextPage),
    upsert: (node) => setLive((current) => ({ ...current, [node.id]: node })),
  };
}

const COLUMNS = [
  { label: "Integration", render: (c) => c.integration.displayName },
  { label: "Name", render: (c) => html`<a href=${`#/connections/${c.id}`}>${who(c)}</a>` },
  { label: "End user", render: (c) => (c.endUser ? html`<a href=${`#/end-users/${c.endUser.id}`}>${endUserName(c.endUser)}</a>` : html`<span class="muted">none</span>`) },
  { label: "Workspace", render: (c) => (c.workspace ? html`<a href=${`#/workspaces/${c.workspace.id}`}>${c.workspace.name}</a>` : html`<span class="muted">organization</span>`) },
  { label: "Status", render: (c) => html`<${Status} value=${c.status} />` },
  { label: "Health", render: (c) => html`<${Health} connection=${c} />` },
  { label: "Created", render: (c) => html`<${Time} value=${c.createdAt} />` },
];

/** The rows of `list` (items, loading, error, upsert), kept current by the live events. */
function ConnectionRows({ list, filter, filtered }) {
  const workspaces = useQuery(WORKSPACES, {});
  const scopes = filter.workspaceId
    ? [filter.workspaceId]
    : [null, ...(workspaces.data ? workspaces.data.workspaces.edges.map((edge) => edge.node.id) : [])];
  // Rows on the page change in place: a row whose health moves out of the filter stays
  // (updated), so that it does not vanish under the reader's eyes. A connection not on the page
  // joins it when it matches the filters and the whole list is shown (it is the newest).
  useConnectionEvents(scopes, (connection) => {
    if (list.items.some((item) => item.id === connection.id)) list.upsert(connection);
    else if (list.hasMore === false && !list.loading && matches(filter, connection)) list.upsert(connection);
  });
  const empty = !list.loading && !list.error && (filtered
    ? html`<${Empty} title="No connection matches these filters" action=${html`<a class="button secondary" href="#/connections">Show all connections</a>`}>
        Change or clear the filters above.
      <//>`
    : html`<${Empty} title="No connections yet" action=${html`<a class="button" href="#/connections/new">Create a connection</a>`}>
        A connection holds one account at a third-party app. Create one here through the hosted connect page, or let your end users connect from your app with a connect session.
      <//>`);
  return html`<${ErrorNote} error=${workspaces.error} />
    <${Table} caption="Connections" columns=${COLUMNS} rows=${list.items} empty=${empty} />`;
}

function PagedConnections({ filter }) {
  const list = usePaged(CONNECTIONS, { filter }, (data) => data.connections, [JSON.stringify(filter)]);
  return html`<${ConnectionRows} list=${list} filter=${filter} filtered=${Object.keys(filter).length > 0} />
    <${More} list=${list} />`;
}

function AttentionConnections({ filter }) {
  const list = useAttention(filter);
  return html`<p class="hint">Needs attention: every connection whose health is not working (degraded, needs reauthorization or missing scopes).
      ${list.truncated && " Only the first 100 of each are shown: narrow the filters to see the others."}</p>
    <${ConnectionRows} list=${list} filter=${filter} filtered=${true} />
    <${ErrorNote} error=${list.error} />
    ${list.loading && html`<${Loading} />`}`;
}

function ConnectionList({ query }) {
  const filter = filterOf(query);
  return html`<${Page} title="Connections" actions=${html`<a class="button" href="#/connections/new">New connection</a>`}>
    <${Filters} query=${query} />
    ${query.get("health") === "attention"
      ? html`<${AttentionConnections} filter=${filter} />`
      : html`<${PagedConnections} filter=${filter} />`}
  <//>`;
}

// -- one connection ---------------------------------------------------------------------------

function ReconnectLink({ connection }) {
  const [state, setState] = useState({ session: undefined, error: null, pending: false });
  const [copied, setCopied] = useState(false);
  if (connection.health !== "NEEDS_REAUTHORIZATION") {
    return html`<p class="muted">A reconnect link exists only while a connection needs reauthorization; this one is ${words(connection.health)}.</p>`;
  }
  const make = async () => {
    setState({ session: undefined, error: null, pending: true });
    try {
      const data = await gql(RECONNECT, { id: connection.id });
      setState({ session: data.connection.reconnectSession, error: null, pending: false });
    } catch (error) {
      setState({ session: undefined, error, pending: false });
    }
  };
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(state.session.connectUrl);
      setCopied(true);
    } catch (error) {
      setCopied(false);
    }
  };
  const session = state.session;
  return html`<div>
    <p>Send this link to the end user: it opens the hosted connect page, and when they sign in again this same connection (same id, its syncs kept) works again. It works once, until it expires.</p>
    <button type="button" class="secondary" onClick=${make} disabled=${state.pending}>${session ? "Show the link again" : "Reconnect link"}</button>
    <${ErrorNote} error=${state.error} />
    ${session === null && html`<p role="status">No reconnect link: the connection no longer needs reauthorization.</p>`}
    ${session && html`<div class="secret" role="region" aria-label="Reconnect link">
      <p><strong>Reconnect link</strong>, single use, expires <${Time} value=${session.expiresAt} />. It holds a connect token: give it to this end user only.</p>
      <code class="secret-value" tabindex="0">${session.connectUrl}</code>
      <div class="row"><button type="button" class="secondary" onClick=${copy}>${copied ? "Copied" : "Copy"}</button></div>
    </div>`}
  </div>`;
}

function ConnectionSyncs({ id }) {
  const { data, error, loading } = useQuery(SYNCS, { connectionId: id }, [id]);
  const create = html`<a class="button" href=${`#/syncs/new?connection=${encodeURIComponent(id)}`}>Create a sync</a>`;
  if (error) return html`<${ErrorNote} error=${error} />`;
  if (loading && !data) return html`<${Loading} />`;
  const syncs = data.eltSyncs.edges.map((edge) => edge.node);
  const columns = [
    { label: "Sync", render: (sync) => html`<a href=${`#/syncs/${sync.id}`}>${sync.destinationSchemaName}</a>` },
    { label: "State", render: (sync) => html`<${Status} value=${sync.enabled ? "ENABLED" : "DISABLED"} />` },
    { label: "Last run", render: (sync) => (sync.lastRun ? html`<a href=${`#/runs/${sync.lastRun.id}`}><${Status} value=${sync.lastRun.status} /></a> <${Time} value=${sync.lastRun.queuedAt} />` : html`<span class="muted">never</span>`) },
    { label: "Next run", render: (sync) => html`<${Time} value=${sync.nextRunAt} />` },
  ];
  return html`<${Table} caption="Syncs of this connection" columns=${columns} rows=${syncs}
      empty=${html`<${Empty} title="No syncs yet" action=${create}>A sync copies this connection's data into your warehouse on a schedule.<//>`} />
    ${syncs.length > 0 && html`<p>${create}</p>`}`;
}

function ConnectionDetail({ id }) {
  const loaded = useQuery(CONNECTION, { id }, [id]);
  const [connection, setConnection] = useState(null);
  useEffect(() => setConnection(loaded.data ? loaded.data.connection : null), [loaded.data]);
  const [test, testing] = useMutation(TEST);
  const [remove, removing] = useMutation(DELETE);
  const [result, setResult] = useState(null);
  const workspaceId = connection ? (connection.workspace ? connection.workspace.id : null) : undefined;
  useConnectionEvents(workspaceId === undefined ? [] : [workspaceId], (changed) => {
    if (changed.id === id) setConnection((current) => current && { ...current, ...changed });
  });
  if (loaded.error) return html`<${Page} title="Connection"><${ErrorNote} error=${loaded.error} /><p><a href="#/connections">Back to connections</a></p><//>`;
  if (!connection) return html`<${Page} title="Connection"><${Loading} /><//>`;
  const runTest = async () => {
    setResult(null);
    try {
      const data = await test({ id });
      setResult(data.testConnection);
      setConnection(data.testConnection.connection);
    } catch (error) {
      /* shown below */
    }
  };
  const actions = html`
    <button type="button" class="secondary" onClick=${runTest} disabled=${testing.pending}>${testing.pending ? "Testing…" : "Test"}</button>
    <${ConfirmButton} label="Delete" title="Delete this connection?" confirmLabel="Delete connection"
      onConfirm=${async () => {
        try {
          await remove({ id });
          navigate("/connections");
        } catch (error) {
          /* shown below */
        }
      }}>
      <p>Its credentials are deleted, and so are the syncs that read from it (their schedules and run history). Tables they loaded stay in the warehouse. An OAuth grant is revoked at the provider where it allows that. The end user must connect again to restore access.</p>
    <//>`;
  const integration = connection.integration.displayName;
  return html`<${Page} title=${`${integration} · ${who(connection)}`} actions=${actions}>
    <${ErrorNote} error=${testing.error || removing.error} />
    ${result && html`<div class=${result.ok ? "notice" : "error"} role="status">
      <strong>${result.ok ? "Test passed" : "Test failed"}</strong>${result.message && `: ${result.message}`}
    </div>`}
    <div class="card">
      <dl class="facts connection-facts">
        <dt>Id</dt><dd class="mono">${connection.id}</dd>
        <dt>Integration</dt><dd>${integration} <span class="mono muted">${connection.integrationName}</span></dd>
        <dt>Name</dt><dd>${connection.displayName || html`<span class="muted">—</span>`}</dd>
        <dt>External id</dt><dd class="mono">${connection.externalId || html`<span class="muted">—</span>`}</dd>
        <dt>Auth type</dt><dd>${words(connection.authType)}</dd>
        <dt>Credential</dt><dd class="mono">${connection.credentialPreview || html`<span class="muted">—</span>`}</dd>
        <dt>Belongs to</dt><dd>${words(connection.scope)}</dd>
        <dt>Workspace</dt><dd>${connection.workspace ? html`<a href=${`#/workspaces/${connection.workspace.id}`}>${connection.workspace.name}</a>` : html`<span class="muted">every workspace (organization)</span>`}</dd>
        <dt>End user</dt><dd>${connection.endUser ? html`<a href=${`#/end-users/${connection.endUser.id}`}>${endUserName(connection.endUser)}</a>` : html`<span class="muted">none</span>`}</dd>
        <dt>Status</dt><dd><${Status} value=${connection.status} /> ${connection.statusReason}</dd>
        <dt>Health</dt><dd><${Status} value=${connection.health} /></dd>
        <dt>Reason</dt><dd>${connection.healthReason || html`<span class="muted">—</span>`}</dd>
        <dt>Last check</dt><dd><${Time} value=${connection.lastCheckedAt} /></dd>
        <dt>Next check</dt><dd><${Time} value=${connection.nextCheckAt} /></dd>
        <dt>Token expires</dt><dd><${Time} value=${connection.expiresAt} /></dd>
        <dt>Credentials replaced</dt><dd><${Time} value=${connection.lastRefreshedAt} /></dd>
        <dt>Parameters</dt><dd>${Object.keys(connection.parameters || {}).length ? html`<code>${JSON.stringify(connection.parameters)}</code>` : html`<span class="muted">none</span>`}</dd>
        <dt>Created</dt><dd><${Time} value=${connection.createdAt} /></dd>
      </dl>
      <p class="hint">Granted scopes are not listed by the API; a missing-scopes health names the missing ones in its reason.</p>
    </div>
    <h2>Syncs</h2>
    <${ConnectionSyncs} id=${id} />
    <h2>Reconnect</h2>
    <${ReconnectLink} connection=${connection} />
  <//>`;
}

// -- a new connection -------------------------------------------------------------------------

// How far a connect session has gone; it only moves forward.
const STAGE = { PENDING: 0, CONNECTING: 1, COMPLETED: 2, FAILED: 2, EXPIRED: 2 };

function ConnectFollower({ started, onRestart }) {
  const [session, setSession] = useState(started.session);
  const [error, setError] = useState(null);
  const [copied, setCopied] = useState(false);
  const [cancel, cancelling] = useMutation(CANCEL_SESSION);
  useEffect(
    () =>
      subscribe(SESSION_EVENTS, { id: started.session.id }, (data) => {
        const now = data.connectSessionUpdated;
        // Never backwards: a snapshot read before a cancel may arrive after its read-back.
        setSession((current) => (STAGE[now.status] >= STAGE[current.status] ? now : current));
        if (now.status === "COMPLETED" && now.connectionId) navigate(`/connections/${now.connectionId}`);
      }, setError),
    [started.session.id],
  );
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(started.connectUrl);
      setCopied(true);
    } catch (failure) {
      setCopied(false);
    }
  };
  // The session as it is once cancelled, read back: its live event may have gone out before
  // the subscription was listening.
  const cancelLink = () =>
    cancel({ id: started.session.id })
      .then(() => gql(SESSION, { id: started.session.id }))
      .then((data) => setSession(data.connectSession), () => null);
  const ended = session.status === "FAILED" || session.status === "EXPIRED";
  const steps = {
    PENDING: "Waiting for the connect page: finish there (a new tab or window).",
    CONNECTING: "Connecting: waiting for the provider.",
    COMPLETED: "Connected: opening the new connection…",
  };
  return html`<div class="card" aria-labelledby="connect-progress">
    <h2 id="connect-progress">Connect session</h2>
    <p role="status" aria-live="polite"><${Status} value=${session.status} /> ${ended
      ? `${session.errorMessage || "The session ended without a connection."}${session.errorCode ? ` (${session.errorCode})` : ""}`
      : steps[session.status] || ""}</p>
    ${started.blocked && html`<p class="error" role="alert">The browser blocked the new window: open the link below.</p>`}
    <p>The hosted connect page, the same one your end users see. Open it here, or send it to your customer to finish themselves (it works once, until <${Time} value=${started.expiresAt} />):</p>
    <code class="secret-value" tabindex="0">${started.connectUrl}</code>
    <div class="row">
      <a class="button secondary" href=${started.connectUrl} target="_blank" rel="noopener">Open the connect page</a>
      <button type="button" class="secondary" onClick=${copy}>${copied ? "Copied" : "Copy"}</button>
      ${ended && html`<button type="button" onClick=${onRestart}>Start again</button>`}
      ${!ended && session.status !== "COMPLETED" && html`<button type="button" class="danger" disabled=${cancelling.pending}
        onClick=${cancelLink}>Cancel the link</button>`}
    </div>
    <${ErrorNote} error=${error || cancelling.error} />
  </div>`;
}

function NewConnection({ query }) {
  const workspaces = useQuery(WORKSPACES, {});
  const [workspaceId, setWorkspaceId] = useState(query.get("workspace") || "");
  const list = workspaces.data ? workspaces.data.workspaces.edges.map((edge) => edge.node) : [];
  useEffect(() => {
    if (!workspaceId && list.length === 1) setWorkspaceId(list[0].id);
  }, [list.length]); // eslint-disable-line
  const integrations = useQuery(INTEGRATIONS, { workspaceId: workspaceId || null }, [workspaceId]);
  const endUsers = useQuery(END_USERS, { workspaceId: workspaceId || null }, [workspaceId]);
  const [integrationName, setIntegrationName] = useState(query.get("integration") || "");
  const [owner, setOwner] = useState("none");
  const [endUserId, setEndUserId] = useState("");
  const [externalUser, setExternalUser] = useState("");
  const [userName, setUserName] = useState("");
  const [connectionName, setConnectionName] = useState("");
  const [create, { pending, error }] = useMutation(CREATE_SESSION);
  const [started, setStarted] = useState(null);
  const offered = (integrations.data ? integrations.data.integrations : []).filter((integration) => integration.requiresConnection);
  const users = endUsers.data ? endUsers.data.endUsers.edges.map((edge) => edge.node) : [];
  const connect = async (event) => {
    event.preventDefault();
    // Opened now, inside the click, so that no popup blocker stops it; pointed at the connect
    // page once the session exists.
    const popup = window.open("about:blank", "_blank");
    const input = { workspaceId, integrationName: integrationName || null, connectionName: connectionName.trim() || null };
    if (owner === "existing") input.endUserId = endUserId || null;
    if (owner === "external") {
      input.endUserExternalId = externalUser.trim() || null;
      input.endUserDisplayName = userName.trim() || null;
    }
    try {
      const data = await create({ input });
      const made = data.createConnectSession;
      if (popup) {
        popup.opener = null;
        popup.location.href = made.connectUrl;
      }
      setStarted({ ...made, blocked: !popup });
    } catch (failure) {
      if (popup) popup.close();
    }
  };
  const about = (field) => error && error.about(`input.${field}`);
  const known = ["workspaceId", "integrationName", "endUserId", "endUserExternalId", "endUserDisplayName", "connectionName"];
  if (started) {
    return html`<${Page} title="New connection">
      <${ConnectFollower} started=${started} onRestart=${() => setStarted(null)} />
    <//>`;
  }
  return html`<${Page} title="New connection">
    <p>Connect an account through Weir's hosted connect page, the same flow your end users go through. It opens in a new tab; this page follows it and opens the connection once it is made.</p>
    <form class="card" onSubmit=${connect}>
      <${ErrorNote} error=${workspaces.error || integrations.error || endUsers.error} />
      <${Field} label="Workspace" error=${about("workspaceId")}>
        ${(id, described) => html`<select id=${id} value=${workspaceId} aria-describedby=${described} required
          onChange=${(event) => { setWorkspaceId(event.currentTarget.value); setEndUserId(""); }}>
          <option value="">Choose a workspace</option>
          ${list.map((workspace) => html`<option value=${workspace.id}>${workspace.name}</option>`)}
        </select>`}
      <//>
      <${Field} label="Integration" hint="Or leave it to the connect page, which then offers every integration." error=${about("integrationName")}>
        ${(id, described) => html`<select id=${id} value=${integrationName} aria-describedby=${described}
          onChange=${(event) => setIntegrationName(event.currentTarget.value)}>
          <option value="">Let the connect page ask</option>
          ${offered.map((integration) => html`<option value=${integration.name}>${integration.displayName}</option>`)}
        </select>`}
      <//>
      <fieldset>
        <legend>End user</legend>
        <label class="check"><input type="radio" name="who" checked=${owner === "none"} onChange=${() => setOwner("none")} /> None: a connection of the workspace</label>
        <label class="check"><input type="radio" name="who" checked=${owner === "existing"} onChange=${() => setOwner("existing")} disabled=${!users.length} /> An existing end user${!users.length && " (this workspace has none yet)"}</label>
        <label class="check"><input type="radio" name="who" checked=${owner === "external"} onChange=${() => setOwner("external")} /> An end user by your app's id (created if new)</label>
        ${owner === "existing" && html`<${Field} label="Existing end user" error=${about("endUserId")}>
          ${(id, described) => html`<select id=${id} value=${endUserId} aria-describedby=${described} required
            onChange=${(event) => setEndUserId(event.currentTarget.value)}>
            <option value="">Choose an end user</option>
            ${users.map((user) => html`<option value=${user.id}>${endUserName(user)}</option>`)}
          </select>`}
        <//>`}
        ${owner === "external" && html`
          <${Field} label="End user's external id" hint="Your app's id for this customer." error=${about("endUserExternalId")}>
            ${(id, described) => html`<input id=${id} value=${externalUser} aria-describedby=${described} required
              onInput=${(event) => setExternalUser(event.currentTarget.value)} />`}
          <//>
          <${Field} label="End user's display name" hint="Optional; used if the end user is new." error=${about("endUserDisplayName")}>
            ${(id, described) => html`<input id=${id} value=${userName} aria-describedby=${described}
              onInput=${(event) => setUserName(event.currentTarget.value)} />`}
          <//>`}
      </fieldset>
      <${Field} label="Connection name" hint="Optional, shown in dashboards." error=${about("connectionName")}>
        ${(id, described) => html`<input id=${id} value=${connectionName} aria-describedby=${described}
          onInput=${(event) => setConnectionName(event.currentTarget.value)} />`}
      <//>
      ${error && !known.some((field) => about(field)) && html`<${ErrorNote} error=${error} />`}
      <button type="submit" disabled=${pending || !workspaceId}>Open the connect page</button>
    </form>
  <//>`;
}

export default function Connections({ segments, query }) {
  if (segments[0] === "new") return html`<${NewConnection} query=${query} />`;
  if (segments[0]) return html`<${ConnectionDetail} id=${segments[0]} />`;
  return html`<${ConnectionList} query=${query} />`;
}
