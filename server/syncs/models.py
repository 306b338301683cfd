"""ELT syncs, the streams they copy, and each execution of one."""

from __future__ import annotations

from tortoise import fields

from server.models import Created, OrganizationOwned, Timestamped


class EltSync(OrganizationOwned, Timestamped):
    id = fields.CharField(max_length=32, primary_key=True)
    workspace = fields.ForeignKeyField(
        "weir.Workspace", related_name="elt_syncs", null=True, on_delete=fields.CASCADE
    )
    connection = fields.ForeignKeyField("weir.Connection", related_name="elt_syncs", on_delete=fields.CASCADE)
    destination_schema = fields.CharField(max_length=63)
    # The physical schema on the deployment's shared warehouse (server.syncs.namespaces):
    # ``<workspace or organization id>__<destination_schema>``, or the literal name for syncs
    # created before namespaces (migration 0004), which keep the tables they had.
    warehouse_schema = fields.CharField(max_length=63, null=True)
    settings = fields.JSONField(default=dict)
    sync_interval = fields.CharField(max_length=120)
    timezone = fields.CharField(max_length=64, default="UTC")
    schema_change_policy = fields.CharField(max_length=16, default="ALLOW_ALL")
    enabled = fields.BooleanField(default=False)
    next_run_at = fields.DatetimeField(null=True)
    # Rows deleted at the source (issue #17): OFF | MARKERS (the provider's delete markers) |
    # RECONCILE (markers, plus a primary-key reconciliation pass on ``reconcile_interval``).
    delete_detection = fields.CharField(max_length=16, default="OFF", db_default="OFF")
    reconcile_interval = fields.CharField(max_length=120, null=True)
    next_reconcile_at = fields.DatetimeField(null=True)

    class Meta:
        table = "elt_syncs"
        indexes = (("enabled", "next_run_at"), ("organization_id", "workspace_id"))


class SourceStream(Created):
    id = fields.CharField(max_length=32, primary_key=True)
    sync = fields.ForeignKeyField("weir.EltSync", related_name="streams", on_delete=fields.CASCADE)
    name = fields.CharField(max_length=128)
    sync_mode = fields.CharField(max_length=16)
    state = fields.JSONField(null=True)
    excluded_columns = fields.JSONField(default=list)
    hashed_columns = fields.JSONField(default=list)

    class Meta:
        table = "source_streams"
        unique_together = (("sync", "name"),)


class SyncRun(OrganizationOwned):
    id = fields.CharField(max_length=32, primary_key=True)
    sync = fields.ForeignKeyField("weir.EltSync", related_name="runs", on_delete=fields.CASCADE)
    sync_id: str  # the foreign key's column (typed for mypy only)
    trigger = fields.CharField(max_length=16)
    status = fields.CharField(max_length=16, default="QUEUED")
    full_refresh = fields.BooleanField(default=False)
    attempt = fields.IntField(default=1)
    stream_stats = fields.JSONField(default=dict)
    error = fields.TextField(null=True)
    cancel_requested = fields.BooleanField(default=False)
    heartbeat_at = fields.DatetimeField(null=True)
    queued_at = fields.DatetimeField(auto_now_add=True)
    started_at = fields.DatetimeField(null=True)
    finished_at = fields.DatetimeField(null=True)
    # When the run was seen making no progress for too long (a stuck run), else None.
    stuck_at = fields.DatetimeField(null=True)

    class Meta:
        table = "sync_runs"
        indexes = (
            ("sync_id", "status"),
            ("status", "heartbeat_at"),
            ("sync_id", "queued_at"),
            ("organization_id", "queued_at"),
        )
