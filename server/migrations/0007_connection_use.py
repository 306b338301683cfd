from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

# Using connections (issue #15): the call log, actions' idempotency results and key-value
# store, and the per-workspace proxy policy (NULL: every method and path allowed).


class Migration(migrations.Migration):
    dependencies = [('weir', '0006_connection_parameters')]

    initial = False

    operations = [
        ops.CreateModel(
            name='ActionResult',
            fields=[
                ('organization', fields.ForeignKeyField('weir.Organization', source_field='organization_id', db_constraint=True, to_field='id', related_name='action_results', on_delete=OnDelete.CASCADE)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('id', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=32)),
                ('idempotency_key', fields.CharField(max_length=255)),
                ('fingerprint', fields.CharField(max_length=64)),
                ('status', fields.CharField(max_length=16)),
                ('output', fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('error_code', fields.CharField(null=True, max_length=64)),
                ('error_message', fields.TextField(null=True, unique=False)),
                ('connection_id', fields.CharField(null=True, max_length=32)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'action_results', 'app': 'weir', 'unique_together': (('organization', 'idempotency_key'),), 'indexes': [Index(fields=['expires_at'])], 'pk_attr': 'id', 'table_description': 'The outcome of the first ``executeAction`` with an idempotency key, kept 24 hours.'},
            bases=['OrganizationOwned', 'Created'],
        ),
        ops.CreateModel(
            name='CallLog',
            fields=[
                ('organization', fields.ForeignKeyField('weir.Organization', source_field='organization_id', db_constraint=True, to_field='id', related_name='call_log', on_delete=OnDelete.CASCADE)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('id', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=32)),
                ('workspace_id', fields.CharField(null=True, max_length=32)),
                ('kind', fields.CharField(max_length=16)),
                ('integration_name', fields.CharField(max_length=64)),
                ('connection_id', fields.CharField(null=True, max_length=32)),
                ('api_key_id', fields.CharField(null=True, max_length=32)),
                ('end_user_id', fields.CharField(null=True, max_length=32)),
                ('action', fields.CharField(null=True, max_length=100)),
                ('method', fields.CharField(null=True, max_length=10)),
                ('path', fields.CharField(null=True, max_length=1000)),
                ('status', fields.CharField(max_length=16)),
                ('http_status', fields.IntField(null=True)),
                ('error_code', fields.CharField(null=True, max_length=64)),
                ('duration_ms', fields.IntField()),
            ],
            options={'table': 'call_log', 'app': 'weir', 'indexes': [Index(fields=['organization_id', 'created_at']), Index(fields=['organization_id', 'connection_id', 'created_at']), Index(fields=['created_at'])], 'pk_attr': 'id', 'table_description': 'Never a request or response body, a query string or a header: they may hold secrets.'},
            bases=['OrganizationOwned', 'Created'],
        ),
        ops.CreateModel(
            name='KeyValueEntry',
            fields=[
                ('organization', fields.ForeignKeyField('weir.Organization', source_field='organization_id', db_constraint=True, to_field='id', related_name='key_value_entries', on_delete=OnDelete.CASCADE)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('id', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=32)),
                ('workspace_id', fields.CharField(max_length=32)),
                ('end_user_id', fields.CharField(default='', max_length=32)),
                ('key', fields.CharField(max_length=255)),
                ('value', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('expires_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'key_value_entries', 'app': 'weir', 'unique_together': (('organization', 'workspace_id', 'end_user_id', 'key'),), 'pk_attr': 'id', 'table_description': 'One key of the built-in key-value store, scoped to a workspace and (optionally) an end'},
            bases=['OrganizationOwned', 'Timestamped'],
        ),
        ops.AddField(
            model_name='WorkspaceIntegration',
            name='proxy_methods',
            field=fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads),
        ),
        ops.AddField(
            model_name='WorkspaceIntegration',
            name='proxy_path_prefixes',
            field=fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads),
        ),
    ]
