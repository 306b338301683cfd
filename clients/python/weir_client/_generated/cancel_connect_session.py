from pydantic import Field

from .base_model import BaseModel
from .fragments import ConnectSessionFields


class CancelConnectSession(BaseModel):
    cancel_connect_session: "CancelConnectSessionCancelConnectSession" = Field(
        alias="cancelConnectSession"
    )


CancelConnectSessionCancelConnectSession = ConnectSessionFields
CancelConnectSession.model_rebuild()
