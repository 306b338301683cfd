/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
import type { DocumentTypeDecoration } from '@graphql-typed-document-node/core';
/** How a connection proves who it is to the provider. */
export type AuthType =
  | 'BASIC_AUTH'
  | 'CUSTOM_AUTH'
  | 'NONE'
  | 'OAUTH2'
  | 'PLATFORM_OAUTH2'
  | 'SECRET_TEXT';

/** `PENDING` -> `CONNECTING` -> `COMPLETED` or `FAILED` (retryable while the token lives), or `EXPIRED` (time ran out or cancelled). */
export type ConnectSessionStatus =
  | 'COMPLETED'
  | 'CONNECTING'
  | 'EXPIRED'
  | 'FAILED'
  | 'PENDING';

/** Narrows `connections`; every given field must match. */
export type ConnectionFilter = {
  /** End user. */
  endUserId?: string | null | undefined;
  /** Your external id. */
  externalId?: string | null | undefined;
  /** Health. */
  health?: ConnectionHealth | null | undefined;
  /** Integration name. */
  integrationName?: string | null | undefined;
  /** Status. */
  status?: ConnectionStatus | null | undefined;
  /** Workspace. */
  workspaceId?: string | null | undefined;
};

/** How a connection is doing, finer than its status, with a reason. */
export type ConnectionHealth =
  /** The provider could not be reached or failed for a while (network, timeout, 5xx); retried, and still usable. Not the end user's to fix. */
  | 'DEGRADED'
  /** The grant lacks a scope a selected stream needs. */
  | 'MISSING_SCOPES'
  /** The provider refused the credentials or the token refresh; the end user must connect again. */
  | 'NEEDS_REAUTHORIZATION'
  /** Its last check and use worked. */
  | 'WORKING';

/** Who a connection belongs to. */
export type ConnectionScope =
  /** The whole organization, every workspace. */
  | 'ORGANIZATION'
  /** One end user (inside one workspace). */
  | 'USER'
  /** One workspace. */
  | 'WORKSPACE';

/** Whether a connection's credentials work. */
export type ConnectionStatus =
  /** Last known to work. */
  | 'ACTIVE'
  /** The provider refused it; see the reason. */
  | 'ERROR';

/** A new connect session. */
export type CreateConnectSessionInput = {
  /** Offer these integrations; default: every usable one. */
  allowedIntegrations?: Array<string> | null | undefined;
  /** Display name of the new connection. */
  connectionName?: string | null | undefined;
  /** Display name for an end user created here. */
  endUserDisplayName?: string | null | undefined;
  /** The end user by the host's id; created if new. */
  endUserExternalId?: string | null | undefined;
  /** The end user connecting. */
  endUserId?: string | null | undefined;
  /** External id of the new connection. */
  externalId?: string | null | undefined;
  /** Offer only this integration (skips the picker). */
  integrationName?: string | null | undefined;
  /** Preset some or all of the integration's parameters (`{"shop": "acme"}`), checked against its `parametersSchema`; needs `integrationName` (or a reconnect, which starts from the connection's). The page asks only for the others. */
  parameters?: unknown;
  /** Re-authorise this existing connection (same id, syncs kept). */
  reconnectConnectionId?: string | null | undefined;
  /** Redirect flow: return here with `connection_id` and `session_id`; must be exactly one of the workspace's `allowedRedirectUris`. */
  redirectUri?: string | null | undefined;
  /** Workspace of the session. */
  workspaceId: string;
};

/** A new ELT sync; it starts disabled. */
export type CreateEltSyncInput = {
  /** The source connection. */
  connectionId: string;
  /** How rows deleted at the source are marked. */
  deleteDetection?: DeleteDetection;
  /** Lower-case SQL identifier of the destination schema. */
  destinationSchemaName: string;
  /** Cron of the reconciliation pass (null: daily at 03:00). */
  reconcileInterval?: string | null | undefined;
  /** What to do with new source fields. */
  schemaChangePolicy?: SchemaChangePolicy;
  /** ELT settings, valid for `connectionSettingsSchema`; omitted or null is `{}`. */
  settings?: unknown;
  /** Streams to copy (more can be added later). */
  sourceStreams?: Array<SourceStreamInput>;
  /** Cron expression, e.g. `0 * * * *`. */
  syncInterval: string;
  /** IANA timezone of the cron. */
  timezone?: string;
};

