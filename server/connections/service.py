"""Connections: store, read, check and change one set of credentials for one integration.

Credentials are sealed by ``server.crypto`` with the row's id as associated data and are only
ever opened by ``load_credentials``. A status changes only in ``server.connections.status``;
deleting is in ``server.connections.deletion``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import httpx
from tortoise.expressions import Q
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from server import ids
from server.config import Settings
from server.connections import credentials as creds
from server.connections.check_limits import CheckLimiter
from server.connections.checks import (  # connector_context is part of this module's interface
    ConnectorResolver,
    check_failed,
    connector_context,  # noqa: F401
    resolve_connector,
    run_check,
    spec_of,
)
from server.connections.models import Connection
from server.connections.status import record_change, record_check, set_status
from server.connectors.base import CheckResult, ConnectorSpec
from server.connectors.builtins import no_connection_needed
from server.connectors.parameters import check_parameters, parameter_errors
from server.crypto import KeyRing
from server.errors import CheckFailed, Conflict, FieldError, NotFound, ValidationFailed
from server.events import EventBus
from server.orgs import service as orgs
from server.orgs.models import Organization
from server.pagination import Page, paginate
from server.scope import Scope
from server.validation import check_text, refuse_over_long_lookups

log = logging.getLogger("weir.connections")

SCOPES = ("ORGANIZATION", "WORKSPACE", "USER")


def _visible(scope: Scope) -> Q:
    """A workspace-restricted key sees its workspace's connections and organization-wide ones."""
    if scope.workspace_id is None:
        return Q(organization_id=scope.organization_id)
    return Q(organization_id=scope.organization_id) & (
        Q(workspace_id=scope.workspace_id) | Q(workspace_id=None)
    )


# -- the vault ------------------------------------------------------------------------------


def _seal(key_ring: KeyRing, connection_id: str, credentials: dict[str, Any]) -> str:
    plaintext = json.dumps(credentials, separators=(",", ":"), default=str).encode()
    return key_ring.encrypt(plaintext, associated_data=connection_id)


def load_credentials(*, key_ring: KeyRing, connection: Connection) -> dict[str, Any]:
    """The connection's credentials, decrypted (its id is the associated data)."""
    if connection.credentials_encrypted is None:
        return {}
    plaintext = key_ring.decrypt(connection.credentials_encrypted, associated_data=connection.id)
    return json.loads(plaintext)


def _expires_from(
    auth_type: str, credentials: dict[str, Any], expires_at: datetime | None
) -> datetime | None:
    if expires_at is not None or auth_type not in creds.OAUTH_TYPES:
        return expires_at
    raw = credentials.get("expires_at")
    if not raw:
        return None
    try:
        parsed = datetime.fromisoformat(str(raw))
    except ValueError:
        raise ValidationFailed.field("input.expiresAt", "is not an ISO 8601 date-time") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


# -- creating -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Owner:
    workspace_id: str | None
    end_user_id: str | None


def default_scope(*, scope: Scope, workspace_id: str | None, end_user_id: str | None) -> str:
    """The scope of a connection created without one, as the seed systems (Weavz) read it.

    An end user makes it theirs, a workspace makes it the workspace's, and neither makes it the
    organization's. A key restricted to one workspace gets its workspace instead, since it may
    not create organization-wide connections (docs/seeds-mapping.md says why this is safe).
    """
    if end_user_id is not None:
        return "USER"
    if workspace_id is not None or scope.workspace_id is not None:
        return "WORKSPACE"
    return "ORGANIZATION"


async def _owner(
    *, scope: Scope, connection_scope: str, workspace_id: str | None, end_user_id: str | None
) -> _Owner:
    if connection_scope == "ORGANIZATION":
        scope.require_unrestricted("create organization-wide connections")
        problems = [
            FieldError(f"input.{name}", "must be omitted for an ORGANIZATION connection")
            for name, value in (("workspaceId", workspace_id), ("endUserId", end_user_id))
            if value is not None
        ]
        if problems:
            raise ValidationFailed(problems)
        return _Owner(None, None)
    if connection_scope == "WORKSPACE":
        if workspace_id is None:
            raise ValidationFailed.field("input.workspaceId", "is required for a WORKSPACE connection")
        if end_user_id is not None:
            raise ValidationFailed.field("input.endUserId", "must be omitted for a WORKSPACE connection")
        workspace = await orgs.get_workspace(scope=scope, workspace_id=workspace_id)
        return _Owner(workspace.id, None)
    if connection_scope == "USER":
        if end_user_id is None:
            raise ValidationFailed.field("input.endUserId", "is required for a USER connection")
        end_user = await orgs.get_end_user(scope=scope, end_user_id=end_user_id)
        if workspace_id is not None and workspace_id != end_user.workspace_id:
            raise ValidationFailed.field("input.workspaceId", "is not the end user's workspace")
        return _Owner(end_user.workspace_id, end_user.id)
    raise ValidationFailed.field("input.scope", f"must be one of {', '.join(SCOPES)}")


