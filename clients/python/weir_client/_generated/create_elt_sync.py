from pydantic import Field

from .base_model import BaseModel
from .fragments import EltSyncFields


class CreateEltSync(BaseModel):
    create_elt_sync: "CreateEltSyncCreateEltSync" = Field(alias="createEltSync")


CreateEltSyncCreateEltSync = EltSyncFields
CreateEltSync.model_rebuild()
