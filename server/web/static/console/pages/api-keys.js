// API keys: every key of the organization (revoked ones too), a new key (its secret shown
// once), and revoking one, with a warning when it is the key this console is signed in with.
import { useState } from "preact/hooks";
import { gql, signOut } from "../lib/api.js";
import {
  ConfirmButton, Empty, ErrorNote, Field, More, OneTimeSecret, Page, Status, Table, Time, html, useMutation,
  useNotice, usePaged, useQuery,
} from "../lib/ui.js";

const KEY_FIELDS = "id name prefix createdAt lastUsedAt revokedAt workspace { id name }";
const KEYS = `query ConsoleApiKeys($first: Int, $after: String) {
  apiKeys(first: $first, after: $after) { edges { node { ${KEY_FIELDS} } } pageInfo { hasNextPage endCursor } }
}`;
const VIEWER = `query ConsoleApiKeyViewer { viewer { apiKey { id } workspace { id name } } }`;
const WORKSPACES = `query ConsoleApiKeyWorkspaces { workspaces(first: 100) { edges { node { id name } } } }`;
const CREATE = `mutation ConsoleCreateApiKey($input: CreateApiKeyInput!) {
  createApiKey(input: $input) { secret apiKey { ${KEY_FIELDS} } }
}`;
const REVOKE = `mutation ConsoleRevokeApiKey($id: ID!) { revokeApiKey(id: $id) { ${KEY_FIELDS} } }`;

function fieldError(error, name) {
  return error && (error.about(`input.${name}`) || error.about(name));
}

function NewKey({ restrictedTo, onCreated }) {
  const workspaces = useQuery(WORKSPACES, {});
  const [name, setName] = useState("");
  const [workspaceId, setWorkspaceId] = useState(restrictedTo ? restrictedTo.id : "");
  const [create, { pending, error }] = useMutation(CREATE);
  const choices = workspaces.data ? workspaces.data.workspaces.edges.map((edge) => edge.node) : [];
  const submit = async (event) => {
    event.preventDefault();
    try {
      const data = await create({ input: { name: name.trim(), workspaceId: workspaceId || null } });
      setName("");
      onCreated(data.createApiKey);
    } catch (failure) {
      /* shown below */
    }
  };
  const other = error && !fieldError(error, "name") && !fieldError(error, "workspaceId") ? error : null;
  return html`<form class="card" onSubmit=${submit} aria-labelledby="new-key-title">
    <h2 id="new-key-title">New API key</h2>
    <${Field} label="Name" hint="What the key is for, e.g. production back end." error=${fieldError(error, "name")}>
      ${(id, described) => html`<input id=${id} required value=${name} aria-describedby=${described}
        onInput=${(event) => setName(event.currentTarget.value)} />`}
    <//>
    <${Field} label="Workspace restriction"
      hint=${restrictedTo ? `This console's key only sees ${restrictedTo.name}, so new keys are restricted to it too.` : "A restricted key sees only that workspace's objects."}
      error=${fieldError(error, "workspaceId")}>
      ${(id, described) => html`<select id=${id} value=${workspaceId} aria-describedby=${described}
        onChange=${(event) => setWorkspaceId(event.currentTarget.value)}>
        ${!restrictedTo && html`<option value="">None: every workspace</option>`}
        ${choices.map((workspace) => html`<option value=${workspace.id}>${workspace.name}</option>`)}
      </select>`}
    <//>
    <${ErrorNote} error=${workspaces.error || other} />
    <button type="submit" disabled=${pending || !name.trim()}>Create key</button>
  </form>`;
}

export default function ApiKeys() {
  const viewer = useQuery(VIEWER, {});
  const list = usePaged(KEYS, {}, (data) => data.apiKeys, [], 50);
  const [created, setCreated] = useState(null);
  const [error, setError] = useState(null);
  const [notice, setNotice] = useNotice();
  const ownId = viewer.data && viewer.data.viewer.apiKey ? viewer.data.viewer.apiKey.id : null;
  const restrictedTo = viewer.data ? viewer.data.viewer.workspace : null;
  const revoke = async (key) => {
    setError(null);
    try {
      const data = await gql(REVOKE, { id: key.id });
      if (key.id === ownId) {
        signOut(); // this tab's key no longer works
        return;
      }
      list.upsert(data.revokeApiKey);
      setNotice(`Revoked ${key.name}: it no longer authenticates.`);
    } catch (failure) {
      setError(failure);
    }
  };
  const columns = [
    { label: "Name", render: (key) => html`<strong>${key.name}</strong>${key.id === ownId && html` <span class="tag">this console</span>`}` },
    { label: "Starts with", render: (key) => html`<code class="nowrap">${key.prefix}…</code>` },
    { label: "Workspace", render: (key) => (key.workspace ? key.workspace.name : html`<span class="muted">every workspace</span>`) },
    { label: "Created", render: (key) => html`<${Time} value=${key.createdAt} />` },
    { label: "Last used", render: (key) => (key.lastUsedAt ? html`<${Time} value=${key.lastUsedAt} />` : html`<span class="muted">never</span>`) },
    { label: "State", render: (key) => (key.revokedAt ? html`<${Status} value="REVOKED" /> <${Time} value=${key.revokedAt} />` : html`<${Status} value="ACTIVE" />`) },
    { label: "Revoke", render: (key) => (key.revokedAt ? html`<span class="muted">—</span>` : html`<${ConfirmButton}
        label="Revoke" title=${`Revoke ${key.name}?`} confirmLabel=${key.id === ownId ? "Revoke and sign out" : "Revoke key"}
        onConfirm=${() => revoke(key)}>
        ${key.id === ownId
          ? html`<p><strong>This is the key this console is signed in with.</strong> Revoking it signs you out at once, and every program using it stops working. Sign in again with another key.</p>`
          : html`<p>Requests with <code>${key.prefix}…</code> are refused from now on. Programs using it stop working. This cannot be undone.</p>`}
      <//>`) },
  ];
  return html`<${Page} title="API keys">
    ${notice}
    <${ErrorNote} error=${error || viewer.error} />
    ${created && html`<${OneTimeSecret} label=${`Secret of ${created.apiKey.name}`} value=${created.secret} onDone=${() => setCreated(null)} />
      <p class="hint">Send it as <code>Authorization: Bearer …</code>. Weir keeps only a hash of it.</p>`}
    <${Table} caption="API keys, revoked ones included" columns=${columns} rows=${list.items}
      empty=${!list.loading && !list.error && html`<${Empty} title="No API keys">
        Create one below for each program that calls Weir, so you can revoke one without the others.
      <//>`} />
    <${More} list=${list} />
    <${NewKey} restrictedTo=${restrictedTo} onCreated=${(result) => {
      setCreated(result);
      list.upsert(result.apiKey);
    }} />
  <//>`;
}
