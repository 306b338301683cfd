"""A connector whose endpoints moved: a deployment's or a workspace's overrides of its OAuth
URLs and API base URL (a sandbox, GitHub Enterprise, a self-hosted GitLab).

Only the spec changes (``registry.with_spec``): the connector's ``check`` and ``read`` are its
own and reach the provider through ``ConnectorContext.base_url``, which comes from the spec.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from server.connectors.registry import with_spec


@dataclass(frozen=True)
class Endpoints:
    """Overrides of one integration's endpoints; None keeps the integration's own."""

    authorization_url: str | None = None
    token_url: str | None = None
    revocation_url: str | None = None
    api_base_url: str | None = None


def with_endpoints(connector: Any, endpoints: Endpoints) -> Any:
    """``connector`` seen with ``endpoints`` in its spec; the same object when nothing moves.

    OAuth URLs only move on a connector that has OAuth: an override cannot add OAuth to an
    integration that does not sign in with it.
    """
    spec = connector.SPEC
    changed = spec
    if endpoints.api_base_url is not None and endpoints.api_base_url != spec.base_url:
        changed = replace(changed, base_url=endpoints.api_base_url)
    oauth = spec.oauth
    if oauth is not None:
        moved = {
            name: value
            for name, value in (
                ("authorize_url", endpoints.authorization_url),
                ("token_url", endpoints.token_url),
                ("revocation_url", endpoints.revocation_url),
            )
            if value is not None and value != getattr(oauth, name)
        }
        if moved:
            changed = replace(changed, oauth=replace(oauth, **moved))
    return connector if changed is spec else with_spec(connector, changed)
