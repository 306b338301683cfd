import hashlib
import logging

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

# Warehouse namespaces (server.syncs.namespaces): a new sync loads into a schema qualified by
# its workspace (or organization) on the shared warehouse. Syncs that exist already keep their
# literal schema name, so they go on loading into the tables they have: nothing is moved.
#
# Except where that was the bug: when syncs of several organizations already loaded into the
# same literal schema of the shared warehouse, the oldest keeps it, and each other one moves to
# its own qualified schema with its stream state cleared, so its next run reloads its data from
# the source into tables of its own. The shared tables may still hold the moved syncs' rows: the
# migration logs them for the operator (a full refresh of the sync that kept them rewrites them).

log = logging.getLogger("weir.migrations")

MAX_NAME_BYTES = 63


def _qualified(organization_id, workspace_id, name):
    # A frozen copy of server.syncs.namespaces.qualified_schema as of this migration.
    owner = workspace_id or organization_id
    full = owner + "__" + name
    if len(full.encode()) <= MAX_NAME_BYTES:
        return full
    digest = hashlib.sha1(name.encode()).hexdigest()[:8]
    keep = MAX_NAME_BYTES - len((owner + "__").encode()) - 8 - 1
    return owner + "__" + name[:keep].rstrip("_") + "_" + digest


async def separate_shared_schemas(apps, schema_editor):
    client = schema_editor.client
    mark = (lambda n: f"${n}") if client.capabilities.dialect == "postgres" else (lambda n: "?")
    # Syncs on the shared warehouse: their workspace has no warehouse of its own.
    rows = await client.execute_query_dict(
        "SELECT s.id, s.organization_id, s.workspace_id, s.destination_schema "
        "FROM elt_syncs s LEFT JOIN workspaces w ON w.id = s.workspace_id "
        "WHERE w.warehouse_url_encrypted IS NULL ORDER BY s.created_at, s.id")
    kept = {}
    for row in rows:
        name = row["destination_schema"]
        first = kept.setdefault(name, row)
        if first is row or first["organization_id"] == row["organization_id"]:
            continue
        schema = _qualified(row["organization_id"], row["workspace_id"], name)
        await client.execute_query(
            f"UPDATE elt_syncs SET warehouse_schema = {mark(1)} WHERE id = {mark(2)}",
            [schema, row["id"]])
        await client.execute_query(
            f"UPDATE source_streams SET state = NULL WHERE sync_id = {mark(1)}", [row["id"]])
        log.warning("sync %s shared the warehouse schema %r with sync %s of another "
                    "organization; it now loads into %r and reloads from its source. The "
                    "tables of %r may still hold its rows.", row["id"], name, first["id"],
                    schema, name)


class Migration(migrations.Migration):
    dependencies = [('weir', '0003_workspace_warehouse')]

    initial = False

    operations = [
        ops.AddField(
            model_name='EltSync',
            name='warehouse_schema',
            field=fields.CharField(null=True, max_length=63),
        ),
        ops.RunSQL(
            "UPDATE elt_syncs SET warehouse_schema = destination_schema "
            "WHERE warehouse_schema IS NULL",
            reverse_sql="UPDATE elt_syncs SET warehouse_schema = NULL",
        ),
        ops.RunPython(separate_shared_schemas, reverse_code=ops.RunPython.noop),
    ]
