# MCP servers and their tokens (issue 20).
from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('weir', '0009_fleet_counters')]

    initial = False

    operations = [
        ops.CreateModel(
            name='McpServer',
            fields=[
                ('organization', fields.ForeignKeyField('weir.Organization', source_field='organization_id', db_constraint=True, to_field='id', related_name='mcp_servers', on_delete=OnDelete.CASCADE)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('id', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=32)),
                ('workspace_id', fields.CharField(max_length=32)),
                ('name', fields.CharField(max_length=200)),
                ('integrations', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('actions', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('read_only', fields.BooleanField(default=False)),
            ],
            options={'table': 'mcp_servers', 'app': 'weir', 'indexes': [Index(fields=['organization_id', 'workspace_id'])], 'pk_attr': 'id', 'table_description': 'What one MCP endpoint exposes: ``integrations`` (names), optionally narrowed to'},
            bases=['OrganizationOwned', 'Timestamped'],
        ),
        ops.CreateModel(
            name='McpToken',
            fields=[
                ('organization', fields.ForeignKeyField('weir.Organization', source_field='organization_id', db_constraint=True, to_field='id', related_name='mcp_tokens', on_delete=OnDelete.CASCADE)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('id', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=32)),
                ('mcp_server_id', fields.CharField(max_length=32)),
                ('workspace_id', fields.CharField(max_length=32)),
                ('end_user_id', fields.CharField(null=True, max_length=32)),
                ('name', fields.CharField(max_length=200)),
                ('prefix', fields.CharField(max_length=16)),
                ('secret_hash', fields.CharField(unique=True, max_length=64)),
                ('expires_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('revoked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'mcp_tokens', 'app': 'weir', 'indexes': [Index(fields=['organization_id', 'mcp_server_id'])], 'pk_attr': 'id', 'table_description': 'A bearer token for one MCP server, for one end user (or the workspace when none).'},
            bases=['OrganizationOwned', 'Created'],
        ),
    ]
