from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.data import JSON_LOADS as loads
from tortoise.fields.data import JSON_DUMPS
from tortoise.fields.base import OnDelete
from tortoise import fields

# Custom integrations (an organization's own connectors, in the declarative format) and a
# workspace's overrides of an integration's OAuth endpoints and API base URL (#14).

class Migration(migrations.Migration):
    dependencies = [('weir', '0004_warehouse_schema')]

    initial = False

    operations = [
        ops.CreateModel(
            name='CustomIntegration',
            fields=[
                ('organization', fields.ForeignKeyField('weir.Organization', source_field='organization_id', db_constraint=True, to_field='id', related_name='custom_integrations', on_delete=OnDelete.CASCADE)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('id', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=32)),
                ('workspace', fields.ForeignKeyField('weir.Workspace', source_field='workspace_id', null=True, db_constraint=True, to_field='id', related_name='custom_integrations', on_delete=OnDelete.CASCADE)),
                ('name', fields.CharField(max_length=64)),
                ('definition', fields.JSONField(encoder=JSON_DUMPS, decoder=loads)),
            ],
            options={'table': 'custom_integrations', 'app': 'weir', 'unique_together': (('organization', 'name'),), 'pk_attr': 'id', 'table_description': 'An integration a host registered through the API, in the declarative connector format.'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='WorkspaceIntegration',
            name='api_base_url',
            field=fields.CharField(null=True, max_length=2000),
        ),
        ops.AddField(
            model_name='WorkspaceIntegration',
            name='authorization_url',
            field=fields.CharField(null=True, max_length=2000),
        ),
        ops.AddField(
            model_name='WorkspaceIntegration',
            name='revocation_url',
            field=fields.CharField(null=True, max_length=2000),
        ),
        ops.AddField(
            model_name='WorkspaceIntegration',
            name='token_url',
            field=fields.CharField(null=True, max_length=2000),
        ),
    ]

