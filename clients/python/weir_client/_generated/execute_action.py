from typing import Any, Optional

from pydantic import Field

from .base_model import BaseModel
from .enums import ResolutionSource


class ExecuteAction(BaseModel):
    execute_action: "ExecuteActionExecuteAction" = Field(alias="executeAction")


class ExecuteActionExecuteAction(BaseModel):
    output: Optional[Any]
    connection_id: Optional[str] = Field(alias="connectionId")
    resolved_by: Optional[ResolutionSource] = Field(alias="resolvedBy")
    replayed: bool
    duration_ms: int = Field(alias="durationMs")


ExecuteAction.model_rebuild()
