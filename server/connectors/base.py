"""What a connector is: a ``SPEC`` (data) plus ``check()`` and ``read()``.

A connector module defines::

    SPEC = ConnectorSpec(...)
    async def check(context: ConnectorContext, credentials: dict) -> CheckResult: ...
    async def read(context, stream: str, settings: dict, state: dict | None)
        -> AsyncIterator[RecordBatch | StateCheckpoint]: ...

Connectors never touch Weir's database or the environment: everything they need (an HTTP
client, the provider's base URL, credentials, the outbound policy for their own sockets) comes
in through ``ConnectorContext``.

Two optional functions, for connectors whose streams or setting choices live in the account
(``server/connectors/registry.py`` calls them when present)::

    async def discover(context, credentials: dict, settings: dict) -> list[StreamSpec]: ...
    async def settings_options(context, credentials: dict, partial_settings: dict)
        -> dict[str, list]: ...   # setting name -> the values it may take

``read`` is called with ``state=None`` for a full refresh and with the last saved checkpoint's
state for an incremental run.

A connector whose source is PostgreSQL may set ``SPEC.copy_text``: its ``read`` then also takes
``copy_columns=(...)`` and yields ``CopyBatch``es of those columns instead of records, which a
PostgreSQL destination loads without a value passing through Python. The runner asks for them
only when nothing has to happen to a value on the way (see ``server/syncs/stream_load.py``).
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

from server.connectors.schemas import form
from server.outbound import Policy

AUTH_TYPES = ("OAUTH2", "PLATFORM_OAUTH2", "SECRET_TEXT", "BASIC_AUTH", "CUSTOM_AUTH", "NONE")
SYNC_MODES = ("FULL_REFRESH", "INCREMENTAL")
# The same list as ``$defs.category`` of connector.schema.json (a test keeps them equal).
CATEGORIES = (
    "ACCOUNTING",
    "ADVERTISING",
    "AI",
    "ANALYTICS",
    "COMMUNICATION",
    "CRM",
    "DATABASE",
    "DEMO",
    "DEVELOPER_TOOLS",
    "ECOMMERCE",
    "EMAIL",
    "FILE_STORAGE",
    "MARKETING",
    "OTHER",
    "PAYMENTS",
    "PRODUCTIVITY",
    "PROJECT_MANAGEMENT",
    "SUPPORT",
)


@dataclass(frozen=True)
class DeleteMarker:
    """How a provider says a record was deleted: its ``field`` (dotted for nested) equals one
    of ``equals``; with no ``equals``, the field being set (not null, not false, not "")."""

    field: str
    equals: tuple[Any, ...] = ()

    def marks(self, record: dict[str, Any]) -> bool:
        value: Any = record
        for key in self.field.split("."):
            value = value.get(key) if isinstance(value, dict) else None
        if self.equals:
            return any(value == wanted and type(value) is type(wanted) for wanted in self.equals)
        return value is not None and value is not False and value != ""


@dataclass(frozen=True)
class StreamSpec:
    name: str
    primary_key: tuple[str, ...]
    record_schema: dict[str, Any]
    cursor_field: str | None = None
    description: str = ""
    # The provider's delete marker, when its API returns deleted records marked.
    deleted: DeleteMarker | None = None
    # OAuth scopes the stream needs (a grant without them: MISSING_SCOPES).
    scopes: tuple[str, ...] = ()

    @property
    def sync_modes(self) -> tuple[str, ...]:
        return SYNC_MODES if self.cursor_field else ("FULL_REFRESH",)


@dataclass(frozen=True)
class ActionSpec:
    """One call a host can make with a connection (``executeAction``), described as data.

    ``input_schema`` (JSON Schema, draft 2020-12) is checked before anything is sent;
    ``output_schema`` documents what the action returns. ``read_only`` actions change nothing
    at the provider (list, get, search).
    """

    name: str
    display_name: str
    description: str
    input_schema: dict[str, Any]
    output_schema: dict[str, Any]
    read_only: bool = False


class ActionInputError(ValueError):
    """An action's input that passed its schema but that the action still cannot take (a
    Postgres query that is not read-only): ``path`` is dotted, relative to the input."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


