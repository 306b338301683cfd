// The console's frame: sign-in, navigation, the theme, and the router. Each section of the
// console is one module under pages/ (loaded when first visited); its default export is a
// component that gets the route's `segments` (after the section) and `query`.
import { render } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { apiKey, gql, onSignInChange, signIn, signOut } from "./lib/api.js";
import { ErrorNote, Field, html } from "./lib/ui.js";

// section -> [navigation label, module under pages/]
const SECTIONS = {
  "": ["Overview", "overview.js"],
  workspaces: ["Workspaces", "workspaces.js"],
  "end-users": ["End users", "end-users.js"],
  connections: ["Connections", "connections.js"],
  syncs: ["Syncs", "syncs.js"],
  runs: ["Runs", "runs.js"],
  webhooks: ["Webhooks", "webhooks.js"],
  calls: ["Call log", "calls.js"],
  audit: ["Audit log", "audit.js"],
  "api-keys": ["API keys", "api-keys.js"],
};

const THEME_ITEM = "weir.console.theme";

function parseRoute() {
  const raw = location.hash.replace(/^#\/?/, "");
  const [path, search = ""] = raw.split("?", 2);
  const segments = path.split("/").filter(Boolean).map(decodeURIComponent);
  const section = Object.hasOwn(SECTIONS, segments[0] || "") ? segments[0] || "" : null;
  return { section, segments: segments.slice(1), query: new URLSearchParams(search) };
}

function useRoute() {
  const [route, setRoute] = useState(parseRoute);
  useEffect(() => {
    const changed = () => setRoute(parseRoute());
    addEventListener("hashchange", changed);
    return () => removeEventListener("hashchange", changed);
  }, []);
  return route;
}

const loaded = new Map();

function PageLoader({ route }) {
  const file = SECTIONS[route.section][1];
  const [state, setState] = useState(() => ({ component: loaded.get(file) || null, error: null }));
  useEffect(() => {
    if (loaded.has(file)) {
      setState({ component: loaded.get(file), error: null });
      return;
    }
    setState({ component: null, error: null });
    import(`./pages/${file}`).then(
      (module) => {
        loaded.set(file, module.default);
        setState({ component: module.default, error: null });
      },
      (error) => setState({ component: null, error }),
    );
  }, [file]);
  // Move focus to the new page's heading, so keyboard and screen reader users land on it.
  useEffect(() => {
    const heading = document.getElementById("page-title");
    if (heading) heading.focus({ preventScroll: true });
  }, [state.component, route.section]);
  if (state.error) return html`<p class="error" role="alert">This page could not be loaded: ${String(state.error.message || state.error)}</p>`;
  if (!state.component) return html`<p class="loading" role="status">Loading…</p>`;
  const Component = state.component;
  return html`<${Component} segments=${route.segments} query=${route.query} />`;
}

function NotFound() {
  return html`<section class="page"><h1 id="page-title" tabindex="-1">No such page</h1>
    <p><a href="#/">Back to the overview</a></p></section>`;
}

function ThemeToggle() {
  const [theme, setTheme] = useState(() => localStorage.getItem(THEME_ITEM) || "auto");
  useEffect(() => {
    if (theme === "auto") delete document.documentElement.dataset.theme;
    else document.documentElement.dataset.theme = theme;
    localStorage.setItem(THEME_ITEM, theme);
  }, [theme]);
  return html`<label class="theme">
    <span class="visually-hidden">Theme</span>
    <select value=${theme} onChange=${(event) => setTheme(event.currentTarget.value)}>
      <option value="auto">System theme</option>
      <option value="light">Light</option>
      <option value="dark">Dark</option>
    </select>
  </label>`;
}

function SignIn() {
  const [key, setKey] = useState("");
  const [error, setError] = useState(null);
  const [pending, setPending] = useState(false);
  const input = useRef(null);
  useEffect(() => input.current && input.current.focus(), []);
  const submit = async (event) => {
    event.preventDefault();
    setPending(true);
    setError(null);
    try {
      await gql("query ConsoleSignIn { viewer { organization { id } } }", {}, key.trim());
      signIn(key);
    } catch (failure) {
      setError(failure);
    } finally {
      setPending(false);
    }
  };
  return html`<main class="sign-in" id="main">
    <form onSubmit=${submit} aria-labelledby="sign-in-title">
      <h1 id="sign-in-title">Weir console</h1>
      <p>Sign in with an API key of your organization. It is kept in this tab only, and forgotten when the tab closes.</p>
      <${Field} label="API key" hint="weir init, weir demo and 'weir keys create' print one.">
        ${(id, described) => html`<input id=${id} ref=${input} type="password" autocomplete="off" spellcheck=${false}
          required value=${key} aria-describedby=${described} onInput=${(event) => setKey(event.currentTarget.value)} />`}
      <//>
      <${ErrorNote} error=${error} />
      <button type="submit" disabled=${pending || !key.trim()}>Sign in</button>
    </form>
  </main>`;
}

function Shell() {
  const route = useRoute();
  const { data } = useViewer();
  const [menuOpen, setMenuOpen] = useState(false);
  useEffect(() => setMenuOpen(false), [route.section, route.segments.join("/")]);
  const organization = data ? data.viewer.organization.name : "";
  const restricted = data && data.viewer.workspace ? data.viewer.workspace.name : null;
  return html`<div class="shell">
    <a class="skip" href="#main" onClick=${(event) => { event.preventDefault(); document.getElementById("page-title")?.focus(); }}>Skip to content</a>
    <header class="top">
      <button type="button" class="menu-button secondary" aria-expanded=${menuOpen} aria-controls="nav"
        onClick=${() => setMenuOpen(!menuOpen)}>Menu</button>
      <a class="brand" href="#/">Weir</a>
      <span class="org">${organization}${restricted && html` · ${restricted}`}</span>
      <${ThemeToggle} />
      <button type="button" class="secondary" onClick=${signOut}>Sign out</button>
    </header>
    <nav id="nav" class=${menuOpen ? "open" : ""} aria-label="Console">
      <ul>
        ${Object.entries(SECTIONS).map(
          ([section, [label]]) => html`<li><a href=${`#/${section}`}
            aria-current=${route.section === section ? "page" : undefined}>${label}</a></li>`,
        )}
      </ul>
    </nav>
    <main id="main">
      ${route.section === null ? html`<${NotFound} />` : html`<${PageLoader} route=${route} />`}
    </main>
  </div>`;
}

function useViewer() {
  const [state, setState] = useState({ data: null });
  useEffect(() => {
    gql("query ConsoleViewer { viewer { organization { id name } workspace { id name } } }").then(
      (data) => setState({ data }),
      () => setState({ data: null }),
    );
  }, []);
  return state;
}

function App() {
  const [signedIn, setSignedIn] = useState(() => Boolean(apiKey()));
  useEffect(() => onSignInChange(() => setSignedIn(Boolean(apiKey()))), []);
  return signedIn ? html`<${Shell} />` : html`<${SignIn} />`;
}

const root = document.getElementById("app");
root.textContent = ""; // the "Loading" line the page shows until this module runs
render(html`<${App} />`, root);
