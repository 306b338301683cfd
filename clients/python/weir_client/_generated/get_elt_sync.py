from pydantic import Field

from .base_model import BaseModel
from .fragments import EltSyncFields


class GetEltSync(BaseModel):
    elt_sync: "GetEltSyncEltSync" = Field(alias="eltSync")


GetEltSyncEltSync = EltSyncFields
GetEltSync.model_rebuild()
