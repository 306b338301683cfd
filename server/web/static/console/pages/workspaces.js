// Workspaces: the list, a new one, and one workspace's branding (with a live preview of the
// hosted connect page), its allowed origins and redirect URIs, and its OAuth apps.
import { useEffect, useState } from "preact/hooks";
import {
  Empty, ErrorNote, Field, Loading, More, Page, Table, Time, html, navigate, shown,
  useMutation, useNotice, usePaged, useQuery, useSubscription,
} from "../lib/ui.js";

const WORKSPACE_FIELDS = `id name displayName logoUrl primaryColor theme allowedOrigins allowedRedirectUris createdAt updatedAt warehouseUrl`;

const LIST = `query ConsoleWorkspaceList($first: Int, $after: String) {
  workspaces(first: $first, after: $after) {
    edges { node { id name displayName theme allowedOrigins createdAt } }
    pageInfo { hasNextPage endCursor }
  }
}`;

const CREATE = `mutation ConsoleCreateWorkspace($input: CreateWorkspaceInput!) {
  createWorkspace(input: $input) { id }
}`;

const INTEGRATION_FIELDS = `id integrationName enabled strategy oauthClientId hasOAuthClientSecret scopes updatedAt`;

const DETAIL = `query ConsoleWorkspace($id: ID!) {
  workspace(id: $id) { ${WORKSPACE_FIELDS} }
  integrations(workspaceId: $id) { name displayName description category logoUrl authTypes requiresConnection oauth { defaultScopes } }
  workspaceIntegrations(workspaceId: $id, first: 100) { edges { node { ${INTEGRATION_FIELDS} } } pageInfo { hasNextPage } }
}`;

const UPDATED = `subscription ConsoleWorkspaceUpdated($id: ID!) { workspaceUpdated(id: $id) { ${WORKSPACE_FIELDS} } }`;

const UPDATE = `mutation ConsoleUpdateWorkspace($input: UpdateWorkspaceInput!) {
  updateWorkspace(input: $input) { ${WORKSPACE_FIELDS} }
}`;

const CONFIGURE = `mutation ConsoleConfigureIntegration($input: ConfigureWorkspaceIntegrationInput!) {
  configureWorkspaceIntegration(input: $input) { ${INTEGRATION_FIELDS} }
}`;

const THEMES = [["LIGHT", "Light"], ["DARK", "Dark"], ["SYSTEM", "Follow the user's system"]];
const STRATEGIES = [
  ["PER_USER", "Per user: the end user's own connection"],
  ["PER_USER_WITH_FALLBACK", "Per user, else the workspace's, else the organization's"],
  ["FIXED", "Fixed: always one connection"],
];
const COLOR = /^#[0-9a-fA-F]{6}$/;

export default function Workspaces({ segments }) {
  if (segments[0] === "new") return html`<${NewWorkspace} />`;
  if (segments[0]) return html`<${WorkspaceDetail} id=${segments[0]} />`;
  return html`<${WorkspaceList} />`;
}

