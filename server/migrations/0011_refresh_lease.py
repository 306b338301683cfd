# One OAuth refresh at a time across processes: the refresh lease of a connection.
from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('weir', '0010_mcp')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Connection',
            name='refresh_lease_until',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
    ]
