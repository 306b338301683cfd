"""What the read paths of this domain return (see server/rows.py): the models' fields, no model."""

from __future__ import annotations

from typing import TYPE_CHECKING

from server.orgs.models import ApiKey, EndUser, Workspace
from server.rows import RowReader

workspaces: RowReader[WorkspaceRow] = RowReader(Workspace)
end_users: RowReader[EndUserRow] = RowReader(EndUser)
# No read shows a key's secret hash.
api_keys: RowReader[ApiKeyRow] = RowReader(ApiKey, leave_out={"secret_hash"})

if TYPE_CHECKING:
    # To a type checker a row is its model: the same attributes by the same names (an API key
    # row lacks ``secret_hash``, which the read paths never touch).
    WorkspaceRow = Workspace
    EndUserRow = EndUser
    ApiKeyRow = ApiKey
else:
    WorkspaceRow = workspaces.row_type
    EndUserRow = end_users.row_type
    ApiKeyRow = api_keys.row_type
