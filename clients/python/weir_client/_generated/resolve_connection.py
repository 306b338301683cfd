from pydantic import Field

from .base_model import BaseModel
from .enums import ResolutionSource
from .fragments import ConnectionFields


class ResolveConnection(BaseModel):
    resolve_connection: "ResolveConnectionResolveConnection" = Field(
        alias="resolveConnection"
    )


class ResolveConnectionResolveConnection(BaseModel):
    resolved_by: ResolutionSource = Field(alias="resolvedBy")
    connection: "ResolveConnectionResolveConnectionConnection"


ResolveConnectionResolveConnectionConnection = ConnectionFields
ResolveConnection.model_rebuild()
ResolveConnectionResolveConnection.model_rebuild()
