from pydantic import Field

from .base_model import BaseModel
from .fragments import SyncRunFields


class GetSyncRun(BaseModel):
    sync_run: "GetSyncRunSyncRun" = Field(alias="syncRun")


GetSyncRunSyncRun = SyncRunFields
GetSyncRun.model_rebuild()
