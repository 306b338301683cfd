from pydantic import Field

from .base_model import BaseModel


class DeleteConnection(BaseModel):
    delete_connection: "DeleteConnectionDeleteConnection" = Field(
        alias="deleteConnection"
    )


class DeleteConnectionDeleteConnection(BaseModel):
    deleted_id: str = Field(alias="deletedId")


DeleteConnection.model_rebuild()
