// Syncs: the list (live), one sync with its runs (live), and a new sync made from a connection
// with a form drawn from its settings schema, its streams and their columns, and a schedule.
import { useEffect, useState } from "preact/hooks";
import { gql } from "../lib/api.js";
import { ACTIVE, CronPreview, RUN_FIELDS, RunTable, describeCron } from "../lib/runs.js";
import { SchemaForm, defaults } from "../lib/schema-form.js";
import {
  ConfirmButton, Empty, ErrorNote, Field, Loading, More, Page, Status, Table, Time, WorkspacePicker,
  html, navigate, useMutation, useNotice, usePaged, useQuery, useSubscription,
} from "../lib/ui.js";

const SYNC_FIELDS = `id connectionId workspaceId destinationSchemaName settings syncInterval timezone enabled
  nextRunAt deleteDetection schemaChangePolicy createdAt
  sourceStreams { id name syncMode excludedColumns hashedColumns }
  lastRun { id status queuedAt finishedAt rowsLoaded }
  activeRun { id status cancelRequested }`;

const CONNECTION_FIELDS = `id integrationName displayName externalId status health
  integration { displayName } workspace { id name }`;

const SYNCS = `query ConsoleSyncs($filter: EltSyncFilter, $first: Int, $after: String) {
  eltSyncs(filter: $filter, first: $first, after: $after) {
    edges { node { ${SYNC_FIELDS} } } pageInfo { hasNextPage endCursor }
  }
}`;
const CONNECTIONS = `query ConsoleSyncConnections { connections(first: 100) { edges { node { ${CONNECTION_FIELDS} } } } }`;
const SYNC_EVENTS = `subscription ConsoleSyncEvents($workspaceId: ID) {
  eltSyncUpdated(workspaceId: $workspaceId) { kind syncId sync { ${SYNC_FIELDS} } }
}`;
const RUN_EVENTS = `subscription ConsoleSyncRunEvents($syncId: ID, $workspaceId: ID) {
  syncRunUpdated(syncId: $syncId, workspaceId: $workspaceId) { ${RUN_FIELDS} }
}`;
const SYNC = `query ConsoleSync($id: ID!) { eltSync(id: $id) { ${SYNC_FIELDS} } }`;
const RUNS = `query ConsoleSyncRuns($syncId: ID, $first: Int, $after: String) {
  syncRuns(syncId: $syncId, first: $first, after: $after) {
    edges { node { ${RUN_FIELDS} } } pageInfo { hasNextPage endCursor }
  }
}`;
const CONNECTION_OF = `query ConsoleSyncConnection($id: ID!) { connection(id: $id) { ${CONNECTION_FIELDS} } }`;
const ENABLE = `mutation ConsoleEnableSync($id: ID!) { enableEltSync(id: $id) { ${SYNC_FIELDS} } }`;
const DISABLE = `mutation ConsoleDisableSync($id: ID!) { disableEltSync(id: $id) { ${SYNC_FIELDS} } }`;
const TRIGGER = `mutation ConsoleTriggerRun($syncId: ID!, $fullRefresh: Boolean!) {
  triggerSyncRun(syncId: $syncId, fullRefresh: $fullRefresh) { ${RUN_FIELDS} }
}`;
const CANCEL = `mutation ConsoleCancelRun($runId: ID!) { cancelSyncRun(runId: $runId) { ${RUN_FIELDS} } }`;
const DELETE = `mutation ConsoleDeleteSync($id: ID!) { deleteEltSync(id: $id) { deletedId } }`;
const UPDATE = `mutation ConsoleUpdateSync($input: UpdateEltSyncInput!) { updateEltSync(input: $input) { ${SYNC_FIELDS} } }`;
const SETTINGS_SCHEMA = `query ConsoleSettingsSchema($id: ID!, $partial: JSON) {
  connectionSettingsSchema(connectionId: $id, partialSettings: $partial)
}`;
const STREAMS = `query ConsoleStreams($id: ID!, $settings: JSON) {
  connectionStreams(connectionId: $id, settings: $settings) { name description primaryKey cursorField syncModes recordSchema }
}`;
const CREATE = `mutation ConsoleCreateSync($input: CreateEltSyncInput!) { createEltSync(input: $input) { ${SYNC_FIELDS} } }`;

