"""Relay-style connections (``edges { cursor node }``, ``pageInfo``) shared by every list."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

import strawberry

from server.pagination import Page

Node = TypeVar("Node")
Item = TypeVar("Item")


@strawberry.type(description="Where a page of results starts and ends, and whether more exist.")
class PageInfo:
    has_next_page: bool = strawberry.field(description="True when `after: endCursor` has more.")
    has_previous_page: bool = strawberry.field(description="True when this page began after a cursor.")
    start_cursor: str | None = strawberry.field(description="Cursor of the first edge.")
    end_cursor: str | None = strawberry.field(
        description="Cursor of the last edge; pass it as `after` for the next page."
    )


@strawberry.type(description="One item of a page, with the cursor that points at it.")
class Edge(Generic[Node]):
    cursor: str = strawberry.field(description="Opaque position of this item in the list.")
    node: Node = strawberry.field(description="The item.")


@strawberry.type(description="A page of a list; page forward with `first` and `after`.")
class Connection(Generic[Node]):
    edges: list[Edge[Node]] = strawberry.field(description="The items of this page.")
    page_info: PageInfo = strawberry.field(description="Cursors and whether more pages exist.")


def to_connection(page: Page[Item], convert: Callable[[Item], Node]) -> Connection[Node]:
    edges = [Edge(cursor=page.cursor(item), node=convert(item)) for item in page.items]
    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=page.has_next_page,
            has_previous_page=page.has_previous_page,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
    )
