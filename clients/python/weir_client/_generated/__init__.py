from .async_base_client import AsyncBaseClient
from .async_client import AsyncGraphQLClient
from .base_client import BaseClient
from .base_model import BaseModel, Upload
from .cancel_connect_session import (
    CancelConnectSession,
    CancelConnectSessionCancelConnectSession,
)
from .cancel_sync_run import CancelSyncRun, CancelSyncRunCancelSyncRun
from .client import GraphQLClient
from .create_connect_session import (
    CreateConnectSession,
    CreateConnectSessionCreateConnectSession,
    CreateConnectSessionCreateConnectSessionSession,
)
from .create_elt_sync import CreateEltSync, CreateEltSyncCreateEltSync
from .delete_connection import DeleteConnection, DeleteConnectionDeleteConnection
from .delete_elt_sync import DeleteEltSync, DeleteEltSyncDeleteEltSync
from .enums import (
    AuthType,
    ConnectionHealth,
    ConnectionScope,
    ConnectionStatus,
    ConnectSessionStatus,
    DeleteDetection,
    ResolutionSource,
    SchemaChangePolicy,
    SyncMode,
    SyncRunStatus,
    SyncRunTrigger,
)
from .exceptions import (
    GraphQLClientError,
    GraphQLClientGraphQLError,
    GraphQLClientGraphQLMultiError,
    GraphQLClientHttpError,
    GraphQLClientInvalidResponseError,
)
from .execute_action import ExecuteAction, ExecuteActionExecuteAction
from .fragments import (
    ConnectionFields,
    ConnectionFieldsEndUser,
    ConnectionFieldsWorkspace,
    ConnectSessionFields,
    EltSyncFields,
    EltSyncFieldsLastRun,
    EltSyncFieldsSourceStreams,
    PageInfoFields,
    SyncRunFields,
)
from .get_connect_session import GetConnectSession, GetConnectSessionConnectSession
from .get_connection import GetConnection, GetConnectionConnection
from .get_elt_sync import GetEltSync, GetEltSyncEltSync
from .get_sync_run import GetSyncRun, GetSyncRunSyncRun
from .input_types import (
    ConnectionFilter,
    CreateConnectSessionInput,
    CreateEltSyncInput,
    EltSyncFilter,
    ExecuteActionInput,
    ResolveConnectionInput,
    SourceStreamInput,
    SyncRunFilter,
)
from .list_connections import (
    ListConnections,
    ListConnectionsConnections,
    ListConnectionsConnectionsEdges,
    ListConnectionsConnectionsEdgesNode,
    ListConnectionsConnectionsPageInfo,
)
from .list_elt_syncs import (
    ListEltSyncs,
    ListEltSyncsEltSyncs,
    ListEltSyncsEltSyncsEdges,
    ListEltSyncsEltSyncsEdgesNode,
    ListEltSyncsEltSyncsPageInfo,
)
from .list_sync_runs import (
    ListSyncRuns,
    ListSyncRunsSyncRuns,
    ListSyncRunsSyncRunsEdges,
    ListSyncRunsSyncRunsEdgesNode,
    ListSyncRunsSyncRunsPageInfo,
)
from .resolve_connection import (
    ResolveConnection,
    ResolveConnectionResolveConnection,
    ResolveConnectionResolveConnectionConnection,
)
from .trigger_sync_run import TriggerSyncRun, TriggerSyncRunTriggerSyncRun

__all__ = [
    "AsyncBaseClient",
    "AsyncGraphQLClient",
    "AuthType",
    "BaseClient",
    "BaseModel",
    "CancelConnectSession",
    "CancelConnectSessionCancelConnectSession",
    "CancelSyncRun",
    "CancelSyncRunCancelSyncRun",
    "ConnectSessionFields",
    "ConnectSessionStatus",
    "ConnectionFields",
    "ConnectionFieldsEndUser",
    "ConnectionFieldsWorkspace",
    "ConnectionFilter",
    "ConnectionHealth",
    "ConnectionScope",
    "ConnectionStatus",
    "CreateConnectSession",
    "CreateConnectSessionCreateConnectSession",
    "CreateConnectSessionCreateConnectSessionSession",
    "CreateConnectSessionInput",
    "CreateEltSync",
    "CreateEltSyncCreateEltSync",
    "CreateEltSyncInput",
    "DeleteConnection",
    "DeleteConnectionDeleteConnection",
    "DeleteDetection",
    "DeleteEltSync",
    "DeleteEltSyncDeleteEltSync",
    "EltSyncFields",
    "EltSyncFieldsLastRun",
    "EltSyncFieldsSourceStreams",
    "EltSyncFilter",
    "ExecuteAction",
    "ExecuteActionExecuteAction",
    "ExecuteActionInput",
    "GetConnectSession",
    "GetConnectSessionConnectSession",
    "GetConnection",
    "GetConnectionConnection",
    "GetEltSync",
    "GetEltSyncEltSync",
    "GetSyncRun",
    "GetSyncRunSyncRun",
    "GraphQLClient",
    "GraphQLClientError",
    "GraphQLClientGraphQLError",
    "GraphQLClientGraphQLMultiError",
    "GraphQLClientHttpError",
    "GraphQLClientInvalidResponseError",
    "ListConnections",
    "ListConnectionsConnections",
    "ListConnectionsConnectionsEdges",
    "ListConnectionsConnectionsEdgesNode",
    "ListConnectionsConnectionsPageInfo",
    "ListEltSyncs",
    "ListEltSyncsEltSyncs",
    "ListEltSyncsEltSyncsEdges",
    "ListEltSyncsEltSyncsEdgesNode",
    "ListEltSyncsEltSyncsPageInfo",
    "ListSyncRuns",
    "ListSyncRunsSyncRuns",
    "ListSyncRunsSyncRunsEdges",
    "ListSyncRunsSyncRunsEdgesNode",
    "ListSyncRunsSyncRunsPageInfo",
    "PageInfoFields",
    "ResolutionSource",
    "ResolveConnection",
    "ResolveConnectionInput",
    "ResolveConnectionResolveConnection",
    "ResolveConnectionResolveConnectionConnection",
    "SchemaChangePolicy",
    "SourceStreamInput",
    "SyncMode",
    "SyncRunFields",
    "SyncRunFilter",
    "SyncRunStatus",
    "SyncRunTrigger",
    "TriggerSyncRun",
    "TriggerSyncRunTriggerSyncRun",
    "Upload",
]
