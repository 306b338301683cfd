"""Weir's Python client: ``Weir`` (sync) and ``AsyncWeir`` (async), generated from
``schema.graphql`` by ariadne-codegen (``_generated``), with ``WeirError`` and the proxy."""

from ._clients import AsyncWeir, Weir
from ._errors import FieldError, WeirError
from ._generated.enums import (
    AuthType,
    ConnectionHealth,
    ConnectionScope,
    ConnectionStatus,
    ConnectSessionStatus,
    ResolutionSource,
    SchemaChangePolicy,
    SyncMode,
    SyncRunStatus,
    SyncRunTrigger,
)
from ._generated.fragments import (
    ConnectionFields,
    ConnectSessionFields,
    EltSyncFields,
    PageInfoFields,
    SyncRunFields,
)
from ._generated.input_types import (
    ConnectionFilter,
    CreateConnectSessionInput,
    CreateEltSyncInput,
    EltSyncFilter,
    ExecuteActionInput,
    ResolveConnectionInput,
    SourceStreamInput,
    SyncRunFilter,
)

__all__ = [
    "AsyncWeir",
    "AuthType",
    "ConnectSessionFields",
    "ConnectSessionStatus",
    "ConnectionFields",
    "ConnectionFilter",
    "ConnectionHealth",
    "ConnectionScope",
    "ConnectionStatus",
    "CreateConnectSessionInput",
    "CreateEltSyncInput",
    "EltSyncFields",
    "EltSyncFilter",
    "ExecuteActionInput",
    "FieldError",
    "PageInfoFields",
    "ResolutionSource",
    "ResolveConnectionInput",
    "SchemaChangePolicy",
    "SourceStreamInput",
    "SyncMode",
    "SyncRunFields",
    "SyncRunFilter",
    "SyncRunStatus",
    "SyncRunTrigger",
    "Weir",
    "WeirError",
]
