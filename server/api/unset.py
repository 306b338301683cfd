"""Strawberry's ``UNSET`` becomes Weir's (``server.unset.UNSET``) here, at the API boundary."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import strawberry

from server.unset import UNSET


def given(value: Any, convert: Callable[[Any], Any] | None = None) -> Any:
    """``UNSET`` for a field the client left out; otherwise ``value`` (through ``convert``,
    when given and the value is not null)."""
    if value is strawberry.UNSET:
        return UNSET
    return convert(value) if convert is not None and value is not None else value
