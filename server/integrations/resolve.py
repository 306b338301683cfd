"""Which connection a workspace (and an end user) should use for an integration.

The order, first match wins:

1. an explicit connection: by ``connection_id``, or by ``external_id`` (the end user's
   connection with that id, else the workspace's, else the organization's). A connection of
   another integration, another workspace or another end user is rejected, never returned; no
   match at all is ``CONNECTION_REQUIRED``.
2. the workspace integration's strategy: ``FIXED`` -> its fixed connection; ``PER_USER`` -> the
   end user's; ``PER_USER_WITH_FALLBACK`` -> the end user's, else the workspace's, else the
   organization's.
3. the end user's connection.
4. otherwise ``CONNECTION_REQUIRED``.

Among several candidates of one kind, an ``ACTIVE`` one wins over an ``ERROR`` one, then the
newest.
"""

from __future__ import annotations

from dataclasses import dataclass

from server.connections.models import Connection
from server.connectors.builtins import no_connection_needed
from server.errors import ConnectionRequired, Forbidden, NotFound, ValidationFailed
from server.integrations import catalog
from server.integrations.models import WorkspaceIntegration
from server.orgs import service as orgs
from server.orgs.models import EndUser
from server.scope import Scope
from server.validation import refuse_over_long_lookups

CONNECTION_ID = "CONNECTION_ID"
EXTERNAL_ID = "EXTERNAL_ID"
FIXED = "FIXED"
END_USER = "END_USER"
FALLBACK = "FALLBACK"


@dataclass(frozen=True)
class Resolution:
    connection: Connection
    resolved_by: str  # CONNECTION_ID | EXTERNAL_ID | FIXED | END_USER | FALLBACK
    # The workspace's row for the integration, as read while resolving (None when it has
    # none): callers reuse it instead of reading it again.
    config: WorkspaceIntegration | None = None


def _best(rows: list[Connection]) -> Connection | None:
    if not rows:
        return None
    return sorted(rows, key=lambda row: (row.status == "ACTIVE", row.id), reverse=True)[0]


async def _end_user(
    *, scope: Scope, workspace_id: str, end_user_id: str | None, end_user_external_id: str | None
) -> EndUser | None:
    if end_user_id is not None and end_user_external_id is not None:
        raise ValidationFailed.field(
            "input.endUserExternalId", "give endUserId or endUserExternalId, not both"
        )
    if end_user_id is not None:
        end_user = await orgs.get_end_user(scope=scope, end_user_id=end_user_id)
        if end_user.workspace_id != workspace_id:
            raise ValidationFailed.field("input.endUserId", "belongs to another workspace")
        return end_user
    if end_user_external_id is not None:
        end_user = await EndUser.get_or_none(
            organization_id=scope.organization_id, workspace_id=workspace_id, external_id=end_user_external_id
        )
        if end_user is None:
            raise NotFound("end user", end_user_external_id)
        return end_user
    return None


async def _users(organization_id: str, integration_name: str, end_user: EndUser | None) -> Connection | None:
    if end_user is None:
        return None
    return _best(
        await Connection.filter(
            organization_id=organization_id,
            integration_name=integration_name,
            scope="USER",
            end_user_id=end_user.id,
        )
    )


async def _shared(organization_id: str, integration_name: str, workspace_id: str) -> Connection | None:
    """The workspace's own connection, else the organization-wide one."""
    rows = await Connection.filter(
        organization_id=organization_id,
        integration_name=integration_name,
        scope__in=("WORKSPACE", "ORGANIZATION"),
    )
    return _best(
        [row for row in rows if row.scope == "WORKSPACE" and row.workspace_id == workspace_id]
    ) or _best([row for row in rows if row.scope == "ORGANIZATION"])


async def _by_external_id(
    *, scope: Scope, integration_name: str, external_id: str, workspace_id: str, end_user: EndUser | None
) -> Connection:
    rows = await Connection.filter(
        organization_id=scope.organization_id, integration_name=integration_name, external_id=external_id
    )
    mine = [
        row for row in rows if row.scope == "USER" and end_user is not None and row.end_user_id == end_user.id
    ]
    workspace = [row for row in rows if row.scope == "WORKSPACE" and row.workspace_id == workspace_id]
    organization = [row for row in rows if row.scope == "ORGANIZATION"]
    found = _best(mine) or _best(workspace) or _best(organization)
    if found is not None:
        return found
    # Matches elsewhere are refused; a restricted key does not learn of other workspaces at all.
    elsewhere = [row for row in rows if scope.workspace_id is None or row.workspace_id == scope.workspace_id]
    quoted = f"the connection with externalId {external_id!r}"
    if any(row.workspace_id != workspace_id for row in elsewhere):
        raise Forbidden(f"{quoted} belongs to another workspace")
    if elsewhere and end_user is not None:
        raise Forbidden(f"{quoted} belongs to another end user")
    if elsewhere:
        raise Forbidden(f"{quoted} belongs to an end user; name it with endUserId")
    raise ConnectionRequired(f"no {integration_name} connection has externalId {external_id!r}")


