// Webhooks: the endpoints (of one workspace or all), a new endpoint (its signing secret shown
// once), and one endpoint: edit, enable or disable, rotate its secret, delete, and its
// deliveries with every attempt, each of which can be sent again.
import { useEffect, useState } from "preact/hooks";
import { gql } from "../lib/api.js";
import {
  ConfirmButton, Empty, ErrorNote, Field, Loading, More, OneTimeSecret, Page, Status, Table, Time,
  WorkspacePicker, html, navigate, useMutation, useNotice, usePaged, useQuery,
} from "../lib/ui.js";

// The WebhookEventType enum of schema.graphql, in its order: [name, the body's dotted type, meaning].
const EVENT_TYPES = [
  ["CONNECTION_CREATED", "connection.created", "A connection was stored"],
  ["CONNECTION_STATUS_CHANGED", "connection.status_changed", "A connection became active or errored"],
  ["CONNECTION_HEALTH_CHANGED", "connection.health_changed", "A connection's health changed"],
  ["CONNECTION_DELETED", "connection.deleted", "A connection was deleted"],
  ["CONNECT_SESSION_COMPLETED", "connect_session.completed", "An end user finished the connect flow"],
  ["CONNECT_SESSION_FAILED", "connect_session.failed", "A connect flow ended in an error"],
  ["SYNC_RUN_STARTED", "sync_run.started", "A sync run began"],
  ["SYNC_RUN_SUCCEEDED", "sync_run.succeeded", "A sync run finished"],
  ["SYNC_RUN_FAILED", "sync_run.failed", "A sync run failed"],
  ["SYNC_RUN_CANCELLED", "sync_run.cancelled", "A sync run was cancelled"],
  ["SYNC_RUN_STUCK", "sync_run.stuck", "A sync run loaded nothing for too long"],
  ["ELT_SYNC_UPDATED", "elt_sync.updated", "A sync's configuration changed"],
  ["CALL_FAILED", "call.failed", "An action or proxy call failed"],
];

const ENDPOINT_FIELDS = `id url description eventTypes enabled disabledReason disabledAt failingSince
  previousSecretExpiresAt createdAt updatedAt workspace { id name }`;
const DELIVERY_FIELDS = `id eventId eventType status attemptCount nextAttemptAt lastError completedAt createdAt
  attempts { at statusCode latencyMs responseExcerpt error }`;

const ENDPOINTS = `query ConsoleWebhookEndpoints($workspaceId: ID, $first: Int, $after: String) {
  webhookEndpoints(workspaceId: $workspaceId, first: $first, after: $after) {
    edges { node { ${ENDPOINT_FIELDS} } } pageInfo { hasNextPage endCursor }
  }
}`;
const ENDPOINT = `query ConsoleWebhookEndpoint($id: ID!) { webhookEndpoint(id: $id) { ${ENDPOINT_FIELDS} } }`;
const DELIVERIES = `query ConsoleWebhookDeliveries($endpointId: ID!, $status: WebhookDeliveryStatus, $first: Int, $after: String) {
  webhookDeliveries(endpointId: $endpointId, status: $status, first: $first, after: $after) {
    edges { node { ${DELIVERY_FIELDS} } } pageInfo { hasNextPage endCursor }
  }
}`;
const WORKSPACES = `query ConsoleWebhookWorkspaces { workspaces(first: 100) { edges { node { id name } } } }`;
const CREATE = `mutation ConsoleCreateWebhookEndpoint($input: CreateWebhookEndpointInput!) {
  createWebhookEndpoint(input: $input) { secret endpoint { ${ENDPOINT_FIELDS} } }
}`;
const UPDATE = `mutation ConsoleUpdateWebhookEndpoint($input: UpdateWebhookEndpointInput!) {
  updateWebhookEndpoint(input: $input) { ${ENDPOINT_FIELDS} }
}`;
const ROTATE = `mutation ConsoleRotateWebhookSecret($input: RotateWebhookSecretInput!) {
  rotateWebhookSecret(input: $input) { secret endpoint { ${ENDPOINT_FIELDS} } }
}`;
const DELETE = `mutation ConsoleDeleteWebhookEndpoint($id: ID!) { deleteWebhookEndpoint(id: $id) { deletedId } }`;
const REDELIVER = `mutation ConsoleRedeliverWebhookEvent($eventId: ID!, $endpointId: ID) {
  redeliverWebhookEvent(eventId: $eventId, endpointId: $endpointId) { ${DELIVERY_FIELDS} }
}`;

