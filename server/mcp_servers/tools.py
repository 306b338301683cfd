"""What an MCP token sees and runs: the server's exposed actions as tools.

A tool is named ``integration.action``. ``tools/list`` lists the exposed actions whose
connection resolves for the token's end user (built-ins, which need none, always);
``tools/call`` runs one through ``server.actions.service.execute_action``, the path of
``executeAction`` (resolution, validation, idempotency, rate budget, call log). A missing
connection answers ``CONNECTION_REQUIRED`` with a connect session URL for the end user.

Read-only policy: only actions whose declaration says ``read_only`` (list, get, search).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Protocol

from server.actions import service as actions
from server.calls.recorder import CallRecorder
from server.config import Settings
from server.connect import service as connect
from server.connectors.base import ActionSpec
from server.crypto import KeyRing
from server.errors import ConnectionRequired, Forbidden, NotFound, ValidationFailed, WeirError
from server.events import EventBus
from server.integrations import catalog
from server.integrations.resolve import resolve_connection
from server.mcp_servers.service import McpPrincipal

log = logging.getLogger("weir.mcp")

SEPARATOR = "."


class Services(Protocol):
    """What a tool call needs of the process (``server.api.context.Services`` has it)."""

    settings: Settings
    key_ring: KeyRing
    bus: EventBus
    calls: CallRecorder


@dataclass(frozen=True)
class Tool:
    name: str
    title: str
    description: str
    input_schema: dict[str, Any]
    read_only: bool


@dataclass(frozen=True)
class ToolOutcome:
    ok: bool
    structured: dict[str, Any]


def _exposed(principal: McpPrincipal, integration: str, action: ActionSpec) -> bool:
    server = principal.server
    if server.read_only and not action.read_only:
        return False
    return not server.actions or f"{integration}{SEPARATOR}{action.name}" in server.actions


async def _connector(principal: McpPrincipal, services: Services, name: str) -> Any | None:
    try:
        return await catalog.connector_for(
            settings=services.settings,
            organization_id=principal.token.organization_id,
            workspace_id=principal.token.workspace_id,
            name=name,
        )
    except NotFound:  # removed from the catalog (a deleted custom integration) since
        return None


async def _resolves(principal: McpPrincipal, name: str) -> bool:
    try:
        await resolve_connection(
            scope=principal.scope,
            workspace_id=principal.token.workspace_id,
            integration_name=name,
            end_user_id=principal.end_user.id if principal.end_user is not None else None,
            for_use=True,
        )
    except (ConnectionRequired, Forbidden, NotFound):
        return False
    return True


async def list_tools(principal: McpPrincipal, services: Services) -> list[Tool]:
    tools: list[Tool] = []
    for name in principal.server.integrations:
        connector = await _connector(principal, services, name)
        if connector is None:
            continue
        spec = connector.SPEC
        if spec.requires_connection and not await _resolves(principal, name):
            continue
        for action in spec.actions:
            if _exposed(principal, name, action):
                tools.append(
                    Tool(
                        name=f"{name}{SEPARATOR}{action.name}",
                        title=f"{spec.display_name}: {action.display_name}",
                        description=action.description,
                        input_schema=action.input_schema,
                        read_only=action.read_only,
                    )
                )
    return tools


def error_result(exc: WeirError) -> dict[str, Any]:
    extensions = exc.extensions()
    return {"error": {"message": str(exc), **extensions}}


IDEMPOTENCY_META_KEY = "weir/idempotencyKey"
MAX_IDEMPOTENCY_KEY = 200


def idempotency_key(principal: McpPrincipal, meta: Any) -> str | None:
    """The request's ``_meta["weir/idempotencyKey"]``, namespaced by the token's end user (or
    workspace), so one end user's key never meets another's."""
    given = meta.get(IDEMPOTENCY_META_KEY) if isinstance(meta, dict) else None
    if given is None:
        return None
    if not isinstance(given, str) or not given or len(given) > MAX_IDEMPOTENCY_KEY:
        raise ValidationFailed.field(
            f"_meta.{IDEMPOTENCY_META_KEY}", f"must be a string of 1 to {MAX_IDEMPOTENCY_KEY} characters"
        )
    owner = principal.end_user.id if principal.end_user is not None else principal.token.workspace_id
    return f"mcp:{owner}:{given}"


async def call_tool(
    principal: McpPrincipal,
    services: Services,
    name: str,
    arguments: dict[str, Any] | None,
    meta: Any = None,
) -> ToolOutcome:
    key = idempotency_key(principal, meta)
    integration, _, action_name = name.partition(SEPARATOR)
    if integration not in principal.server.integrations:
        raise ValidationFailed.field("name", f"no tool named {name[:100]!r}")
    connector = await _connector(principal, services, integration)
    action = connector.SPEC.action(action_name) if connector is not None else None
    if action is None or not _exposed(principal, integration, action):
        raise ValidationFailed.field("name", f"no tool named {name[:100]!r}")
    end_user = principal.end_user
    try:
        done = await actions.execute_action(
            scope=principal.scope,
            settings=services.settings,
            key_ring=services.key_ring,
            bus=services.bus,
            recorder=services.calls,
            request=actions.ActionRequest(
                integration_name=integration,
                action=action.name,
                input={} if arguments is None else arguments,
                workspace_id=principal.token.workspace_id,
                end_user_id=end_user.id if end_user is not None else None,
                idempotency_key=key,
            ),
        )
    except ConnectionRequired as exc:
        found = error_result(exc)
        try:
            session = await connect.create_connect_session(
                scope=principal.scope,
                settings=services.settings,
                workspace_id=principal.token.workspace_id,
                integration_name=integration,
                end_user_id=end_user.id if end_user is not None else None,
                bus=services.bus,
            )
        except WeirError as refused:  # the workspace cannot offer it (no OAuth app, say)
            log.info("mcp tool %s: no connect session: %s", name[:100], refused.code)
            return ToolOutcome(ok=False, structured=found)
        found["error"]["connectUrl"] = session.connect_url
        found["error"]["connectSessionId"] = session.session.id
        return ToolOutcome(ok=False, structured=found)
    except WeirError as exc:
        log.info("mcp tool %s failed: %s", name[:100], exc.code)
        return ToolOutcome(ok=False, structured=error_result(exc))
    return ToolOutcome(
        ok=True,
        structured={"output": done.output, "connectionId": done.connection_id, "replayed": done.replayed},
    )
