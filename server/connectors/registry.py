"""The catalog of built-in connectors, by name. Nothing registers itself: the list is here."""

from __future__ import annotations

from types import ModuleType

from server.connectors import demo

CONNECTOR_MODULES: tuple[ModuleType, ...] = (demo,)

CONNECTORS: dict[str, ModuleType] = {module.SPEC.name: module for module in CONNECTOR_MODULES}


def get_connector(name: str) -> ModuleType | None:
    return CONNECTORS.get(name)
