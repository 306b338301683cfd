// WeirClient: the host back end's calls to Weir, typed from schema.graphql (see
// graphql/host.graphql and src/generated/graphql.ts, made by `npm run codegen`).
// Needs only the global fetch (Node 18+, browsers, workers). Keep the API key on the server.
import * as ops from "./generated/graphql.js";
import type { TypedDocumentString } from "./generated/graphql.js";

export * from "./generated/graphql.js";

export interface WeirClientOptions {
  /** Weir's URL, e.g. `https://weir.example.com`. */
  url: string;
  /** A Weir API key (`weir_sk_...`). */
  apiKey: string;
  fetch?: typeof fetch;
  headers?: Record<string, string>;
}

export interface WeirGraphQLErrorDetail {
  message: string;
  path?: (string | number)[];
  extensions?: { code?: string; fields?: { field: string; message: string }[]; [key: string]: unknown };
}

/** A GraphQL or HTTP error from Weir; `code` is Weir's stable error code. */
export class WeirApiError extends Error {
  readonly code: string;
  readonly status: number;
  readonly errors: WeirGraphQLErrorDetail[];
  constructor(code: string, message: string, status: number, errors: WeirGraphQLErrorDetail[] = []) {
    super(message);
    this.name = "WeirApiError";
    this.code = code;
    this.status = status;
    this.errors = errors;
  }
}

type Vars<T> = T extends TypedDocumentString<unknown, infer V> ? V : never;

export interface ProxyTarget {
  connectionId?: string;
  integration?: string;
  workspaceId?: string;
  endUserId?: string;
  endUserExternalId?: string;
  connectionExternalId?: string;
}

export class WeirClient {
  private readonly url: string;
  private readonly apiKey: string;
  private readonly fetcher: typeof fetch;
  private readonly headers: Record<string, string>;

  constructor(options: WeirClientOptions) {
    this.url = options.url.replace(/\/+$/, "");
    this.apiKey = options.apiKey;
    this.fetcher = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.headers = options.headers ?? {};
  }

  /** Any typed document (generated, or your own `TypedDocumentString`). */
  async request<R, V>(document: TypedDocumentString<R, V>, variables?: V): Promise<R> {
    const response = await this.fetcher(this.url + "/graphql", {
      method: "POST",
      headers: { ...this.headers, "Content-Type": "application/json", Authorization: "Bearer " + this.apiKey },
      body: JSON.stringify({ query: document.toString(), variables: variables ?? {} }),
    });
    let body: { data?: R; errors?: WeirGraphQLErrorDetail[] };
    try {
      body = await response.json();
    } catch {
      throw new WeirApiError("HTTP_" + response.status, "Weir answered " + response.status, response.status);
    }
    if (body.errors && body.errors.length) {
      const first = body.errors[0]!;
      throw new WeirApiError(String(first.extensions?.code ?? "UNKNOWN"), first.message, response.status, body.errors);
    }
    if (!response.ok || body.data === undefined) {
      throw new WeirApiError("HTTP_" + response.status, "Weir answered " + response.status, response.status);
    }
    return body.data;
  }

  async createConnectSession(input: Vars<typeof ops.CreateConnectSessionDocument>["input"]) {
    return (await this.request(ops.CreateConnectSessionDocument, { input })).createConnectSession;
  }
  async connectSession(id: string) {
    return (await this.request(ops.ConnectSessionDocument, { id })).connectSession;
  }
  async cancelConnectSession(id: string) {
    return (await this.request(ops.CancelConnectSessionDocument, { id })).cancelConnectSession;
  }
  async connections(variables: Vars<typeof ops.ConnectionsDocument> = {}) {
    return (await this.request(ops.ConnectionsDocument, variables)).connections;
  }
  async connection(id: string) {
    return (await this.request(ops.ConnectionDocument, { id })).connection;
  }
  async deleteConnection(id: string) {
    return (await this.request(ops.DeleteConnectionDocument, { id })).deleteConnection;
  }
  async testConnection(id: string) {
    return (await this.request(ops.TestConnectionDocument, { id })).testConnection;
  }
  async resolveConnection(input: Vars<typeof ops.ResolveConnectionDocument>["input"]) {
    return (await this.request(ops.ResolveConnectionDocument, { input })).resolveConnection;
  }
  async executeAction(input: Vars<typeof ops.ExecuteActionDocument>["input"]) {
    return (await this.request(ops.ExecuteActionDocument, { input })).executeAction;
  }
  async eltSyncs(variables: Vars<typeof ops.EltSyncsDocument> = {}) {
    return (await this.request(ops.EltSyncsDocument, variables)).eltSyncs;
  }
  async eltSync(id: string) {
    return (await this.request(ops.EltSyncDocument, { id })).eltSync;
  }
  async createEltSync(input: Vars<typeof ops.CreateEltSyncDocument>["input"]) {
    return (await this.request(ops.CreateEltSyncDocument, { input })).createEltSync;
  }
  async triggerSyncRun(syncId: string, fullRefresh = false) {
    return (await this.request(ops.TriggerSyncRunDocument, { syncId, fullRefresh })).triggerSyncRun;
  }
  async syncRun(id: string) {
    return (await this.request(ops.SyncRunDocument, { id })).syncRun;
  }

  /**
   * The authenticated proxy: `path` (with its query) goes to the integration's API through
   * the connection named by `target`. Returns the Response as it is: the provider's answer, or
   * Weir's own refusal (JSON `{"error": {code, message}}`, e.g. 404 `NOT_FOUND`).
   */
  async proxy(path: string, target: ProxyTarget, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    headers.set("Authorization", "Bearer " + this.apiKey);
    const names: [keyof ProxyTarget, string][] = [
      ["connectionId", "X-Weir-Connection-Id"], ["integration", "X-Weir-Integration"],
      ["workspaceId", "X-Weir-Workspace-Id"], ["endUserId", "X-Weir-End-User-Id"],
      ["endUserExternalId", "X-Weir-End-User-External-Id"],
      ["connectionExternalId", "X-Weir-Connection-External-Id"],
    ];
    for (const [key, header] of names) if (target[key]) headers.set(header, String(target[key]));
    return this.fetcher(this.url + "/proxy/" + path.replace(/^\/+/, ""), { ...init, headers });
  }
}

