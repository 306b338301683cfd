"""Cursor pagination shared by every list: ``first``/``after`` over time-ordered ids."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from tortoise.queryset import QuerySet

from server.errors import ValidationFailed
from server.rows import RowReader

T = TypeVar("T")
R = TypeVar("R")

DEFAULT_PAGE_SIZE = 20
_CURSOR_PREFIX = "cursor:"


_URL_SAFE = bytes.maketrans(b"+/", b"-_")


def encode_cursor(object_id: str) -> str:
    # base64.urlsafe_b64encode, without its Python-level wrappers (one cursor per list item).
    encoded = binascii.b2a_base64((_CURSOR_PREFIX + object_id).encode(), newline=False)
    return encoded.translate(_URL_SAFE).decode().rstrip("=")


def decode_cursor(cursor: str, field: str = "after") -> str:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raw = ""
    if not raw.startswith(_CURSOR_PREFIX) or len(raw) == len(_CURSOR_PREFIX):
        raise ValidationFailed.field(field, "is not a cursor returned by this API")
    return raw[len(_CURSOR_PREFIX) :]


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    has_next_page: bool
    has_previous_page: bool

    def cursor(self, item: T) -> str:
        return encode_cursor(item.id)  # type: ignore[attr-defined]


async def paginate(
    queryset: QuerySet[T], *, first: int | None, after: str | None, max_page_size: int
) -> Page[T]:
    """One page of ``queryset`` in id order, after the cursor ``after``."""
    size = _page_size(first, max_page_size)
    if after is not None:
        queryset = queryset.filter(id__gt=decode_cursor(after))
    rows = await queryset.order_by("id").limit(size + 1)
    return Page(items=list(rows[:size]), has_next_page=len(rows) > size, has_previous_page=after is not None)


async def paginate_rows(
    reader: RowReader[R],
    where: Iterable[tuple[str, Any]],
    *,
    first: int | None,
    after: str | None,
    max_page_size: int,
) -> Page[R]:
    """``paginate`` for reads: the rows of ``reader`` matching ``where`` (see RowReader)."""
    size = _page_size(first, max_page_size)
    rows = await reader.select(
        where, after_id=None if after is None else decode_cursor(after), limit=size + 1
    )
    return Page(items=rows[:size], has_next_page=len(rows) > size, has_previous_page=after is not None)


def _page_size(first: int | None, max_page_size: int) -> int:
    size = DEFAULT_PAGE_SIZE if first is None else first
    if size < 0:
        raise ValidationFailed.field("first", "must not be negative")
    if size > max_page_size:
        raise ValidationFailed.field("first", f"must be at most {max_page_size}")
    return size
