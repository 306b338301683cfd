"""Running a plan: each planned field or value is a closure that takes the executor, the
source object (or value) and the response path, and returns the completed result or, when
something below had to be awaited, one of our coroutines.

Errors are graphql-core's, made by graphql-core's own methods: an exception raised by a
resolver or by completing its value (a null for a non-null type, a value a scalar cannot
represent) is located at its field or list item by ``handle_field_error``, which records it and
nulls that position or, when the type is non-null, raises it to the nearest nullable position
above. Values the fast path does not complete itself (iterables other than lists and tuples)
are completed by graphql-core's ``complete_value``. Once a resolver has run, nothing is run
again: a resolver is called exactly as many times as graphql-core would call it.
"""

from __future__ import annotations

from collections.abc import Callable
from types import CoroutineType
from typing import TYPE_CHECKING, Any

from graphql import GraphQLField, GraphQLObjectType, GraphQLResolveInfo, Undefined
from graphql.execution.values import get_argument_values
from graphql.pyutils import Path, gather_with_cancel

from server.api.execution.deferred_info import deferred_info_class

if TYPE_CHECKING:
    from server.api.execution.executor import FastExecutor

# Runs a planned field or value: (executor, source or value, path) -> result or our coroutine.
Run = Callable[["FastExecutor", Any, Path | None], Any]


class FieldSite:
    """A planned field as graphql-core sees it: its definition, its field details (the nodes
    an error is located at) and its parent type, to locate errors and to build the resolve
    info graphql-core's completion takes."""

    __slots__ = ("details_list", "field_def", "nodes", "parent_name", "parent_type")

    def __init__(self, field_def: GraphQLField, details_list: Any, parent_type: GraphQLObjectType) -> None:
        self.field_def, self.details_list, self.parent_type = field_def, details_list, parent_type
        self.nodes = [details.node for details in details_list]
        self.parent_name = parent_type.name

    def info(self, executor: FastExecutor, path: Path) -> GraphQLResolveInfo:
        return executor.build_resolve_info(self.field_def, self.nodes, self.parent_type, path)

    def null_message(self) -> str:
        # graphql-core's words for a null where the schema promises a value.
        name = self.details_list[0].node.name.value
        return f"Cannot return null for non-nullable field {self.parent_name}.{name}."


class Value:
    """How to complete a value of one output type: ``run``; whether completing it reads its
    response path (objects and lists do: their fields' resolvers and errors need it; a leaf
    builds its path only if it fails); for a leaf, the one Python type its coercion returns
    unchanged, if any."""

    __slots__ = ("needs_path", "run", "unchanged")

    def __init__(self, run: Run, needs_path: bool, unchanged: type | None = None) -> None:
        self.run, self.needs_path, self.unchanged = run, needs_path, unchanged


# Completes a leaf attribute's value that is not of its ``unchanged`` type.
Finish = Callable[["FastExecutor", Any], Any]
# A planned field: its response key, how to run it on a source object, and where it is (for
# errors); for an attribute leaf (the most common field of all: a str or bool attribute,
# returned as it is) also the attribute, its unchanged type and how to finish any other value,
# so that run_fields reads it without a call. ``__typename`` has no site: it cannot fail.
Field = tuple[str, Run, str | None, type | None, Finish | None, FieldSite | None]


def generic_field(key: str, run: Run, site: FieldSite | None) -> Field:
    return (key, run, None, None, None, site)


def attribute_leaf(key: str, attribute: str, value: Value, site: FieldSite) -> Field:
    complete, unchanged = value.run, value.unchanged
    assert unchanged is not None

    def finish(executor: FastExecutor, result: Any) -> Any:
        if executor.is_awaitable(result):
            return executor.await_and_complete(result, complete, None)
        return complete(executor, result, None)

    def run_leaf(executor: FastExecutor, source: Any, path: Path | None) -> Any:
        result = getattr(source, attribute)
        return result if type(result) is unchanged else finish(executor, result)

    return (key, run_leaf, attribute, unchanged, finish, site)


def constant(value: Any) -> Run:
    def run(executor: FastExecutor, source: Any, path: Path | None) -> Any:
        return value

    return run


def attribute_field(key: str, attribute: str, parent_name: str, value: Value) -> Run:
    complete, needs_path = value.run, value.needs_path

    def run(executor: FastExecutor, source: Any, path: Path | None) -> Any:
        result = getattr(source, attribute)
        field_path = Path(path, key, parent_name) if needs_path else None
        if executor.is_awaitable(result):
            return executor.await_and_complete(result, complete, field_path)
        return complete(executor, result, field_path)

    return run


