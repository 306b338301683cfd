"""``EventExecutor``: each subscription event runs with a context of its own.

A subscription's context lives as long as the subscription (or a socket, or a shared feed), but
its DataLoaders cache what they read: had every event used them, the sync of the tenth event
would still show the source streams read for the first. graphql-core copies the executor for
each event (``build_per_event_executor``); here the copy also gets a copy of the context with
fresh loaders, so one execution is one event and nothing read for an event outlives it.
"""

from __future__ import annotations

from typing import Any

from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext


class EventExecutor(StrawberryGraphQLCoreExecutionContext):
    def build_per_event_executor(self, payload: Any) -> Any:
        executor = super().build_per_event_executor(payload)
        for_event = getattr(executor.context_value, "for_event", None)
        if for_event is not None:
            executor.context_value = for_event()
        return executor
