"""The catalog of built-in connectors, by name. Nothing registers itself: the list is here.

Some connectors find their streams or setting options in the account at run time (``postgres``
lists tables, ``github`` lists repositories). Callers go through ``streams_for`` and
``settings_schema_for``, which use a module's optional ``discover`` / ``settings_options`` when it
has them and its static ``SPEC`` otherwise.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from server.connectors import (
    airtable,
    demo,
    freshsales,
    github,
    hubspot,
    openai,
    postgres,
    sendgrid,
    slack,
    smtp,
    stripe,
)
from server.connectors.base import ConnectorContext, ConnectorSpec, StreamSpec, fill_settings_schema

CONNECTOR_MODULES: tuple[ModuleType, ...] = (
    demo,
    postgres,
    hubspot,
    github,
    stripe,
    slack,
    openai,
    sendgrid,
    smtp,
    freshsales,
    airtable,
)

CONNECTORS: dict[str, ModuleType] = {module.SPEC.name: module for module in CONNECTOR_MODULES}


def get_connector(name: str) -> ModuleType | None:
    return CONNECTORS.get(name)


class WithSpec:
    """A connector seen through another spec: a workspace's endpoint overrides or a resolved
    custom integration. ``SPEC`` is the given one; ``check``, ``read`` and the optional
    ``discover`` / ``settings_options`` are the connector's own."""

    def __init__(self, connector: Any, spec: ConnectorSpec) -> None:
        self._connector = connector
        self.SPEC = spec

    def __getattr__(self, name: str) -> Any:
        return getattr(self._connector, name)


def with_spec(connector: Any, spec: ConnectorSpec) -> Any:
    """``connector`` with ``SPEC`` replaced by ``spec`` (see ``WithSpec``)."""
    return WithSpec(connector, spec)


async def streams_for(
    module: ModuleType, context: ConnectorContext, credentials: dict[str, Any], settings: dict[str, Any]
) -> tuple[StreamSpec, ...]:
    """The streams a connection offers with these settings: discovered, or the SPEC's."""
    discover = getattr(module, "discover", None)
    if discover is None:
        return module.SPEC.streams
    return tuple(await discover(context, credentials, settings))


async def settings_schema_for(
    module: ModuleType,
    context: ConnectorContext,
    credentials: dict[str, Any],
    partial_settings: dict[str, Any],
) -> dict[str, Any]:
    """The SPEC's settings schema with ``enum``s filled from the account where the connector
    can list them (``partial_settings`` picks dependent options, e.g. a schema's tables)."""
    lister = getattr(module, "settings_options", None)
    if lister is None:
        return module.SPEC.settings_schema
    return fill_settings_schema(
        module.SPEC.settings_schema, await lister(context, credentials, partial_settings)
    )