def resolver_field(
    key: str,
    field_def: GraphQLField,
    details_list: Any,
    parent_type: GraphQLObjectType,
    value: Value,
) -> Run:
    complete, resolve = value.run, field_def.resolve
    nodes = [details.node for details in details_list]
    first = nodes[0]
    has_arguments = bool(field_def.args or first.arguments)
    parent_name = parent_type.name

    def run(executor: FastExecutor, source: Any, path: Path | None) -> Any:
        field_path = Path(path, key, parent_name)
        info = executor.build_resolve_info(field_def, nodes, parent_type, field_path)
        arguments = (
            get_argument_values(field_def, first, executor.variable_values, None, executor.hide_suggestions)
            if has_arguments
            else {}
        )
        result = resolve(source, info, **arguments)  # type: ignore[misc]
        if executor.is_awaitable(result):
            return executor.await_and_complete(result, complete, field_path)
        return complete(executor, result, field_path)

    return run


class DirectCall:
    """A resolver to call directly (see planning._direct_resolver): its Strawberry field, the
    name of its info parameter (if any), the info class, and its arguments as (GraphQL name,
    Python name) pairs."""

    __slots__ = ("arguments", "field", "info_class", "info_name")

    def __init__(
        self, field: Any, info_name: str | None, info_class: type, arguments: tuple[tuple[str, str], ...]
    ) -> None:
        self.field, self.info_name, self.info_class = field, info_name, info_class
        self.arguments = arguments


def direct_field(
    key: str,
    field_def: GraphQLField,
    details_list: Any,
    parent_type: GraphQLObjectType,
    value: Value,
    call: DirectCall,
) -> Run:
    complete, needs_path = value.run, value.needs_path
    field, info_name, info_class, arguments = (call.field, call.info_name, call.info_class, call.arguments)
    resolver = field.base_resolver
    parent_name = parent_type.name
    nodes = [details.node for details in details_list]
    first = nodes[0]
    site = (field_def, nodes, parent_type)
    info_class = deferred_info_class(info_class)
    if not arguments and info_name == "info":
        # The common relation resolver, ``def relation(self, info)``: no dict of arguments.
        def run_with_info(executor: FastExecutor, source: Any, path: Path | None) -> Any:
            field_path = Path(path, key, parent_name)
            result = resolver.wrapped_func(source, info=info_class(executor, site, field_path, field))
            if executor.is_awaitable(result):
                return executor.await_and_complete(result, complete, field_path)
            return complete(executor, result, field_path)

        return run_with_info

    def run(executor: FastExecutor, source: Any, path: Path | None) -> Any:
        field_path = Path(path, key, parent_name) if needs_path or info_name else None
        kwargs: dict[str, Any] = {}
        if arguments:
            values = get_argument_values(
                field_def, first, executor.variable_values, None, executor.hide_suggestions
            )
            for name, python_name in arguments:
                if name in values:
                    kwargs[python_name] = values[name]
        if info_name is not None:
            kwargs[info_name] = info_class(executor, site, field_path, field)
        # Looked up per call, like Strawberry does, so a replaced resolver is honoured.
        result = resolver.wrapped_func(source, **kwargs)
        if executor.is_awaitable(result):
            return executor.await_and_complete(result, complete, field_path)
        return complete(executor, result, field_path)

    return run


async def complete_later(executor: FastExecutor, awaitable: Any, complete: Run, path: Path | None) -> Any:
    completed = complete(executor, await awaitable, path)
    if type(completed) is CoroutineType:
        completed = await completed
    return completed


def run_fields(executor: FastExecutor, fields: tuple[Field, ...], source: Any, path: Path | None) -> Any:
    data: dict[str, Any] = {}
    pending: list[str] | None = None
    for key, run, attribute, unchanged, finish, site in fields:
        try:
            if attribute is not None:
                result = getattr(source, attribute)
                if type(result) is not unchanged:
                    result = finish(executor, result)  # type: ignore[misc]
            else:
                result = run(executor, source, path)
        except Exception as raw_error:
            assert site is not None
            if pending is None:
                field_error(
                    executor,
                    raw_error,
                    site.field_def.type,
                    site.details_list,
                    Path(path, key, site.parent_name),
                )
            else:
                try:
                    field_error(
                        executor,
                        raw_error,
                        site.field_def.type,
                        site.details_list,
                        Path(path, key, site.parent_name),
                    )
                except Exception:
                    # Propagating: the fields already started still run to their end (as
                    # graphql-core lets them), in the background.
                    executor.settle_in_background([data[name] for name in pending])
                    raise
            result = None
        if type(result) is CoroutineType:
            assert site is not None
            result = _guarded(
                executor, result, site.field_def.type, site.details_list, path, key, site.parent_name
            )
            if pending is None:
                pending = [key]
            else:
                pending.append(key)
        data[key] = result
    if pending is None:
        return data
    return _gather_fields(data, pending)


