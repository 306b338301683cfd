"""A compiled executor for read queries: graphql-core's results at a fraction of its cost.

graphql-core resolves every field generically: it looks the field up, builds a resolve info,
calls the resolver and dispatches on the return type, for each of the ~900 fields of a page of
100 end users. For a QUERY, ``FastExecutor`` plans the operation once (per schema, operation and
values of the variables its ``@skip``/``@include`` read) with graphql-core's own field
collection, so fragments, aliases and merging come out the same. Executing a plan then does only
what differs per value: read the attribute of a plain Strawberry field, call the resolver (with
the very info object graphql-core would build) of any other field, coerce leaves, and await
sibling awaitables together so DataLoaders still batch.

It never reports an error itself. Whenever it meets anything it cannot guarantee to handle
exactly like graphql-core (an exception from a resolver, a null for a non-null field, an
abstract type, introspection, middleware, @defer...), it abandons, and the operation runs again
through graphql-core's executor. That is safe because queries have no side effects, and it keeps
errors, null propagation and their formatting exactly graphql-core's. Schema extensions (error
formatting, metrics) wrap execution from outside and see no difference.
"""

from __future__ import annotations

import asyncio
import inspect
from collections import OrderedDict
from collections.abc import Callable
from types import CoroutineType
from typing import Any

from graphql import (
    GraphQLBoolean,
    GraphQLField,
    GraphQLID,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLString,
    OperationType,
    Undefined,
    is_leaf_type,
    visit,
)
from graphql.execution.collect_fields import collect_fields, collect_subfields
from graphql.execution.values import get_argument_values
from graphql.language import DirectiveNode, Visitor
from graphql.pyutils import Path
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.types.field import StrawberryField

# Runs a planned field or value: (executor, source or value, path) -> result or our coroutine.
Run = Callable[["FastExecutor", Any, Path | None], Any]

_PLAN_CACHE_SIZE = 512
_plans: OrderedDict[tuple[int, int], _OperationPlans] = OrderedDict()
_ABANDONED = object()


class _Abandon(Exception):
    """The fast path cannot guarantee graphql-core's result; run graphql-core instead."""


class _Unsupported(Exception):
    """The operation uses something the planner does not compile."""


class _Value:
    """How to complete a value of one output type: ``run``; whether any resolver below it
    needs a response path (without one, paths are never built); for a leaf, the one Python
    type its coercion returns unchanged, if any."""

    __slots__ = ("needs_path", "run", "unchanged")

    def __init__(self, run: Run, needs_path: bool, unchanged: type | None = None) -> None:
        self.run, self.needs_path, self.unchanged = run, needs_path, unchanged


# A planned field: its response key and how to run it on a source object.
_Field = tuple[str, Run]


class _OperationPlans:
    """The plans of one operation, one per combination of its directive variables' values."""

    __slots__ = ("by_values", "operation", "schema", "variables")

    def __init__(self, schema: Any, operation: Any, variables: tuple[str, ...]) -> None:
        self.schema, self.operation, self.variables = schema, operation, variables
        self.by_values: dict[tuple[Any, ...], tuple[_Field, ...] | None] = {}


