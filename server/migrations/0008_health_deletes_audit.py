from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

# Healing connections, deletes and activity (issue #17): a connection's health with its reason
# and check times, a sync's delete detection, a run's stuck mark, indexes for the latest run of
# a sync and an organization's runs by time, and the audit log. Connections already in ERROR
# need re-authorization: that is what ERROR meant until now.


class Migration(migrations.Migration):
    dependencies = [('weir', '0007_connection_use')]

    initial = False

    operations = [
        ops.CreateModel(
            name='AuditEntry',
            fields=[
                ('organization', fields.ForeignKeyField('weir.Organization', source_field='organization_id', db_constraint=True, to_field='id', related_name='audit_log', on_delete=OnDelete.CASCADE)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('id', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=32)),
                ('workspace_id', fields.CharField(null=True, max_length=32)),
                ('actor_kind', fields.CharField(max_length=16)),
                ('actor_id', fields.CharField(null=True, max_length=32)),
                ('end_user_id', fields.CharField(null=True, max_length=32)),
                ('operation', fields.CharField(max_length=100)),
                ('object_type', fields.CharField(null=True, max_length=32)),
                ('object_id', fields.CharField(null=True, max_length=64)),
                ('outcome', fields.CharField(max_length=16)),
                ('error_code', fields.CharField(null=True, max_length=64)),
            ],
            options={'table': 'audit_log', 'app': 'weir', 'indexes': [Index(fields=['organization_id', 'created_at']), Index(fields=['created_at'])], 'pk_attr': 'id'},
            bases=['OrganizationOwned', 'Created'],
        ),
        ops.AddField(
            model_name='Connection',
            name='check_failures',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='Connection',
            name='granted_scopes',
            field=fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads),
        ),
        ops.AddField(
            model_name='Connection',
            name='health',
            field=fields.CharField(default='WORKING', db_default='WORKING', max_length=32),
        ),
        ops.AddField(
            model_name='Connection',
            name='health_changed_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Connection',
            name='health_reason',
            field=fields.TextField(null=True, unique=False),
        ),
        ops.AddField(
            model_name='Connection',
            name='last_checked_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Connection',
            name='next_check_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Connection',
            name='reconnect_session_id',
            field=fields.CharField(null=True, max_length=32),
        ),
        ops.AddIndex(
            model_name='Connection',
            index=Index(fields=['next_check_at']),
        ),
        ops.AddField(
            model_name='EltSync',
            name='delete_detection',
            field=fields.CharField(default='OFF', db_default='OFF', max_length=16),
        ),
        ops.AddField(
            model_name='EltSync',
            name='next_reconcile_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='EltSync',
            name='reconcile_interval',
            field=fields.CharField(null=True, max_length=120),
        ),
        ops.AddField(
            model_name='SyncRun',
            name='stuck_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddIndex(
            model_name='SyncRun',
            index=Index(fields=['sync_id', 'queued_at']),
        ),
        ops.AddIndex(
            model_name='SyncRun',
            index=Index(fields=['organization_id', 'queued_at']),
        ),
        ops.RunSQL(
            "UPDATE connections SET health = 'NEEDS_REAUTHORIZATION', health_reason = status_reason "
            "WHERE status = 'ERROR'",
            reverse_sql="UPDATE connections SET health = 'WORKING', health_reason = NULL",
        ),
    ]
