"""``EventExecutor``: every execution, and each event of a subscription, has a context of its
own.

A context can live longer than one execution: a WebSocket keeps one for all the operations of
the socket, a subscription (or a shared feed) one for all its events. Its DataLoaders cache what
they read, so had they been shared, a second query on a socket would repeat the first one's
answers, and the sync of a subscription's tenth event would still show the source streams read
for the first. So the executor built for an operation, and the copy graphql-core makes of it for
each subscription event (``build_per_event_executor``), take a copy of the context with fresh
loaders: nothing a loader read outlives the execution it was read for.
"""

from __future__ import annotations

from typing import Any

from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext


def _own(context: Any) -> Any:
    for_execution = getattr(context, "for_execution", None)
    return context if for_execution is None else for_execution()


class EventExecutor(StrawberryGraphQLCoreExecutionContext):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.context_value = _own(self.context_value)

    def build_per_event_executor(self, payload: Any) -> Any:
        executor = super().build_per_event_executor(payload)
        executor.context_value = _own(executor.context_value)
        return executor