def field_error(
    executor: FastExecutor, raw_error: Exception, return_type: Any, details_list: Any, path: Path
) -> None:
    """graphql-core's handling of an error at ``path``: recorded (the position is null) or,
    for a non-null type, raised, located, to the nearest nullable position above."""
    executor.handle_field_error(raw_error, return_type, details_list, path)


async def _guarded(
    executor: FastExecutor,
    pending: Any,
    return_type: Any,
    details_list: Any,
    parent: Path | None,
    key: str | int,
    typename: str | None,
) -> Any:
    try:
        return await pending
    except Exception as raw_error:
        field_error(executor, raw_error, return_type, details_list, Path(parent, key, typename))
        return None


async def _gather_fields(data: dict[str, Any], keys: list[str]) -> dict[str, Any]:
    if len(keys) == 1:
        data[keys[0]] = await data[keys[0]]
        return data
    # graphql-core's gather: the first error that reaches here cancels the rest.
    for key, result in zip(keys, await gather_with_cancel(*(data[key] for key in keys)), strict=True):
        data[key] = result
    return data


def leaf_value(type_: Any, nullable: bool, unchanged: type | None, site: FieldSite) -> Run:
    null_message = site.null_message()

    def run(executor: FastExecutor, value: Any, path: Path | None) -> Any:
        if type(value) is unchanged:
            return value
        if value is None or value is Undefined:
            if nullable:
                return None
            raise TypeError(null_message)
        if isinstance(value, Exception):
            raise value
        return executor.complete_leaf_value(type_, value)

    return run


def object_value(fields: tuple[Field, ...], nullable: bool, site: FieldSite) -> Run:
    null_message = site.null_message()

    def run(executor: FastExecutor, value: Any, path: Path | None) -> Any:
        if value is None or value is Undefined:
            if nullable:
                return None
            raise TypeError(null_message)
        if isinstance(value, Exception):
            raise value
        return run_fields(executor, fields, value, path)

    return run


def list_value(list_type: Any, item_type: Any, item: Value, nullable: bool, site: FieldSite) -> Run:
    """``list_type``: the list type without its non-null wrapper; ``item_type``: the type of
    its items, with theirs (an item's error propagates by it)."""
    complete, needs_path = item.run, item.needs_path
    null_message, details_list = site.null_message(), site.details_list

    def run(executor: FastExecutor, value: Any, path: Path | None) -> Any:
        assert path is not None
        if value is None or value is Undefined:
            if nullable:
                return None
            raise TypeError(null_message)
        if isinstance(value, Exception):
            raise value
        if type(value) is not list and type(value) is not tuple:
            # Other iterables (generators, async iterables) and non-iterables: graphql-core
            # completes them, with its own errors.
            completed_value = executor.complete_value(
                list_type, details_list, site.info(executor, path), path, value, None
            )
            if executor.is_awaitable(completed_value):
                return _awaited(completed_value)
            return completed_value
        is_awaitable = executor.is_awaitable
        completed: list[Any] = []
        pending: list[int] | None = None
        for index, entry in enumerate(value):
            item_path = Path(path, index, None) if needs_path else None
            try:
                if is_awaitable(entry):
                    result = executor.await_and_complete(entry, complete, item_path)
                else:
                    result = complete(executor, entry, item_path)
            except Exception as raw_error:
                try:
                    field_error(executor, raw_error, item_type, details_list, Path(path, index, None))
                except Exception:
                    if pending is not None:
                        executor.settle_in_background([completed[i] for i in pending])
                    raise
                result = None
            if type(result) is CoroutineType:
                result = _guarded(executor, result, item_type, details_list, path, index, None)
                if pending is None:
                    pending = [index]
                else:
                    pending.append(index)
            completed.append(result)
        if pending is None:
            return completed
        return _gather_items(completed, pending)

    return run


async def _awaited(awaitable: Any) -> Any:
    return await awaitable


async def _gather_items(completed: list[Any], indexes: list[int]) -> list[Any]:
    if len(indexes) == 1:
        completed[indexes[0]] = await completed[indexes[0]]
        return completed
    for index, result in zip(
        indexes, await gather_with_cancel(*(completed[i] for i in indexes)), strict=True
    ):
        completed[index] = result
    return completed