@dataclass(frozen=True)
class OAuthSpec:
    authorize_url: str
    token_url: str
    default_scopes: tuple[str, ...] = ()
    scope_separator: str = " "
    # RFC 9207: when the provider sends ``iss`` on the redirect, it must equal this.
    issuer: str | None = None
    extra_authorize_params: tuple[tuple[str, str], ...] = ()
    # RFC 7009 endpoint, called when a connection is deleted (when set).
    revocation_url: str | None = None
    extra_token_params: tuple[tuple[str, str], ...] = ()
    pkce: bool = True
    # "client_secret_post" (client id and secret in the form) or "client_secret_basic" (HTTP
    # Basic), as the provider's token endpoint requires.
    client_authentication: str = "client_secret_post"
    # Token-response fields kept as connection parameters (Salesforce's ``instance_url``).
    token_response_parameters: tuple[str, ...] = ()

    # authorize_url, token_url and revocation_url may hold {parameter} placeholders
    # (https://{subdomain}.zendesk.com/oauth/tokens): server.connectors.templates fills them.


@dataclass(frozen=True)
class ConnectorSpec:
    name: str
    display_name: str
    category: str
    auth_types: tuple[str, ...]
    description: str
    base_url: str | None = None
    docs_url: str | None = None
    oauth: OAuthSpec | None = None
    auth_fields_schema: dict[str, Any] | None = None
    settings_schema: dict[str, Any] = field(default_factory=form)  # no settings
    streams: tuple[StreamSpec, ...] = ()
    # ``read`` accepts ``copy_columns`` and then yields ``CopyBatch``es (PostgreSQL sources).
    copy_text: bool = False
    # JSON Schema (a form) of the per-connection parameters the connect form asks for before
    # authenticating (a Shopify shop, a Zendesk subdomain); None when there are none. Their
    # values fill {placeholders} in base_url and the OAuth URLs.
    parameters_schema: dict[str, Any] | None = None
    # "CATALOG" (shipped with Weir) or "CUSTOM" (registered by a host through the API).
    source: str = "CATALOG"
    # A custom integration's own logo (https); catalog entries have logos/<name>.svg.
    logo_url: str | None = None
    actions: tuple[ActionSpec, ...] = ()
    # False for the built-ins (date and time, hash and encode, key-value store): their actions
    # run without a connection, scoped to the workspace and end user of the call.
    requires_connection: bool = True

    def stream(self, name: str) -> StreamSpec | None:
        return next((s for s in self.streams if s.name == name), None)

    def action(self, name: str) -> ActionSpec | None:
        return next((a for a in self.actions if a.name == name), None)


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    message: str = ""
    # What the provider says the account is (e.g. a Stripe account id), for display names.
    account_label: str | None = None
    # False when nothing answered (network, DNS, timeout, refused by the outbound guard): an end
    # user is then told only that Weir could not connect, never which of these it was.
    reachable: bool = True


class JsonText(str):
    """A JSON value still as its JSON text. A source that receives JSON as text (PostgreSQL's
    json and jsonb columns) hands it on like this instead of decoding it, and destinations store
    it as it is: a JSON column then costs no decode and re-encode per row."""


@dataclass(frozen=True)
class RecordBatch:
    stream: str
    records: list[dict[str, Any]]


@dataclass(frozen=True)
class CopyBatch:
    """Rows of one stream in PostgreSQL's COPY text format, one line per row.

    ``columns`` name the fields of each line, in order. Only a source that was asked for them
    yields these, and only a destination that loads COPY text receives them.
    """

    stream: str
    columns: tuple[str, ...]
    data: bytes
    rows: int


@dataclass(frozen=True)
class StateCheckpoint:
    """Saved only after the destination committed every batch yielded before it."""

    stream: str
    state: dict[str, Any]


