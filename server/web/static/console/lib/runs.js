// Sync runs as the syncs and runs pages show them, and the cron preview of a schedule.
import { Duration, Status, Table, Time, html } from "./ui.js";

export const RUN_FIELDS = `id syncId status trigger fullRefresh attempt error cancelRequested queuedAt startedAt
  finishedAt stuckAt rowsLoaded rowsInserted rowsUpdated rowsDeleted
  streams { name status rowsLoaded rowsInserted rowsUpdated rowsDeleted batches error }`;

export const ACTIVE = new Set(["QUEUED", "RUNNING"]);

const number = (value) => (value || 0).toLocaleString();

/** Runs, newest first: status, trigger, counts, timing; each links to its page. */
export function RunTable({ runs, caption = "Runs", showSync = false, empty = null }) {
  const columns = [
    { label: "Run", render: (run) => html`<a href=${`#/runs/${run.id}`}><${Status} value=${run.status} /></a>` },
    ...(showSync ? [{ label: "Sync", render: (run) => html`<a class="mono" href=${`#/syncs/${run.syncId}`}>${run.syncId}</a>` }] : []),
    { label: "Trigger", render: (run) => `${run.trigger.toLowerCase()}${run.fullRefresh ? ", full refresh" : ""}${run.attempt > 1 ? `, attempt ${run.attempt}` : ""}` },
    { label: "Rows", render: (run) => html`${number(run.rowsLoaded)} <span class="muted">(+${number(run.rowsInserted)} new, ${number(run.rowsUpdated)} updated, ${number(run.rowsDeleted)} deleted)</span>` },
    { label: "Queued", render: (run) => html`<${Time} value=${run.queuedAt} />` },
    { label: "Took", render: (run) => html`<${Duration} from=${run.startedAt} to=${run.finishedAt} />` },
  ];
  return html`<${Table} caption=${caption} columns=${columns} rows=${runs} empty=${empty} />`;
}

/** Per-stream counts of one run. */
export function StreamTable({ run }) {
  const columns = [
    { label: "Stream", render: (stream) => html`<strong>${stream.name}</strong>` },
    { label: "Status", render: (stream) => html`<${Status} value=${stream.status} />` },
    { label: "Rows loaded", render: (stream) => number(stream.rowsLoaded) },
    { label: "Inserted", render: (stream) => number(stream.rowsInserted) },
    { label: "Updated", render: (stream) => number(stream.rowsUpdated) },
    { label: "Deleted", render: (stream) => number(stream.rowsDeleted) },
    { label: "Batches", render: (stream) => number(stream.batches) },
    { label: "Error", render: (stream) => stream.error || html`<span class="muted">—</span>` },
  ];
  return html`<${Table} caption="Streams of this run" columns=${columns} rows=${run.streams} rowKey=${(s) => s.name}
    empty=${html`<p class="muted">No stream has started yet.</p>`} />`;
}

/** A cron expression in words ("Every hour"), or why it cannot be read. */
export function describeCron(expression) {
  try {
    return { text: window.cronstrue.toString(expression, { use24HourTimeFormat: true, throwExceptionOnParseError: true, verbose: true }) };
  } catch (error) {
    return { error: typeof error === "string" ? error : error.message || "This is not a cron expression" };
  }
}

export function CronPreview({ expression, timezone }) {
  const { text, error } = describeCron(expression || "");
  return html`<p class=${error ? "field-error" : "hint"} aria-live="polite">
    ${error ? error : `${text} (${timezone || "UTC"})`}
  </p>`;
}
