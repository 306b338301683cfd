"""Connect sessions: one run of the hosted connect flow, reachable only through its token.

A session is created by the host app with an API key and returns a short-lived *connect token*
(``weir_ct_`` + 256 random bits, stored only as a SHA-256). The token authenticates the connect
page, which may only act on its own session (``ConnectScope``). Every status change goes through
``transition``, which checks ``ALLOWED_MOVES`` and publishes ``connect_session.updated``.
What the page does with its token is in ``server.connect.flow``; OAuth in ``server.connect.oauth``.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from tortoise.transactions import in_transaction

from server import ids
from server.config import Settings
from server.connect.models import ConnectSession
from server.connections import service as connections
from server.connections.credentials import OAUTH_TYPES
from server.connectors.builtins import no_connection_needed
from server.connectors.parameters import check_parameters
from server.errors import (
    Conflict,
    FieldError,
    Forbidden,
    NotFound,
    Unauthenticated,
    ValidationFailed,
)
from server.events import EventBus, channel
from server.integrations import catalog
from server.integrations.models import WorkspaceIntegration
from server.orgs import service as orgs
from server.orgs.models import EndUser, Workspace
from server.revocations import CONNECT_SESSION, END_USER, credential, publish_revocation
from server.scope import Scope
from server.validation import check_redirect_uri, check_text
from server.webhooks.outbox import record_connect_session

TOKEN_PREFIX = "weir_ct_"
OAUTH_AUTH_TYPES = OAUTH_TYPES
FORM_AUTH_TYPES = ("SECRET_TEXT", "BASIC_AUTH", "CUSTOM_AUTH", "NONE")

# The only moves a session can make. FAILED -> CONNECTING is the page's "try again" while the
# token lives; COMPLETED and EXPIRED are final, so their token can never act again.
ALLOWED_MOVES: dict[str, frozenset[str]] = {
    "PENDING": frozenset({"CONNECTING", "EXPIRED"}),
    "CONNECTING": frozenset({"CONNECTING", "COMPLETED", "FAILED", "EXPIRED"}),
    "FAILED": frozenset({"CONNECTING", "EXPIRED"}),
    "COMPLETED": frozenset(),
    "EXPIRED": frozenset(),
}
STATUSES = tuple(ALLOWED_MOVES)
# How often a cancel reads the session again after losing a race to the page's own move.
CANCEL_ATTEMPTS = 3


@dataclass(frozen=True)
class ConnectScope(Scope):
    """What a connect token grants: its own session, inside its organization and workspace."""

    connect_session_id: str = ""
    end_user_id: str | None = None

    def credentials(self) -> frozenset[str]:
        """Its session, and the end user it connects for: either one revoked ends it."""
        found = {credential(CONNECT_SESSION, self.connect_session_id)}
        if self.end_user_id:
            found.add(credential(END_USER, self.end_user_id))
        return frozenset(found)


@dataclass(frozen=True)
class NewConnectSession:
    session: ConnectSession
    token: str  # returned to the host app once, never stored
    connect_url: str


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC)


def session_channel(session: ConnectSession) -> str:
    return channel(session.organization_id, "connect_session", session.id)


# -- the one place a status changes ---------------------------------------------------------


async def transition(
    *, session: ConnectSession, status: str, bus: EventBus | None, **changes: Any
) -> ConnectSession:
    """Move ``session`` to ``status`` (with other field changes) if the table allows it."""
    if status not in ALLOWED_MOVES[session.status]:
        raise Conflict(f"this connect session is {session.status} and cannot become {status}")
    values = {"status": status, "updated_at": _now(), **changes}
    if status == "CONNECTING":
        values.setdefault("error_code", None)
        values.setdefault("error_message", None)
    async with in_transaction():
        # Conditional on the status read, so two racing requests cannot both move the session.
        moved = await ConnectSession.filter(id=session.id, status=session.status).update(**values)
        if not moved:
            raise Conflict("this connect session changed meanwhile; reload it")
        await session.refresh_from_db()
        # connect_session.completed / .failed, committed with the move (the webhook outbox).
        await record_connect_session(session)
    if bus is not None:
        await bus.publish(
            session_channel(session),
            {
                "type": "connect_session.updated",
                "sessionId": session.id,
                "status": session.status,
            },
        )
    return session


async def expire_if_due(*, session: ConnectSession, bus: EventBus | None) -> ConnectSession:
    """Mark a session whose time is up as ``EXPIRED`` (lazily, when it is next looked at)."""
    if session.expires_at <= _now() and "EXPIRED" in ALLOWED_MOVES[session.status]:
        try:
            return await transition(
                session=session,
                status="EXPIRED",
                bus=bus,
                error_code="EXPIRED",
                error_message="This connect link has expired.",
            )
        except Conflict:
            await session.refresh_from_db()
    return session


# -- host app side (API key) ----------------------------------------------------------------


async def oauth_ready(*, workspace_id: str, settings: Settings) -> set[str]:
    """Integrations this workspace can connect with OAuth: its own app, or a platform app."""
    rows = await WorkspaceIntegration.filter(workspace_id=workspace_id, oauth_client_id__isnull=False)
    return {row.integration_name for row in rows if row.oauth_client_secret_encrypted} | set(
        settings.platform_oauth
    )


async def _default_integrations(*, workspace: Workspace, settings: Settings) -> list[str]:
    """Every integration the workspace sees (the catalog's and its organization's custom ones)
    that it has not disabled and can actually connect (a built-in needs no connection)."""
    disabled = set(
        await WorkspaceIntegration.filter(workspace_id=workspace.id, enabled=False).values_list(
            "integration_name", flat=True
        )
    )
    ready = await oauth_ready(workspace_id=workspace.id, settings=settings)
    names = []
    specs = await catalog.list_integrations(
        settings=settings, organization_id=workspace.organization_id, workspace_id=workspace.id
    )
    for spec in specs:
        oauth_only = all(auth in OAUTH_AUTH_TYPES for auth in spec.auth_types)
        if spec.name in disabled or (oauth_only and spec.name not in ready) or not spec.requires_connection:
            continue
        names.append(spec.name)
    return names


async def _end_user_for(
    *,
    scope: Scope,
    workspace: Workspace,
    end_user_id: str | None,
    external_id: str | None,
    display_name: str | None,
) -> EndUser | None:
    if end_user_id and external_id:
        raise ValidationFailed.field(
            "input.endUserExternalId", "give endUserId or endUserExternalId, not both"
        )
    if end_user_id:
        end_user = await orgs.get_end_user(scope=scope, end_user_id=end_user_id)
        if end_user.workspace_id != workspace.id:
            raise NotFound("end user", end_user_id)
        return end_user
    if external_id:
        found = await EndUser.get_or_none(workspace_id=workspace.id, external_id=external_id)
        if found is not None:
            return found
        try:
            return await orgs.create_end_user(
                scope=scope, workspace_id=workspace.id, external_id=external_id, display_name=display_name
            )
        except Conflict:  # created by a concurrent request a moment ago
            return await EndUser.get(workspace_id=workspace.id, external_id=external_id)
    return None


async def _preset_parameters(
    names: list[str], given: Any, reconnect: Any, *, settings: Settings, workspace: Workspace
) -> dict[str, str]:
    """The host's preset parameters, checked against the session's one integration."""
    base = dict(reconnect.parameters or {}) if reconnect is not None else {}
    if given is None or given == {}:
        return base
    if len(names) != 1:
        raise ValidationFailed.field(
            "input.parameters", "parameters can be preset only with one integration (integrationName)"
        )
    spec = await catalog.get_integration(
        settings=settings,
        organization_id=workspace.organization_id,
        workspace_id=workspace.id,
        name=names[0],
    )
    if not isinstance(given, dict):
        raise ValidationFailed.field("input.parameters", "must be an object of parameter names to values")
    return check_parameters(spec, {**base, **given}, partial=True)


async def create_connect_session(
    *,
    scope: Scope,
    settings: Settings,
    workspace_id: str,
    integration_name: str | None = None,
    allowed_integrations: list[str] | None = None,
    end_user_id: str | None = None,
    end_user_external_id: str | None = None,
    end_user_display_name: str | None = None,
    connection_name: str | None = None,
    external_id: str | None = None,
    redirect_uri: str | None = None,
    reconnect_connection_id: str | None = None,
    bus: EventBus | None = None,
    parameters: Any = None,
    token_for: Callable[[str], str] | None = None,
    ttl_seconds: int | None = None,
) -> NewConnectSession:
    """A new session with its connect token and the URL of the hosted page.

    ``parameters`` preset some or all of the integration's parameters (the host knows the
    shop): the page does not ask for them and the end user cannot change them. A reconnect
    starts from the connection's own. ``token_for`` derives the token from the session's id
    (a reconnect session's, which must be shown again: ``server.connect.reconnect``);
    ``ttl_seconds`` overrides ``WEIR_CONNECT_SESSION_TTL_SECONDS``."""
    workspace = await orgs.get_workspace(scope=scope, workspace_id=workspace_id)
    problems: list[FieldError | None] = [
        check_text("input.connectionName", connection_name, max_length=255)
        if connection_name is not None
        else None,
        check_text("input.externalId", external_id, max_length=255) if external_id is not None else None,
        # The end user is found or created from these: checked here by the names the client
        # used (an over-long one would otherwise fail inside the lookup's filter).
        check_text("input.endUserExternalId", end_user_external_id, max_length=255)
        if end_user_external_id is not None
        else None,
        check_text("input.endUserDisplayName", end_user_display_name, max_length=255)
        if end_user_display_name is not None
        else None,
    ]
    if redirect_uri is not None:
        # A URI that becomes a Location: reject control characters by name before the
        # allow-list check, which would only say "not allowed".
        problems.append(
            check_redirect_uri("input.redirectUri", redirect_uri)
            or (
                None
                if redirect_uri in (workspace.allowed_redirect_uris or [])
                else FieldError(
                    "input.redirectUri", "must be exactly one of the workspace's allowedRedirectUris"
                )
            )
        )
    reconnect = None
    if reconnect_connection_id:
        reconnect = await connections.get_usable_connection(
            scope=scope, connection_id=reconnect_connection_id, action="reconnect"
        )
        if reconnect.workspace_id not in (None, workspace.id):
            raise NotFound("connection", reconnect_connection_id)
        integration_name = reconnect.integration_name
        allowed_integrations = None
    if integration_name and allowed_integrations:
        problems.append(
            FieldError("input.allowedIntegrations", "give integrationName or allowedIntegrations, not both")
        )
    names = [integration_name] if integration_name else list(dict.fromkeys(allowed_integrations or []))
    field = "input.integrationName" if integration_name else "input.allowedIntegrations"
    for index, name in enumerate(names):
        # Another organization's custom integration is as unknown here as a made-up name.
        if not await catalog.is_visible(
            organization_id=scope.organization_id, workspace_id=workspace.id, name=name
        ):
            path = field if integration_name else f"{field}.{index}"
            problems.append(FieldError(path, f"{name!r} is not an integration of this workspace"))
        elif catalog.is_built_in(name):
            path = field if integration_name else f"{field}.{index}"
            problems.append(FieldError(path, no_connection_needed(name)))
    found = [problem for problem in problems if problem]
    if found:
        raise ValidationFailed(found)
    presets = await _preset_parameters(names, parameters, reconnect, settings=settings, workspace=workspace)
    if not names:
        names = await _default_integrations(workspace=workspace, settings=settings)
    if reconnect is not None and reconnect.end_user_id:
        end_user = await EndUser.get(id=reconnect.end_user_id)
    else:
        end_user = await _end_user_for(
            scope=scope,
            workspace=workspace,
            end_user_id=end_user_id,
            external_id=end_user_external_id,
            display_name=end_user_display_name,
        )
    session_id = ids.new_id("connect_session")
    token = token_for(session_id) if token_for else TOKEN_PREFIX + secrets.token_urlsafe(32)
    ttl = settings.connect_session_ttl_seconds if ttl_seconds is None else ttl_seconds
    session = await ConnectSession.create(
        id=session_id,
        organization_id=scope.organization_id,
        workspace=workspace,
        end_user=end_user,
        token_hash=hash_token(token),
        allowed_integrations=names,
        integration_name=names[0] if len(names) == 1 else None,
        connection_name=connection_name,
        external_id=external_id,
        redirect_uri=redirect_uri,
        reconnect_connection=reconnect,
        parameters=presets,
        expires_at=_now() + timedelta(seconds=ttl),
    )
    return NewConnectSession(session=session, token=token, connect_url=connect_url(settings, token))


def connect_url(settings: Settings, token: str) -> str:
    """The hosted connect page of a session's token."""
    return f"{settings.effective_public_url}/connect?{urlencode({'token': token})}"


async def get_connect_session(
    *, scope: Scope, session_id: str, bus: EventBus | None = None
) -> ConnectSession:
    """One session of the caller's organization (and workspace when restricted); a connect
    token sees its own session only."""
    session = await ConnectSession.get_or_none(id=session_id, **scope.filters())
    if session is None or (isinstance(scope, ConnectScope) and session.id != scope.connect_session_id):
        raise NotFound("connect session", session_id)
    return await expire_if_due(session=session, bus=bus)


async def cancel_connect_session(*, scope: Scope, session_id: str, bus: EventBus | None) -> ConnectSession:
    """End a session now: it becomes ``EXPIRED`` and its token stops working."""
    session = await get_connect_session(scope=scope, session_id=session_id, bus=bus)
    # The page may move the session while the cancel is on its way (opening it picks the only
    # integration): the cancel still wins, read again, as long as the session has not ended.
    for attempt in range(CANCEL_ATTEMPTS):
        try:
            session = await transition(
                session=session,
                status="EXPIRED",
                bus=bus,
                expires_at=_now(),
                error_code="CANCELLED",
                error_message="The connect session was cancelled.",
            )
            break
        except Conflict:
            if attempt == CANCEL_ATTEMPTS - 1:
                raise
            session = await get_connect_session(scope=scope, session_id=session_id, bus=bus)
    # Its token is refused from now on (tokens are never cached); its sockets close too.
    await publish_revocation(bus, kind=CONNECT_SESSION, object_id=session.id)
    return session


async def connect_session_updates(
    *, scope: Scope, session_id: str, bus: EventBus
) -> AsyncIterator[ConnectSession]:
    """The session now, then after every change, ending after a final status."""
    session = await get_connect_session(scope=scope, session_id=session_id, bus=bus)
    async with bus.subscribe(session_channel(session)) as events:
        session = await get_connect_session(scope=scope, session_id=session_id, bus=bus)
        yield session
        # Kept across wake-ups: cancelling a pending read would end the event stream.
        pending: asyncio.Future[Any] | None = None
        try:
            while ALLOWED_MOVES[session.status]:
                if pending is None:
                    pending = asyncio.ensure_future(anext(events))
                remaining = (session.expires_at - _now()).total_seconds()
                # Nobody publishes when time simply runs out, so wake up at the expiry too.
                done, _ = await asyncio.wait({pending}, timeout=max(remaining, 0) + 0.05)
                if done:
                    pending = None
                previous = (session.status, session.updated_at)
                session = await get_connect_session(scope=scope, session_id=session_id, bus=bus)
                if (session.status, session.updated_at) != previous:
                    yield session
        finally:
            if pending is not None:
                pending.cancel()


def redirect_target(session: ConnectSession) -> str | None:
    """Where the redirect flow sends the browser back: ``redirectUri?connection_id=...``."""
    if not session.redirect_uri or session.status not in ("COMPLETED", "FAILED", "EXPIRED"):
        return None
    if check_redirect_uri("", session.redirect_uri) is not None:
        return None  # stored before input was checked for control characters: never follow it
    params = {"session_id": session.id}
    if session.status == "COMPLETED":
        params["connection_id"] = session.connection_id or ""
    else:
        params["error"] = session.error_code or session.status
    parts = urlsplit(session.redirect_uri)
    query = f"{parts.query}&{urlencode(params)}" if parts.query else urlencode(params)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


# -- connect page side (connect token) ------------------------------------------------------


async def authenticate_token(token: str | None, *, bus: EventBus | None = None) -> ConnectScope:
    """The scope a connect token grants, or ``UNAUTHENTICATED`` (unknown, expired, cancelled)."""
    if not token or not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        raise Unauthenticated("the connect token is not valid")
    session = await ConnectSession.get_or_none(token_hash=hash_token(token))
    if session is None:
        raise Unauthenticated("the connect token is not valid")
    session = await expire_if_due(session=session, bus=bus)
    if session.status == "EXPIRED":
        raise Unauthenticated("the connect token has expired; ask the app for a new link")
    return ConnectScope(
        organization_id=session.organization_id,
        workspace_id=session.workspace_id,
        connect_session_id=session.id,
        end_user_id=session.end_user_id,
    )


def require_connect_scope(scope: Scope) -> ConnectScope:
    if not isinstance(scope, ConnectScope) or not scope.connect_session_id:
        raise Forbidden("only the connect page, with its connect token, may do this")
    return scope


async def own_session(*, scope: Scope, bus: EventBus | None = None) -> ConnectSession:
    """The session of the connect token that authenticated this request."""
    connect_scope = require_connect_scope(scope)
    return await get_connect_session(
        scope=connect_scope, session_id=connect_scope.connect_session_id, bus=bus
    )
