"""Where a sync's tables physically are: tenant-qualified schemas on the shared warehouse.

The deployment's warehouse (``WEIR_WAREHOUSE_URL``) is shared by every organization, so the
schema a client names (``destinationSchemaName``) cannot be the physical one: two tenants both
choosing ``crm`` would read, replace and drop each other's tables. On the shared warehouse a
sync loads into ``<owner id>__<name>``, the owner being the sync's workspace (or, for a sync of
an organization-wide connection, its organization): ``ws_01jd3k8x5q2m7c9v4b6n0r1t2y__crm``,
so on SQLite the tables are ``ws_01jd...__crm__contacts``. Ids are Weir's own (a tenant never
chooses one) and a client's name never contains ``__``, so no name a tenant can pick lands in
another owner's namespace. The physical name is stored on the sync (``warehouse_schema``), so
an operator can look it up, and syncs created before namespaces (migration 0004) keep their
literal name and the tables they already have.

A workspace with its own warehouse URL loads into the literal ``destinationSchemaName``: that
database is the tenant's own (it gave its credentials, or a SQLite name resolved in a directory
of that workspace alone), where ``crm.contacts`` is what its users query.

The API shows only ``destinationSchemaName``; the physical name never leaves the server.
"""

from __future__ import annotations

import hashlib

from server.destinations.base import MAX_NAME_BYTES
from server.syncs.models import EltSync

SEPARATOR = "__"
_DIGEST_LENGTH = 8


def qualified_schema(*, organization_id: str, workspace_id: str | None, name: str) -> str:
    """The physical schema of ``name`` on the shared warehouse, at most 63 bytes.

    A name too long for Postgres (with the owner's id in front) is cut and followed by a hash
    of the whole name, so two long names never share a schema.
    """
    owner = workspace_id or organization_id
    full = owner + SEPARATOR + name
    if len(full.encode()) <= MAX_NAME_BYTES:
        return full
    digest = hashlib.sha1(name.encode()).hexdigest()[:_DIGEST_LENGTH]
    keep = MAX_NAME_BYTES - len((owner + SEPARATOR).encode()) - _DIGEST_LENGTH - 1
    # No trailing "_": "crm_" + "_" + digest would put a "__" inside the client's part.
    return owner + SEPARATOR + name[:keep].rstrip("_") + "_" + digest


def qualified_schema_of(sync: EltSync) -> str:
    return qualified_schema(
        organization_id=sync.organization_id, workspace_id=sync.workspace_id, name=sync.destination_schema
    )


def physical_schema(sync: EltSync, *, shared: bool) -> str:
    """The schema ``sync`` loads into: qualified on the shared warehouse, literal on its own."""
    if not shared:
        return sync.destination_schema
    # Every sync has one since migration 0004; were it missing, the qualified name is the safe
    # fallback (never the literal one, which another tenant may use).
    return sync.warehouse_schema or qualified_schema_of(sync)
