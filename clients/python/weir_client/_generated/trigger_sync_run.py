from pydantic import Field

from .base_model import BaseModel
from .fragments import SyncRunFields


class TriggerSyncRun(BaseModel):
    trigger_sync_run: "TriggerSyncRunTriggerSyncRun" = Field(alias="triggerSyncRun")


TriggerSyncRunTriggerSyncRun = SyncRunFields
TriggerSyncRun.model_rebuild()