/** How a sync sees rows deleted at the source. Deleted rows are never removed: they get a `_weir_deleted_at` time, cleared if the row comes back. */
export type DeleteDetection =
  /** From the provider's delete markers, and rows a full refresh no longer has. */
  | 'MARKERS'
  /** Not at all (no `_weir_deleted_at` column is added). */
  | 'OFF'
  /** As `MARKERS`, plus a pass on `reconcileInterval` reading only the keys of incremental streams without markers and marking the rows whose key is gone. */
  | 'RECONCILE';

/** Which syncs to list. */
export type EltSyncFilter = {
  /** Only this connection's. */
  connectionId?: string | null | undefined;
  /** Only (not) enabled ones. */
  enabled?: boolean | null | undefined;
  /** Only this workspace's. */
  workspaceId?: string | null | undefined;
};

/** One action to run. The connection is chosen as `resolveConnection` chooses it: `connectionId` or `connectionExternalId`, then the workspace integration's strategy, then the end user's connection, else `CONNECTION_REQUIRED`; integrations that need no connection (the built-ins) use none. */
export type ExecuteActionInput = {
  /** The action's name, from `Integration.actions`. */
  action: string;
  /** An explicit connection by its external id; wins over the strategy. */
  connectionExternalId?: string | null | undefined;
  /** An explicit connection; wins over every other rule. */
  connectionId?: string | null | undefined;
  /** The end user the call is made for, by your external id. */
  endUserExternalId?: string | null | undefined;
  /** The end user the call is made for, by id. */
  endUserId?: string | null | undefined;
  /** At most 255 characters. For 24 hours, a repeat with this key and the same request returns the first result without calling the provider again (`replayed`); with a different request it is `CONFLICT`. */
  idempotencyKey?: string | null | undefined;
  /** The action's input: a JSON object valid against its `inputSchema` (at most 256 KB as JSON, 32 levels deep). */
  input: unknown;
  /** The integration, e.g. `slack`. */
  integrationName: string;
  /** The workspace the call is made for. */
  workspaceId: string;
};

/** Which rule of `resolveConnection` chose the connection. */
export type ResolutionSource =
  /** The explicit connectionId. */
  | 'CONNECTION_ID'
  /** The end user's own connection. */
  | 'END_USER'
  /** The explicit externalId. */
  | 'EXTERNAL_ID'
  /** The workspace's or organization's shared connection. */
  | 'FALLBACK'
  /** The workspace's fixed connection. */
  | 'FIXED';

/** What to resolve a connection for. */
export type ResolveConnectionInput = {
  /** An explicit connection id; wins over every rule (another integration's, workspace's or end user's connection is rejected). */
  connectionId?: string | null | undefined;
  /** The end user, by your external id. */
  endUserExternalId?: string | null | undefined;
  /** The end user, by id. */
  endUserId?: string | null | undefined;
  /** An explicit connection external id; wins over the strategy. */
  externalId?: string | null | undefined;
  /** The integration, e.g. `hubspot`. */
  integrationName: string;
  /** The workspace asking. */
  workspaceId: string;
};

/** What a run does when the source gains fields or types change (Fivetran's names). Weir copies only the streams a sync selects, so `ALLOW_ALL` and `ALLOW_COLUMNS` behave alike: new fields become columns. `BLOCK_ALL` keeps the columns of the first load and reports new fields in the run instead. A value that does not fit its column widens the column to text under every policy: values are never dropped. */
export type SchemaChangePolicy =
  | 'ALLOW_ALL'
  | 'ALLOW_COLUMNS'
  | 'BLOCK_ALL';

/** A stream to copy and how. */
export type SourceStreamInput = {
  /** Columns never loaded. */
  excludedColumns?: Array<string>;
  /** Columns loaded as a salted SHA-256. */
  hashedColumns?: Array<string>;
  /** Stream name, from the integration's `streams`. */
  name: string;
  /** Must be one the stream supports. */
  syncMode: SyncMode;
};

