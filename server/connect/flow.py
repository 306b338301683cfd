"""What the connect page does with its token: pick an integration, submit credentials.

The page's view of a session (``PageContext``) and the credentials it collects live here;
OAuth is in ``server.connect.oauth``. Status changes go through ``service.transition``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from tortoise.exceptions import IntegrityError

from server.config import Settings
from server.connect.models import ConnectSession
from server.connect.service import (
    FORM_AUTH_TYPES,
    TOKEN_PREFIX,
    expire_if_due,
    hash_token,
    oauth_ready,
    own_session,
    transition,
)
from server.connections import service as connections
from server.connections.check_limits import CheckLimiter
from server.connectors.parameters import merge_parameters
from server.crypto import KeyRing
from server.errors import CheckFailed, Conflict, FieldError, ValidationFailed
from server.events import EventBus
from server.integrations import catalog
from server.orgs import service as orgs
from server.orgs.models import Workspace
from server.scope import Scope


async def session_connector(*, session: ConnectSession, settings: Settings) -> Any:
    """The connector of the session's integration, as its workspace sees it."""
    return await catalog.connector_for(
        settings=settings,
        organization_id=session.organization_id,
        workspace_id=session.workspace_id,
        name=session.integration_name or "",
    )


async def select_integration(*, scope: Scope, integration_name: str, bus: EventBus | None) -> ConnectSession:
    """The end user picked an integration on the page: the session is ``CONNECTING``."""
    session = await own_session(scope=scope, bus=bus)
    # A built-in is never offered, even by a session made before sessions refused them.
    if integration_name not in (session.allowed_integrations or []) or catalog.is_built_in(integration_name):
        raise ValidationFailed.field(
            "input.integrationName", f"{integration_name!r} is not offered in this session"
        )
    return await transition(session=session, status="CONNECTING", bus=bus, integration_name=integration_name)


def _form_auth_type(auth_types: tuple[str, ...], requested: str | None) -> str:
    usable = [auth for auth in auth_types if auth in FORM_AUTH_TYPES]
    if requested is not None:
        if requested not in usable:
            raise ValidationFailed.field("input.authType", f"{requested} cannot be submitted with a form")
        return requested
    if not usable:
        raise ValidationFailed.field(
            "input.integrationName", "this integration connects with OAuth; use startOAuth"
        )
    return usable[0]


async def submit_credentials(
    *,
    scope: Scope,
    settings: Settings,
    key_ring: KeyRing,
    credentials: dict[str, Any],
    integration_name: str | None = None,
    auth_type: str | None = None,
    limiter: CheckLimiter,
    http: httpx.AsyncClient | None = None,
    bus: EventBus | None = None,
    parameters: Any = None,
) -> ConnectSession:
    """Check and store the credentials typed on the page; the session is then ``COMPLETED``.

    ``parameters`` (a subdomain, a shop) join the host's presets, which win and may not be
    changed; all are checked against the integration's before anything is asked of it.

    Each submission checks the credentials with the provider, so the session has a budget of
    checks a minute (a connect token retrying a form in a loop is ``RATE_LIMITED``)."""
    session = await own_session(scope=scope, bus=bus)
    if integration_name is not None and (
        integration_name != session.integration_name or session.status != "CONNECTING"
    ):
        session = await select_integration(scope=scope, integration_name=integration_name, bus=bus)
    if session.status != "CONNECTING" or not session.integration_name:
        raise Conflict(f"this connect session is {session.status}; select an integration first")
    spec = (await session_connector(session=session, settings=settings)).SPEC
    chosen = _form_auth_type(spec.auth_types, auth_type)
    if not isinstance(credentials, dict):
        raise ValidationFailed.field("input.credentials", "must be an object")
    values = merge_parameters(spec, session.parameters or {}, parameters)
    # Not shared between concurrent submissions: each may carry different credentials.
    limiter.spend(f"connect_session:{session.id}")
    try:
        connection = await store_credentials(
            session=session,
            settings=settings,
            key_ring=key_ring,
            auth_type=chosen,
            credentials=credentials,
            expires_at=None,
            check=True,
            http=http,
            bus=bus,
            parameters=values,
        )
    except ValidationFailed as exc:
        raise ValidationFailed([FieldError(_form_path(e.field), e.message) for e in exc.errors]) from None
    except CheckFailed as exc:
        # On the page a refused key is a problem with the field the user typed it in. When
        # nothing answered, the end user learns only that: whether the address was refused by
        # the outbound guard, closed, filtered or unknown would turn this form into a scanner.
        field = "input.credentials.secret_text" if chosen == "SECRET_TEXT" else "input.credentials"
        message = exc.message if exc.reachable else could_not_connect(spec.display_name)
        raise ValidationFailed.field(field, message) from None
    return await transition(session=session, status="COMPLETED", bus=bus, connection_id=connection.id)


