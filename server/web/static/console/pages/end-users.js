// End users: the customers of the host app, by workspace; a new one; one end user with their
// connections; and deleting one (which deletes their connections too).
import { useState } from "preact/hooks";
import {
  ConfirmButton, Empty, ErrorNote, Field, Loading, More, Page, Status, Table, Time, WorkspacePicker, html,
  navigate, shown, useMutation, usePaged, useQuery,
} from "../lib/ui.js";

const LIST = `query ConsoleEndUsers($workspaceId: ID, $first: Int, $after: String) {
  endUsers(workspaceId: $workspaceId, first: $first, after: $after) {
    edges { node { id externalId displayName email createdAt workspace { id name } } }
    pageInfo { hasNextPage endCursor }
  }
}`;

const CREATE = `mutation ConsoleCreateEndUser($input: CreateEndUserInput!) { createEndUser(input: $input) { id } }`;

const DETAIL = `query ConsoleEndUser($id: ID!) {
  endUser(id: $id) { id externalId displayName email createdAt workspace { id name } }
}`;

const CONNECTIONS = `query ConsoleEndUserConnections($endUserId: ID!, $first: Int, $after: String) {
  connections(filter: { endUserId: $endUserId }, first: $first, after: $after) {
    edges { node { id integrationName displayName status health createdAt } }
    pageInfo { hasNextPage endCursor }
  }
}`;

const DELETE = `mutation ConsoleDeleteEndUser($id: ID!) { deleteEndUser(id: $id) { deletedId } }`;

const link = (id) => `#/end-users/${encodeURIComponent(id)}`;

export default function EndUsers({ segments, query }) {
  if (segments[0] === "new") return html`<${NewEndUser} workspaceId=${query.get("workspace") || ""} />`;
  if (segments[0]) return html`<${EndUserDetail} id=${segments[0]} />`;
  return html`<${EndUserList} workspaceId=${query.get("workspace") || ""} />`;
}

