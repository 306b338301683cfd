from pydantic import Field

from .base_model import BaseModel


class DeleteEltSync(BaseModel):
    delete_elt_sync: "DeleteEltSyncDeleteEltSync" = Field(alias="deleteEltSync")


class DeleteEltSyncDeleteEltSync(BaseModel):
    deleted_id: str = Field(alias="deletedId")


DeleteEltSync.model_rebuild()
