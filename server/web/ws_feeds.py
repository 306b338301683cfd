"""Feeds: one running subscription per process for all its identical subscribers.

Subscribers of a field in ``server.api.shared.FANNED_OUT`` with the same document, operation,
variables and scope would all receive the same results after their first (the snapshot), so the
process runs that subscription once, as a ``Feed``, and writes each of its results to every
member: encoded once, framed by concatenating each member's operation id, written straight to
each socket. A member holds no task or queue of its own once it is live.

The snapshot stays each subscriber's own. Members that join before the feed's first result take
that result (the feed subscribed to its events before reading it, as each subscriber used to).
A member that joins later runs the operation itself up to its first result, holding the feed's
results meanwhile, then sends its snapshot, what it held, and closes its own run. A first result
that is not clean data (an error, a refusal) is never shared: that subscriber, or every member
of a feed whose own first result was not clean, runs the whole operation alone, exactly as any
other operation does.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import TYPE_CHECKING, Any

from strawberry.types.execution import ExecutionResult, PreExecutionError
from strawberry.utils.aio import aclosing

from server.api.context import Context
from server.api.loaders import Loaders
from server.web.ws_server import text_frame

if TYPE_CHECKING:
    from server.web.ws_protocol import Operation

log = logging.getLogger("weir.graphql.feeds")

STARTING, SNAPSHOT, LIVE = "starting", "snapshot", "live"
_COMPLETE = None  # in a member's held results: the feed has ended


def encode_result(result: ExecutionResult) -> str:
    """The ``payload`` of a ``next`` message, as JSON text."""
    payload: dict[str, Any] = {"data": result.data}
    if result.errors:
        payload["errors"] = [error.formatted for error in result.errors]
    if result.extensions:
        payload["extensions"] = result.extensions
    return json.dumps(payload, separators=(",", ":"))


def is_clean(result: Any) -> bool:
    return (
        isinstance(result, ExecutionResult)
        and not isinstance(result, PreExecutionError)
        and not result.errors
    )


class Feed:
    def __init__(self, feeds: Feeds, key: tuple[Any, ...], operation: Operation, context: Context) -> None:
        self.feeds, self.key = feeds, key
        self.query, self.variables = operation.query, operation.variables
        self.operation_name = operation.operation_name
        self.context = context
        self.members: dict[Operation, None] = {}  # insertion-ordered
        self.live = False
        self.task = asyncio.create_task(self._run(), name="weir-feed")
        self.task.add_done_callback(_retrieve)

    def join(self, operation: Operation) -> None:
        operation.feed = self
        self.members[operation] = None
        if self.live:
            operation.state, operation.held = SNAPSHOT, []
            operation.task = asyncio.create_task(operation.connection.run(operation))
        else:
            operation.state = STARTING

    def leave(self, operation: Operation) -> None:
        self.members.pop(operation, None)
        operation.feed = None
        if not self.members:
            self.feeds.forget(self)
            self.task.cancel()

    async def _run(self) -> None:
        try:
            stream = await self.feeds.schema.stream(
                self.query,
                variable_values=self.variables,
                context_value=self.context,
                operation_name=self.operation_name,
            )
            async with aclosing(stream):
                async for result in stream:
                    if self.live:
                        if not self._fan_out(result):
                            return
                    elif not self._first(result):
                        return
            self.feeds.forget(self)
            for member in list(self.members):
                member.connection.end_fed(member)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("subscription feed failed")
            self.feeds.forget(self)
            for member in list(self.members):
                member.connection.end_fed(member)

    def _first(self, result: Any) -> bool:
        if not is_clean(result):
            # Not shareable: every member runs the operation alone, from the start.
            self.feeds.forget(self)
            for member in list(self.members):
                self.members.pop(member)
                member.feed = None
                member.connection.start_alone(member)
            return False
        self.live = True
        tail = encode_result(result) + "}"
        for member in list(self.members):
            if member.state == STARTING:
                member.state = LIVE
                member.connection.write(member.next_prefix + tail)
        return True

    def _fan_out(self, result: Any) -> bool:
        if not isinstance(result, ExecutionResult):
            return True  # incremental delivery never reaches a subscription
        tail = encode_result(result) + "}"
        # Members' messages differ only by operation id, and most clients number their
        # operations alike: one frame per distinct id.
        messages: dict[str, tuple[str, bytes]] = {}
        for member in list(self.members):
            prefix = member.next_prefix
            message = messages.get(prefix)
            if message is None:
                text = prefix + tail
                message = messages[prefix] = (text, text_frame(text.encode()))
            if member.state == LIVE:
                member.connection.write(*message)
            else:
                member.held.append(message[0])
        return bool(self.members)


class Feeds:
    """The feeds of one endpoint, by document, operation, variables and scope."""

    def __init__(self, schema: Any) -> None:
        self.schema = schema
        self._feeds: dict[tuple[Any, ...], Feed] = {}

    def join(self, operation: Operation, context: Context) -> None:
        key = (
            operation.query,
            operation.operation_name,
            json.dumps(operation.variables, sort_keys=True),
            context.scope,
        )
        feed = self._feeds.get(key)
        if feed is None:
            # The feed outlives the connection that started it: it gets a context of its own,
            # with the same scope.
            own = Context(
                services=context.services,
                scope=context.scope,
                request_id=context.request_id,
                loaders=Loaders(context.scope),
            )
            feed = self._feeds[key] = Feed(self, key, operation, own)
        feed.join(operation)

    def forget(self, feed: Feed) -> None:
        if self._feeds.get(feed.key) is feed:
            del self._feeds[feed.key]

    def __len__(self) -> int:
        return len(self._feeds)


def _retrieve(task: asyncio.Task[Any]) -> None:
    if not task.cancelled():
        task.exception()