function WorkspaceList() {
  const list = usePaged(LIST, {}, (data) => data.workspaces);
  const columns = [
    { label: "Name", render: (ws) => html`<a href=${`#/workspaces/${encodeURIComponent(ws.id)}`}>${ws.name}</a>` },
    { label: "On the connect page", render: (ws) => ws.displayName || html`<span class="muted">—</span>` },
    { label: "Theme", render: (ws) => ws.theme.toLowerCase() },
    { label: "Allowed origins", render: (ws) => String(ws.allowedOrigins.length) },
    { label: "Created", render: (ws) => html`<${Time} value=${ws.createdAt} />` },
  ];
  const create = html`<a class="button" href="#/workspaces/new">New workspace</a>`;
  return html`<${Page} title="Workspaces" actions=${create}>
    ${list.loading && !list.items.length ? html`<${Loading} />` : html`<${Table} caption="Workspaces" columns=${columns} rows=${list.items}
      empty=${!list.error && html`<${Empty} title="No workspaces yet" action=${create}>
        A workspace holds one product's branding, end users and integrations. Create one to start connecting accounts.
      <//>`} />`}
    <${More} list=${list} />
  <//>`;
}

function NewWorkspace() {
  const [name, setName] = useState("");
  const [displayName, setDisplayName] = useState("");
  const [run, state] = useMutation(CREATE);
  const submit = async (event) => {
    event.preventDefault();
    const data = await shown(run({ input: { name, displayName: displayName.trim() || null } }));
    if (data) navigate(`/workspaces/${encodeURIComponent(data.createWorkspace.id)}`);
  };
  const error = state.error;
  return html`<${Page} title="New workspace">
    <form class="card" onSubmit=${submit} novalidate>
      <${Field} label="Name" hint="Unique within your organization." error=${error && error.about("input.name")}>
        ${(id, described) => html`<input id=${id} aria-describedby=${described} required value=${name}
          onInput=${(e) => setName(e.currentTarget.value)} />`}
      <//>
      <${Field} label="Display name" hint="Shown to end users on the connect page (optional)." error=${error && error.about("input.displayName")}>
        ${(id, described) => html`<input id=${id} aria-describedby=${described} value=${displayName}
          onInput=${(e) => setDisplayName(e.currentTarget.value)} />`}
      <//>
      <${ErrorNote} error=${error} />
      <div class="row">
        <button type="submit" disabled=${state.pending}>Create workspace</button>
        <a class="button secondary" href="#/workspaces">Cancel</a>
      </div>
    </form>
  <//>`;
}

function WorkspaceDetail({ id }) {
  const { data, error, loading } = useQuery(DETAIL, { id }, [id]);
  const [live, setLive] = useState(null);
  const [configured, setConfigured] = useState(null);
  useEffect(() => {
    setLive(null);
    setConfigured(null);
  }, [id]);
  // The newest state wins, whether it came from a save here or from workspaceUpdated.
  const fresh = (next) =>
    setLive((previous) =>
      previous && previous.id === next.id && new Date(previous.updatedAt) > new Date(next.updatedAt) ? previous : next);
  const liveError = useSubscription(UPDATED, { id }, (event) => fresh(event.workspaceUpdated), [id]);
  if (error) return html`<${Page} title="Workspace"><${ErrorNote} error=${error} /><p><a href="#/workspaces">All workspaces</a></p><//>`;
  if (loading && !data) return html`<${Page} title="Workspace"><${Loading} /><//>`;
  const workspace = live && live.id === data.workspace.id ? live : data.workspace;
  const integrations = data.integrations;
  const apps = configured || data.workspaceIntegrations.edges.map((edge) => edge.node);
  const saved = (row) =>
    setConfigured([row, ...apps.filter((other) => other.integrationName !== row.integrationName)]
      .sort((a, b) => a.integrationName.localeCompare(b.integrationName)));
  return html`<${Page} title=${`Workspace ${workspace.name}`} actions=${html`<a class="button secondary" href="#/workspaces">All workspaces</a>`}>
    ${liveError && html`<${ErrorNote} error=${liveError} />`}
    <dl class="facts card">
      <dt>Id</dt><dd class="mono">${workspace.id}</dd>
      <dt>Created</dt><dd><${Time} value=${workspace.createdAt} /></dd>
      <dt>Last changed</dt><dd><${Time} value=${workspace.updatedAt} /></dd>
      <dt>Warehouse</dt><dd>${workspace.warehouseUrl ? html`<code>${workspace.warehouseUrl}</code>` : "The deployment's"}</dd>
    </dl>
    <${Branding} workspace=${workspace} integrations=${integrations} apps=${apps} onSaved=${fresh} />
    <${Addresses} workspace=${workspace} onSaved=${fresh} />
    <${OAuthApps} workspace=${workspace} integrations=${integrations} apps=${apps} onSaved=${saved} />
  <//>`;
}

// -- branding --------------------------------------------------------------------------------

function brandingOf(workspace) {
  return {
    displayName: workspace.displayName || "",
    logoUrl: workspace.logoUrl || "",
    primaryColor: workspace.primaryColor || "",
    theme: workspace.theme,
  };
}

function same(a, b) {
  return Object.keys(a).every((key) => a[key] === b[key]);
}

function Branding({ workspace, integrations, apps, onSaved }) {
  const stored = brandingOf(workspace);
  const [form, setForm] = useState(stored);
  const [base, setBase] = useState(stored);
  const [run, state] = useMutation(UPDATE);
  const [notice, setNotice] = useNotice();
  // A change saved elsewhere (another tab, the API) shows here unless the reader is editing.
  useEffect(() => {
    if (same(form, base)) setForm(stored);
    setBase(stored);
  }, [workspace.id, workspace.updatedAt]); // eslint-disable-line
  const set = (key) => (event) => setForm({ ...form, [key]: event.currentTarget.value });
  const dirty = !same(form, stored);
  const submit = async (event) => {
    event.preventDefault();
    const input = {
      id: workspace.id,
      displayName: form.displayName.trim() || null,
      logoUrl: form.logoUrl.trim() || null,
      primaryColor: form.primaryColor.trim() || null,
      theme: form.theme,
    };
    const data = await shown(run({ input }));
    if (data) {
      setForm(brandingOf(data.updateWorkspace));
      onSaved(data.updateWorkspace);
      setNotice("Branding saved");
    }
  };
  const error = state.error;
  const about = (field) => error && error.about(`input.${field}`);
  const colorValid = COLOR.test(form.primaryColor.trim());
  return html`<section class="card ws-branding-card" aria-labelledby="branding-title">
    <h2 id="branding-title">Branding of the connect page</h2>
    <div class="ws-branding">
      <form onSubmit=${submit} novalidate>
        <${Field} label="Display name" hint="The name end users see at the top of the connect page." error=${about("displayName")}>
          ${(id, d) => html`<input id=${id} aria-describedby=${d} value=${form.displayName} onInput=${set("displayName")} />`}
        <//>
        <${Field} label="Logo URL" hint="An http(s) address of an image." error=${about("logoUrl")}>
          ${(id, d) => html`<input id=${id} type="url" aria-describedby=${d} value=${form.logoUrl} onInput=${set("logoUrl")} />`}
        <//>
        <${Field} label="Primary colour" hint="#rrggbb, used on the connect page's buttons and highlights." error=${about("primaryColor")}>
          ${(id, d) => html`<div class="row">
            <input id=${id} class="ws-color-text" aria-describedby=${d} value=${form.primaryColor} placeholder="#2563eb"
              spellcheck="false" autocomplete="off" onInput=${set("primaryColor")} />
            <input type="color" aria-label="Pick the primary colour" value=${colorValid ? form.primaryColor.trim() : "#2563eb"}
              onInput=${set("primaryColor")} />
          </div>`}
        <//>
        <${Field} label="Connect page theme" error=${about("theme")}>
          ${(id, d) => html`<select id=${id} aria-describedby=${d} value=${form.theme} onChange=${set("theme")}>
            ${THEMES.map(([value, label]) => html`<option value=${value}>${label}</option>`)}
          </select>`}
        <//>
        <${ErrorNote} error=${error} />
        ${notice}
        <div class="row">
          <button type="submit" disabled=${state.pending || !dirty}>Save branding</button>
          <button type="button" class="secondary" disabled=${!dirty} onClick=${() => setForm(stored)}>Undo changes</button>
          ${dirty && html`<span class="muted">Unsaved changes: the preview shows them, the connect page does not yet.</span>`}
        </div>
      </form>
      <${ConnectPreview} branding=${form} integrations=${integrations} apps=${apps} />
    </div>
  </section>`;
}

function systemTheme() {
  return window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
}

function categoryLabel(category) {
  if (category.length <= 3) return category;
  const words = category.toLowerCase().replace(/_/g, " ");
  return words.charAt(0).toUpperCase() + words.slice(1);
}

function sameOrigin(url) {
  try {
    return new URL(url, location.href).origin === location.origin;
  } catch (error) {
    return false;
  }
}

/** The contrast ratio of white text on a #rrggbb background (WCAG 2 relative luminance). */
function contrastWithWhite(hex) {
  const channel = (i) => {
    const value = parseInt(hex.slice(i, i + 2), 16) / 255;
    return value <= 0.03928 ? value / 12.92 : ((value + 0.055) / 1.055) ** 2.4;
  };
  const luminance = 0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5);
  return 1.05 / (luminance + 0.05);
}

