from pydantic import Field

from .base_model import BaseModel
from .fragments import PageInfoFields, SyncRunFields


class ListSyncRuns(BaseModel):
    sync_runs: "ListSyncRunsSyncRuns" = Field(alias="syncRuns")


class ListSyncRunsSyncRuns(BaseModel):
    edges: list["ListSyncRunsSyncRunsEdges"]
    page_info: "ListSyncRunsSyncRunsPageInfo" = Field(alias="pageInfo")


class ListSyncRunsSyncRunsEdges(BaseModel):
    node: "ListSyncRunsSyncRunsEdgesNode"


ListSyncRunsSyncRunsEdgesNode = SyncRunFields
ListSyncRunsSyncRunsPageInfo = PageInfoFields
ListSyncRuns.model_rebuild()
ListSyncRunsSyncRuns.model_rebuild()
ListSyncRunsSyncRunsEdges.model_rebuild()