async def _by_id(
    *,
    scope: Scope,
    integration_name: str,
    connection_id: str,
    workspace_id: str,
    end_user: EndUser | None,
    known: Connection | None,
) -> Connection:
    connection = known or await Connection.get_or_none(
        id=connection_id, organization_id=scope.organization_id
    )
    # Another workspace's connection reads as absent to a key restricted to this one.
    if connection is None or (
        scope.workspace_id is not None and connection.workspace_id not in (None, scope.workspace_id)
    ):
        raise NotFound("connection", connection_id)
    if connection.integration_name != integration_name:
        raise ValidationFailed.field(
            "input.connectionId", f"is a connection of {connection.integration_name}, not {integration_name}"
        )
    if connection.scope != "ORGANIZATION" and connection.workspace_id != workspace_id:
        raise Forbidden(f"connection {connection_id!r} belongs to another workspace")
    if connection.scope == "USER" and (end_user is None or connection.end_user_id != end_user.id):
        raise Forbidden(
            f"connection {connection_id!r} belongs to "
            + ("another end user" if end_user is not None else "an end user; name it with endUserId")
        )
    return connection


async def _resolve(
    *,
    scope: Scope,
    workspace_id: str,
    integration_name: str,
    end_user_id: str | None = None,
    end_user_external_id: str | None = None,
    external_id: str | None = None,
    connection_id: str | None = None,
    known: Connection | None = None,
) -> Resolution:
    if not await catalog.is_visible(
        organization_id=scope.organization_id, workspace_id=workspace_id, name=integration_name
    ):
        raise ValidationFailed.field(
            "input.integrationName", f"no integration named {integration_name[:64]!r}"
        )
    if catalog.is_built_in(integration_name):
        # Not CONNECTION_REQUIRED: creating one would be refused too.
        raise ValidationFailed.field("input.integrationName", no_connection_needed(integration_name))
    refuse_over_long_lookups(
        {
            "input.endUserExternalId": (end_user_external_id, 255),
            "input.externalId": (external_id, 255),
            "input.connectionId": (connection_id, 32),
        }
    )
    if connection_id is not None and external_id is not None:
        raise ValidationFailed.field("input.connectionId", "give connectionId or externalId, not both")
    if known is not None and (known.id != connection_id or known.organization_id != scope.organization_id):
        known = None  # not the row asked for: read it here
    if known is not None and known.workspace_id == workspace_id:
        # The connection's row proves its workspace exists in this organization (a foreign
        # key); the key's restriction is still checked.
        scope.check_workspace(workspace_id)
    else:
        await orgs.get_workspace(scope=scope, workspace_id=workspace_id)
    end_user = await _end_user(
        scope=scope,
        workspace_id=workspace_id,
        end_user_id=end_user_id,
        end_user_external_id=end_user_external_id,
    )
    config = await WorkspaceIntegration.get_or_none(
        organization_id=scope.organization_id,
        workspace_id=workspace_id,
        integration_name=integration_name,
    )
    if config is not None and not config.enabled:
        raise Forbidden(f"{integration_name} is disabled in this workspace")
    organization_id = scope.organization_id
    if connection_id is not None:
        connection = await _by_id(
            scope=scope,
            integration_name=integration_name,
            connection_id=connection_id,
            workspace_id=workspace_id,
            end_user=end_user,
            known=known,
        )
        return Resolution(connection, CONNECTION_ID, config)
    if external_id is not None:
        connection = await _by_external_id(
            scope=scope,
            integration_name=integration_name,
            external_id=external_id,
            workspace_id=workspace_id,
            end_user=end_user,
        )
        return Resolution(connection, EXTERNAL_ID, config)
    if config is not None:
        if config.strategy == "FIXED" and config.fixed_connection_id is not None:
            fixed = await Connection.get_or_none(
                id=config.fixed_connection_id, organization_id=organization_id
            )
            if fixed is not None:
                return Resolution(fixed, FIXED, config)
        if config.strategy in ("PER_USER", "PER_USER_WITH_FALLBACK"):
            own = await _users(organization_id, integration_name, end_user)
            if own is not None:
                return Resolution(own, END_USER, config)
        if config.strategy == "PER_USER_WITH_FALLBACK":
            shared = await _shared(organization_id, integration_name, workspace_id)
            if shared is not None:
                return Resolution(shared, FALLBACK, config)
    own = await _users(organization_id, integration_name, end_user)
    if own is not None:
        return Resolution(own, END_USER, config)
    who = f" for end user {end_user.external_id!r}" if end_user else ""
    raise ConnectionRequired(
        f"no {integration_name} connection{who} in this workspace; "
        "create one (createConnection or a connect session)"
    )


async def resolve_connection(
    *,
    scope: Scope,
    workspace_id: str,
    integration_name: str,
    end_user_id: str | None = None,
    end_user_external_id: str | None = None,
    external_id: str | None = None,
    connection_id: str | None = None,
    for_use: bool = False,
    known: Connection | None = None,
) -> Resolution:
    """The connection to use, and which rule chose it; ``CONNECTION_REQUIRED`` if none.

    ``for_use`` is for callers that will call the provider with it (actions, the proxy): a key
    restricted to one workspace may read an ORGANIZATION connection but never use it, the same
    rule as for syncing or testing one, so such a match is ``FORBIDDEN`` rather than used.

    ``known`` is the row of ``connection_id`` when the caller has just read it (the proxy does,
    to fill in what the headers left out): it is not read again.
    """
    resolution = await _resolve(
        scope=scope,
        workspace_id=workspace_id,
        integration_name=integration_name,
        end_user_id=end_user_id,
        end_user_external_id=end_user_external_id,
        external_id=external_id,
        connection_id=connection_id,
        known=known,
    )
    if for_use and scope.workspace_id is not None and resolution.connection.scope == "ORGANIZATION":
        raise Forbidden(
            "a key restricted to one workspace cannot use an organization-wide connection; "
            "use a workspace connection or an unrestricted key"
        )
    return resolution