/** `FULL_REFRESH` copies everything each run; `INCREMENTAL` only what changed. */
export type SyncMode =
  | 'FULL_REFRESH'
  | 'INCREMENTAL';

/** Where a run is: `QUEUED` -> `RUNNING` -> `SUCCEEDED`, `FAILED` or `CANCELLED`; `SKIPPED` when the schedule came while a run was still going. */
export type SyncRunStatus =
  | 'CANCELLED'
  | 'FAILED'
  | 'QUEUED'
  | 'RUNNING'
  | 'SKIPPED'
  | 'SUCCEEDED';

/** Where a run came from. */
export type SyncRunTrigger =
  | 'MANUAL'
  | 'RECONCILE'
  | 'RETRY'
  | 'SCHEDULE';

export type ConnectionFieldsFragment = { id: string, integrationName: string, authType: AuthType, scope: ConnectionScope, externalId: string | null, displayName: string | null, status: ConnectionStatus, statusReason: string | null, health: ConnectionHealth, healthReason: string | null, credentialPreview: string | null, parameters: unknown, createdAt: string, updatedAt: string, endUser: { id: string, externalId: string, displayName: string | null } | null };

export type ConnectSessionFieldsFragment = { id: string, status: ConnectSessionStatus, allowedIntegrations: Array<string>, integrationName: string | null, connectionName: string | null, externalId: string | null, redirectUri: string | null, connectionId: string | null, errorCode: string | null, errorMessage: string | null, expiresAt: string, createdAt: string, updatedAt: string };

export type SyncRunFieldsFragment = { id: string, syncId: string, trigger: SyncRunTrigger, status: SyncRunStatus, fullRefresh: boolean, error: string | null, queuedAt: string, startedAt: string | null, finishedAt: string | null, rowsLoaded: number, rowsInserted: number, rowsUpdated: number };

export type EltSyncFieldsFragment = { id: string, connectionId: string, workspaceId: string | null, destinationSchemaName: string, syncInterval: string, enabled: boolean, nextRunAt: string | null, createdAt: string, updatedAt: string, lastRun: { id: string, syncId: string, trigger: SyncRunTrigger, status: SyncRunStatus, fullRefresh: boolean, error: string | null, queuedAt: string, startedAt: string | null, finishedAt: string | null, rowsLoaded: number, rowsInserted: number, rowsUpdated: number } | null };

export type CreateConnectSessionMutationVariables = Exact<{
  input: CreateConnectSessionInput;
}>;


export type CreateConnectSessionMutation = { createConnectSession: { token: string, connectUrl: string, expiresAt: string, session: { id: string, status: ConnectSessionStatus, allowedIntegrations: Array<string>, integrationName: string | null, connectionName: string | null, externalId: string | null, redirectUri: string | null, connectionId: string | null, errorCode: string | null, errorMessage: string | null, expiresAt: string, createdAt: string, updatedAt: string } } };

export type ConnectSessionQueryVariables = Exact<{
  id: string;
}>;


export type ConnectSessionQuery = { connectSession: { id: string, status: ConnectSessionStatus, allowedIntegrations: Array<string>, integrationName: string | null, connectionName: string | null, externalId: string | null, redirectUri: string | null, connectionId: string | null, errorCode: string | null, errorMessage: string | null, expiresAt: string, createdAt: string, updatedAt: string } };

export type CancelConnectSessionMutationVariables = Exact<{
  id: string;
}>;


export type CancelConnectSessionMutation = { cancelConnectSession: { id: string, status: ConnectSessionStatus, allowedIntegrations: Array<string>, integrationName: string | null, connectionName: string | null, externalId: string | null, redirectUri: string | null, connectionId: string | null, errorCode: string | null, errorMessage: string | null, expiresAt: string, createdAt: string, updatedAt: string } };

export type ConnectionsQueryVariables = Exact<{
  filter?: ConnectionFilter | null | undefined;
  first?: number | null | undefined;
  after?: string | null | undefined;
}>;


