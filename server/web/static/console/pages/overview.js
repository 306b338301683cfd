// The landing page: what the organization has, the latest runs (live), and what to do next
// when something is still missing.
import { Empty, ErrorNote, Loading, Page, Status, Time, html, useQuery, useSubscription } from "../lib/ui.js";
import { useState } from "preact/hooks";

const OVERVIEW = `query ConsoleOverview {
  workspaces(first: 100) { edges { node { id } } }
  connections(first: 100) { edges { node { id status health } } pageInfo { hasNextPage } }
  eltSyncs(first: 100) { edges { node { id enabled } } pageInfo { hasNextPage } }
  syncRuns(first: 8) { edges { node { id syncId status trigger queuedAt finishedAt rowsLoaded } } }
}`;

const RUN_EVENTS = `subscription ConsoleOverviewRuns {
  syncRunUpdated { id syncId status trigger queuedAt finishedAt rowsLoaded }
}`;

function count(connection) {
  const shown = connection.edges.length;
  return connection.pageInfo && connection.pageInfo.hasNextPage ? `${shown}+` : String(shown);
}

export default function Overview() {
  const { data, error, loading } = useQuery(OVERVIEW, {});
  const [live, setLive] = useState([]);
  useSubscription(RUN_EVENTS, {}, (event) => {
    const run = event.syncRunUpdated;
    setLive((runs) => [run, ...runs.filter((other) => other.id !== run.id)].slice(0, 8));
  });
  if (error) return html`<${Page} title="Overview"><${ErrorNote} error=${error} /><//>`;
  if (loading && !data) return html`<${Page} title="Overview"><${Loading} /><//>`;
  const connections = data.connections.edges.map((edge) => edge.node);
  const syncs = data.eltSyncs.edges.map((edge) => edge.node);
  const seen = new Set(live.map((run) => run.id));
  const runs = [...live, ...data.syncRuns.edges.map((edge) => edge.node).filter((run) => !seen.has(run.id))].slice(0, 8);
  const attention = connections.filter((connection) => connection.health && connection.health !== "WORKING").length;
  return html`<${Page} title="Overview">
    <div class="grid">
      <div class="card"><div class="stat">${data.workspaces.edges.length}</div><a href="#/workspaces">Workspaces</a></div>
      <div class="card"><div class="stat">${count(data.connections)}</div><a href="#/connections">Connections</a>
        ${attention > 0 && html`<p><a href="#/connections?health=attention">${attention} need attention</a></p>`}</div>
      <div class="card"><div class="stat">${count(data.eltSyncs)}</div><a href="#/syncs">Syncs</a>
        <p class="muted">${syncs.filter((sync) => sync.enabled).length} enabled</p></div>
    </div>
    <h2>Latest runs</h2>
    ${runs.length === 0
      ? connections.length === 0
        ? html`<${Empty} title="No connections yet" action=${html`<a class="button" href="#/connections/new">Create a connection</a>`}>
            A connection holds one end user's account at a third-party app. Create one, then sync it into your warehouse.
          <//>`
        : html`<${Empty} title="No runs yet" action=${html`<a class="button" href="#/syncs/new">Create a sync</a>`}>
            Create a sync from one of your connections to copy its data on a schedule.
          <//>`
      : html`<ul class="runs-list">
          ${runs.map(
            (run) => html`<li key=${run.id}>
              <a href=${`#/runs/${run.id}`}><${Status} value=${run.status} /> ${run.trigger.toLowerCase()} run</a>
              of <a href=${`#/syncs/${run.syncId}`} class="mono">${run.syncId}</a>,
              ${run.rowsLoaded.toLocaleString()} rows, queued <${Time} value=${run.queuedAt} />
            </li>`,
          )}
        </ul>`}
  <//>`;
}
