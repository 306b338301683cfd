from pydantic import Field

from .base_model import BaseModel
from .fragments import EltSyncFields, PageInfoFields


class ListEltSyncs(BaseModel):
    elt_syncs: "ListEltSyncsEltSyncs" = Field(alias="eltSyncs")


class ListEltSyncsEltSyncs(BaseModel):
    edges: list["ListEltSyncsEltSyncsEdges"]
    page_info: "ListEltSyncsEltSyncsPageInfo" = Field(alias="pageInfo")


class ListEltSyncsEltSyncsEdges(BaseModel):
    node: "ListEltSyncsEltSyncsEdgesNode"


ListEltSyncsEltSyncsEdgesNode = EltSyncFields
ListEltSyncsEltSyncsPageInfo = PageInfoFields
ListEltSyncs.model_rebuild()
ListEltSyncsEltSyncs.model_rebuild()
ListEltSyncsEltSyncsEdges.model_rebuild()
