"""``FastExecutor``: Strawberry's executor with the compiled fast path in front of it."""

from __future__ import annotations

import asyncio
import inspect
from types import CoroutineType
from typing import Any

from graphql import OperationType
from graphql.pyutils import Path
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from server.api.execution.planning import plan_for
from server.api.execution.running import Field, Run, complete_later, run_fields
from server.api.shared import shared_event_result

_ABANDONED = object()


# Classes of Strawberry objects found not awaitable: no instance of one ever is, so the
# check, made for every object a resolver or attribute returns, is one set lookup.
_SYNC_TYPES: set[type] = set()


class FastExecutor(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's executor, with a compiled fast path for queries."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        check = self.is_awaitable

        def is_awaitable(value: Any) -> bool:
            kind = type(value)
            if kind in _SYNC_TYPES:
                return False
            if check(value):
                return True
            if hasattr(kind, "__strawberry_definition__"):
                _SYNC_TYPES.add(kind)
            return False

        self.is_awaitable = is_awaitable  # type: ignore[method-assign]

    def execute_operation(self, serially: bool | None = None) -> Any:
        if serially is False and self.operation.operation is OperationType.SUBSCRIPTION:
            # One subscription event: run once for all the process's identical subscribers.
            return shared_event_result(self, self.execute_with_graphql_core)
        fields = self._fast_plan() if serially is None else None
        if fields is None:
            return self.execute_with_graphql_core(serially)
        self._started: list[Any] = []
        try:
            data = run_fields(self, fields, self.root_value, None)
        except Exception:
            data = _ABANDONED
        # Outside the except block, so graphql-core's own errors do not carry ours as context.
        if data is _ABANDONED:
            self._discard_started()
            return self.execute_with_graphql_core()
        if type(data) is CoroutineType:
            return self._finish_later(data)
        return self.finish(self.build_response(data))

    async def _finish_later(self, pending: Any) -> Any:
        try:
            data = await pending
        except Exception:
            data = _ABANDONED
        if data is _ABANDONED:
            self._discard_started()
            result = self.execute_with_graphql_core()
            return await result if self.is_awaitable(result) else result
        return self.build_response(data)

    def execute_with_graphql_core(self, serially: bool | None = None) -> Any:
        """graphql-core's own execution: for what the fast path does not compile, and for
        any operation it abandoned."""
        return super().execute_operation(serially)

    def later(self, coroutine: Any) -> Any:
        self._started.append(coroutine)
        return coroutine

    def await_and_complete(self, awaitable: Any, complete: Run, path: Path | None) -> Any:
        self._started.append(awaitable)
        return self.later(complete_later(self, awaitable, complete, path))

    def _discard_started(self) -> None:
        """Close coroutines the abandoned run created but never awaited (so no 'never awaited'
        warning), and retrieve the outcome of futures it left (a DataLoader's future stays
        untouched: the fallback run reads the same cached result)."""
        for awaitable in self._started:
            if type(awaitable) is CoroutineType:
                if inspect.getcoroutinestate(awaitable) == inspect.CORO_CREATED:
                    awaitable.close()
            elif isinstance(awaitable, asyncio.Future):
                awaitable.add_done_callback(_retrieve)
        self._started = []

    def _fast_plan(self) -> tuple[Field, ...] | None:
        if (
            self.operation.operation is not OperationType.QUERY
            or self.abort_signal is not None
            or self.hooks is not None
            or not self.error_propagation
            or (self.middleware_manager is not None
                and self.middleware_manager._middleware_resolvers)
        ):
            return None
        return plan_for(self)


def _retrieve(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()

