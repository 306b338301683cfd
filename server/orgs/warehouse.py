"""Where a workspace's syncs load: its own warehouse URL (kept encrypted), or the deployment's.

The URL carries a database password, so it is sealed like credentials (this workspace's id as
associated data) and only ever shown with the password masked.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from server.config import Settings
from server.crypto import KeyRing
from server.errors import FieldError
from server.orgs.models import Workspace
from server.orgs.rows import WorkspaceRow

SCHEMES = ("sqlite", "postgres", "postgresql")


def check_warehouse_url(field: str, value: str) -> FieldError | None:
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 -- raises on a bad port
    except ValueError:
        return FieldError(field, "is not a valid URL")
    if parts.scheme not in SCHEMES:
        return FieldError(field, "must be a sqlite:// or postgres:// URL")
    if parts.scheme == "sqlite" and not (parts.netloc or parts.path):
        return FieldError(field, "a sqlite URL needs a file path")
    if parts.scheme != "sqlite" and not (parts.hostname and parts.path.strip("/")):
        return FieldError(field, "a postgres URL needs a host and a database name")
    return None


def seal(*, key_ring: KeyRing, workspace_id: str, url: str) -> str:
    return key_ring.encrypt(url.encode(), associated_data=workspace_id)


def masked(*, key_ring: KeyRing, workspace: Workspace | WorkspaceRow) -> str | None:
    """The workspace's warehouse URL with its password replaced by ``****``."""
    if workspace.warehouse_url_encrypted is None:
        return None
    parts = urlsplit(_open(key_ring, workspace))
    if parts.password is None:
        return urlunsplit(parts)
    user = parts.username or ""
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{user}:****@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def warehouse_url_for(*, workspace: Workspace | None, key_ring: KeyRing,
                      settings: Settings) -> str:
    """The URL a sync of ``workspace`` loads into."""
    if workspace is None or workspace.warehouse_url_encrypted is None:
        return settings.effective_warehouse_url
    return _open(key_ring, workspace)


def _open(key_ring: KeyRing, workspace: Workspace | WorkspaceRow) -> str:
    return key_ring.decrypt(workspace.warehouse_url_encrypted or "",
                            associated_data=workspace.id).decode()