def could_not_connect(display_name: str) -> str:
    """All an end user is told when a provider or server could not be reached."""
    return f"could not connect to {display_name}"


# createConnection names credential fields by its own inputs; the page's form by their keys.
_INPUT_TO_KEY = {
    "input.secretText": "secret_text",
    "input.username": "username",
    "input.password": "password",
}


def _form_path(path: str) -> str:
    if path in _INPUT_TO_KEY:
        return f"input.credentials.{_INPUT_TO_KEY[path]}"
    if path.startswith("input.props."):
        return "input.credentials." + path[len("input.props.") :]
    if path == "input.props":
        return "input.credentials"
    return path


async def store_credentials(
    *,
    session: ConnectSession,
    settings: Settings,
    key_ring: KeyRing,
    auth_type: str,
    credentials: dict[str, Any],
    expires_at: datetime | None,
    check: bool,
    http: httpx.AsyncClient | None,
    bus: EventBus | None,
    parameters: dict[str, Any],
) -> Any:
    """Create the session's connection, or give a reconnected one its new credentials (and
    ``parameters``, checked by the caller)."""
    scope = Scope(organization_id=session.organization_id, workspace_id=session.workspace_id)
    if session.reconnect_connection_id:
        connection = await connections.get_connection(
            scope=scope, connection_id=session.reconnect_connection_id
        )
        connector = await catalog.connector_for(
            settings=settings,
            organization_id=connection.organization_id,
            workspace_id=connection.workspace_id,
            name=connection.integration_name,
        )
        spec = connector.SPEC
        if check:
            result = await connections.run_check(
                settings=settings,
                spec=spec,
                auth_type=connection.auth_type,
                credentials=credentials,
                http=http,
                connector=connector,
                parameters=parameters,
            )
            if not result.ok:
                raise connections.check_failed(spec, result)
        return await connections.replace_credentials(
            key_ring=key_ring,
            connection=connection,
            credentials=credentials,
            expires_at=expires_at,
            bus=bus,
            spec=spec,
            parameters=parameters,
        )
    spec = (await session_connector(session=session, settings=settings)).SPEC
    try:
        return await connections.create_connection(
            scope=scope,
            key_ring=key_ring,
            settings=settings,
            integration_name=session.integration_name,
            auth_type=auth_type,
            credentials=credentials,
            connection_scope="USER" if session.end_user_id else "WORKSPACE",
            workspace_id=session.workspace_id,
            end_user_id=session.end_user_id,
            external_id=session.external_id,
            display_name=session.connection_name or spec.display_name,
            expires_at=expires_at,
            check=check,
            http=http,
            bus=bus,
            connectors=catalog.resolver(settings),
            parameters=parameters,
        )
    except IntegrityError:
        raise Conflict("a connection with this externalId already exists") from None


# -- the hosted page ------------------------------------------------------------------------


@dataclass(frozen=True)
class PageContext:
    session: ConnectSession
    workspace: Workspace
    oauth_ready: set[str]


async def page_context(*, token: str | None, settings: Settings, bus: EventBus | None) -> PageContext | None:
    """The session behind a connect token (even an expired one, to brand its error page)."""
    if not token or not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    session = await ConnectSession.get_or_none(token_hash=hash_token(token))
    if session is None:
        return None
    return await session_page_context(session=session, settings=settings, bus=bus)


async def session_page_context(
    *, session: ConnectSession, settings: Settings, bus: EventBus | None
) -> PageContext:
    session = await expire_if_due(session=session, bus=bus)
    scope = Scope(organization_id=session.organization_id)
    workspace = await orgs.get_workspace(scope=scope, workspace_id=session.workspace_id)
    return PageContext(
        session=session,
        workspace=workspace,
        oauth_ready=await oauth_ready(workspace_id=workspace.id, settings=settings),
    )


def form_auth_type(auth_types: tuple[str, ...]) -> str | None:
    """The auth type the page's form collects for an integration, if it has a form at all."""
    return next((auth for auth in auth_types if auth in FORM_AUTH_TYPES), None)
