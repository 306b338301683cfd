// A form drawn from a connector's settings JSON Schema (the subset connectors use: an object of
// strings, numbers, booleans, enums, arrays of strings or of enum values, and string maps).
// Options the account lists (a database's schemas, the chosen schema's tables) arrive as `enum`s
// in the schema the API returns for the settings so far: the caller asks again as values change.
import { Field, html } from "./ui.js";

function label(name, property) {
  return property.title || name.replaceAll("_", " ");
}

/** Initial values: each property's default (a copy), so the form starts where the API would. */
export function defaults(schema) {
  const values = {};
  for (const [name, property] of Object.entries((schema && schema.properties) || {})) {
    if (property.default !== undefined) values[name] = structuredClone(property.default);
  }
  return values;
}

function lines(text) {
  return text.split("\n").map((line) => line.trim()).filter(Boolean);
}

function mapText(value) {
  return Object.entries(value || {}).map(([key, item]) => `${key}=${item}`).join("\n");
}

function parseMap(text) {
  const map = {};
  for (const line of lines(text)) {
    const at = line.indexOf("=");
    if (at > 0) map[line.slice(0, at).trim()] = line.slice(at + 1).trim();
  }
  return map;
}

function Control({ name, property, value, onChange, id, described, required }) {
  const type = Array.isArray(property.type) ? property.type.find((t) => t !== "null") : property.type;
  if (property.enum) {
    return html`<select id=${id} aria-describedby=${described} required=${required}
      value=${value === undefined ? "" : String(value)}
      onChange=${(event) => {
        const raw = event.currentTarget.value;
        const picked = property.enum.find((option) => String(option) === raw);
        onChange(raw === "" ? undefined : picked);
      }}>
      ${!required && html`<option value="">—</option>`}
      ${property.enum.map((option) => html`<option value=${String(option)}>${String(option)}</option>`)}
    </select>`;
  }
  if (type === "boolean") {
    return html`<input id=${id} type="checkbox" aria-describedby=${described} checked=${Boolean(value)}
      onChange=${(event) => onChange(event.currentTarget.checked)} />`;
  }
  if (type === "integer" || type === "number") {
    return html`<input id=${id} type="number" aria-describedby=${described} required=${required}
      step=${type === "integer" ? 1 : "any"} min=${property.minimum} max=${property.maximum}
      value=${value === undefined ? "" : value}
      onInput=${(event) => {
        const raw = event.currentTarget.value;
        onChange(raw === "" ? undefined : Number(raw));
      }} />`;
  }
  if (type === "array") {
    const items = property.items || {};
    const chosen = Array.isArray(value) ? value : [];
    if (items.enum) {
      // A group of checkboxes, one per option the account listed.
      return html`<div id=${id} role="group" aria-label=${label(name, property)} aria-describedby=${described} class="options">
        ${items.enum.length === 0 && html`<p class="muted">Nothing to choose from yet.</p>`}
        ${items.enum.map(
          (option) => html`<label class="check">
            <input type="checkbox" checked=${chosen.includes(option)}
              onChange=${(event) =>
                onChange(event.currentTarget.checked ? [...chosen, option] : chosen.filter((item) => item !== option))} />
            ${String(option)}
          </label>`,
        )}
      </div>`;
    }
    return html`<textarea id=${id} aria-describedby=${described} placeholder="One per line"
      value=${chosen.join("\n")} onChange=${(event) => onChange(lines(event.currentTarget.value))}></textarea>`;
  }
  if (type === "object") {
    return html`<textarea id=${id} aria-describedby=${described} placeholder="name=value, one per line"
      value=${mapText(value)} onChange=${(event) => onChange(parseMap(event.currentTarget.value))}></textarea>`;
  }
  const secret = property.format === "password" || property.writeOnly;
  return html`<input id=${id} type=${secret ? "password" : "text"} aria-describedby=${described} required=${required}
    minlength=${property.minLength} maxlength=${property.maxLength} value=${value === undefined ? "" : value}
    onInput=${(event) => onChange(event.currentTarget.value === "" ? undefined : event.currentTarget.value)} />`;
}

/**
 * The settings form. `errorFor(name)` returns the API's message for a setting, if any; a change
 * calls `onChange(newValues)` with the property set (or removed when cleared).
 */
export function SchemaForm({ schema, values, onChange, errorFor = () => null }) {
  const properties = Object.entries((schema && schema.properties) || {});
  if (!properties.length) return html`<p class="muted">This integration has no settings.</p>`;
  const required = new Set(schema.required || []);
  return html`<div class="schema-form">
    ${properties.map(([name, property]) => {
      const hint = [property.description, property.enum || (property.items && property.items.enum) ? null : property.default !== undefined && typeof property.default !== "object" ? `Default: ${property.default}` : null]
        .filter(Boolean)
        .join(" ");
      return html`<${Field} key=${name} label=${label(name, property) + (required.has(name) ? " (required)" : "")}
        hint=${hint || null} error=${errorFor(name)}>
        ${(id, described) => html`<${Control} name=${name} property=${property} value=${values[name]} id=${id}
          described=${described} required=${required.has(name)}
          onChange=${(next) => {
            const changed = { ...values };
            if (next === undefined) delete changed[name];
            else changed[name] = next;
            onChange(changed);
          }} />`}
      <//>`;
    })}
  </div>`;
}