export type ConnectionsQuery = { connections: { edges: Array<{ cursor: string, node: { id: string, integrationName: string, authType: AuthType, scope: ConnectionScope, externalId: string | null, displayName: string | null, status: ConnectionStatus, statusReason: string | null, health: ConnectionHealth, healthReason: string | null, credentialPreview: string | null, parameters: unknown, createdAt: string, updatedAt: string, endUser: { id: string, externalId: string, displayName: string | null } | null } }>, pageInfo: { hasNextPage: boolean, endCursor: string | null } } };

export type ConnectionQueryVariables = Exact<{
  id: string;
}>;


export type ConnectionQuery = { connection: { id: string, integrationName: string, authType: AuthType, scope: ConnectionScope, externalId: string | null, displayName: string | null, status: ConnectionStatus, statusReason: string | null, health: ConnectionHealth, healthReason: string | null, credentialPreview: string | null, parameters: unknown, createdAt: string, updatedAt: string, endUser: { id: string, externalId: string, displayName: string | null } | null } };

export type DeleteConnectionMutationVariables = Exact<{
  id: string;
}>;


export type DeleteConnectionMutation = { deleteConnection: { deletedId: string } };

export type TestConnectionMutationVariables = Exact<{
  id: string;
}>;


export type TestConnectionMutation = { testConnection: { ok: boolean, message: string, connection: { id: string, integrationName: string, authType: AuthType, scope: ConnectionScope, externalId: string | null, displayName: string | null, status: ConnectionStatus, statusReason: string | null, health: ConnectionHealth, healthReason: string | null, credentialPreview: string | null, parameters: unknown, createdAt: string, updatedAt: string, endUser: { id: string, externalId: string, displayName: string | null } | null } } };

export type ResolveConnectionMutationVariables = Exact<{
  input: ResolveConnectionInput;
}>;


export type ResolveConnectionMutation = { resolveConnection: { resolvedBy: ResolutionSource, connection: { id: string, integrationName: string, authType: AuthType, scope: ConnectionScope, externalId: string | null, displayName: string | null, status: ConnectionStatus, statusReason: string | null, health: ConnectionHealth, healthReason: string | null, credentialPreview: string | null, parameters: unknown, createdAt: string, updatedAt: string, endUser: { id: string, externalId: string, displayName: string | null } | null } } };

export type ExecuteActionMutationVariables = Exact<{
  input: ExecuteActionInput;
}>;


export type ExecuteActionMutation = { executeAction: { output: unknown, connectionId: string | null, resolvedBy: ResolutionSource | null, replayed: boolean, durationMs: number } };

export type EltSyncsQueryVariables = Exact<{
  filter?: EltSyncFilter | null | undefined;
  first?: number | null | undefined;
  after?: string | null | undefined;
}>;


export type EltSyncsQuery = { eltSyncs: { edges: Array<{ cursor: string, node: { id: string, connectionId: string, workspaceId: string | null, destinationSchemaName: string, syncInterval: string, enabled: boolean, nextRunAt: string | null, createdAt: string, updatedAt: string, lastRun: { id: string, syncId: string, trigger: SyncRunTrigger, status: SyncRunStatus, fullRefresh: boolean, error: string | null, queuedAt: string, startedAt: string | null, finishedAt: string | null, rowsLoaded: number, rowsInserted: number, rowsUpdated: number } | null } }>, pageInfo: { hasNextPage: boolean, endCursor: string | null } } };

export type EltSyncQueryVariables = Exact<{
  id: string;
}>;


export type EltSyncQuery = { eltSync: { id: string, connectionId: string, workspaceId: string | null, destinationSchemaName: string, syncInterval: string, enabled: boolean, nextRunAt: string | null, createdAt: string, updatedAt: string, lastRun: { id: string, syncId: string, trigger: SyncRunTrigger, status: SyncRunStatus, fullRefresh: boolean, error: string | null, queuedAt: string, startedAt: string | null, finishedAt: string | null, rowsLoaded: number, rowsInserted: number, rowsUpdated: number } | null } };

export type CreateEltSyncMutationVariables = Exact<{
  input: CreateEltSyncInput;
}>;


