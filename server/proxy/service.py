"""The proxy's service: from a caller's request to the provider's answer.

``forward`` checks the method and path (``paths``), resolves the connection the caller named
(``server.integrations.resolve``, the one resolver actions and ``resolveConnection`` use),
applies the workspace's policy (``policy``), reads the body within its limit, builds the
connector context with fresh credentials, asks the connector for its ``http_target`` (a
connector without an HTTP API, Postgres or SMTP, is refused) and runs the exchange
(``forward.exchange``). A 401 that survives a refresh puts the connection in ``ERROR``
(``mark_reauthorization_required``) and answers ``REAUTHORIZATION_REQUIRED``. Every call that
got as far as naming an integration is recorded in the call log once it ends (the path
without its query; never a header or a body).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from typing import Any

import httpx

from server.calls import recorder as call_log
from server.calls.recorder import CallRecorder
from server.calls.records import FAILED, PROXY, SUCCEEDED, Call
from server.config import Settings
from server.connections.models import Connection
from server.connections.status import mark_reauthorization_required
from server.connectors.http import ProviderError
from server.crypto import KeyRing
from server.errors import (
    CheckFailed,
    FieldError,
    NotFound,
    ProviderFailed,
    ProviderUnavailable,
    ReauthorizationRequired,
    ValidationFailed,
    WeirError,
)
from server.events import EventBus
from server.integrations import catalog, refresh
from server.integrations.models import WorkspaceIntegration
from server.integrations.resolve import resolve_connection
from server.orgs.models import EndUser
from server.proxy import paths, policy
from server.proxy.forward import Answer, CredentialsRefused, Outgoing, exchange, read_body
from server.scope import Scope

# The headers that name the connection, and the resolver's input fields they stand for.
CONNECTION_ID = "X-Weir-Connection-Id"
INTEGRATION = "X-Weir-Integration"
WORKSPACE_ID = "X-Weir-Workspace-Id"
END_USER_ID = "X-Weir-End-User-Id"
END_USER_EXTERNAL_ID = "X-Weir-End-User-External-Id"
CONNECTION_EXTERNAL_ID = "X-Weir-Connection-External-Id"
_FIELDS = {
    "input.connectionId": CONNECTION_ID,
    "input.integrationName": INTEGRATION,
    "input.workspaceId": WORKSPACE_ID,
    "input.endUserId": END_USER_ID,
    "input.endUserExternalId": END_USER_EXTERNAL_ID,
    "input.externalId": CONNECTION_EXTERNAL_ID,
}


@dataclass(frozen=True)
class Named:
    """What the caller's ``X-Weir-*`` headers name (None when a header was not sent)."""

    connection_id: str | None = None
    integration_name: str | None = None
    workspace_id: str | None = None
    end_user_id: str | None = None
    end_user_external_id: str | None = None
    connection_external_id: str | None = None


@dataclass(frozen=True)
class Incoming:
    """The caller's request as the web layer received it: the path after ``/proxy`` and the
    query, both still percent-encoded, the headers, and the body as it streams in."""

    method: str
    path: str
    query: str
    headers: list[tuple[str, str]]
    body: Callable[[], AsyncIterator[bytes]]
    content_length: str | None = None


@dataclass(frozen=True)
class Runtime:
    """What a proxied call needs from its process."""

    settings: Settings
    key_ring: KeyRing
    http: httpx.AsyncClient
    bus: EventBus | None = None
    # The process's call log writer; None writes each call at once (scripts, tests).
    recorder: CallRecorder | None = None


def _header_fields(exc: ValidationFailed) -> ValidationFailed:
    """The resolver's input paths as the headers the caller sent."""
    return ValidationFailed(
        [FieldError(_FIELDS.get(error.field, error.field), error.message) for error in exc.errors]
    )