def _same_scope(
    organization_id: str, integration_name: str, owner: _Owner, connection_scope: str
) -> QuerySet[Connection]:
    """Connections sharing a scope (where an external id must be unique)."""
    return Connection.filter(
        organization_id=organization_id,
        integration_name=integration_name,
        scope=connection_scope,
        workspace_id=owner.workspace_id,
        end_user_id=owner.end_user_id,
    )


async def _check_external_id(
    organization_id: str, integration_name: str, owner: _Owner, connection_scope: str, external_id: str | None
) -> None:
    if (
        external_id is not None
        and await _same_scope(organization_id, integration_name, owner, connection_scope)
        .filter(external_id=external_id)
        .exists()
    ):
        raise Conflict(
            f"a {connection_scope} connection to {integration_name} with externalId "
            f"{external_id!r} already exists"
        )


async def create_connection(
    *,
    scope: Scope,
    key_ring: KeyRing,
    settings: Settings,
    integration_name: str,
    auth_type: str,
    credentials: dict[str, Any],
    connection_scope: str | None = None,
    workspace_id: str | None = None,
    end_user_id: str | None = None,
    external_id: str | None = None,
    display_name: str | None = None,
    expires_at: datetime | None = None,
    check: bool = False,
    http: httpx.AsyncClient | None = None,
    bus: EventBus | None = None,
    connectors: ConnectorResolver | None = None,
    parameters: Any = None,
) -> Connection:
    """Validate, optionally check with the provider, then store a new encrypted connection.

    Without ``connection_scope`` the scope follows from the owner given (``default_scope``).
    ``parameters`` are checked against the integration's (``input.parameters.<name>``).
    ``connectors`` says which integration the name means where the connection will live (a
    custom integration of the organization, a workspace's endpoints); without it, the catalog.
    """
    if connection_scope is None:
        connection_scope = default_scope(scope=scope, workspace_id=workspace_id, end_user_id=end_user_id)
        if connection_scope == "WORKSPACE" and workspace_id is None:
            workspace_id = scope.workspace_id
    # A custom integration may be visible in one workspace only: resolved where it will live.
    owner = await _owner(
        scope=scope, connection_scope=connection_scope, workspace_id=workspace_id, end_user_id=end_user_id
    )
    connector = await resolve_connector(
        connectors,
        settings=settings,
        organization_id=scope.organization_id,
        workspace_id=owner.workspace_id,
        name=integration_name,
    )
    spec = connector.SPEC
    if not spec.requires_connection:
        raise ValidationFailed.field("input.integrationName", no_connection_needed(spec.name))
    supported = creds.supported_auth_types(spec)
    if auth_type not in supported:
        raise ValidationFailed.field(
            "input.authType",
            f"{spec.display_name} does not support {auth_type}; use {' or '.join(supported)}",
        )
    texts = [
        check_text("input.externalId", external_id, max_length=255) if external_id is not None else None,
        check_text("input.displayName", display_name, max_length=255) if display_name is not None else None,
    ]
    problems = [problem for problem in texts if problem]
    problems.extend(parameter_errors(spec, {} if parameters is None else parameters))
    if problems:
        raise ValidationFailed(problems)
    checked_parameters = check_parameters(spec, parameters)
    values = creds.normalize(spec, auth_type, credentials)
    expiry = _expires_from(auth_type, values, expires_at)
    if expires_at is not None and auth_type in creds.OAUTH_TYPES:
        values["expires_at"] = expires_at.isoformat()
    await _check_external_id(scope.organization_id, integration_name, owner, connection_scope, external_id)
    label = None
    if check:
        result = await run_check(
            settings=settings,
            spec=spec,
            auth_type=auth_type,
            credentials=values,
            http=http,
            connector=connector,
            parameters=checked_parameters,
        )
        if not result.ok:
            raise check_failed(spec, result)
        label = result.account_label
    connection_id = ids.new_id("connection")
    now = datetime.now(UTC)
    async with in_transaction():
        if external_id is not None:
            # Checked again under a lock on the organization's row (Postgres), so two concurrent
            # creations cannot both take the same external id.
            await Organization.select_for_update().filter(id=scope.organization_id).first()
            await _check_external_id(
                scope.organization_id, integration_name, owner, connection_scope, external_id
            )
        connection = await Connection.create(
            id=connection_id,
            organization_id=scope.organization_id,
            workspace_id=owner.workspace_id,
            end_user_id=owner.end_user_id,
            integration_name=integration_name,
            auth_type=auth_type,
            scope=connection_scope,
            external_id=external_id,
            display_name=display_name or label or spec.display_name,
            status="ACTIVE",
            credentials_encrypted=_seal(key_ring, connection_id, values),
            credential_preview=creds.preview(auth_type, values, spec),
            expires_at=expiry,
            last_refreshed_at=now if auth_type in creds.OAUTH_TYPES else None,
            parameters=checked_parameters,
            granted_scopes=creds.granted_scopes(auth_type, values),
        )
        await record_change(connection, "connection.created")
    log.info(
        "created connection %s to %s (%s, %s)", connection.id, integration_name, auth_type, connection_scope
    )
    return connection