export type CreateEltSyncMutation = { createEltSync: { id: string, connectionId: string, workspaceId: string | null, destinationSchemaName: string, syncInterval: string, enabled: boolean, nextRunAt: string | null, createdAt: string, updatedAt: string, lastRun: { id: string, syncId: string, trigger: SyncRunTrigger, status: SyncRunStatus, fullRefresh: boolean, error: string | null, queuedAt: string, startedAt: string | null, finishedAt: string | null, rowsLoaded: number, rowsInserted: number, rowsUpdated: number } | null } };

export type TriggerSyncRunMutationVariables = Exact<{
  syncId: string;
  fullRefresh?: boolean;
}>;


export type TriggerSyncRunMutation = { triggerSyncRun: { id: string, syncId: string, trigger: SyncRunTrigger, status: SyncRunStatus, fullRefresh: boolean, error: string | null, queuedAt: string, startedAt: string | null, finishedAt: string | null, rowsLoaded: number, rowsInserted: number, rowsUpdated: number } };

export type SyncRunQueryVariables = Exact<{
  id: string;
}>;


export type SyncRunQuery = { syncRun: { id: string, syncId: string, trigger: SyncRunTrigger, status: SyncRunStatus, fullRefresh: boolean, error: string | null, queuedAt: string, startedAt: string | null, finishedAt: string | null, rowsLoaded: number, rowsInserted: number, rowsUpdated: number } };

export class TypedDocumentString<TResult, TVariables>
  extends String
  implements DocumentTypeDecoration<TResult, TVariables>
{
  __apiType?: NonNullable<DocumentTypeDecoration<TResult, TVariables>['__apiType']>;
  private value: string;
  public __meta__?: Record<string, any> | undefined;

  constructor(value: string, __meta__?: Record<string, any> | undefined) {
    super(value);
    this.value = value;
    this.__meta__ = __meta__;
  }

  override toString(): string & DocumentTypeDecoration<TResult, TVariables> {
    return this.value;
  }
}
export const ConnectionFieldsFragmentDoc = new TypedDocumentString(`
    fragment ConnectionFields on Connection {
  id
  integrationName
  authType
  scope
  externalId
  displayName
  status
  statusReason
  health
  healthReason
  credentialPreview
  parameters
  createdAt
  updatedAt
  endUser {
    id
    externalId
    displayName
  }
}
    `, {"fragmentName":"ConnectionFields"}) as unknown as TypedDocumentString<ConnectionFieldsFragment, unknown>;
export const ConnectSessionFieldsFragmentDoc = new TypedDocumentString(`
    fragment ConnectSessionFields on ConnectSession {
  id
  status
  allowedIntegrations
  integrationName
  connectionName
  externalId
  redirectUri
  connectionId
  errorCode
  errorMessage
  expiresAt
  createdAt
  updatedAt
}
    `, {"fragmentName":"ConnectSessionFields"}) as unknown as TypedDocumentString<ConnectSessionFieldsFragment, unknown>;
export const SyncRunFieldsFragmentDoc = new TypedDocumentString(`
    fragment SyncRunFields on SyncRun {
  id
  syncId
  trigger
  status
  fullRefresh
  error
  queuedAt
  startedAt
  finishedAt
  rowsLoaded
  rowsInserted
  rowsUpdated
}
    `, {"fragmentName":"SyncRunFields"}) as unknown as TypedDocumentString<SyncRunFieldsFragment, unknown>;