async def _resolve(
    scope: Scope, named: Named
) -> tuple[Connection, str, str, str | None, WorkspaceIntegration | None]:
    """The connection, its integration, the workspace the call is made in and the end user it
    is made for (named, or the connection's own)."""
    integration, workspace_id = named.integration_name, named.workspace_id or scope.workspace_id
    end_user_id = named.end_user_id
    own: Connection | None = None
    if named.connection_id is not None and (integration is None or workspace_id is None):
        # A connection id alone: its own integration, workspace (and end user) fill the rest,
        # and the key's workspace restriction still holds (another workspace's is NOT_FOUND).
        if len(named.connection_id) > 32:
            raise ValidationFailed.field(CONNECTION_ID, "is longer than 32 characters")
        own = await Connection.get_or_none(id=named.connection_id, organization_id=scope.organization_id)
        if own is None or (
            scope.workspace_id is not None and own.workspace_id not in (None, scope.workspace_id)
        ):
            raise NotFound("connection", named.connection_id)
        integration = integration or own.integration_name
        workspace_id = workspace_id or own.workspace_id
        if end_user_id is None and named.end_user_external_id is None:
            end_user_id = own.end_user_id
    if integration is None:
        raise ValidationFailed.field(INTEGRATION, f"is required unless {CONNECTION_ID} is sent")
    if workspace_id is None:
        raise ValidationFailed.field(WORKSPACE_ID, "is required: name the workspace the call is made in")
    try:
        resolution = await resolve_connection(
            scope=scope,
            workspace_id=workspace_id,
            integration_name=integration,
            end_user_id=end_user_id,
            end_user_external_id=named.end_user_external_id,
            external_id=named.connection_external_id,
            connection_id=named.connection_id,
            for_use=True,
            known=own,
        )
    except ValidationFailed as exc:
        raise _header_fields(exc) from None
    connection = resolution.connection
    if end_user_id is None and named.end_user_external_id is not None:
        # The resolver found this end user already; its id is what the call log keeps.
        found = await EndUser.get_or_none(
            organization_id=scope.organization_id,
            workspace_id=workspace_id,
            external_id=named.end_user_external_id,
        )
        end_user_id = found.id if found is not None else None
    end_user_id = end_user_id or connection.end_user_id
    return connection, integration, workspace_id, end_user_id, resolution.config


async def forward(*, runtime: Runtime, scope: Scope, named: Named, incoming: Incoming) -> Answer:
    """Forward one caller's request to the provider of the connection it names (see the
    module docstring); return the answer, its body streaming."""
    method = policy.check_method(incoming.method.upper())
    path, query = paths.check_path(incoming.path), paths.check_query(incoming.query)
    connection, integration, workspace_id, end_user_id, config = await _resolve(scope, named)
    call = Call(
        organization_id=scope.organization_id,
        workspace_id=workspace_id,
        kind=PROXY,
        integration_name=integration,
        status=FAILED,
        duration_ms=0,
        connection_id=connection.id,
        api_key_id=scope.api_key_id,
        end_user_id=end_user_id,
        method=method,
        path=path,
    )
    started = time.monotonic()
    try:
        answer = await _forward(runtime, connection, workspace_id, config, method, path, query, incoming)
    except WeirError as exc:
        await _record(runtime, call, started, error_code=exc.code)
        raise
    except BaseException:
        await _record(runtime, call, started, error_code="INTERNAL")
        raise
    recording = _Recording(runtime, call, started, answer)
    return replace(answer, body=recording.body(), close=recording.close)


