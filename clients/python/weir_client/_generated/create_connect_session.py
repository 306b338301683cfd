from datetime import datetime

from pydantic import Field

from .base_model import BaseModel
from .fragments import ConnectSessionFields


class CreateConnectSession(BaseModel):
    create_connect_session: "CreateConnectSessionCreateConnectSession" = Field(
        alias="createConnectSession"
    )


class CreateConnectSessionCreateConnectSession(BaseModel):
    token: str
    connect_url: str = Field(alias="connectUrl")
    expires_at: datetime = Field(alias="expiresAt")
    session: "CreateConnectSessionCreateConnectSessionSession"


CreateConnectSessionCreateConnectSessionSession = ConnectSessionFields
CreateConnectSession.model_rebuild()
CreateConnectSessionCreateConnectSession.model_rebuild()