class FastExecutor(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's executor, with a compiled fast path for queries."""

    def execute_operation(self, serially: bool | None = None) -> Any:
        fields = self._fast_plan() if serially is None else None
        if fields is None:
            return self.execute_with_graphql_core(serially)
        self._started: list[Any] = []
        try:
            data = _run_fields(self, fields, self.root_value, None)
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

    def _later(self, coroutine: Any) -> Any:
        self._started.append(coroutine)
        return coroutine

    def _complete_later(self, awaitable: Any, complete: Run, path: Path | None) -> Any:
        self._started.append(awaitable)
        return self._later(_complete_later(self, awaitable, complete, path))

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

    def _fast_plan(self) -> tuple[_Field, ...] | None:
        if (
            self.operation.operation is not OperationType.QUERY
            or self.abort_signal is not None
            or self.hooks is not None
            or not self.error_propagation
            or (self.middleware_manager is not None
                and self.middleware_manager._middleware_resolvers)
        ):
            return None
        return _plan_for(self)


def _retrieve(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()


# -- planning -------------------------------------------------------------------------------


def _plan_for(executor: FastExecutor) -> tuple[_Field, ...] | None:
    schema, operation = executor.schema, executor.operation
    key = (id(schema), id(operation))
    plans = _plans.get(key)
    if plans is None or plans.schema is not schema or plans.operation is not operation:
        plans = _OperationPlans(schema, operation, _directive_variables(executor))
        _plans[key] = plans
        if len(_plans) > _PLAN_CACHE_SIZE:
            _plans.popitem(last=False)
    else:
        _plans.move_to_end(key)
    coerced = executor.variable_values.coerced
    values = tuple(coerced.get(name, Undefined) for name in plans.variables)
    if values in plans.by_values:
        return plans.by_values[values]
    try:
        fields: tuple[_Field, ...] | None = _plan_operation(executor)
    except (_Unsupported, RecursionError):
        fields = None  # remembered too: the next request goes straight to graphql-core
    plans.by_values[values] = fields
    return fields


def _directive_variables(executor: FastExecutor) -> tuple[str, ...]:
    """Names of the variables read by directives of the operation or its fragments: field
    collection (``@skip``/``@include``) depends on their values, and only on theirs."""
    names: set[str] = set()

    class Collect(Visitor):
        def enter_directive(self, node: DirectiveNode, *_: Any) -> None:
            for argument in node.arguments or ():
                visit(argument, Variables())

    class Variables(Visitor):
        def enter_variable(self, node: Any, *_: Any) -> None:
            names.add(node.name.value)

    visit(executor.operation, Collect())
    for fragment in executor.fragment_definitions.values():
        visit(fragment, Collect())
    return tuple(sorted(names))


def _plan_operation(executor: FastExecutor) -> tuple[_Field, ...]:
    root_type = executor.schema.get_root_type(OperationType.QUERY)
    if root_type is None:
        raise _Unsupported("no query type")
    collected = collect_fields(
        executor.schema, executor.fragments, executor.variable_values, root_type,
        executor.operation, executor.hide_suggestions,
    )
    fields, _ = _plan_fields(executor, root_type, collected.grouped_field_set)
    return fields


def _plan_fields(
    executor: FastExecutor, parent_type: GraphQLObjectType, grouped: Any
) -> tuple[tuple[_Field, ...], bool]:
    fields, needs_path = [], False
    for key, details_list in grouped.items():
        if any(d.defer_usage is not None or d.fragment_variable_values is not None
               for d in details_list):
            raise _Unsupported("@defer or fragment arguments")
        name = details_list[0].node.name.value
        if name == "__typename":
            fields.append((key, _constant(parent_type.name)))
            continue
        if name.startswith("__"):
            raise _Unsupported("introspection")
        field_def = executor.schema.get_field(parent_type, name)
        if field_def is None or field_def.resolve is None:
            raise _Unsupported(f"field {name}")
        value = _plan_value(executor, field_def.type, details_list)
        attribute = _plain_attribute(field_def)
        if attribute is not None:
            fields.append((key, _attribute_field(key, attribute, parent_type.name, value)))
            needs_path = needs_path or value.needs_path
        else:
            fields.append((key, _resolver_field(key, field_def, details_list, parent_type,
                                                value)))
            needs_path = True
    return tuple(fields), needs_path


def _plain_attribute(field_def: GraphQLField) -> str | None:
    """The attribute a field reads, when graphql-core would only call Strawberry's resolver
    for a basic field (no resolver, extension, permission or argument) reading it with
    ``getattr``; otherwise ``None`` and the resolver is called."""
    field = (field_def.extensions or {}).get("strawberry-definition")
    if (
        isinstance(field, StrawberryField)
        and getattr(field_def.resolve, "__name__", None) == "_get_basic_result"
        and field.is_basic_field
        and field.default_resolver is getattr
        and type(field).get_result is StrawberryField.get_result
        and not field_def.args
    ):
        return field.python_name
    return None


def _plan_value(executor: FastExecutor, type_: Any, details_list: Any) -> _Value:
    nullable = not isinstance(type_, GraphQLNonNull)
    if not nullable:
        type_ = type_.of_type
    if isinstance(type_, GraphQLList):
        item = _plan_value(executor, type_.of_type, details_list)
        return _Value(_list_value(item, nullable), item.needs_path)
    if is_leaf_type(type_):
        # Coercion returns these unchanged (graphql-core's String and ID: a str, Boolean: a
        # bool); checked by exact type, so subclasses still go through coercion.
        unchanged = str if type_ is GraphQLString or type_ is GraphQLID else (
            bool if type_ is GraphQLBoolean else None
        )
        return _Value(_leaf_value(type_, nullable, unchanged), False, unchanged)
    if isinstance(type_, GraphQLObjectType) and type_.is_type_of is None:
        collected = collect_subfields(
            executor.schema, executor.fragments, executor.variable_values, executor.operation,
            type_, details_list, executor.hide_suggestions,
        )
        fields, needs_path = _plan_fields(executor, type_, collected.grouped_field_set)
        return _Value(_object_value(fields, nullable), needs_path)
    raise _Unsupported(f"type {type_}")


# -- running --------------------------------------------------------------------------------


def _constant(value: Any) -> Run:
    def run(executor: FastExecutor, source: Any, path: Path | None) -> Any:
        return value

    return run


def _attribute_field(key: str, attribute: str, parent_name: str, value: _Value) -> Run:
    complete, needs_path, unchanged = value.run, value.needs_path, value.unchanged
    if unchanged is not None:
        # The most common field of all: a str or bool attribute, returned as it is.
        def run_leaf(executor: FastExecutor, source: Any, path: Path | None) -> Any:
            result = getattr(source, attribute)
            if type(result) is unchanged:
                return result
            if executor.is_awaitable(result):
                return executor._complete_later(result, complete, None)
            return complete(executor, result, None)

        return run_leaf

    def run(executor: FastExecutor, source: Any, path: Path | None) -> Any:
        result = getattr(source, attribute)
        field_path = Path(path, key, parent_name) if needs_path else None
        if executor.is_awaitable(result):
            return executor._complete_later(result, complete, field_path)
        return complete(executor, result, field_path)

    return run


def _resolver_field(
    key: str, field_def: GraphQLField, details_list: Any, parent_type: GraphQLObjectType,
    value: _Value,
) -> Run:
    complete, resolve = value.run, field_def.resolve
    nodes = [details.node for details in details_list]
    first = nodes[0]
    has_arguments = bool(field_def.args or first.arguments)
    parent_name = parent_type.name

    def run(executor: FastExecutor, source: Any, path: Path | None) -> Any:
        field_path = Path(path, key, parent_name)
        info = executor.build_resolve_info(field_def, nodes, parent_type, field_path)
        arguments = get_argument_values(
            field_def, first, executor.variable_values, None, executor.hide_suggestions
        ) if has_arguments else {}
        result = resolve(source, info, **arguments)  # type: ignore[misc]
        if executor.is_awaitable(result):
            return executor._complete_later(result, complete, field_path)
        return complete(executor, result, field_path)

    return run


async def _complete_later(
    executor: FastExecutor, awaitable: Any, complete: Run, path: Path | None
) -> Any:
    completed = complete(executor, await awaitable, path)
    if type(completed) is CoroutineType:
        completed = await completed
    return completed


def _run_fields(
    executor: FastExecutor, fields: tuple[_Field, ...], source: Any, path: Path | None
) -> Any:
    data: dict[str, Any] = {}
    pending: list[str] | None = None
    for key, run in fields:
        result = data[key] = run(executor, source, path)
        if type(result) is CoroutineType:
            if pending is None:
                pending = [key]
            else:
                pending.append(key)
    if pending is None:
        return data
    return executor._later(_gather_fields(data, pending))


async def _gather_fields(data: dict[str, Any], keys: list[str]) -> dict[str, Any]:
    if len(keys) == 1:
        data[keys[0]] = await data[keys[0]]
        return data
    for key, result in zip(keys, await _gather([data[key] for key in keys]), strict=True):
        data[key] = result
    return data


async def _gather(awaitables: list[Any]) -> list[Any]:
    # Every result is waited for before giving up, so no task is left running behind the
    # fallback run.
    results = await asyncio.gather(*awaitables, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise _Abandon() from result
    return results


def _leaf_value(type_: Any, nullable: bool, unchanged: type | None) -> Run:
    coerce = type_.coerce_output_value

    def run(executor: FastExecutor, value: Any, path: Path | None) -> Any:
        if type(value) is unchanged:
            return value
        if value is None or value is Undefined:
            if nullable:
                return None
            raise _Abandon()
        if isinstance(value, Exception):
            raise _Abandon()
        coerced = coerce(value)
        if coerced is None or coerced is Undefined:
            raise _Abandon()
        return coerced

    return run


def _object_value(fields: tuple[_Field, ...], nullable: bool) -> Run:
    def run(executor: FastExecutor, value: Any, path: Path | None) -> Any:
        if value is None or value is Undefined:
            if nullable:
                return None
            raise _Abandon()
        if isinstance(value, Exception):
            raise _Abandon()
        return _run_fields(executor, fields, value, path)

    return run


def _list_value(item: _Value, nullable: bool) -> Run:
    complete, needs_path = item.run, item.needs_path

    def run(executor: FastExecutor, value: Any, path: Path | None) -> Any:
        if value is None or value is Undefined:
            if nullable:
                return None
            raise _Abandon()
        if type(value) is not list and type(value) is not tuple:
            raise _Abandon()  # other iterables (and async ones) are left to graphql-core
        is_awaitable = executor.is_awaitable
        completed: list[Any] = []
        pending: list[int] | None = None
        for index, entry in enumerate(value):
            item_path = Path(path, index, None) if needs_path else None
            if is_awaitable(entry):
                result = executor._complete_later(entry, complete, item_path)
            else:
                result = complete(executor, entry, item_path)
            completed.append(result)
            if type(result) is CoroutineType:
                if pending is None:
                    pending = [index]
                else:
                    pending.append(index)
        if pending is None:
            return completed
        return executor._later(_gather_items(completed, pending))

    return run


async def _gather_items(completed: list[Any], indexes: list[int]) -> list[Any]:
    if len(indexes) == 1:
        completed[indexes[0]] = await completed[indexes[0]]
        return completed
    for index, result in zip(indexes, await _gather([completed[i] for i in indexes]),
                             strict=True):
        completed[index] = result
    return completed