# -- reading --------------------------------------------------------------------------------


async def get_connection(*, scope: Scope, connection_id: str) -> Connection:
    """One connection the caller may see, or ``NOT_FOUND``."""
    connection = await Connection.filter(_visible(scope), id=connection_id).first()
    if connection is None:
        raise NotFound("connection", connection_id)
    return connection


async def get_usable_connection(*, scope: Scope, connection_id: str, action: str) -> Connection:
    """A connection whose credentials the caller may use or change (``action`` says how).

    A workspace-restricted key reads ORGANIZATION connections, since they serve its workspace
    too, but never uses or changes their credentials: that is ``FORBIDDEN`` (visible, so not
    ``NOT_FOUND``), as deleting them always was.
    """
    connection = await get_connection(scope=scope, connection_id=connection_id)
    if connection.workspace_id is None:
        scope.require_unrestricted(f"{action} organization-wide connections")
    return connection


async def get_connections_by_ids(*, scope: Scope, connection_ids: list[str]) -> dict[str, Connection]:
    """Many connections in one query (for DataLoaders), keyed by id."""
    rows = await Connection.filter(_visible(scope), id__in=connection_ids)
    return {row.id: row for row in rows}


async def list_connections(
    *,
    scope: Scope,
    integration_name: str | None = None,
    workspace_id: str | None = None,
    end_user_id: str | None = None,
    external_id: str | None = None,
    status: str | None = None,
    health: str | None = None,
    first: int | None,
    after: str | None,
    max_page_size: int,
) -> Page[Connection]:
    """Connections the caller may see, oldest first, narrowed by any filter given."""
    refuse_over_long_lookups(
        {"filter.integrationName": (integration_name, 64), "filter.externalId": (external_id, 255)}
    )
    queryset = Connection.filter(_visible(scope))
    if workspace_id is not None:
        scope.check_workspace(workspace_id)
        queryset = queryset.filter(workspace_id=workspace_id)
    narrowing = {
        "integration_name": integration_name,
        "end_user_id": end_user_id,
        "external_id": external_id,
        "status": status,
        "health": health,
    }
    queryset = queryset.filter(**{k: v for k, v in narrowing.items() if v is not None})
    return await paginate(queryset, first=first, after=after, max_page_size=max_page_size)


# -- changing -------------------------------------------------------------------------------


async def replace_credentials(
    *,
    key_ring: KeyRing,
    connection: Connection,
    credentials: dict[str, Any],
    expires_at: datetime | None = None,
    bus: EventBus | None = None,
    spec: ConnectorSpec | None = None,
    parameters: dict[str, Any] | None = None,
) -> Connection:
    """New credentials for an existing connection (reconnect or token refresh); back to ACTIVE.

    ``spec`` is the connection's resolved integration; without it, the catalog's.
    ``parameters``, already checked (a reconnect's), replace the connection's; None keeps them."""
    if spec is None:
        spec = spec_of(connection.integration_name, field="integrationName")
    values = creds.normalize(spec, connection.auth_type, credentials)
    expiry = _expires_from(connection.auth_type, values, expires_at)
    if expires_at is not None and connection.auth_type in creds.OAUTH_TYPES:
        values["expires_at"] = expires_at.isoformat()
    now = datetime.now(UTC)
    changes: dict[str, Any] = {
        "credentials_encrypted": _seal(key_ring, connection.id, values),
        "credential_preview": creds.preview(connection.auth_type, values, spec),
        "expires_at": expiry,
        "last_refreshed_at": now,
        "updated_at": now,
    }
    scopes = creds.granted_scopes(connection.auth_type, values)
    if scopes is not None:  # a refresh answer without `scope` keeps the grant's scopes
        changes["granted_scopes"] = scopes
    if parameters is not None:
        changes["parameters"] = parameters
    async with in_transaction():
        await Connection.filter(id=connection.id).update(**changes)
    connection.update_from_dict(changes)
    return await set_status(connection=connection, status="ACTIVE", reason=None, bus=bus)


