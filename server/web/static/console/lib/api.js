// The console's only way to Weir: the public GraphQL API, over HTTP for queries and mutations
// and over graphql-transport-ws (the vendored graphql-ws client) for subscriptions. The API key
// lives in this tab's sessionStorage only: closing the tab signs out.

const KEY_ITEM = "weir.console.key";
const listeners = new Set();
const resumed = new Set();

export function apiKey() {
  return sessionStorage.getItem(KEY_ITEM);
}

export function signIn(key) {
  sessionStorage.setItem(KEY_ITEM, key.trim());
  resetSocket();
  listeners.forEach((listener) => listener());
}

export function signOut() {
  sessionStorage.removeItem(KEY_ITEM);
  resetSocket();
  listeners.forEach((listener) => listener());
}

/** Call `listener` whenever the key changes (sign in, sign out, or the key stops working). */
export function onSignInChange(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** An error of the API: `code` is its stable `extensions.code`, `fields` the fields it names. */
export class ApiError extends Error {
  constructor(message, code, fields = []) {
    super(message);
    this.code = code;
    this.fields = fields;
  }

  /** The message about one input field (`field` as the API names it), if any. */
  about(field) {
    const found = this.fields.find((entry) => entry.field === field);
    return found ? found.message : null;
  }
}

function errorOf(errors) {
  const first = errors[0] || {};
  const extensions = first.extensions || {};
  return new ApiError(first.message || "The request failed", extensions.code || "BAD_REQUEST", extensions.fields || []);
}

/**
 * Run a query or mutation; resolve with its `data`, or reject with an ApiError. `key` tries
 * another key than the tab's (signing in checks it before keeping it).
 */
export async function gql(query, variables = {}, key = null) {
  let response;
  try {
    response = await fetch("/graphql", {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        Accept: "application/graphql-response+json, application/json",
        Authorization: `Bearer ${key || apiKey() || ""}`,
      },
      body: JSON.stringify({ query, variables }),
    });
  } catch (error) {
    throw new ApiError("Weir cannot be reached. Check that the server is running.", "UNREACHABLE");
  }
  let body;
  try {
    body = await response.json();
  } catch (error) {
    throw new ApiError(`Weir answered ${response.status} without a GraphQL body`, "BAD_RESPONSE");
  }
  if (body.errors && body.errors.length) {
    const error = errorOf(body.errors);
    if (error.code === "UNAUTHENTICATED" && key === null) signOut(); // revoked or expired
    throw error;
  }
  return body.data;
}

let socket = null;

function client() {
  if (socket === null) {
    const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/graphql`;
    socket = window.graphqlWs.createClient({
      url,
      lazy: true,
      // Reconnect after a restart of Weir or a network blip; each subscription re-reads on resume.
      retryAttempts: Infinity,
      shouldRetry: () => true,
      connectionParams: () => ({ authorization: `Bearer ${apiKey() || ""}` }),
      // Back after a gap: events sent meanwhile were missed, so whoever shows data reads it again.
      on: { connected: (socket, payload, wasRetry) => wasRetry && resumed.forEach((listener) => listener()) },
    });
  }
  return socket;
}

function resetSocket() {
  if (socket !== null) {
    socket.dispose();
    socket = null;
  }
}

/** Call `listener` when the live feed is back after a disconnection (to read again what it shows). */
export function onFeedResumed(listener) {
  resumed.add(listener);
  return () => resumed.delete(listener);
}

/**
 * Subscribe to one GraphQL subscription: `onData(data)` for each event, `onError(ApiError)` if
 * it fails. Returns the function that unsubscribes.
 */
export function subscribe(query, variables, onData, onError = () => {}) {
  return client().subscribe(
    { query, variables },
    {
      next: (result) => {
        if (result.errors && result.errors.length) onError(errorOf(result.errors));
        else if (result.data) onData(result.data);
      },
      error: (error) => onError(Array.isArray(error) ? errorOf(error) : new ApiError("The live feed stopped", "UNREACHABLE")),
      complete: () => {},
    },
  );
}
