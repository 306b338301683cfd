// Runs of every sync, newest first (live), and one run with its per-stream counts (live while
// it runs).
import { useEffect, useState } from "preact/hooks";
import { gql } from "../lib/api.js";
import { ACTIVE, RUN_FIELDS, RunTable, StreamTable } from "../lib/runs.js";
import {
  Duration, Empty, ErrorNote, Field, Loading, More, Page, Status, Time, WorkspacePicker, html, useNotice,
  usePaged, useQuery, useSubscription,
} from "../lib/ui.js";

const RUNS = `query ConsoleRuns($filter: SyncRunFilter, $first: Int, $after: String) {
  syncRuns(filter: $filter, first: $first, after: $after) {
    edges { node { ${RUN_FIELDS} } } pageInfo { hasNextPage endCursor }
  }
}`;
const RUN = `query ConsoleRun($id: ID!) { syncRun(id: $id) { ${RUN_FIELDS} heartbeatAt } }`;
const RUN_EVENTS = `subscription ConsoleRunEvents($syncId: ID, $workspaceId: ID) {
  syncRunUpdated(syncId: $syncId, workspaceId: $workspaceId) { ${RUN_FIELDS} }
}`;
const CANCEL = `mutation ConsoleCancelRun($runId: ID!) { cancelSyncRun(runId: $runId) { ${RUN_FIELDS} } }`;
const STATUSES = ["QUEUED", "RUNNING", "SUCCEEDED", "FAILED", "CANCELLED", "SKIPPED"];

function RunList({ query }) {
  const [status, setStatus] = useState(query.get("status") || "");
  const [workspaceId, setWorkspaceId] = useState(query.get("workspace") || "");
  const filter = { ...(status ? { status: [status] } : {}), ...(workspaceId ? { workspaceId } : {}) };
  const list = usePaged(RUNS, { filter }, (data) => data.syncRuns, [status, workspaceId]);
  useSubscription(RUN_EVENTS, workspaceId ? { workspaceId } : {}, ({ syncRunUpdated: run }) => {
    if (!status || run.status === status || list.items.some((item) => item.id === run.id)) list.upsert(run, true);
  }, [status, workspaceId]);
  return html`<${Page} title="Runs">
    <div class="filters">
      <${WorkspacePicker} value=${workspaceId} onChange=${setWorkspaceId} />
      <${Field} label="Status">
        ${(id) => html`<select id=${id} value=${status} onChange=${(event) => setStatus(event.currentTarget.value)}>
          <option value="">Any status</option>
          ${STATUSES.map((value) => html`<option value=${value}>${value.toLowerCase()}</option>`)}
        </select>`}
      <//>
    </div>
    <${RunTable} runs=${list.items} showSync=${true} caption="Runs of every sync"
      empty=${!list.loading && !list.error && html`<${Empty} title=${status ? "No run with this status" : "No runs yet"}
        action=${html`<a class="button" href="#/syncs">Go to syncs</a>`}>
        Runs appear here as syncs run on their schedule, or when you start one from a sync's page.
      <//>`} />
    <${More} list=${list} />
  <//>`;
}

function RunDetail({ id }) {
  const loaded = useQuery(RUN, { id }, [id]);
  const [run, setRun] = useState(null);
  const [error, setError] = useState(null);
  const [notice, setNotice] = useNotice();
  useEffect(() => setRun(loaded.data ? loaded.data.syncRun : null), [loaded.data]);
  const syncId = run ? run.syncId : null;
  useSubscription(RUN_EVENTS, { syncId }, ({ syncRunUpdated: event }) => {
    if (event.id === id) setRun((current) => ({ ...current, ...event }));
  }, [syncId]);
  if (loaded.error) return html`<${Page} title="Run"><${ErrorNote} error=${loaded.error} /><//>`;
  if (!run) return html`<${Page} title="Run"><${Loading} /><//>`;
  const cancel = async () => {
    setError(null);
    try {
      setRun((await gql(CANCEL, { runId: id })).cancelSyncRun);
      setNotice("Cancel requested: the run stops after its current batch.");
    } catch (failure) {
      setError(failure);
    }
  };
  const active = ACTIVE.has(run.status);
  const actions = active
    ? html`<button type="button" class="secondary" onClick=${cancel} disabled=${run.cancelRequested}>${run.cancelRequested ? "Cancelling…" : "Cancel run"}</button>`
    : null;
  return html`<${Page} title=${`Run ${run.status.toLowerCase()}`} actions=${actions}>
    ${notice}
    <${ErrorNote} error=${error} />
    <div class="card">
      <dl class="facts">
        <dt>Status</dt><dd><${Status} value=${run.status} /> ${active && html`<span class="muted">(updates live)</span>`}</dd>
        <dt>Sync</dt><dd><a class="mono" href=${`#/syncs/${run.syncId}`}>${run.syncId}</a></dd>
        <dt>Id</dt><dd class="mono">${run.id}</dd>
        <dt>Trigger</dt><dd>${run.trigger.toLowerCase()}${run.fullRefresh ? ", full refresh" : ""}, attempt ${run.attempt}</dd>
        <dt>Queued</dt><dd><${Time} value=${run.queuedAt} /></dd>
        <dt>Started</dt><dd><${Time} value=${run.startedAt} /></dd>
        <dt>Finished</dt><dd><${Time} value=${run.finishedAt} /></dd>
        <dt>Took</dt><dd><${Duration} from=${run.startedAt} to=${run.finishedAt} /></dd>
        <dt>Rows</dt><dd>${run.rowsLoaded.toLocaleString()} loaded: ${run.rowsInserted.toLocaleString()} new, ${run.rowsUpdated.toLocaleString()} updated, ${run.rowsDeleted.toLocaleString()} deleted</dd>
        ${run.stuckAt && html`<dt>Stuck since</dt><dd><${Time} value=${run.stuckAt} /></dd>`}
        ${run.error && html`<dt>Error</dt><dd class="error">${run.error}</dd>`}
      </dl>
    </div>
    <h2>Streams</h2>
    <${StreamTable} run=${run} />
  <//>`;
}

export default function Runs({ segments, query }) {
  return segments[0] ? html`<${RunDetail} id=${segments[0]} />` : html`<${RunList} query=${query} />`;
}
