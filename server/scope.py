"""Who is asking: the organization every lookup is filtered by, and an optional workspace."""

from __future__ import annotations

from dataclasses import dataclass

from server.errors import Forbidden, NotFound
from server.revocations import API_KEY, credential


@dataclass(frozen=True)
class Scope:
    organization_id: str
    workspace_id: str | None = None  # set when the API key is restricted to one workspace
    api_key_id: str | None = None

    def check_workspace(self, workspace_id: str) -> None:
        """A workspace-restricted key sees other workspaces as absent, like other tenants."""
        if self.workspace_id is not None and workspace_id != self.workspace_id:
            raise NotFound("workspace", workspace_id)

    def credentials(self) -> frozenset[str]:
        """The credentials this scope rests on: revoking any of them ends it (see
        server.revocations)."""
        return frozenset({credential(API_KEY, self.api_key_id)} if self.api_key_id else ())

    def require_unrestricted(self, action: str) -> None:
        if self.workspace_id is not None:
            raise Forbidden(f"an API key restricted to one workspace cannot {action}")

    def filters(self, workspace_field: str = "workspace_id") -> dict[str, str]:
        """Keyword filters for a queryset of objects owned by a workspace."""
        found = {"organization_id": self.organization_id}
        if self.workspace_id is not None:
            found[workspace_field] = self.workspace_id
        return found