class CredentialSource(Protocol):
    """``server.integrations.refresh.fresh_credentials`` bound: a connection's credentials,
    refreshed first when its token is near expiry (or ``force``, after the provider refused
    them), the same path syncs, actions and the proxy use."""

    def __call__(self, connection: Connection, *, force: bool = False) -> Awaitable[dict[str, Any]]: ...


@dataclass(frozen=True)
class CheckOutcome:
    connection: Connection
    ok: bool
    message: str


async def check_connection(
    *,
    scope: Scope,
    key_ring: KeyRing,
    settings: Settings,
    connection_id: str,
    limiter: CheckLimiter,
    http: httpx.AsyncClient | None = None,
    bus: EventBus | None = None,
    connectors: ConnectorResolver | None = None,
    fresh: CredentialSource | None = None,
) -> CheckOutcome:
    """Run the integration's check and record the outcome (``status.record_check``).

    With ``fresh``, an OAuth token near expiry is refreshed before the check, and a refusal is
    checked once more after a forced refresh: a check right after the access token expired
    must not call a healthy connection broken. Without it, the stored credentials are used.

    Concurrent checks of one connection share one run, a result is reused for a few seconds,
    and each connection has a budget of checks a minute (``server.connections.check_limits``):
    a check opens a connection to the provider, and one request must not make Weir open thirty.
    """
    connection = await get_usable_connection(scope=scope, connection_id=connection_id, action="test")
    return await limiter.run(
        f"connection:{connection.id}",
        lambda: _check_connection(
            connection=connection,
            key_ring=key_ring,
            settings=settings,
            http=http,
            bus=bus,
            connectors=connectors,
            fresh=fresh,
        ),
        # New credentials (a reconnect) are checked at once, never answered from before.
        version=connection.credentials_encrypted or "",
    )


async def _check_connection(
    *,
    connection: Connection,
    key_ring: KeyRing,
    settings: Settings,
    http: httpx.AsyncClient | None,
    bus: EventBus | None,
    connectors: ConnectorResolver | None,
    fresh: CredentialSource | None = None,
) -> CheckOutcome:
    connector = await resolve_connector(
        connectors,
        settings=settings,
        organization_id=connection.organization_id,
        workspace_id=connection.workspace_id,
        name=connection.integration_name,
        field="id",
    )

    async def check(force: bool = False) -> CheckResult:
        if fresh is None:
            values = load_credentials(key_ring=key_ring, connection=connection)
        else:
            values = await fresh(connection, force=force)
        return await run_check(
            settings=settings,
            spec=connector.SPEC,
            auth_type=connection.auth_type,
            credentials=values,
            http=http,
            connector=connector,
            parameters=connection.parameters,
        )

    try:
        result = await check()
        if (
            not result.ok
            and result.reachable
            and fresh is not None
            and connection.auth_type in creds.OAUTH_TYPES
        ):
            result = await check(force=True)  # the token may have been revoked early
    except CheckFailed as exc:
        # The refresh failed. For good (the provider refused it: the refresh put the connection
        # in ERROR), or for now (it could not be reached, or answered an error worth retrying).
        await connection.refresh_from_db()
        refused = connection.status == "ERROR"
        result = CheckResult(ok=False, message=exc.message, reachable=refused)
    except (httpx.HTTPError, OSError, TimeoutError) as exc:
        name = connector.SPEC.display_name
        result = CheckResult(
            ok=False,
            message=f"could not reach {name} to refresh the token ({exc.__class__.__name__})",
            reachable=False,
        )
    message = result.message or ("credentials accepted" if result.ok else "credentials refused")
    connection = await record_check(
        connection=connection,
        ok=result.ok,
        reachable=result.reachable,
        reason=None if result.ok else message,
        bus=bus,
    )
    return CheckOutcome(connection=connection, ok=result.ok, message=message)
