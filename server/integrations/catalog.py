"""The integration catalog as clients see it: search and look-up over the connector specs."""

from __future__ import annotations

from server.connectors.base import ConnectorSpec
from server.connectors.registry import CONNECTORS
from server.errors import NotFound


def list_integrations(*, category: str | None = None, search: str | None = None) -> list[ConnectorSpec]:
    """Every integration, optionally of one category and matching a search text, by name."""
    specs = [module.SPEC for module in CONNECTORS.values()]
    if category:
        specs = [spec for spec in specs if spec.category == category]
    if search:
        needle = search.strip().lower()
        specs = [
            spec
            for spec in specs
            if needle in spec.name
            or needle in spec.display_name.lower()
            or needle in spec.description.lower()
        ]
    return sorted(specs, key=lambda spec: spec.name)


def get_integration(*, name: str) -> ConnectorSpec:
    """One integration by its name (``hubspot``), or ``NOT_FOUND``."""
    module = CONNECTORS.get(name)
    if module is None:
        raise NotFound("integration", name)
    return module.SPEC