export const EltSyncFieldsFragmentDoc = new TypedDocumentString(`
    fragment EltSyncFields on EltSync {
  id
  connectionId
  workspaceId
  destinationSchemaName
  syncInterval
  enabled
  nextRunAt
  createdAt
  updatedAt
  lastRun {
    ...SyncRunFields
  }
}
    fragment SyncRunFields on SyncRun {
  id
  syncId
  trigger
  status
  fullRefresh
  error
  queuedAt
  startedAt
  finishedAt
  rowsLoaded
  rowsInserted
  rowsUpdated
}`, {"fragmentName":"EltSyncFields"}) as unknown as TypedDocumentString<EltSyncFieldsFragment, unknown>;
export const CreateConnectSessionDocument = new TypedDocumentString(`
    mutation CreateConnectSession($input: CreateConnectSessionInput!) {
  createConnectSession(input: $input) {
    token
    connectUrl
    expiresAt
    session {
      ...ConnectSessionFields
    }
  }
}
    fragment ConnectSessionFields on ConnectSession {
  id
  status
  allowedIntegrations
  integrationName
  connectionName
  externalId
  redirectUri
  connectionId
  errorCode
  errorMessage
  expiresAt
  createdAt
  updatedAt
}`) as unknown as TypedDocumentString<CreateConnectSessionMutation, CreateConnectSessionMutationVariables>;
export const ConnectSessionDocument = new TypedDocumentString(`
    query ConnectSession($id: ID!) {
  connectSession(id: $id) {
    ...ConnectSessionFields
  }
}
    fragment ConnectSessionFields on ConnectSession {
  id
  status
  allowedIntegrations
  integrationName
  connectionName
  externalId
  redirectUri
  connectionId
  errorCode
  errorMessage
  expiresAt
  createdAt
  updatedAt
}`) as unknown as TypedDocumentString<ConnectSessionQuery, ConnectSessionQueryVariables>;
export const CancelConnectSessionDocument = new TypedDocumentString(`
    mutation CancelConnectSession($id: ID!) {
  cancelConnectSession(id: $id) {
    ...ConnectSessionFields
  }
}
    fragment ConnectSessionFields on ConnectSession {
  id
  status
  allowedIntegrations
  integrationName
  connectionName
  externalId
  redirectUri
  connectionId
  errorCode
  errorMessage
  expiresAt
  createdAt
  updatedAt
}`) as unknown as TypedDocumentString<CancelConnectSessionMutation, CancelConnectSessionMutationVariables>;
export const ConnectionsDocument = new TypedDocumentString(`
    query Connections($filter: ConnectionFilter, $first: Int, $after: String) {
  connections(filter: $filter, first: $first, after: $after) {
    edges {
      cursor
      node {
        ...ConnectionFields
      }
    }
    pageInfo {
      hasNextPage
      endCursor
    }
  }
}
    fragment ConnectionFields on Connection {
  id
  integrationName
  authType
  scope
  externalId
  displayName
  status
  statusReason
  health
  healthReason
  credentialPreview
  parameters
  createdAt
  updatedAt
  endUser {
    id
    externalId
    displayName
  }
}`) as unknown as TypedDocumentString<ConnectionsQuery, ConnectionsQueryVariables>;
export const ConnectionDocument = new TypedDocumentString(`
    query Connection($id: ID!) {
  connection(id: $id) {
    ...ConnectionFields
  }
}
    fragment ConnectionFields on Connection {
  id
  integrationName
  authType
  scope
  externalId
  displayName
  status
  statusReason
  health
  healthReason
  credentialPreview
  parameters
  createdAt
  updatedAt
  endUser {
    id
    externalId
    displayName
  }
}`) as unknown as TypedDocumentString<ConnectionQuery, ConnectionQueryVariables>;
export const DeleteConnectionDocument = new TypedDocumentString(`
    mutation DeleteConnection($id: ID!) {
  deleteConnection(id: $id) {
    deletedId
  }
}
    `) as unknown as TypedDocumentString<DeleteConnectionMutation, DeleteConnectionMutationVariables>;
export const TestConnectionDocument = new TypedDocumentString(`
    mutation TestConnection($id: ID!) {
  testConnection(id: $id) {
    ok
    message
    connection {
      ...ConnectionFields
    }
  }
}
    fragment ConnectionFields on Connection {
  id
  integrationName
  authType
  scope
  externalId
  displayName
  status
  statusReason
  health
  healthReason
  credentialPreview
  parameters
  createdAt
  updatedAt
  endUser {
    id
    externalId
    displayName
  }
}`) as unknown as TypedDocumentString<TestConnectionMutation, TestConnectionMutationVariables>;
export const ResolveConnectionDocument = new TypedDocumentString(`
    mutation ResolveConnection($input: ResolveConnectionInput!) {
  resolveConnection(input: $input) {
    resolvedBy
    connection {
      ...ConnectionFields
    }
  }
}
    fragment ConnectionFields on Connection {
  id
  integrationName
  authType
  scope
  externalId
  displayName
  status
  statusReason
  health
  healthReason
  credentialPreview
  parameters
  createdAt
  updatedAt
  endUser {
    id
    externalId
    displayName
  }
}`) as unknown as TypedDocumentString<ResolveConnectionMutation, ResolveConnectionMutationVariables>;
export const ExecuteActionDocument = new TypedDocumentString(`
    mutation ExecuteAction($input: ExecuteActionInput!) {
  executeAction(input: $input) {
    output
    connectionId
    resolvedBy
    replayed
    durationMs
  }
}
    `) as unknown as TypedDocumentString<ExecuteActionMutation, ExecuteActionMutationVariables>;
