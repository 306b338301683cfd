"""The catalog of built-in connectors, by name. Nothing registers itself: the list is here.

Most connectors are data: ``catalog/<name>.yaml`` files in the declarative format
(``connector.schema.json``), each parsed once, at import, into a ``DeclarativeConnector``; a
broken file stops the import with its name and the paths of its problems. The Python modules
below are the connectors data cannot say (each says why at its top).

Some connectors find their streams or setting options in the account at run time (``postgres``
lists tables, ``github`` lists repositories). Callers go through ``streams_for`` and
``settings_schema_for``, which use a module's optional ``discover`` / ``settings_options`` when it
has them and its static ``SPEC`` otherwise.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Any

import yaml

from server.connectors import demo, github, hubspot, postgres, smtp
from server.connectors.base import ConnectorContext, ConnectorSpec, StreamSpec, fill_settings_schema
from server.connectors.builtins import datetime_tools, hash_encode, kv_store
from server.connectors.declarative import DeclarativeConnector
from server.connectors.definition import DefinitionError, parse_definition

# A connector module or a DeclarativeConnector: both have SPEC, check and read (base.py).
Connector = Any

CATALOG_DIR = Path(__file__).with_name("catalog")

CONNECTOR_MODULES: tuple[ModuleType, ...] = (
    demo,
    postgres,
    hubspot,
    github,
    smtp,
    # The built-ins: actions only, no connection (server/connectors/builtins/).
    datetime_tools,
    hash_encode,
    kv_store,
)


class CatalogError(RuntimeError):
    """A catalog file that cannot be loaded: its name and what is wrong, by path."""


def load_catalog(folder: Path = CATALOG_DIR) -> dict[str, DeclarativeConnector]:
    """Every ``*.yaml`` definition in ``folder``, parsed, by name (the file's stem)."""
    found: dict[str, DeclarativeConnector] = {}
    for path in sorted(folder.glob("*.yaml")):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            raise CatalogError(f"{path.name}: not valid YAML: {exc}") from None
        try:
            connector = parse_definition(data)
        except DefinitionError as exc:
            raise CatalogError(f"{path.name}: {exc}") from None
        if connector.SPEC.name != path.stem:
            raise CatalogError(f"{path.name}: name: must be {path.stem!r}, the file's name")
        found[connector.SPEC.name] = connector
    return found


def _catalog() -> dict[str, Connector]:
    connectors: dict[str, Connector] = {module.SPEC.name: module for module in CONNECTOR_MODULES}
    for name, connector in load_catalog().items():
        if name in connectors:
            raise CatalogError(f"{name}.yaml: name: a Python connector is already called {name!r}")
        connectors[name] = connector
    return connectors


CONNECTORS: dict[str, Connector] = _catalog()


def get_connector(name: str) -> Connector | None:
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
    module: Connector, context: ConnectorContext, credentials: dict[str, Any], settings: dict[str, Any]
) -> tuple[StreamSpec, ...]:
    """The streams a connection offers with these settings: discovered, or the SPEC's."""
    discover = getattr(module, "discover", None)
    if discover is None:
        return module.SPEC.streams
    return tuple(await discover(context, credentials, settings))


async def settings_schema_for(
    module: Connector,
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
