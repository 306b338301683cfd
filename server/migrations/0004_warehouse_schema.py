from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

# Warehouse namespaces (server.syncs.namespaces): a new sync loads into a schema qualified by
# its workspace (or organization) on the shared warehouse. Syncs that exist already keep their
# literal schema name, so they go on loading into the tables they have: nothing is moved or lost.

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
    ]
