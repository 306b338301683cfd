"""``UNSET``: "the client did not send this field", as opposed to ``None`` ("clear it").

One sentinel for every service that takes partial changes (``WorkspaceChanges``,
``SyncChanges``, ``IntegrationSettings``, webhook updates). The API layer translates
Strawberry's own ``strawberry.UNSET`` into it at the boundary (``server.api.unset.given``), so
no domain module depends on Strawberry.
"""

from __future__ import annotations

from typing import Any, Final


class _Unset:
    """The type of ``UNSET``: one instance (copies included), named in reprs."""

    _instance: _Unset | None = None

    def __new__(cls) -> _Unset:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNSET"

    def __copy__(self) -> _Unset:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> _Unset:
        return self


# Typed ``Any`` so a field may default to it whatever type it holds once given.
UNSET: Final[Any] = _Unset()
