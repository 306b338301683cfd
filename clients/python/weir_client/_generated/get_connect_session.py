from pydantic import Field

from .base_model import BaseModel
from .fragments import ConnectSessionFields


class GetConnectSession(BaseModel):
    connect_session: "GetConnectSessionConnectSession" = Field(alias="connectSession")


GetConnectSessionConnectSession = ConnectSessionFields
GetConnectSession.model_rebuild()
