from pydantic import Field

from .base_model import BaseModel
from .fragments import ConnectionFields, PageInfoFields


class ListConnections(BaseModel):
    connections: "ListConnectionsConnections"


class ListConnectionsConnections(BaseModel):
    edges: list["ListConnectionsConnectionsEdges"]
    page_info: "ListConnectionsConnectionsPageInfo" = Field(alias="pageInfo")


class ListConnectionsConnectionsEdges(BaseModel):
    node: "ListConnectionsConnectionsEdgesNode"


ListConnectionsConnectionsEdgesNode = ConnectionFields
ListConnectionsConnectionsPageInfo = PageInfoFields
ListConnections.model_rebuild()
ListConnectionsConnections.model_rebuild()
ListConnectionsConnectionsEdges.model_rebuild()
