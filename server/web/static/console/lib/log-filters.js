// Filters the call log and the audit log share: a recent period (both lists go oldest first,
// so a period keeps them short) and a text filter applied on Enter or with its button.
import { useEffect, useState } from "preact/hooks";
import { Field, html } from "./ui.js";

const HOUR = 3600 * 1000;

// [value, label, milliseconds back]
export const PERIODS = [
  ["hour", "Last hour", HOUR],
  ["day", "Last 24 hours", 24 * HOUR],
  ["week", "Last 7 days", 7 * 24 * HOUR],
  ["month", "Last 30 days", 30 * 24 * HOUR],
  ["quarter", "Last 90 days", 90 * 24 * HOUR],
];

/** The ISO time a period starts at, from now; an unknown period is the last 24 hours. */
export function sinceOf(period) {
  const found = PERIODS.find(([value]) => value === period) || PERIODS[1];
  return new Date(Date.now() - found[2]).toISOString();
}

export function Since({ value, onChange }) {
  return html`<${Field} label="Period">
    ${(id) => html`<select id=${id} value=${value} onChange=${(event) => onChange(event.currentTarget.value)}>
      ${PERIODS.map(([period, label]) => html`<option value=${period}>${label}</option>`)}
    </select>`}
  <//>`;
}

/** A text input whose value applies on Enter, on leaving it, or with its Apply button. */
export function TextFilter({ label, hint = null, value, onApply }) {
  const [draft, setDraft] = useState(value);
  useEffect(() => setDraft(value), [value]);
  const apply = () => draft.trim() !== value && onApply(draft.trim());
  return html`<form class="text-filter" onSubmit=${(event) => { event.preventDefault(); apply(); }}>
    <${Field} label=${label} hint=${hint}>
      ${(id, described) => html`<input id=${id} value=${draft} aria-describedby=${described} spellcheck=${false}
        onInput=${(event) => setDraft(event.currentTarget.value)} onBlur=${apply} />`}
    <//>
    <button type="submit" class="secondary" aria-label=${`Apply ${label.toLowerCase()} filter`}>Apply</button>
  </form>`;
}
