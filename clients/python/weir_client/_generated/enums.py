from enum import Enum


class AuthType(str, Enum):
    OAUTH2 = "OAUTH2"
    PLATFORM_OAUTH2 = "PLATFORM_OAUTH2"
    SECRET_TEXT = "SECRET_TEXT"
    BASIC_AUTH = "BASIC_AUTH"
    CUSTOM_AUTH = "CUSTOM_AUTH"
    NONE = "NONE"


class ConnectSessionStatus(str, Enum):
    PENDING = "PENDING"
    CONNECTING = "CONNECTING"
    FAILED = "FAILED"
    COMPLETED = "COMPLETED"
    EXPIRED = "EXPIRED"


class ConnectionHealth(str, Enum):
    WORKING = "WORKING"
    DEGRADED = "DEGRADED"
    NEEDS_REAUTHORIZATION = "NEEDS_REAUTHORIZATION"
    MISSING_SCOPES = "MISSING_SCOPES"


class ConnectionScope(str, Enum):
    ORGANIZATION = "ORGANIZATION"
    WORKSPACE = "WORKSPACE"
    USER = "USER"


class ConnectionStatus(str, Enum):
    ACTIVE = "ACTIVE"
    ERROR = "ERROR"


class DeleteDetection(str, Enum):
    OFF = "OFF"
    MARKERS = "MARKERS"
    RECONCILE = "RECONCILE"


class ResolutionSource(str, Enum):
    CONNECTION_ID = "CONNECTION_ID"
    EXTERNAL_ID = "EXTERNAL_ID"
    FIXED = "FIXED"
    END_USER = "END_USER"
    FALLBACK = "FALLBACK"


class SchemaChangePolicy(str, Enum):
    ALLOW_ALL = "ALLOW_ALL"
    ALLOW_COLUMNS = "ALLOW_COLUMNS"
    BLOCK_ALL = "BLOCK_ALL"


class SyncMode(str, Enum):
    FULL_REFRESH = "FULL_REFRESH"
    INCREMENTAL = "INCREMENTAL"


class SyncRunStatus(str, Enum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    SKIPPED = "SKIPPED"


class SyncRunTrigger(str, Enum):
    SCHEDULE = "SCHEDULE"
    MANUAL = "MANUAL"
    RETRY = "RETRY"
    RECONCILE = "RECONCILE"