async def _forward(
    runtime: Runtime,
    connection: Connection,
    workspace_id: str,
    config: WorkspaceIntegration | None,
    method: str,
    path: str,
    query: str,
    incoming: Incoming,
) -> Answer:
    """``config`` is the workspace's row for the integration, read by the resolver: the policy
    comes from it, and so do the endpoint overrides when the connection is this workspace's."""
    settings = runtime.settings
    policy.enforce(config, method=method, path=paths.decoded(path))
    if connection.workspace_id == workspace_id:
        connector = await catalog.connector_with_config(
            settings=settings,
            organization_id=connection.organization_id,
            workspace_id=workspace_id,
            name=connection.integration_name,
            config=config,
        )
    else:  # the organization's connection, used from this workspace: its own overrides
        connector = await catalog.connector_for(
            settings=settings,
            organization_id=connection.organization_id,
            workspace_id=connection.workspace_id,
            name=connection.integration_name,
        )
    http_target = getattr(connector, "http_target", None)
    if http_target is None:
        raise ValidationFailed.field(
            INTEGRATION,
            f"{connection.integration_name} has no HTTP API the proxy can call; use its actions",
        )
    body = await read_body(
        incoming.body(), limit=settings.proxy_max_request_bytes, declared=incoming.content_length
    )
    try:
        context = await refresh.connector_context(
            settings=settings,
            key_ring=runtime.key_ring,
            connection=connection,
            http=runtime.http,
            bus=runtime.bus,
            caller="proxy",  # the rate budget's patience and reserve for a proxied call
            connector=connector,
        )
    except CheckFailed as exc:
        raise _refresh_failed(connection, exc) from None
    try:
        target = http_target(context)
    except ProviderError as exc:
        raise ProviderFailed(exc.message) from None
    url = paths.target_url(target.base_url, path, query)
    outgoing = Outgoing(method=method, path=path, query=query, headers=incoming.headers, body=body)
    try:
        return await exchange(
            http=runtime.http,
            context=context,
            target=target,
            url=url,
            request=outgoing,
            caller_secret=_caller_secret(incoming.headers),
            max_response_bytes=settings.proxy_max_response_bytes,
        )
    except CheckFailed as exc:  # the refresh after a 401 failed
        raise _refresh_failed(connection, exc) from None
    except CredentialsRefused as exc:
        await mark_reauthorization_required(connection=connection, reason=exc.reason, bus=runtime.bus)
        raise ReauthorizationRequired(
            f"the provider refused the connection's credentials ({exc.reason}); "
            "the connection needs to be connected again"
        ) from None


def _refresh_failed(connection: Connection, exc: CheckFailed) -> WeirError:
    """A refresh that failed: re-authorization when the provider refused it for good (the
    refresh put the connection in ERROR), else the provider is unavailable for now."""
    if connection.status == "ERROR":
        return ReauthorizationRequired(exc.message)
    return ProviderUnavailable(exc.message)


def _caller_secret(headers: list[tuple[str, str]]) -> str | None:
    """The Weir secret the caller authenticated with, never to be forwarded."""
    for name, value in headers:
        if name.lower() == "authorization":
            scheme, _, secret = value.partition(" ")
            if secret.strip():
                return secret.strip()
        if name.lower() == "x-api-key" and value.strip():
            return value.strip()
    return None


async def _record(runtime: Runtime, call: Call, started: float, **changes: Any) -> None:
    duration = int((time.monotonic() - started) * 1000)
    await call_log.record(replace(call, duration_ms=duration, **changes), runtime.recorder)


class _Recording:
    """Passes the answer's body on and records the call once, when the answer is closed
    (after the last byte, or when the stream broke off or was never read)."""

    def __init__(self, runtime: Runtime, call: Call, started: float, answer: Answer) -> None:
        self.runtime, self.call, self.started, self.answer = runtime, call, started, answer
        ok = answer.status < 400
        self.outcome: dict[str, Any] = {
            "http_status": answer.status,
            "status": SUCCEEDED if ok else FAILED,
            "error_code": None if ok else "PROVIDER_ERROR",
        }
        self.recorded = False

    async def body(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self.answer.body:
                yield chunk
        except WeirError as exc:
            self.outcome.update(status=FAILED, error_code=exc.code)
            raise

    async def close(self) -> None:
        if self.recorded:
            return
        self.recorded = True
        try:
            await self.answer.close()
        finally:
            await _record(self.runtime, self.call, self.started, **self.outcome)