// How long the old secret keeps signing after a rotation, in seconds (null: the server's default).
const GRACE = [
  ["", "A day (the default)"],
  ["3600", "An hour"],
  ["0", "No time: the old secret stops now"],
];

const DOTTED = new Map(EVENT_TYPES.map(([name, dotted]) => [name, dotted]));

function eventLabel(type) {
  return DOTTED.get(type) || type.toLowerCase();
}

function State({ endpoint }) {
  if (!endpoint.enabled) return html`<${Status} value="DISABLED" />`;
  if (endpoint.failingSince) return html`<${Status} value="FAILING" /> <span class="muted">since <${Time} value=${endpoint.failingSince} /></span>`;
  return html`<${Status} value="ENABLED" />`;
}

// -- the list ---------------------------------------------------------------------------------

function EndpointList({ query }) {
  const [workspaceId, setWorkspaceId] = useState(query.get("workspace") || "");
  const list = usePaged(ENDPOINTS, workspaceId ? { workspaceId } : {}, (data) => data.webhookEndpoints, [workspaceId]);
  const columns = [
    { label: "URL", render: (endpoint) => html`<a href=${`#/webhooks/${endpoint.id}`} class="mono">${endpoint.url}</a>
      ${endpoint.description && html`<div class="muted">${endpoint.description}</div>`}` },
    { label: "Workspace", render: (endpoint) => (endpoint.workspace ? endpoint.workspace.name : html`<span class="muted">—</span>`) },
    { label: "Events", render: (endpoint) => endpoint.eventTypes.map(eventLabel).join(", ") },
    { label: "State", render: (endpoint) => html`<${State} endpoint=${endpoint} />` },
    { label: "Created", render: (endpoint) => html`<${Time} value=${endpoint.createdAt} />` },
  ];
  return html`<${Page} title="Webhooks" actions=${html`<a class="button" href="#/webhooks/new">New endpoint</a>`}>
    <div class="filters"><${WorkspacePicker} value=${workspaceId} onChange=${setWorkspaceId} /></div>
    <${Table} caption="Webhook endpoints" columns=${columns} rows=${list.items}
      empty=${!list.loading && !list.error && html`<${Empty} title="No webhook endpoints yet"
        action=${html`<a class="button" href="#/webhooks/new">Add an endpoint</a>`}>
        An endpoint is a URL of your back end that receives signed events: a connection created, a sync run finished, a call failed. Add one and pick its events.
      <//>`} />
    <${More} list=${list} />
  <//>`;
}

// -- the form shared by create and edit --------------------------------------------------------

function EventTypes({ value, onChange, error }) {
  const toggle = (type, on) => onChange(on ? EVENT_TYPES.map(([name]) => name).filter((name) => name === type || value.includes(name)) : value.filter((name) => name !== type));
  return html`<fieldset aria-describedby=${error ? "event-types-error" : undefined}>
    <legend>Events to receive</legend>
    ${EVENT_TYPES.map(([type, dotted, meaning]) => html`<label class="check" key=${type}>
      <input type="checkbox" name="eventTypes" value=${type} checked=${value.includes(type)}
        onChange=${(event) => toggle(type, event.currentTarget.checked)} />
      <span><code>${dotted}</code> <span class="muted">${meaning}</span></span>
    </label>`)}
    <div class="row">
      <button type="button" class="secondary" onClick=${() => onChange(EVENT_TYPES.map(([name]) => name))}>Select all</button>
      <button type="button" class="secondary" onClick=${() => onChange([])}>Clear</button>
    </div>
    ${error && html`<p class="field-error" id="event-types-error">${error}</p>`}
  </fieldset>`;
}

function fieldError(error, name) {
  return error && (error.about(`input.${name}`) || error.about(name));
}

function otherError(error, names) {
  return error && !names.some((name) => fieldError(error, name)) ? error : null;
}

// -- a new endpoint ---------------------------------------------------------------------------

function NewEndpoint({ query }) {
  const workspaces = useQuery(WORKSPACES, {});
  const [workspaceId, setWorkspaceId] = useState(query.get("workspace") || "");
  const [url, setUrl] = useState("");
  const [description, setDescription] = useState("");
  const [eventTypes, setEventTypes] = useState([]);
  const [created, setCreated] = useState(null);
  const [create, { pending, error }] = useMutation(CREATE);
  const choices = workspaces.data ? workspaces.data.workspaces.edges.map((edge) => edge.node) : [];
  useEffect(() => {
    if (!workspaceId && choices.length) setWorkspaceId(choices[0].id);
  }, [choices.length]); // eslint-disable-line
  if (created) {
    return html`<${Page} title="Endpoint created">
      <p>Weir signs every event it sends to <code>${created.endpoint.url}</code> with this secret. Check the <code>Weir-Signature</code> header with it.</p>
      <${OneTimeSecret} label="Signing secret" value=${created.secret} onDone=${() => navigate(`/webhooks/${created.endpoint.id}`)} />
    <//>`;
  }
  const submit = async (event) => {
    event.preventDefault();
    try {
      const data = await create({ input: { workspaceId, url: url.trim(), description: description.trim() || null, eventTypes } });
      setCreated(data.createWebhookEndpoint);
    } catch (failure) {
      /* shown below */
    }
  };
  return html`<${Page} title="New webhook endpoint">
    <form class="card" onSubmit=${submit}>
      <${ErrorNote} error=${workspaces.error} />
      <${Field} label="Workspace" hint="The endpoint receives this workspace's events." error=${fieldError(error, "workspaceId")}>
        ${(id, described) => html`<select id=${id} value=${workspaceId} aria-describedby=${described} required
          onChange=${(event) => setWorkspaceId(event.currentTarget.value)}>
          ${!choices.length && html`<option value="">No workspace</option>`}
          ${choices.map((workspace) => html`<option value=${workspace.id}>${workspace.name}</option>`)}
        </select>`}
      <//>
      <${Field} label="URL" hint="Your back end's https URL that accepts POSTs, e.g. https://example.com/weir/events" error=${fieldError(error, "url")}>
        ${(id, described) => html`<input id=${id} type="url" class="mono" required value=${url} aria-describedby=${described}
          autocomplete="off" spellcheck=${false} onInput=${(event) => setUrl(event.currentTarget.value)} />`}
      <//>
      <${Field} label="Description" hint="Optional: what it is for." error=${fieldError(error, "description")}>
        ${(id, described) => html`<input id=${id} value=${description} aria-describedby=${described}
          onInput=${(event) => setDescription(event.currentTarget.value)} />`}
      <//>
      <${EventTypes} value=${eventTypes} onChange=${setEventTypes} error=${fieldError(error, "eventTypes")} />
      <${ErrorNote} error=${otherError(error, ["workspaceId", "url", "description", "eventTypes"])} />
      <div class="row">
        <button type="submit" disabled=${pending || !workspaceId || !url.trim() || !eventTypes.length}>Create endpoint</button>
        <a class="button secondary" href="#/webhooks">Cancel</a>
      </div>
      ${!eventTypes.length && html`<p class="hint">Pick at least one event.</p>`}
    </form>
  <//>`;
}

// -- one endpoint -----------------------------------------------------------------------------

function EditEndpoint({ endpoint, onSaved }) {
  const [url, setUrl] = useState(endpoint.url);
  const [description, setDescription] = useState(endpoint.description || "");
  const [eventTypes, setEventTypes] = useState(endpoint.eventTypes);
  const [update, { pending, error }] = useMutation(UPDATE);
  const [notice, setNotice] = useNotice();
  const save = async (event) => {
    event.preventDefault();
    try {
      const data = await update({ input: { id: endpoint.id, url: url.trim(), description: description.trim() || null, eventTypes } });
      setNotice("Saved.");
      onSaved(data.updateWebhookEndpoint);
    } catch (failure) {
      /* shown below */
    }
  };
  return html`<form class="card" onSubmit=${save} aria-labelledby="edit-title">
    <h2 id="edit-title">Edit</h2>
    <${Field} label="URL" error=${fieldError(error, "url")}>
      ${(id, described) => html`<input id=${id} type="url" class="mono" required value=${url} aria-describedby=${described}
        autocomplete="off" spellcheck=${false} onInput=${(event) => setUrl(event.currentTarget.value)} />`}
    <//>
    <${Field} label="Description" error=${fieldError(error, "description")}>
      ${(id, described) => html`<input id=${id} value=${description} aria-describedby=${described}
        onInput=${(event) => setDescription(event.currentTarget.value)} />`}
    <//>
    <${EventTypes} value=${eventTypes} onChange=${setEventTypes} error=${fieldError(error, "eventTypes")} />
    <${ErrorNote} error=${otherError(error, ["url", "description", "eventTypes"])} />
    ${notice}
    <button type="submit" disabled=${pending || !url.trim() || !eventTypes.length}>Save changes</button>
  </form>`;
}

function Attempts({ delivery }) {
  if (!delivery.attempts.length) return html`<span class="muted">not tried yet</span>`;
  return html`<details class="attempts">
    <summary>${delivery.attemptCount} ${delivery.attemptCount === 1 ? "attempt" : "attempts"}</summary>
    <ol>
      ${delivery.attempts.map((attempt, index) => html`<li key=${index}>
        <dl class="facts">
          <dt>Sent</dt><dd><${Time} value=${attempt.at} /></dd>
          <dt>Status code</dt><dd>${attempt.statusCode === null ? html`<span class="muted">none</span>` : html`<code>${attempt.statusCode}</code>`}</dd>
          <dt>Latency</dt><dd>${attempt.latencyMs === null ? html`<span class="muted">—</span>` : `${attempt.latencyMs} ms`}</dd>
          ${attempt.error && html`<dt>Error</dt><dd>${attempt.error}</dd>`}
          <dt>Response</dt><dd>${attempt.responseExcerpt ? html`<pre class="excerpt">${attempt.responseExcerpt}</pre>` : html`<span class="muted">empty</span>`}</dd>
        </dl>
      </li>`)}
    </ol>
  </details>`;
}

function Deliveries({ endpoint }) {
  const [status, setStatus] = useState("");
  const list = usePaged(DELIVERIES, { endpointId: endpoint.id, ...(status ? { status } : {}) }, (data) => data.webhookDeliveries, [endpoint.id, status]);
  const [error, setError] = useState(null);
  const [notice, setNotice] = useNotice();
  const replay = async (delivery) => {
    setError(null);
    try {
      const data = await gql(REDELIVER, { eventId: delivery.eventId, endpointId: endpoint.id });
      data.redeliverWebhookEvent.forEach((added) => list.upsert(added));
      setNotice(`Event ${delivery.eventId} queued again: the new delivery is at the end of the list.`);
    } catch (failure) {
      setError(failure);
    }
  };
  const columns = [
    { label: "Event", render: (delivery) => html`<code class="nowrap">${eventLabel(delivery.eventType)}</code><div class="mono muted">${delivery.eventId}</div>` },
    { label: "Status", render: (delivery) => html`<${Status} value=${delivery.status} />
      ${delivery.lastError && html`<div class="muted">${delivery.lastError}</div>`}` },
    { label: "Queued", render: (delivery) => html`<${Time} value=${delivery.createdAt} />` },
    { label: "Done or next try", render: (delivery) => (delivery.completedAt
      ? html`<${Time} value=${delivery.completedAt} />`
      : html`<span class="muted">next </span><${Time} value=${delivery.nextAttemptAt} />`) },
    { label: "Attempts", render: (delivery) => html`<${Attempts} delivery=${delivery} />` },
    { label: "Replay", render: (delivery) => html`<button type="button" class="secondary"
      aria-label=${`Replay event ${delivery.eventId}`} onClick=${() => replay(delivery)}>Replay</button>` },
  ];
  return html`<section aria-labelledby="deliveries-title">
    <h2 id="deliveries-title">Deliveries</h2>
    <div class="filters">
      <${Field} label="Status">
        ${(id) => html`<select id=${id} value=${status} onChange=${(event) => setStatus(event.currentTarget.value)}>
          <option value="">Any status</option>
          <option value="PENDING">pending</option>
          <option value="SUCCEEDED">succeeded</option>
          <option value="FAILED">failed</option>
        </select>`}
      <//>
      <button type="button" class="secondary" onClick=${list.reload}>Refresh</button>
    </div>
    ${notice}
    <${ErrorNote} error=${error} />
    <${Table} caption="Deliveries, oldest first" columns=${columns} rows=${list.items}
      empty=${!list.loading && !list.error && html`<${Empty} title=${status ? "No delivery with this status" : "No deliveries yet"}>
        ${endpoint.enabled
          ? `Deliveries appear here when one of its events happens (${endpoint.eventTypes.map(eventLabel).join(", ")}). Make one happen, e.g. create a connection, then refresh.`
          : "It is disabled: events wait and are sent when you enable it again."}
      <//>`} />
    <${More} list=${list} />
  </section>`;
}

function EndpointDetail({ id }) {
  const loaded = useQuery(ENDPOINT, { id }, [id]);
  const [endpoint, setEndpoint] = useState(null);
  const [error, setError] = useState(null);
  const [secret, setSecret] = useState(null);
  const [grace, setGrace] = useState("");
  const [notice, setNotice] = useNotice();
  useEffect(() => setEndpoint(loaded.data ? loaded.data.webhookEndpoint : null), [loaded.data]);
  if (loaded.error) {
    return html`<${Page} title="Webhook endpoint"><${ErrorNote} error=${loaded.error} />
      <p><a href="#/webhooks">Back to the endpoints</a></p><//>`;
  }
  if (!endpoint) return html`<${Page} title="Webhook endpoint"><${Loading} /><//>`;
  const act = async (mutation, variables, done) => {
    setError(null);
    try {
      await done(await gql(mutation, variables));
    } catch (failure) {
      setError(failure);
    }
  };
  const setEnabled = (enabled) =>
    act(UPDATE, { input: { id, enabled } }, (data) => {
      setEndpoint(data.updateWebhookEndpoint);
      setNotice(enabled ? "Enabled: events that waited are sent in order." : "Disabled: its events wait until you enable it again.");
    });
  const rotate = () =>
    act(ROTATE, { input: { id, graceSeconds: grace === "" ? null : Number(grace) } }, (data) => {
      setEndpoint(data.rotateWebhookSecret.endpoint);
      setSecret(data.rotateWebhookSecret.secret);
    });
  const actions = html`
    ${endpoint.enabled
      ? html`<button type="button" class="secondary" onClick=${() => setEnabled(false)}>Disable</button>`
      : html`<button type="button" class="secondary" onClick=${() => setEnabled(true)}>Enable</button>`}
    <${ConfirmButton} label="Rotate secret" title="Rotate the signing secret?" confirmLabel="Rotate secret" danger=${false} onConfirm=${rotate}>
      <p>Weir makes a new signing secret and shows it once. Until your back end has it, the old one can keep signing too (both signatures are sent).</p>
      <${Field} label="The old secret keeps signing for">
        ${(fieldId) => html`<select id=${fieldId} value=${grace} onChange=${(event) => setGrace(event.currentTarget.value)}>
          ${GRACE.map(([value, label]) => html`<option value=${value}>${label}</option>`)}
        </select>`}
      <//>
    <//>
    <${ConfirmButton} label="Delete" title="Delete this endpoint?" confirmLabel="Delete endpoint"
      onConfirm=${() => act(DELETE, { id }, () => navigate("/webhooks"))}>
      <p>Weir stops sending to <code>${endpoint.url}</code> and forgets its deliveries. This cannot be undone.</p>
    <//>`;
  return html`<${Page} title="Webhook endpoint" actions=${actions}>
    ${notice}
    <${ErrorNote} error=${error} />
    ${secret && html`<${OneTimeSecret} label="New signing secret" value=${secret} onDone=${() => setSecret(null)} />`}
    <div class="card">
      <dl class="facts">
        <dt>URL</dt><dd class="mono">${endpoint.url}</dd>
        ${endpoint.description && html`<dt>Description</dt><dd>${endpoint.description}</dd>`}
        <dt>Id</dt><dd class="mono">${endpoint.id}</dd>
        <dt>Workspace</dt><dd>${endpoint.workspace ? endpoint.workspace.name : "—"}</dd>
        <dt>State</dt><dd><${State} endpoint=${endpoint} /></dd>
        ${!endpoint.enabled && html`<dt>Disabled</dt><dd><${Time} value=${endpoint.disabledAt} />${endpoint.disabledReason && `: ${endpoint.disabledReason}`}</dd>`}
        ${endpoint.previousSecretExpiresAt && html`<dt>Old secret signs until</dt><dd><${Time} value=${endpoint.previousSecretExpiresAt} /></dd>`}
        <dt>Events</dt><dd>${endpoint.eventTypes.map(eventLabel).join(", ")}</dd>
        <dt>Created</dt><dd><${Time} value=${endpoint.createdAt} /></dd>
        <dt>Changed</dt><dd><${Time} value=${endpoint.updatedAt} /></dd>
      </dl>
    </div>
    <${Deliveries} endpoint=${endpoint} />
    <${EditEndpoint} endpoint=${endpoint} onSaved=${setEndpoint} />
    <p><a href="#/webhooks">All endpoints</a></p>
  <//>`;
}

export default function Webhooks({ segments, query }) {
  if (segments[0] === "new") return html`<${NewEndpoint} query=${query} />`;
  if (segments[0]) return html`<${EndpointDetail} key=${segments[0]} id=${segments[0]} />`;
  return html`<${EndpointList} query=${query} />`;
}