function EndUserList({ workspaceId }) {
  const list = usePaged(LIST, { workspaceId: workspaceId || null }, (data) => data.endUsers, [workspaceId]);
  const pick = (value) => navigate(value ? `/end-users?workspace=${encodeURIComponent(value)}` : "/end-users");
  const columns = [
    { label: "End user", render: (user) => html`<a href=${link(user.id)}>${user.displayName || user.externalId}</a>` },
    { label: "External id", render: (user) => html`<code>${user.externalId}</code>` },
    { label: "Email", render: (user) => user.email || html`<span class="muted">—</span>` },
    { label: "Workspace", render: (user) => html`<a href=${`#/workspaces/${encodeURIComponent(user.workspace.id)}`}>${user.workspace.name}</a>` },
    { label: "Created", render: (user) => html`<${Time} value=${user.createdAt} />` },
  ];
  const newHref = `#/end-users/new${workspaceId ? `?workspace=${encodeURIComponent(workspaceId)}` : ""}`;
  const create = html`<a class="button" href=${newHref}>New end user</a>`;
  return html`<${Page} title="End users" actions=${create}>
    <div class="filters"><${WorkspacePicker} value=${workspaceId} onChange=${pick} /></div>
    ${list.loading && !list.items.length
      ? html`<${Loading} />`
      : html`<${Table} caption="End users" columns=${columns} rows=${list.items}
          empty=${!list.error && html`<${Empty} title=${workspaceId ? "No end users in this workspace" : "No end users yet"} action=${create}>
            An end user is one customer of your app. Your app usually creates them through the API as customers
            connect accounts; you can also create one here.
          <//>`} />`}
    <${More} list=${list} />
  <//>`;
}

function NewEndUser({ workspaceId: initial }) {
  const [form, setForm] = useState({ workspaceId: initial, externalId: "", displayName: "", email: "" });
  const [run, state] = useMutation(CREATE);
  const set = (key) => (event) => setForm({ ...form, [key]: event.currentTarget.value });
  const submit = async (event) => {
    event.preventDefault();
    const input = {
      workspaceId: form.workspaceId,
      externalId: form.externalId,
      displayName: form.displayName.trim() || null,
      email: form.email.trim() || null,
    };
    const data = await shown(run({ input }));
    if (data) navigate(`/end-users/${encodeURIComponent(data.createEndUser.id)}`);
  };
  const error = state.error;
  const about = (field) => error && error.about(`input.${field}`);
  return html`<${Page} title="New end user">
    <form class="card" onSubmit=${submit} novalidate>
      <${WorkspacePicker} value=${form.workspaceId} allowAll=${false}
        onChange=${(value) => setForm({ ...form, workspaceId: value })} />
      ${about("workspaceId") && html`<p class="field-error">${about("workspaceId")}</p>`}
      <${Field} label="External id" hint="Your app's id for this customer; unique in the workspace." error=${about("externalId")}>
        ${(id, d) => html`<input id=${id} aria-describedby=${d} required value=${form.externalId} spellcheck="false" onInput=${set("externalId")} />`}
      <//>
      <${Field} label="Display name" hint="Optional; shown in dashboards." error=${about("displayName")}>
        ${(id, d) => html`<input id=${id} aria-describedby=${d} value=${form.displayName} onInput=${set("displayName")} />`}
      <//>
      <${Field} label="Email" hint="Optional." error=${about("email")}>
        ${(id, d) => html`<input id=${id} type="email" aria-describedby=${d} value=${form.email} onInput=${set("email")} />`}
      <//>
      <${ErrorNote} error=${error} />
      <div class="row">
        <button type="submit" disabled=${state.pending || !form.workspaceId}>Create end user</button>
        <a class="button secondary" href="#/end-users">Cancel</a>
      </div>
    </form>
  <//>`;
}

function EndUserDetail({ id }) {
  const { data, error, loading } = useQuery(DETAIL, { id }, [id]);
  const connections = usePaged(CONNECTIONS, { endUserId: id }, (result) => result.connections, [id]);
  const [remove, removal] = useMutation(DELETE);
  if (error) return html`<${Page} title="End user"><${ErrorNote} error=${error} /><p><a href="#/end-users">All end users</a></p><//>`;
  if (loading && !data) return html`<${Page} title="End user"><${Loading} /><//>`;
  const user = data.endUser;
  const name = user.displayName || user.externalId;
  const count = connections.items.length;
  const counted = connections.hasMore ? `${count} or more connections` : count === 1 ? "its 1 connection" : `its ${count} connections`;
  const confirm = async () => {
    const done = await shown(remove({ id: user.id }));
    if (done) navigate(`/end-users?workspace=${encodeURIComponent(user.workspace.id)}`);
  };
  const columns = [
    { label: "Connection", render: (c) => html`<a href=${`#/connections/${encodeURIComponent(c.id)}`}>${c.displayName || c.integrationName}</a>` },
    { label: "Integration", render: (c) => c.integrationName },
    { label: "Status", render: (c) => html`<${Status} value=${c.status} />` },
    { label: "Health", render: (c) => html`<${Status} value=${c.health} />` },
    { label: "Created", render: (c) => html`<${Time} value=${c.createdAt} />` },
  ];
  return html`<${Page} title=${`End user ${name}`} actions=${html`<a class="button secondary" href="#/end-users">All end users</a>`}>
    <dl class="facts card">
      <dt>Id</dt><dd class="mono">${user.id}</dd>
      <dt>External id</dt><dd><code>${user.externalId}</code></dd>
      <dt>Display name</dt><dd>${user.displayName || html`<span class="muted">—</span>`}</dd>
      <dt>Email</dt><dd>${user.email || html`<span class="muted">—</span>`}</dd>
      <dt>Workspace</dt><dd><a href=${`#/workspaces/${encodeURIComponent(user.workspace.id)}`}>${user.workspace.name}</a></dd>
      <dt>Created</dt><dd><${Time} value=${user.createdAt} /></dd>
    </dl>
    <h2>Connections</h2>
    ${connections.loading && !count
      ? html`<${Loading} />`
      : html`<${Table} caption=${`Connections of ${name}`} columns=${columns} rows=${connections.items}
          empty=${!connections.error && html`<${Empty} title="No connections yet">
            ${name} has not connected an account. Your app opens the connect flow for them with a connect session.
          <//>`} />`}
    <${More} list=${connections} />
    <h2>Delete</h2>
    <${ErrorNote} error=${removal.error} />
    <${ConfirmButton} label="Delete end user" title=${`Delete ${name}?`} confirmLabel="Delete end user and connections" onConfirm=${confirm}>
      <p>This deletes ${name} and, with them, ${count ? counted : "any connection they have"}, the syncs that read
        from those connections (with their run history) and their open connect sessions, whose links stop working at
        once. Each deleted connection sends a <code>connection.deleted</code> webhook event, and an OAuth grant is
        revoked at the provider where it allows that. To use those accounts
        again, ${name} would have to connect them again.</p>
      <p>It cannot be undone. Tables already loaded into your warehouse are not dropped.</p>
    <//>
  <//>`;
}
