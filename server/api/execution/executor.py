"""``FastExecutor``: Strawberry's executor with the compiled fast path in front of it."""

from __future__ import annotations

from types import CoroutineType
from typing import Any

from graphql import GraphQLError, OperationType
from graphql.pyutils import Path

from server.api.execution import fallbacks
from server.api.execution.events import EventExecutor
from server.api.execution.planning import plan_for
from server.api.execution.running import Field, Run, complete_later, run_fields
from server.api.shared import shared_event_result

# Classes of Strawberry objects found not awaitable: no instance of one ever is, so the
# check, made for every object a resolver or attribute returns, is one set lookup.
_SYNC_TYPES: set[type] = set()


class FastExecutor(EventExecutor):
    """Strawberry's executor (one context per subscription event), with a compiled fast
    path for queries."""

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
        # From here on the operation is ours to finish: resolvers may have run, so nothing
        # is handed to graphql-core any more; errors are field errors (see running.py).
        try:
            data = run_fields(self, fields, self.root_value, None)
        except GraphQLError as error:
            # A non-null root field failed: graphql-core's answer is data null.
            self.collected_errors.add(error, None)
            return self.finish(self.build_response(None))
        if type(data) is CoroutineType:
            return self._finish_later(data)
        return self.finish(self.build_response(data))

    async def _finish_later(self, pending: Any) -> Any:
        try:
            data = await pending
        except GraphQLError as error:
            self.collected_errors.add(error, None)
            return self.build_response(None)
        return self.build_response(data)

    def execute_with_graphql_core(self, serially: bool | None = None) -> Any:
        """graphql-core's own execution: for what the fast path does not compile (decided
        before any resolver runs), mutations and subscriptions."""
        return super().execute_operation(serially)

    def await_and_complete(self, awaitable: Any, complete: Run, path: Path | None) -> Any:
        return complete_later(self, awaitable, complete, path)

    def _fast_plan(self) -> tuple[Field, ...] | None:
        if self.operation.operation is not OperationType.QUERY:
            return None
        if (
            self.abort_signal is not None
            or self.hooks is not None
            or not self.error_propagation
            or (self.middleware_manager is not None and self.middleware_manager._middleware_resolvers)
        ):
            fallbacks.record(fallbacks.UNSUPPORTED)
            return None
        return plan_for(self)
