from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('weir', '0002_webhooks')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Workspace',
            name='warehouse_url_encrypted',
            field=fields.TextField(null=True, unique=False),
        ),
    ]
