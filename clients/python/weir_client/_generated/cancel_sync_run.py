from pydantic import Field

from .base_model import BaseModel
from .fragments import SyncRunFields


class CancelSyncRun(BaseModel):
    cancel_sync_run: "CancelSyncRunCancelSyncRun" = Field(alias="cancelSyncRun")


CancelSyncRunCancelSyncRun = SyncRunFields
CancelSyncRun.model_rebuild()