export const EltSyncsDocument = new TypedDocumentString(`
    query EltSyncs($filter: EltSyncFilter, $first: Int, $after: String) {
  eltSyncs(filter: $filter, first: $first, after: $after) {
    edges {
      cursor
      node {
        ...EltSyncFields
      }
    }
    pageInfo {
      hasNextPage
      endCursor
    }
  }
}
    fragment SyncRunFields on SyncRun {
  id
  syncId
  trigger
  status
  fullRefresh
  error
  queuedAt
  startedAt
  finishedAt
  rowsLoaded
  rowsInserted
  rowsUpdated
}
fragment EltSyncFields on EltSync {
  id
  connectionId
  workspaceId
  destinationSchemaName
  syncInterval
  enabled
  nextRunAt
  createdAt
  updatedAt
  lastRun {
    ...SyncRunFields
  }
}`) as unknown as TypedDocumentString<EltSyncsQuery, EltSyncsQueryVariables>;
export const EltSyncDocument = new TypedDocumentString(`
    query EltSync($id: ID!) {
  eltSync(id: $id) {
    ...EltSyncFields
  }
}
    fragment SyncRunFields on SyncRun {
  id
  syncId
  trigger
  status
  fullRefresh
  error
  queuedAt
  startedAt
  finishedAt
  rowsLoaded
  rowsInserted
  rowsUpdated
}
fragment EltSyncFields on EltSync {
  id
  connectionId
  workspaceId
  destinationSchemaName
  syncInterval
  enabled
  nextRunAt
  createdAt
  updatedAt
  lastRun {
    ...SyncRunFields
  }
}`) as unknown as TypedDocumentString<EltSyncQuery, EltSyncQueryVariables>;
export const CreateEltSyncDocument = new TypedDocumentString(`
    mutation CreateEltSync($input: CreateEltSyncInput!) {
  createEltSync(input: $input) {
    ...EltSyncFields
  }
}
    fragment SyncRunFields on SyncRun {
  id
  syncId
  trigger
  status
  fullRefresh
  error
  queuedAt
  startedAt
  finishedAt
  rowsLoaded
  rowsInserted
  rowsUpdated
}
fragment EltSyncFields on EltSync {
  id
  connectionId
  workspaceId
  destinationSchemaName
  syncInterval
  enabled
  nextRunAt
  createdAt
  updatedAt
  lastRun {
    ...SyncRunFields
  }
}`) as unknown as TypedDocumentString<CreateEltSyncMutation, CreateEltSyncMutationVariables>;
export const TriggerSyncRunDocument = new TypedDocumentString(`
    mutation TriggerSyncRun($syncId: ID!, $fullRefresh: Boolean! = false) {
  triggerSyncRun(syncId: $syncId, fullRefresh: $fullRefresh) {
    ...SyncRunFields
  }
}
    fragment SyncRunFields on SyncRun {
  id
  syncId
  trigger
  status
  fullRefresh
  error
  queuedAt
  startedAt
  finishedAt
  rowsLoaded
  rowsInserted
  rowsUpdated
}`) as unknown as TypedDocumentString<TriggerSyncRunMutation, TriggerSyncRunMutationVariables>;
export const SyncRunDocument = new TypedDocumentString(`
    query SyncRun($id: ID!) {
  syncRun(id: $id) {
    ...SyncRunFields
  }
}
    fragment SyncRunFields on SyncRun {
  id
  syncId
  trigger
  status
  fullRefresh
  error
  queuedAt
  startedAt
  finishedAt
  rowsLoaded
  rowsInserted
  rowsUpdated
}`) as unknown as TypedDocumentString<SyncRunQuery, SyncRunQueryVariables>;