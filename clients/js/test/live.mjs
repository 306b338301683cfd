// Drives WeirClient (dist/server.js) against a live Weir; tests/clients/test_js_client.py
// starts Weir and reads the JSON this prints. Usage: node test/live.mjs <url> <apiKey> <workspaceId>
import { WeirClient, WeirApiError } from "../dist/server.js";

const [url, apiKey, workspaceId] = process.argv.slice(2);
const weir = new WeirClient({ url, apiKey });
const out = {};

async function failure(promise) {
  try { await promise; return null; } catch (error) {
    return { name: error.name, isApiError: error instanceof WeirApiError, code: error.code, message: error.message };
  }
}

const created = await weir.createConnectSession({
  workspaceId, endUserExternalId: "customer-42", allowedIntegrations: ["demo"], externalId: "crm-main",
});
out.created = { token: typeof created.token, connectUrl: created.connectUrl, session: created.session };
out.session = await weir.connectSession(created.session.id);
out.cancelled = await weir.cancelConnectSession(created.session.id);
out.connections = await weir.connections({ filter: { workspaceId }, first: 10 });
out.missingConnection = await failure(weir.connection("conn_nope"));
out.badSession = await failure(weir.createConnectSession({ workspaceId, allowedIntegrations: ["no_such_thing"] }));
out.action = await weir.executeAction({
  workspaceId, integrationName: "hash_encode", action: "hash", input: { text: "abc", algorithm: "sha256" },
});
out.resolveMissing = await failure(weir.resolveConnection({ workspaceId, integrationName: "demo", endUserExternalId: "nobody" }));
out.syncs = await weir.eltSyncs({ first: 5 });
const proxied = await weir.proxy("/v1/anything?x=1", { connectionId: "conn_nope" });
out.proxy = { status: proxied.status, body: await proxied.json() };
out.unauthenticated = await failure(new WeirClient({ url, apiKey: "weir_sk_wrong" }).connections());
process.stdout.write(JSON.stringify(out));
