"""Where a workspace's syncs load: its own warehouse URL (kept encrypted), or the deployment's.

The URL carries a database password, so it is sealed like credentials (this workspace's id as
associated data) and only ever shown masked: the userinfo password and every query-string value
but a few harmless ones (``password``, ``sslpassword``, file paths...) become ``****``.

A tenant's URL never names a file on Weir's host:

- a SQLite warehouse is a *name*, ``sqlite://analytics`` (or ``sqlite://analytics.db``,
  ``sqlite:///analytics.db``), stored as ``sqlite://analytics.db`` and opened as
  ``<data dir>/warehouses/<workspace id>/analytics.db``: a directory of that workspace alone, so
  no tenant can reach Weir's own database, the shared warehouse or another tenant's file.
  Paths, ``..``, ``:memory:``, ``file:`` URIs and query parameters are refused, and a path that
  resolves outside that directory (a symlink) is refused again when the run opens it;
- a Postgres URL accepts only query parameters that name no file (``sslmode``,
  ``application_name``, ``target_session_attrs``, ``password``): asyncpg would otherwise read
  ``sslkey``/``sslcert``/``sslrootcert``/``sslcrl``/``passfile``/``service`` files or reach a
  Unix socket (``host=/var/run/...``, a percent-encoded host) on Weir's machine.

Only API keys not restricted to a workspace may set a warehouse URL (``server.orgs.service``).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, quote, urlsplit, urlunsplit

from server.config import Settings
from server.crypto import KeyRing
from server.errors import FieldError
from server.orgs.models import Workspace
from server.orgs.rows import WorkspaceRow

SCHEMES = ("sqlite", "postgres", "postgresql")
WAREHOUSES_DIR = "warehouses"
MASK = "****"
# ``sqlite://NAME``, ``sqlite://NAME.db`` or ``sqlite:///NAME.db``: a name, never a path.
_SQLITE_NAME = re.compile(r"sqlite:///?([A-Za-z0-9][A-Za-z0-9_-]{0,63})(\.db)?")
# Query parameters of a tenant's Postgres URL that name no file and reach no socket.
POSTGRES_PARAMETERS = ("sslmode", "application_name", "target_session_attrs", "password")
# The ones a masked URL may show as they are.
_SHOWN_PARAMETERS = ("sslmode", "application_name", "target_session_attrs")


class WarehouseRefused(ValueError):
    """A stored warehouse URL is no longer acceptable (set before names were required)."""


@dataclass(frozen=True)
class Warehouse:
    """Where a sync loads: the URL to open, and whether every tenant shares it."""

    url: str
    shared: bool


def sqlite_name(value: str) -> str | None:
    """``analytics.db`` for ``sqlite://analytics``; None when ``value`` is not such a name."""
    found = _SQLITE_NAME.fullmatch(value)  # not "$", which lets a final newline through
    return None if found is None else found.group(1) + ".db"


def check_warehouse_url(field: str, value: str) -> FieldError | None:
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 -- raises on a bad port
    except ValueError:
        return FieldError(field, "is not a valid URL")
    if parts.scheme not in SCHEMES:
        return FieldError(field, "must be a sqlite:// or postgres:// URL")
    if parts.scheme == "sqlite":
        if sqlite_name(value) is None:
            return FieldError(
                field,
                "a SQLite warehouse is a name, not a path: sqlite://NAME "
                "(letters, digits, - and _), kept in Weir's data directory",
            )
        return None
    if not (parts.hostname and parts.path.strip("/")):
        return FieldError(field, "a postgres URL needs a host and a database name")
    if "%" in parts.hostname or "/" in parts.hostname:
        return FieldError(field, "the host must be a host name or address (no socket path)")
    try:
        names = [
            name
            for name, _ in parse_qsl(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query))
        ]
    except ValueError:
        return FieldError(field, "has a malformed query string")
    refused = sorted({name for name in names if name not in POSTGRES_PARAMETERS})
    if refused:
        return FieldError(
            field,
            f"query parameter(s) {', '.join(refused)} not accepted; "
            f"allowed: {', '.join(POSTGRES_PARAMETERS)}",
        )
    return None


def normalized(value: str) -> str:
    """The URL as stored: a SQLite name as ``sqlite://NAME.db`` (``value`` is valid)."""
    name = sqlite_name(value)
    return f"sqlite://{name}" if name is not None else value


def seal(*, key_ring: KeyRing, workspace_id: str, url: str) -> str:
    return key_ring.encrypt(url.encode(), associated_data=workspace_id)


def masked(*, key_ring: KeyRing, workspace: Workspace | WorkspaceRow) -> str | None:
    """The workspace's warehouse URL with its password and query values replaced by ``****``."""
    if workspace.warehouse_url_encrypted is None:
        return None
    return mask_url(_open(key_ring, workspace))


def mask_url(url: str) -> str:
    """``url`` without secrets: the userinfo password and unknown query values are masked."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return MASK  # not a URL any more: show nothing of it
    netloc = parts.netloc
    if parts.password is not None:
        user = parts.username or ""
        host = parts.hostname or ""
        if ":" in host:
            host = f"[{host}]"
        netloc = f"{user}:{MASK}@{host}" + (f":{port}" if port else "")
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = (
            "&".join(
                f"{quote(name, safe='')}=" + (quote(value, safe="") if name in _SHOWN_PARAMETERS else MASK)
                for name, value in pairs
            )
            if pairs
            else MASK
        )
    return urlunsplit((parts.scheme, netloc, parts.path, query, MASK if parts.fragment else ""))


def warehouse_for(*, workspace: Workspace | None, key_ring: KeyRing, settings: Settings) -> Warehouse:
    """Where a sync of ``workspace`` loads; ``WarehouseRefused`` for an unusable stored URL."""
    if workspace is None or workspace.warehouse_url_encrypted is None:
        return Warehouse(url=settings.effective_warehouse_url, shared=True)
    url = _open(key_ring, workspace)
    if urlsplit(url).scheme != "sqlite":
        # A URL stored before these checks existed may still name a file (``sslkey=``...).
        problem = check_warehouse_url("warehouseUrl", url)
        if problem is not None:
            raise WarehouseRefused(
                f"this workspace's warehouse URL is no longer accepted ({problem.message}): set it again"
            )
        return Warehouse(url=url, shared=False)
    name = sqlite_name(url)
    if name is None:
        raise WarehouseRefused(
            "this workspace's SQLite warehouse URL is a path, which is no "
            "longer accepted: set it again as a name, sqlite://NAME"
        )
    path = sqlite_file(settings=settings, workspace_id=workspace.id, name=name)
    return Warehouse(url=f"sqlite://{path.as_posix()}", shared=False)


def sqlite_file(*, settings: Settings, workspace_id: str, name: str) -> Path:
    """The file of a workspace's SQLite warehouse ``name``, refused if it resolves elsewhere."""
    root = Path(settings.data_dir) / WAREHOUSES_DIR
    path = root / workspace_id / name
    # A symlink (the file, or its directory replaced by one) must not lead out of ``warehouses``
    # (which an operator may itself point at another disk).
    if not Path(os.path.realpath(path)).is_relative_to(os.path.realpath(root)):
        raise WarehouseRefused("this workspace's SQLite warehouse resolves outside Weir's data directory")
    return path


def _open(key_ring: KeyRing, workspace: Workspace | WorkspaceRow) -> str:
    return key_ring.decrypt(workspace.warehouse_url_encrypted or "", associated_data=workspace.id).decode()
