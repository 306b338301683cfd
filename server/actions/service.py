"""Executing an action (``executeAction``): check, resolve, call once, record.

In order:

1. the request's own limits (``server.actions.inputs``): the input is a JSON object within size
   and depth; an idempotency key fits;
2. the workspace (the caller's), the integration as that workspace sees it, the action by name;
3. the input against the action's ``input_schema``; the end user, when one is named;
4. with an idempotency key, a repeat of a finished call returns its result without calling
   again (``server.actions.idempotency``);
5. the connection (``server.integrations.resolve``), unless the integration needs none (the
   built-ins, which get the key-value store scoped to the workspace and end user instead);
6. the call, with fresh credentials and one refresh on a 401 (``refresh.connector_context``).
   A provider's trouble becomes an error a client can act on, never ``INTERNAL``:

       ProviderAuthError (401 after the refresh)  connection ERROR, REAUTHORIZATION_REQUIRED
       ProviderRateLimited                        RATE_LIMITED with retryAfter
       ProviderUnreachable, a timeout             PROVIDER_UNREACHABLE
       ProviderError                              PROVIDER_ERROR with providerStatus
       ActionInputError                           VALIDATION_FAILED at input.input.<path>

Every execution of a known action is recorded in the call log, replays and failures included.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any

import httpx

from server import http as http_clients
from server.actions import failures, idempotency, inputs
from server.actions.idempotency import StoredResult
from server.actions.kv import scoped_store
from server.actions.models import ActionResult
from server.calls import recorder as call_log
from server.calls.recorder import CallRecorder
from server.calls.records import ACTION, FAILED, SUCCEEDED, Call
from server.config import Settings
from server.connections.models import Connection
from server.connections.service import connector_context
from server.connectors.base import ActionSpec, ConnectorContext
from server.crypto import KeyRing
from server.errors import (
    CheckFailed,
    Conflict,
    Forbidden,
    NotFound,
    ProviderFailed,
    ValidationFailed,
    WeirError,
)
from server.events import EventBus
from server.integrations import catalog, refresh
from server.integrations.models import WorkspaceIntegration
from server.integrations.resolve import resolve_connection
from server.orgs import service as orgs
from server.orgs.models import EndUser
from server.scope import Scope
from server.validation import refuse_over_long_lookups

log = logging.getLogger("weir.actions")

# The whole call, a token refresh and the connector's bounded retries included: a GraphQL
# request must not hang on a provider that keeps a connection open.
ACTION_TIMEOUT_SECONDS = 120.0
# Each request of an action to its provider (server.http presets).
ACTION_CALLS = http_clients.Preset(timeout=30.0)


@dataclass(frozen=True)
class ActionRequest:
    """One ``executeAction``, as the client sent it."""

    integration_name: str
    action: str
    input: Any
    workspace_id: str
    end_user_id: str | None = None
    end_user_external_id: str | None = None
    connection_id: str | None = None
    connection_external_id: str | None = None
    idempotency_key: str | None = None

    def fingerprint(self) -> str:
        """What tells a retry of this request from another one with the same key."""
        return idempotency.fingerprint(
            {
                "integration": self.integration_name,
                "action": self.action,
                "input": self.input,
                "workspace": self.workspace_id,
                "endUserId": self.end_user_id,
                "endUserExternalId": self.end_user_external_id,
                "connectionId": self.connection_id,
                "connectionExternalId": self.connection_external_id,
            }
        )


@dataclass(frozen=True)
class ActionExecution:
    output: Any
    connection_id: str | None  # None for an integration that needs no connection
    resolved_by: str | None  # the resolution rule (server.integrations.resolve), when resolved
    replayed: bool  # the stored result of an earlier call with the same idempotency key
    duration_ms: int


@dataclass
class _Facts:
    """What the call log is told about one execution, filled in as it goes."""

    end_user_id: str | None = None
    connection_id: str | None = None
    http_status: int | None = None
    retry_after: str | None = None  # the last answer's Retry-After header
    called: bool = False  # the connector was asked to run the action


def _check_request(request: ActionRequest) -> dict[str, Any]:
    """The limits that need no lookup; returns the input object."""
    value = inputs.check_shape(request.input)
    inputs.check_idempotency_key(request.idempotency_key)
    refuse_over_long_lookups(
        {
            "input.endUserExternalId": (request.end_user_external_id, 255),
            "input.connectionExternalId": (request.connection_external_id, 255),
            "input.connectionId": (request.connection_id, 32),
            "input.endUserId": (request.end_user_id, 32),
        }
    )
    if request.connection_id is not None and request.connection_external_id is not None:
        raise ValidationFailed.field(
            "input.connectionExternalId", "give connectionId or connectionExternalId, not both"
        )
    if request.end_user_id is not None and request.end_user_external_id is not None:
        raise ValidationFailed.field(
            "input.endUserExternalId", "give endUserId or endUserExternalId, not both"
        )
    return value


async def _connector(*, settings: Settings, scope: Scope, workspace_id: str, name: str) -> Any:
    """The integration as the workspace sees it; an unknown (or another tenant's) name is a
    validation error on the field, as in ``resolveConnection``."""
    try:
        return await catalog.connector_for(
            settings=settings, organization_id=scope.organization_id, workspace_id=workspace_id, name=name
        )
    except NotFound:
        raise ValidationFailed.field("input.integrationName", f"no integration named {name[:64]!r}") from None


async def _end_user(*, scope: Scope, workspace_id: str, request: ActionRequest) -> EndUser | None:
    if request.end_user_id is not None:
        end_user = await orgs.get_end_user(scope=scope, end_user_id=request.end_user_id)
        if end_user.workspace_id != workspace_id:
            raise ValidationFailed.field("input.endUserId", "belongs to another workspace")
        return end_user
    if request.end_user_external_id is not None:
        named = await EndUser.get_or_none(
            organization_id=scope.organization_id,
            workspace_id=workspace_id,
            external_id=request.end_user_external_id,
        )
        if named is None:
            raise NotFound("end user", request.end_user_external_id)
        return named
    return None


async def execute_action(
    *,
    scope: Scope,
    settings: Settings,
    key_ring: KeyRing,
    bus: EventBus | None,
    request: ActionRequest,
    recorder: CallRecorder | None = None,
) -> ActionExecution:
    """Run ``request.action`` of ``request.integration_name`` once (see the module docstring)."""
    started = time.monotonic()
    value = _check_request(request)
    workspace = await orgs.get_workspace(scope=scope, workspace_id=request.workspace_id)
    connector = await _connector(
        settings=settings, scope=scope, workspace_id=workspace.id, name=request.integration_name
    )
    spec = connector.SPEC
    action = spec.action(request.action)
    if action is None:
        raise ValidationFailed.field(
            "input.action", f"{spec.name} has no action named {request.action[:64]!r}"
        )
    facts = _Facts()

    async def record(status: str, error_code: str | None) -> None:
        await call_log.record(
            Call(
                organization_id=scope.organization_id,
                workspace_id=workspace.id,
                kind=ACTION,
                integration_name=spec.name,
                status=status,
                duration_ms=_elapsed_ms(started),
                connection_id=facts.connection_id,
                api_key_id=scope.api_key_id,
                end_user_id=facts.end_user_id,
                action=action.name,
                http_status=facts.http_status,
                error_code=error_code,
            ),
            recorder,
        )

    # From here on every outcome is recorded, a replay too (its own row: the call log lists
    # requests, and a host retrying with a key is one).
    try:
        execution = await _execute(
            scope=scope,
            settings=settings,
            key_ring=key_ring,
            bus=bus,
            request=request,
            value=value,
            workspace_id=workspace.id,
            connector=connector,
            action=action,
            facts=facts,
            started=started,
        )
    except WeirError as exc:
        await record(FAILED, exc.code)
        raise
    except Exception:
        await record(FAILED, "INTERNAL")
        raise
    await record(SUCCEEDED, None)
    return execution


async def _execute(
    *,
    scope: Scope,
    settings: Settings,
    key_ring: KeyRing,
    bus: EventBus | None,
    request: ActionRequest,
    value: dict[str, Any],
    workspace_id: str,
    connector: Any,
    action: ActionSpec,
    facts: _Facts,
    started: float,
) -> ActionExecution:
    inputs.check_against_schema(action, value)
    end_user = await _end_user(scope=scope, workspace_id=workspace_id, request=request)
    facts.end_user_id = end_user.id if end_user is not None else None
    claimed: ActionResult | None = None
    if request.idempotency_key is not None:
        found = await idempotency.claim(
            organization_id=scope.organization_id,
            key=request.idempotency_key,
            request_fingerprint=request.fingerprint(),
        )
        if isinstance(found, StoredResult):
            return _replay(found, facts=facts, started=started)
        claimed = found
    try:
        output, resolved_by = await _run(
            scope=scope,
            settings=settings,
            key_ring=key_ring,
            bus=bus,
            workspace_id=workspace_id,
            end_user=end_user,
            request=request,
            value=value,
            connector=connector,
            action=action,
            facts=facts,
        )
    except WeirError as exc:
        if claimed is not None:
            if _kept(exc, facts):
                await idempotency.fail(claimed, error=exc, connection_id=facts.connection_id)
            else:
                await idempotency.release(claimed)
        raise
    except Exception:
        if claimed is not None:
            await idempotency.release(claimed)
        raise
    if claimed is not None:
        await idempotency.succeed(
            claimed, output=output, resolved_by=resolved_by, connection_id=facts.connection_id
        )
    return ActionExecution(
        output=output,
        connection_id=facts.connection_id,
        resolved_by=resolved_by,
        replayed=False,
        duration_ms=_elapsed_ms(started),
    )


def _kept(exc: WeirError, facts: _Facts) -> bool:
    """Whether a failure is the first call's answer for its idempotency key: what the provider
    (or the action) said about this request. Anything before the call (resolution, a refresh)
    and what a retry could fix (rate limited, unreachable, reconnect) is not: the retry runs.
    A provider's 5xx is kept: the provider may have acted, and a repeat must not act twice."""
    return facts.called and isinstance(exc, ProviderFailed | ValidationFailed)


def _replay(found: StoredResult, *, facts: _Facts, started: float) -> ActionExecution:
    facts.connection_id = found.connection_id
    if found.error is not None:
        raise found.error
    return ActionExecution(
        output=found.output,
        connection_id=found.connection_id,
        resolved_by=found.resolved_by,
        replayed=True,
        duration_ms=_elapsed_ms(started),
    )


async def _run(
    *,
    scope: Scope,
    settings: Settings,
    key_ring: KeyRing,
    bus: EventBus | None,
    workspace_id: str,
    end_user: EndUser | None,
    request: ActionRequest,
    value: dict[str, Any],
    connector: Any,
    action: ActionSpec,
    facts: _Facts,
) -> tuple[Any, str | None]:
    """Resolve the connection and run the action; (output, resolution rule)."""
    spec = connector.SPEC
    run_action = getattr(connector, "run_action", None)
    if run_action is None:
        raise Conflict(f"{spec.name} declares actions but cannot run them")

    async def observe(response: httpx.Response) -> None:
        facts.http_status = response.status_code
        facts.retry_after = response.headers.get("retry-after")

    connection: Connection | None = None
    resolved_by: str | None = None
    async with http_clients.tenant_client(settings, ACTION_CALLS) as http:
        http.event_hooks = {"request": [], "response": [observe]}
        if spec.requires_connection:
            resolution = await resolve_connection(
                scope=scope,
                workspace_id=workspace_id,
                integration_name=spec.name,
                end_user_id=end_user.id if end_user is not None else None,
                external_id=request.connection_external_id,
                connection_id=request.connection_id,
                for_use=True,
            )
            connection, resolved_by = resolution.connection, resolution.resolved_by
            facts.connection_id = connection.id
            try:
                # The connection's rate budget, shared with its syncs and proxy calls, at an
                # action's priority (it waits briefly, and leaves a reserve to syncs).
                context = await refresh.connector_context(
                    settings=settings,
                    key_ring=key_ring,
                    connection=connection,
                    http=http,
                    bus=bus,
                    caller="action",
                    # The connector read for this workspace is the connection's when the
                    # connection is this workspace's (an organization's has no overrides here).
                    connector=connector if connection.workspace_id == workspace_id else None,
                )
            except CheckFailed as exc:
                raise await failures.refresh_failed(connection, exc) from None
        else:
            await _require_enabled(scope=scope, workspace_id=workspace_id, name=spec.name)
            context = connector_context(settings=settings, http=http, credentials={}, connector=connector)
            context.store = scoped_store(
                organization_id=scope.organization_id,
                workspace_id=workspace_id,
                end_user_id=end_user.id if end_user is not None else None,
            )
        context.caller = "action"
        if request.idempotency_key is not None:
            context.idempotency_key = idempotency.provider_key(
                organization_id=scope.organization_id, key=request.idempotency_key
            )
        facts.called = True
        output = await _call(run_action, context, action, value, spec.display_name, connection, bus, facts)
    return output, resolved_by


async def _require_enabled(*, scope: Scope, workspace_id: str, name: str) -> None:
    """A workspace may switch an integration off, built-ins too (as resolution does for the rest)."""
    config = await WorkspaceIntegration.get_or_none(
        organization_id=scope.organization_id, workspace_id=workspace_id, integration_name=name
    )
    if config is not None and not config.enabled:
        raise Forbidden(f"{name} is disabled in this workspace")


async def _call(
    run_action: Any,
    context: ConnectorContext,
    action: ActionSpec,
    value: dict[str, Any],
    provider: str,
    connection: Connection | None,
    bus: EventBus | None,
    facts: _Facts,
) -> Any:
    """The connector's ``run_action``, its failures as errors a client can act on."""
    try:
        async with asyncio.timeout(ACTION_TIMEOUT_SECONDS):
            output = await run_action(context, action.name, value)
    except Exception as exc:
        translated = await failures.translate(
            exc,
            provider=provider,
            connection=connection,
            bus=bus,
            retry_after_header=facts.retry_after,
            timeout_seconds=ACTION_TIMEOUT_SECONDS,
        )
        if translated is exc:
            raise
        raise translated from None
    try:
        inputs.canonical_json(output)
    except (TypeError, ValueError):
        # NaN from a provider's JSON, or a connector returning something JSON cannot hold.
        raise ProviderFailed(f"{provider}'s answer cannot be returned as JSON") from None
    return output


def _elapsed_ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