class KeyValueStore(Protocol):
    """The built-in key-value store, already scoped to one workspace (and end user).

    ``get`` returns None for an absent (or expired) key, so a value may not be null.
    ``list_keys`` returns keys in order, after ``after`` when given (the last key of a page).
    ``increment`` adds ``by`` to an integer value (an absent key counts as 0) in one step, even
    when calls race, and returns the new value. Bad input is an ``ActionInputError`` on the
    action's field of the same name (``key``, ``value``, ``ttl_seconds``, ``by``).
    """

    async def get(self, key: str) -> Any: ...

    async def put(self, key: str, value: Any, ttl_seconds: int | None = None) -> None: ...

    async def delete(self, key: str) -> bool: ...

    async def list_keys(self, prefix: str, limit: int, after: str | None = None) -> list[str]: ...

    async def increment(self, key: str, by: int = 1, ttl_seconds: int | None = None) -> int: ...


class RateBudget(Protocol):
    """One connection's rate budget, shared by syncs, actions and the proxy (and, through
    Redis, by every process), learned from the provider's rate-limit headers.

    ``before_call`` waits while the provider asked everyone to wait (a bounded time) or raises
    ``http.ProviderRateLimited`` with ``retry_after`` when the caller should not wait that long;
    ``after_call`` learns from each answer's headers (``names`` is an ``http.RateLimitHeaders``).
    ``caller`` is "sync", "action", "proxy" or "check".
    """

    async def before_call(self, key: str, caller: str) -> None: ...

    async def after_call(self, key: str, status: int, headers: Any, names: Any) -> None: ...


@dataclass
class ConnectorContext:
    http: httpx.AsyncClient
    base_url: str | None
    credentials: dict[str, Any] = field(default_factory=dict)
    # Called on a provider 401 to get fresh credentials (OAuth refresh); None when not possible.
    refresh_credentials: Callable[[], Awaitable[dict[str, Any]]] | None = None
    # Where a connector that opens its own sockets (Postgres, SMTP) may connect. Fails closed:
    # without one from settings, only globally routable addresses.
    outbound: Policy = field(default_factory=Policy)
    # The connection's parameters (``ConnectorSpec.parameters_schema``), already validated;
    # they fill the {placeholders} of a definition's URLs.
    parameters: dict[str, Any] = field(default_factory=dict)
    # The connection these calls are made with (the rate budget's key); None for a check of
    # credentials not stored yet.
    connection_id: str | None = None
    # Who is calling: "sync", "action", "proxy" or "check" (the rate budget's priorities).
    caller: str = "sync"
    budget: RateBudget | None = None
    # What an action may hand the provider so that a retried call is done once (derived from
    # executeAction's idempotencyKey; never the host's key itself). None without one.
    idempotency_key: str | None = None
    # The built-in key-value store's scope for this call (built-in actions only).
    store: KeyValueStore | None = None


def fill_settings_schema(schema: dict[str, Any], options: dict[str, list[Any]]) -> dict[str, Any]:
    """A copy of ``schema`` whose named properties allow only the listed values: ``enum`` on a
    plain property, ``items.enum`` on an array property."""
    filled = copy.deepcopy(schema)
    properties = filled.get("properties", {})
    for name, values in options.items():
        prop = properties.get(name)
        if prop is None:
            continue
        if prop.get("type") == "array":
            prop["items"] = {**prop.get("items", {}), "enum": list(values)}
        else:
            prop["enum"] = list(values)
    return filled


class Connector(Protocol):
    """What every connector has. Optional, when ``SPEC.actions`` is not empty::

        async def run_action(context, action: str, input: dict) -> Any   # the output (JSON)

    and, for a connector with an HTTP API the proxy may call::

        def http_target(context) -> server.connectors.http.HttpTarget
    """

    SPEC: ConnectorSpec

    async def check(self, context: ConnectorContext, credentials: dict[str, Any]) -> CheckResult: ...

    def read(
        self,
        context: ConnectorContext,
        stream: str,
        settings: dict[str, Any],
        state: dict[str, Any] | None,
    ) -> AsyncIterator[RecordBatch | StateCheckpoint]: ...