/** An integration's logo as the connect page draws it, or its lettermark. */
function IntegrationMark({ integration }) {
  const [failed, setFailed] = useState(false);
  const label = integration.displayName || integration.name || "?";
  if (integration.logoUrl && sameOrigin(integration.logoUrl) && !failed) {
    return html`<img class="ws-p-int-logo" src=${integration.logoUrl} alt="" width="32" height="32" onError=${() => setFailed(true)} />`;
  }
  let hue = 0;
  for (let i = 0; i < label.length; i++) hue = (hue * 31 + label.charCodeAt(i)) % 360;
  return html`<span class="ws-p-int-logo ws-p-mark" aria-hidden="true" style=${{ backgroundColor: `hsl(${(hue * 137) % 360} 45% 40%)` }}>
    ${label.charAt(0).toUpperCase()}</span>`;
}

/**
 * A faithful miniature of the hosted connect page's picker (widget/connect.js and connect.css):
 * the header with the workspace's logo and name, "Connect an account", the integration tiles and
 * the primary button, coloured by the form as it is now (saved or not). Console DOM, not a frame.
 */
function ConnectPreview({ branding, integrations, apps }) {
  const disabled = new Set(apps.filter((app) => !app.enabled).map((app) => app.integrationName));
  const shownIntegrations = integrations.filter((i) => i.requiresConnection && !disabled.has(i.name));
  const tiles = shownIntegrations.slice(0, 4);
  const theme = branding.theme === "SYSTEM" ? systemTheme() : branding.theme === "DARK" ? "dark" : "light";
  const color = branding.primaryColor.trim();
  const style = COLOR.test(color) ? { "--weir-primary": color.toLowerCase() } : {};
  const logo = branding.logoUrl.trim();
  const name = branding.displayName.trim() || "Connect";
  const first = tiles[0];
  // As the real picker: past SEARCH_FROM (7) integrations, a search box and category chips.
  const searchable = shownIntegrations.length >= 7;
  const categories = [...new Set(shownIntegrations.map((i) => i.category))]
    .sort((a, b) => categoryLabel(a).localeCompare(categoryLabel(b)));
  const contrast = COLOR.test(color) ? contrastWithWhite(color) : null;
  const count = shownIntegrations.length === 1 ? "1 integration" : `${shownIntegrations.length} integrations`;
  return html`<figure class="ws-preview-figure">
    <figcaption>Preview of the connect page${theme === "dark" ? " (dark)" : ""}</figcaption>
    <div class="ws-preview" data-theme=${theme} style=${style} data-testid="connect-preview">
      <div class="ws-p-header">
        ${logo && (sameOrigin(logo)
          ? html`<img class="ws-p-logo" src=${logo} alt="" />`
          : html`<span class="ws-p-logo ws-p-logo-placeholder" aria-hidden="true">logo</span>`)}
        <span class="ws-p-brand">${name}</span>
      </div>
      <div class="ws-p-body">
        <p class="ws-p-title">Connect an account</p>
        <p class="ws-p-muted">Choose the account to connect.</p>
        ${searchable && html`<span class="ws-p-label">Search integrations</span>
          <span class="ws-p-input">Search by name or category</span>
          ${categories.length > 1 && html`<span class="ws-p-chips">
            <span class="ws-p-chip ws-p-chip-on">All</span>
            ${categories.map((category) => html`<span class="ws-p-chip" key=${category}>${categoryLabel(category)}</span>`)}
          </span>`}`}
        <p class="ws-p-count">${tiles.length ? count : "No results"}</p>
        ${tiles.length
          ? html`<ul class="ws-p-list">
              ${tiles.map((integration, index) => html`<li key=${integration.name}>
                <span class=${`ws-p-int${index === 0 ? " ws-p-int-active" : ""}`}>
                  <${IntegrationMark} integration=${integration} />
                  <span class="ws-p-int-text">
                    <span class="ws-p-int-name">${integration.displayName}</span>
                    <span class="ws-p-int-desc">${integration.description}</span>
                  </span>
                  <span class="ws-p-int-cat">${categoryLabel(integration.category)}</span>
                </span>
              </li>`)}
            </ul>`
          : html`<p class="ws-p-muted">No integration is available to connect.</p>`}
        ${first && html`<span class="ws-p-primary">Connect with ${first.displayName}</span>`}
      </div>
      <div class="ws-p-footer">Secured by Weir</div>
    </div>
    ${logo && !sameOrigin(logo) && html`<p class="hint">The console loads images only from Weir itself, so the logo
      stands as a placeholder here; the connect page shows the image at this address.</p>`}
    ${contrast !== null && contrast < 4.5 && html`<p class="field-error">White text on ${color} has a contrast of
      ${contrast.toFixed(1)}:1, under the 4.5:1 that WCAG asks for: the connect page's buttons will be hard to read.</p>`}
    ${first && html`<p class="hint">The button appears once an end user picks an integration (here the first one).</p>`}
  </figure>`;
}

// -- allowed origins and redirect URIs -------------------------------------------------------

function Addresses({ workspace, onSaved }) {
  return html`<section class="card ws-addresses" aria-labelledby="addresses-title">
    <h2 id="addresses-title">Where the connect flow may run</h2>
    <${ListEditor} workspace=${workspace} onSaved=${onSaved} field="allowedOrigins" legend="Allowed origins"
      hint="Origins (scheme://host[:port]) of the pages that may embed the connect flow, e.g. https://app.example.com."
      noun="origin" placeholder="https://app.example.com" />
    <${ListEditor} workspace=${workspace} onSaved=${onSaved} field="allowedRedirectUris" legend="Allowed redirect URIs"
      hint="Exact addresses the redirect flow may send the browser back to."
      noun="redirect URI" placeholder="https://app.example.com/connected" />
  </section>`;
}

let rowSerial = 0;
const rowsOf = (values) => values.map((value) => ({ key: ++rowSerial, value }));

function ListEditor({ workspace, field, legend, hint, noun, placeholder, onSaved }) {
  const stored = workspace[field];
  const [rows, setRows] = useState(() => rowsOf(stored));
  const [base, setBase] = useState(stored);
  const [sent, setSent] = useState([]); // the row keys in the order they were sent (for field errors)
  const [run, state] = useMutation(UPDATE);
  const [notice, setNotice] = useNotice();
  const current = rows.map((row) => row.value.trim()).filter(Boolean);
  const dirty = current.join("\n") !== stored.join("\n");
  useEffect(() => {
    const editing = rows.map((row) => row.value.trim()).filter(Boolean).join("\n") !== base.join("\n");
    if (!editing) setRows(rowsOf(stored));
    setBase(stored);
  }, [workspace.id, workspace.updatedAt]); // eslint-disable-line
  const change = (key, value) => setRows(rows.map((row) => (row.key === key ? { ...row, value } : row)));
  const remove = (key) => setRows(rows.filter((row) => row.key !== key));
  const add = () => setRows([...rows, { key: ++rowSerial, value: "" }]);
  const submit = async (event) => {
    event.preventDefault();
    const filled = rows.filter((row) => row.value.trim());
    setSent(filled.map((row) => row.key));
    const data = await shown(run({ input: { id: workspace.id, [field]: filled.map((row) => row.value.trim()) } }));
    if (data) {
      setRows(rowsOf(data.updateWorkspace[field]));
      onSaved(data.updateWorkspace);
      setNotice(`${legend} saved`);
    }
  };
  const error = state.error;
  const errorOf = (key) => {
    const index = sent.indexOf(key);
    return error && index >= 0 ? error.about(`input.${field}.${index}`) : null;
  };
  const listError = error && error.about(`input.${field}`);
  const shownError = error && !sent.some((key) => errorOf(key)) ? error : null;
  return html`<form onSubmit=${submit} novalidate class="ws-list-editor">
    <fieldset>
      <legend>${legend}</legend>
      <p class="hint">${hint}</p>
      ${rows.length === 0 && html`<p class="muted">None yet.${field === "allowedOrigins" ? " No page may embed the connect flow." : " The redirect flow cannot be used."}</p>`}
      ${rows.map((row, index) => html`<div class="ws-list-row" key=${row.key}>
        <${Field} label=${`${legend.replace(/s$/, "").replace("URIs", "URI")} ${index + 1}`} error=${errorOf(row.key)}>
          ${(id, d) => html`<input id=${id} type="url" aria-describedby=${d} value=${row.value} placeholder=${placeholder}
            spellcheck="false" autocomplete="off" onInput=${(e) => change(row.key, e.currentTarget.value)} />`}
        <//>
        <button type="button" class="secondary" onClick=${() => remove(row.key)}
          aria-label=${`Remove ${noun} ${index + 1}${row.value ? ` (${row.value})` : ""}`}>Remove</button>
      </div>`)}
      ${listError && html`<p class="field-error">${listError}</p>`}
      <${ErrorNote} error=${shownError || (error && { message: `Check the ${noun} marked above.`, code: error.code })} />
      ${notice}
      <div class="row">
        <button type="button" class="secondary" onClick=${add}>Add ${noun}</button>
        <button type="submit" disabled=${state.pending || !dirty}>Save ${legend.toLowerCase()}</button>
      </div>
    </fieldset>
  </form>`;
}

// -- OAuth apps ------------------------------------------------------------------------------

function OAuthApps({ workspace, integrations, apps, onSaved }) {
  const oauth = integrations.filter((i) => i.authTypes.includes("OAUTH2"));
  const names = new Map(integrations.map((i) => [i.name, i.displayName]));
  const [editing, setEditing] = useState("");
  const columns = [
    { label: "Integration", render: (app) => names.get(app.integrationName) || app.integrationName },
    { label: "Enabled", render: (app) => (app.enabled ? "Yes" : "No, blocked here") },
    { label: "Connections", render: (app) => app.strategy.replaceAll("_", " ").toLowerCase() },
    { label: "Client id", render: (app) => (app.oauthClientId ? html`<code>${app.oauthClientId}</code>` : html`<span class="muted">Weir's default</span>`) },
    { label: "Client secret", render: (app) => (app.hasOAuthClientSecret ? "Stored (never shown)" : html`<span class="muted">None</span>`) },
    { label: "Scopes", render: (app) => (app.scopes ? app.scopes.join(" ") || "none" : html`<span class="muted">The integration's</span>`) },
    { label: "", render: (app) => html`<button type="button" class="secondary" onClick=${() => setEditing(app.integrationName)}
        aria-label=${`Edit ${names.get(app.integrationName) || app.integrationName}`}>Edit</button>` },
  ];
  return html`<section class="card ws-apps" aria-labelledby="apps-title">
    <h2 id="apps-title">OAuth apps and integrations</h2>
    <p class="muted">Use your own OAuth app for an integration, so end users see your app's name when they approve access.</p>
    <${Table} caption="Integrations configured in this workspace" columns=${columns} rows=${apps}
      empty=${html`<p class="muted">No integration is configured here yet: each uses Weir's defaults.</p>`} />
    <${ConfigureForm} key=${editing} workspace=${workspace} oauth=${oauth} apps=${apps} initial=${editing} onSaved=${onSaved} />
  </section>`;
}

function ConfigureForm({ workspace, oauth, apps, initial, onSaved }) {
  const fill = (name) => {
    const app = apps.find((a) => a.integrationName === name);
    return {
      integrationName: name,
      enabled: app ? app.enabled : true,
      strategy: app ? app.strategy : "PER_USER_WITH_FALLBACK",
      oauthClientId: (app && app.oauthClientId) || "",
      oauthClientSecret: "",
      scopes: app && app.scopes ? app.scopes.join(" ") : "",
      hasSecret: Boolean(app && app.hasOAuthClientSecret),
    };
  };
  const [form, setForm] = useState(() => fill(initial || (oauth[0] && oauth[0].name) || ""));
  const [run, state] = useMutation(CONFIGURE);
  const [notice, setNotice] = useNotice();
  const set = (key) => (event) => setForm({ ...form, [key]: event.currentTarget.value });
  const integration = oauth.find((i) => i.name === form.integrationName);
  const submit = async (event) => {
    event.preventDefault();
    const input = {
      workspaceId: workspace.id,
      integrationName: form.integrationName,
      enabled: form.enabled,
      strategy: form.strategy,
      oauthClientId: form.oauthClientId.trim() || null,
      scopes: form.scopes.trim() ? form.scopes.trim().split(/[\s,]+/) : null,
    };
    if (form.oauthClientSecret) input.oauthClientSecret = form.oauthClientSecret; // omitted: kept as it is
    const data = await shown(run({ input }));
    if (data) {
      onSaved(data.configureWorkspaceIntegration);
      setForm({ ...fill(form.integrationName), hasSecret: data.configureWorkspaceIntegration.hasOAuthClientSecret });
      setNotice(`${integration ? integration.displayName : form.integrationName} saved`);
    }
  };
  if (!oauth.length) return html`<p class="muted">No integration of this workspace signs in with OAuth.</p>`;
  const error = state.error;
  const about = (field) => error && error.about(`input.${field}`);
  return html`<form class="ws-configure" onSubmit=${submit} novalidate autocomplete="off">
    <fieldset>
      <legend>Configure an integration</legend>
      <${Field} label="Integration" error=${about("integrationName")}>
        ${(id, d) => html`<select id=${id} aria-describedby=${d} value=${form.integrationName}
          onChange=${(e) => setForm(fill(e.currentTarget.value))}>
          ${oauth.map((i) => html`<option value=${i.name}>${i.displayName}</option>`)}
        </select>`}
      <//>
      <div class="check">
        <input id="ws-app-enabled" type="checkbox" checked=${form.enabled} onChange=${(e) => setForm({ ...form, enabled: e.currentTarget.checked })} />
        <label for="ws-app-enabled">Enabled in this workspace (when off, end users cannot connect it)</label>
      </div>
      <${Field} label="How connections are chosen" error=${about("strategy")}>
        ${(id, d) => html`<select id=${id} aria-describedby=${d} value=${form.strategy} onChange=${set("strategy")}>
          ${STRATEGIES.filter(([value]) => value !== "FIXED" || form.strategy === "FIXED").map(([value, label]) => html`<option value=${value}>${label}</option>`)}
        </select>`}
      <//>
      <${Field} label="OAuth client id" hint="From your app's settings at the provider; empty uses Weir's default." error=${about("oauthClientId")}>
        ${(id, d) => html`<input id=${id} aria-describedby=${d} value=${form.oauthClientId} spellcheck="false" onInput=${set("oauthClientId")} />`}
      <//>
      <${Field} label="OAuth client secret"
        hint=${form.hasSecret ? "A secret is stored (it is never shown). Leave empty to keep it; type a new one to replace it." : "Stored encrypted, never shown again."}
        error=${about("oauthClientSecret")}>
        ${(id, d) => html`<input id=${id} type="password" aria-describedby=${d} value=${form.oauthClientSecret}
          autocomplete="new-password" spellcheck="false" onInput=${set("oauthClientSecret")} />`}
      <//>
      <${Field} label="Scopes"
        hint=${`Separated by spaces; empty asks for the integration's defaults${integration && integration.oauth && integration.oauth.defaultScopes.length ? ` (${integration.oauth.defaultScopes.join(" ")})` : ""}.`}
        error=${about("scopes")}>
        ${(id, d) => html`<input id=${id} aria-describedby=${d} value=${form.scopes} spellcheck="false" onInput=${set("scopes")} />`}
      <//>
      <${ErrorNote} error=${error} />
      ${notice}
      <button type="submit" disabled=${state.pending || !form.integrationName}>Save integration</button>
    </fieldset>
  </form>`;
}
