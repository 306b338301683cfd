from .base_model import BaseModel
from .fragments import ConnectionFields


class GetConnection(BaseModel):
    connection: "GetConnectionConnection"


GetConnectionConnection = ConnectionFields
GetConnection.model_rebuild()