function connectionLabel(connection) {
  if (!connection) return "";
  const who = connection.displayName || connection.externalId || connection.id;
  return `${connection.integration.displayName} · ${who}${connection.workspace ? ` (${connection.workspace.name})` : ""}`;
}

function Schedule({ sync }) {
  const { text } = describeCron(sync.syncInterval);
  return html`<span title=${`${sync.syncInterval} (${sync.timezone})`}>${text || sync.syncInterval}</span>`;
}

// -- the list ---------------------------------------------------------------------------------

function SyncList({ query }) {
  const [workspaceId, setWorkspaceId] = useState(query.get("workspace") || "");
  const filter = workspaceId ? { workspaceId } : {};
  const list = usePaged(SYNCS, { filter }, (data) => data.eltSyncs, [workspaceId]);
  const connections = useQuery(CONNECTIONS, {});
  const byId = new Map(connections.data ? connections.data.connections.edges.map((edge) => [edge.node.id, edge.node]) : []);
  const scope = workspaceId ? { workspaceId } : {};
  useSubscription(SYNC_EVENTS, scope, ({ eltSyncUpdated: event }) => {
    if (event.kind === "DELETED") list.reload();
    else if (event.sync) list.upsert(event.sync, true);
  }, [workspaceId]);
  useSubscription(RUN_EVENTS, scope, ({ syncRunUpdated: run }) => {
    list.upsert({ id: run.syncId, lastRun: run, activeRun: ACTIVE.has(run.status) ? run : null });
  }, [workspaceId]);
  const columns = [
    { label: "Sync", render: (sync) => html`<a href=${`#/syncs/${sync.id}`}>${sync.destinationSchemaName}</a>` },
    { label: "Connection", render: (sync) => html`<a href=${`#/connections/${sync.connectionId}`}>${connectionLabel(byId.get(sync.connectionId)) || sync.connectionId}</a>` },
    { label: "Schedule", render: (sync) => html`<${Schedule} sync=${sync} />` },
    { label: "State", render: (sync) => html`<${Status} value=${sync.enabled ? "ENABLED" : "DISABLED"} />` },
    { label: "Last run", render: (sync) => (sync.lastRun ? html`<a href=${`#/runs/${sync.lastRun.id}`}><${Status} value=${sync.lastRun.status} /></a> <${Time} value=${sync.lastRun.queuedAt} />` : html`<span class="muted">never</span>`) },
    { label: "Next run", render: (sync) => html`<${Time} value=${sync.nextRunAt} />` },
  ];
  return html`<${Page} title="Syncs" actions=${html`<a class="button" href="#/syncs/new">New sync</a>`}>
    <div class="filters"><${WorkspacePicker} value=${workspaceId} onChange=${setWorkspaceId} /></div>
    <${Table} caption="Syncs" columns=${columns} rows=${list.items}
      empty=${!list.loading && !list.error && html`<${Empty} title="No syncs yet"
        action=${html`<a class="button" href="#/syncs/new">Create a sync</a>`}>
        A sync copies a connection's data into your warehouse on a schedule. Pick a connection, choose its streams, and set when it runs.
      <//>`} />
    <${More} list=${list} />
  <//>`;
}

// -- one sync ---------------------------------------------------------------------------------

function ScheduleEditor({ sync, onSaved }) {
  const [cron, setCron] = useState(sync.syncInterval);
  const [timezone, setTimezone] = useState(sync.timezone);
  const [update, { pending, error }] = useMutation(UPDATE);
  const save = async (event) => {
    event.preventDefault();
    try {
      const data = await update({ input: { id: sync.id, syncInterval: cron, timezone } });
      onSaved(data.updateEltSync);
    } catch (failure) {
      /* shown below */
    }
  };
  return html`<form class="card" onSubmit=${save} aria-labelledby="schedule-title">
    <h2 id="schedule-title">Schedule</h2>
    <${Field} label="Cron expression" error=${error && error.about("input.syncInterval")}>
      ${(id, described) => html`<input id=${id} class="mono" value=${cron} aria-describedby=${described}
        onInput=${(event) => setCron(event.currentTarget.value)} />`}
    <//>
    <${CronPreview} expression=${cron} timezone=${timezone} />
    <${Field} label="Timezone" hint="IANA name, e.g. Europe/Copenhagen" error=${error && error.about("input.timezone")}>
      ${(id, described) => html`<input id=${id} value=${timezone} aria-describedby=${described}
        onInput=${(event) => setTimezone(event.currentTarget.value)} />`}
    <//>
    ${error && !error.about("input.syncInterval") && !error.about("input.timezone") && html`<${ErrorNote} error=${error} />`}
    <button type="submit" disabled=${pending || (cron === sync.syncInterval && timezone === sync.timezone)}>Save schedule</button>
  </form>`;
}

function SyncDetail({ id }) {
  const loaded = useQuery(SYNC, { id }, [id]);
  const [sync, setSync] = useState(null);
  useEffect(() => setSync(loaded.data ? loaded.data.eltSync : null), [loaded.data]);
  const connection = useQuery(CONNECTION_OF, { id: sync ? sync.connectionId : "" }, [sync && sync.connectionId]);
  const runs = usePaged(RUNS, { syncId: id }, (data) => data.syncRuns, [id], 10);
  const [notice, setNotice] = useNotice();
  const [error, setError] = useState(null);
  const [fullRefresh, setFullRefresh] = useState(false);
  useSubscription(RUN_EVENTS, { syncId: id }, ({ syncRunUpdated: run }) => {
    runs.upsert(run, true);
    setSync((current) => current && { ...current, lastRun: run, activeRun: ACTIVE.has(run.status) ? run : null });
  }, [id]);
  useSubscription(SYNC_EVENTS, sync && sync.workspaceId ? { workspaceId: sync.workspaceId } : {}, ({ eltSyncUpdated: event }) => {
    if (event.syncId === id && event.sync) setSync(event.sync);
  }, [id, sync && sync.workspaceId]);
  if (loaded.error) return html`<${Page} title="Sync"><${ErrorNote} error=${loaded.error} /><//>`;
  if (!sync) return html`<${Page} title="Sync"><${Loading} /><//>`;
  const act = async (mutation, variables, done) => {
    setError(null);
    try {
      await done(await gql(mutation, variables));
    } catch (failure) {
      setError(failure);
    }
  };
  const runNow = () =>
    act(TRIGGER, { syncId: id, fullRefresh }, (data) => {
      runs.upsert(data.triggerSyncRun, true);
      setSync({ ...sync, activeRun: data.triggerSyncRun });
      setNotice("Run queued: it shows below as it goes.");
    });
  const actions = html`
    ${sync.activeRun
      ? html`<button type="button" class="secondary" disabled=${sync.activeRun.cancelRequested}
          onClick=${() => act(CANCEL, { runId: sync.activeRun.id }, (data) => { runs.upsert(data.cancelSyncRun, true); setNotice("Cancel requested."); })}>
          ${sync.activeRun.cancelRequested ? "Cancelling…" : "Cancel run"}</button>`
      : html`<button type="button" onClick=${runNow}>Run now</button>`}
    ${sync.enabled
      ? html`<button type="button" class="secondary" onClick=${() => act(DISABLE, { id }, (data) => setSync(data.disableEltSync))}>Disable</button>`
      : html`<button type="button" class="secondary" onClick=${() => act(ENABLE, { id }, (data) => setSync(data.enableEltSync))}>Enable</button>`}
    <${ConfirmButton} label="Delete" title="Delete this sync?" confirmLabel="Delete sync"
      onConfirm=${() => act(DELETE, { id }, () => navigate("/syncs"))}>
      <p>Its schedule and run history go. The tables it loaded stay in the warehouse.</p>
    <//>`;
  const streamColumns = [
    { label: "Stream", render: (stream) => html`<strong>${stream.name}</strong>` },
    { label: "Mode", render: (stream) => stream.syncMode.replace("_", " ").toLowerCase() },
    { label: "Excluded columns", render: (stream) => stream.excludedColumns.join(", ") || html`<span class="muted">none</span>` },
    { label: "Hashed columns", render: (stream) => stream.hashedColumns.join(", ") || html`<span class="muted">none</span>` },
  ];
  return html`<${Page} title=${`Sync ${sync.destinationSchemaName}`} actions=${actions}>
    ${notice}
    <${ErrorNote} error=${error} />
    ${!sync.activeRun && html`<label class="check"><input type="checkbox" checked=${fullRefresh}
      onChange=${(event) => setFullRefresh(event.currentTarget.checked)} /> Next manual run is a full refresh</label>`}
    <div class="card">
      <dl class="facts">
        <dt>Id</dt><dd class="mono">${sync.id}</dd>
        <dt>Connection</dt><dd><a href=${`#/connections/${sync.connectionId}`}>${connection.data ? connectionLabel(connection.data.connection) : sync.connectionId}</a></dd>
        <dt>State</dt><dd><${Status} value=${sync.enabled ? "ENABLED" : "DISABLED"} /></dd>
        <dt>Schedule</dt><dd><${Schedule} sync=${sync} /> <code>${sync.syncInterval}</code> ${sync.timezone}</dd>
        <dt>Next run</dt><dd><${Time} value=${sync.nextRunAt} /></dd>
        <dt>Destination schema</dt><dd class="mono">${sync.destinationSchemaName}</dd>
        <dt>Deletes</dt><dd>${sync.deleteDetection.toLowerCase()}</dd>
        <dt>Settings</dt><dd><code>${JSON.stringify(sync.settings)}</code></dd>
      </dl>
    </div>
    <h2>Runs</h2>
    <${RunTable} runs=${runs.items} caption="Runs of this sync"
      empty=${!runs.loading && html`<${Empty} title="No runs yet" action=${html`<button type="button" onClick=${runNow}>Run now</button>`}>
        ${sync.enabled ? "It runs on its schedule; or start one now." : "Enable it to run on its schedule, or start one now."}
      <//>`} />
    <${More} list=${runs} />
    <h2>Streams</h2>
    <${Table} caption="Streams" columns=${streamColumns} rows=${sync.sourceStreams} />
    <${ScheduleEditor} sync=${sync} onSaved=${setSync} />
  <//>`;
}

// -- a new sync -------------------------------------------------------------------------------

function columnsOf(stream) {
  return Object.keys((stream.recordSchema && stream.recordSchema.properties) || {});
}

function StreamPicker({ streams, picks, setPicks, error }) {
  if (!streams.length) return html`<p class="muted">These settings offer no stream.</p>`;
  const update = (name, change) => setPicks({ ...picks, [name]: { ...picks[name], ...change } });
  return html`<div>
    ${error && html`<p class="field-error" role="alert">${error}</p>`}
    ${streams.map((stream) => {
      const pick = picks[stream.name] || { selected: false, syncMode: stream.syncModes.includes("INCREMENTAL") ? "INCREMENTAL" : stream.syncModes[0], columns: {} };
      const key = new Set(stream.primaryKey);
      return html`<fieldset key=${stream.name}>
        <legend><label class="check"><input type="checkbox" checked=${pick.selected}
          onChange=${(event) => update(stream.name, { ...pick, selected: event.currentTarget.checked })} /> ${stream.name}</label></legend>
        <p class="hint">${stream.description}</p>
        ${pick.selected && html`
          <label class="check">Mode
            <select value=${pick.syncMode} onChange=${(event) => update(stream.name, { ...pick, syncMode: event.currentTarget.value })}>
              ${stream.syncModes.map((mode) => html`<option value=${mode}>${mode.replace("_", " ").toLowerCase()}</option>`)}
            </select>
          </label>
          <details>
            <summary>Columns: copy, exclude or hash</summary>
            ${columnsOf(stream).map((column) => html`<label class="check column-choice">
              <span class="mono">${column}</span>
              <select aria-label=${`${stream.name}.${column}`} value=${pick.columns[column] || "copy"} disabled=${key.has(column)}
                onChange=${(event) => update(stream.name, { ...pick, columns: { ...pick.columns, [column]: event.currentTarget.value } })}>
                <option value="copy">copy</option><option value="exclude">exclude</option><option value="hash">hash</option>
              </select>
              ${key.has(column) && html`<span class="muted">primary key</span>`}
            </label>`)}
          </details>`}
      </fieldset>`;
    })}
  </div>`;
}

function useDebounced(value, delay = 350) {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setSettled(value), delay);
    return () => clearTimeout(timer);
  }, [JSON.stringify(value)]); // eslint-disable-line
  return settled;
}

function NewSync({ query }) {
  const connections = useQuery(CONNECTIONS, {});
  const [connectionId, setConnectionId] = useState(query.get("connection") || "");
  const [schema, setSchema] = useState(null);
  const [values, setValues] = useState({});
  const [streams, setStreams] = useState([]);
  const [streamsError, setStreamsError] = useState(null);
  const [picks, setPicks] = useState({});
  const [destination, setDestination] = useState("");
  const [cron, setCron] = useState("0 * * * *");
  const [timezone, setTimezone] = useState("UTC");
  const [deleteDetection, setDeleteDetection] = useState("OFF");
  const [enable, setEnable] = useState(true);
  const [runNow, setRunNow] = useState(true);
  const [error, setError] = useState(null);
  const [pending, setPending] = useState(false);
  const settled = useDebounced(values);
  const list = connections.data ? connections.data.connections.edges.map((edge) => edge.node) : [];
  const connection = list.find((item) => item.id === connectionId);

  // A new connection: its schema from scratch, its defaults as the first values.
  useEffect(() => {
    setSchema(null);
    setStreams([]);
    setPicks({});
    if (!connectionId) return;
    gql(SETTINGS_SCHEMA, { id: connectionId }).then(
      (data) => {
        setSchema(data.connectionSettingsSchema);
        setValues(defaults(data.connectionSettingsSchema));
      },
      setError,
    );
  }, [connectionId]);
  useEffect(() => {
    if (connection && !destination) setDestination(connection.integrationName.replace(/[^a-z0-9_]/g, "_"));
  }, [connection]); // eslint-disable-line
  // Settings changed: options that depend on them (a schema's tables), and the streams they offer.
  useEffect(() => {
    if (!connectionId || !schema) return;
    gql(SETTINGS_SCHEMA, { id: connectionId, partial: settled }).then((data) => setSchema(data.connectionSettingsSchema), () => {});
    gql(STREAMS, { id: connectionId, settings: settled }).then(
      (data) => {
        setStreams(data.connectionStreams);
        setStreamsError(null);
      },
      (failure) => setStreamsError(failure),
    );
  }, [connectionId, JSON.stringify(settled), schema === null]); // eslint-disable-line

  const submit = async (event) => {
    event.preventDefault();
    setError(null);
    setPending(true);
    const sourceStreams = streams
      .filter((stream) => picks[stream.name] && picks[stream.name].selected)
      .map((stream) => {
        const pick = picks[stream.name];
        const chosen = (what) => Object.entries(pick.columns).filter(([, choice]) => choice === what).map(([column]) => column);
        return { name: stream.name, syncMode: pick.syncMode, excludedColumns: chosen("exclude"), hashedColumns: chosen("hash") };
      });
    try {
      const created = (await gql(CREATE, {
        input: { connectionId, destinationSchemaName: destination, settings: values, syncInterval: cron, timezone, deleteDetection, sourceStreams },
      })).createEltSync;
      if (enable) await gql(ENABLE, { id: created.id });
      if (runNow) await gql(TRIGGER, { syncId: created.id, fullRefresh: false });
      navigate(`/syncs/${created.id}`);
    } catch (failure) {
      setError(failure);
    } finally {
      setPending(false);
    }
  };
  const about = (field) => error && error.about(field);
  const settingError = (name) => about(`input.settings.${name}`) || (streamsError && streamsError.about(`settings.${name}`));
  const streamProblem = error
    ? error.fields.filter((f) => f.field.startsWith("input.sourceStreams")).map((f) => `${f.field}: ${f.message}`).join("; ")
    : "";
  const chosenCount = Object.values(picks).filter((pick) => pick.selected).length;

  if (connections.error) return html`<${Page} title="New sync"><${ErrorNote} error=${connections.error} /><//>`;
  if (connections.loading) return html`<${Page} title="New sync"><${Loading} /><//>`;
  if (!list.length)
    return html`<${Page} title="New sync"><${Empty} title="No connection to sync from"
      action=${html`<a class="button" href="#/connections/new">Create a connection</a>`}>
      A sync copies one connection's data. Create a connection first.<//><//>`;
  return html`<${Page} title="New sync">
    <form onSubmit=${submit} novalidate>
      <fieldset>
        <legend>1. Connection</legend>
        <${Field} label="Connection" error=${about("input.connectionId")}>
          ${(id, described) => html`<select id=${id} aria-describedby=${described} value=${connectionId} required
            onChange=${(event) => setConnectionId(event.currentTarget.value)}>
            <option value="">Choose a connection</option>
            ${list.map((item) => html`<option value=${item.id}>${connectionLabel(item)}</option>`)}
          </select>`}
        <//>
      </fieldset>
      ${connectionId && html`
        <fieldset>
          <legend>2. Settings</legend>
          ${schema ? html`<${SchemaForm} schema=${schema} values=${values} onChange=${setValues} errorFor=${settingError} />` : html`<${Loading} what="Reading the settings" />`}
        </fieldset>
        <fieldset>
          <legend>3. Streams (${chosenCount} chosen)</legend>
          ${streamsError && !Object.keys(schema ? schema.properties || {} : {}).some((name) => settingError(name)) && html`<${ErrorNote} error=${streamsError} />`}
          <${StreamPicker} streams=${streams} picks=${picks} setPicks=${setPicks} error=${streamProblem} />
        </fieldset>
        <fieldset>
          <legend>4. Destination and schedule</legend>
          <${Field} label="Destination schema" hint="A lower-case SQL name; the streams load into its tables." error=${about("input.destinationSchemaName")}>
            ${(id, described) => html`<input id=${id} class="mono" value=${destination} aria-describedby=${described}
              onInput=${(event) => setDestination(event.currentTarget.value)} />`}
          <//>
          <${Field} label="Schedule (cron)" error=${about("input.syncInterval")}>
            ${(id, described) => html`<input id=${id} class="mono" value=${cron} aria-describedby=${described}
              onInput=${(event) => setCron(event.currentTarget.value)} />`}
          <//>
          <${CronPreview} expression=${cron} timezone=${timezone} />
          <${Field} label="Timezone" hint="IANA name, e.g. Europe/Copenhagen" error=${about("input.timezone")}>
            ${(id, described) => html`<input id=${id} value=${timezone} aria-describedby=${described}
              onInput=${(event) => setTimezone(event.currentTarget.value)} />`}
          <//>
          <${Field} label="Deleted rows" hint="Off; marked from the provider's delete markers; or markers plus a daily check of which keys still exist.">
            ${(id, described) => html`<select id=${id} aria-describedby=${described} value=${deleteDetection}
              onChange=${(event) => setDeleteDetection(event.currentTarget.value)}>
              <option value="OFF">Off</option><option value="MARKERS">Markers</option><option value="RECONCILE">Reconcile</option>
            </select>`}
          <//>
          <label class="check"><input type="checkbox" checked=${enable} onChange=${(event) => setEnable(event.currentTarget.checked)} /> Enable the schedule</label>
          <label class="check"><input type="checkbox" checked=${runNow} onChange=${(event) => setRunNow(event.currentTarget.checked)} /> Run it once now</label>
        </fieldset>`}
      ${error && html`<${ErrorNote} error=${error} />`}
      <button type="submit" disabled=${pending || !connectionId || !chosenCount}>Create sync</button>
    </form>
  <//>`;
}

export default function Syncs({ segments, query }) {
  if (segments[0] === "new") return html`<${NewSync} query=${query} />`;
  if (segments[0]) return html`<${SyncDetail} id=${segments[0]} />`;
  return html`<${SyncList} query=${query} />`;
}
