"""The workspace's proxy policy, enforced before anything is sent (see
``server.integrations.proxy_policy`` for what it holds and how it is configured)."""

from __future__ import annotations

from server.errors import Forbidden
from server.integrations.models import WorkspaceIntegration
from server.integrations.proxy_policy import METHODS, prefix_allows


def check_method(method: str) -> str:
    """A method the proxy forwards at all, whatever a policy says."""
    if method not in METHODS:
        raise Forbidden(f"the proxy does not forward {method[:16]} requests ({', '.join(METHODS)} only)")
    return method


def enforce(config: WorkspaceIntegration | None, *, method: str, path: str) -> None:
    """Refuse (``FORBIDDEN``) a method or path the workspace's policy does not allow; without a
    policy everything under the base URL is allowed. ``path`` is the decoded path."""
    if config is None:
        return
    methods = config.proxy_methods
    if methods is not None and method not in methods:
        allowed = ", ".join(methods) or "none"
        raise Forbidden(f"this workspace's proxy policy does not allow {method} (allowed: {allowed})")
    prefixes = config.proxy_path_prefixes
    if prefixes is not None and not any(prefix_allows(prefix, path) for prefix in prefixes):
        raise Forbidden("this workspace's proxy policy does not allow this path")
