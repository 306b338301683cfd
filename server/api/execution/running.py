"""Running a plan: each planned field or value is a closure that takes the executor, the
source object (or value) and the response path, and returns the completed result or, when
something below had to be awaited, one of our coroutines."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from types import CoroutineType
from typing import TYPE_CHECKING, Any

from graphql import GraphQLField, GraphQLObjectType, Undefined
from graphql.execution.values import get_argument_values
from graphql.pyutils import Path

from server.api.execution.deferred_info import deferred_info_class

if TYPE_CHECKING:
    from server.api.execution.executor import FastExecutor

# Runs a planned field or value: (executor, source or value, path) -> result or our coroutine.
Run = Callable[["FastExecutor", Any, Path | None], Any]


class Abandon(Exception):
    """The fast path cannot guarantee graphql-core's result; run graphql-core instead."""


class Value:
    """How to complete a value of one output type: ``run``; whether any resolver below it
    needs a response path (without one, paths are never built); for a leaf, the one Python
    type its coercion returns unchanged, if any."""

    __slots__ = ("needs_path", "run", "unchanged")

    def __init__(self, run: Run, needs_path: bool, unchanged: type | None = None) -> None:
        self.run, self.needs_path, self.unchanged = run, needs_path, unchanged


# Completes a leaf attribute's value that is not of its ``unchanged`` type.
Finish = Callable[["FastExecutor", Any], Any]
# A planned field: its response key and how to run it on a source object; for an attribute
# leaf (the most common field of all: a str or bool attribute, returned as it is) also the
# attribute, its unchanged type and how to finish any other value, so that run_fields reads
# it without a call.
Field = tuple[str, Run, str | None, type | None, Finish | None]


def generic_field(key: str, run: Run) -> Field:
    return (key, run, None, None, None)


def attribute_leaf(key: str, attribute: str, value: Value) -> Field:
    complete, unchanged = value.run, value.unchanged
    assert unchanged is not None

    def finish(executor: FastExecutor, result: Any) -> Any:
        if executor.is_awaitable(result):
            return executor.await_and_complete(result, complete, None)
        return complete(executor, result, None)

    def run_leaf(executor: FastExecutor, source: Any, path: Path | None) -> Any:
        result = getattr(source, attribute)
        return result if type(result) is unchanged else finish(executor, result)

    return (key, run_leaf, attribute, unchanged, finish)


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
    key: str, field_def: GraphQLField, details_list: Any, parent_type: GraphQLObjectType,
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
        arguments = get_argument_values(
            field_def, first, executor.variable_values, None, executor.hide_suggestions
        ) if has_arguments else {}
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

    def __init__(self, field: Any, info_name: str | None, info_class: type,
                 arguments: tuple[tuple[str, str], ...]) -> None:
        self.field, self.info_name, self.info_class = field, info_name, info_class
        self.arguments = arguments


def direct_field(
    key: str, field_def: GraphQLField, details_list: Any, parent_type: GraphQLObjectType,
    value: Value, call: DirectCall,
) -> Run:
    complete, needs_path = value.run, value.needs_path
    field, info_name, info_class, arguments = (
        call.field, call.info_name, call.info_class, call.arguments
    )
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
            result = resolver.wrapped_func(
                source, info=info_class(executor, site, field_path, field)
            )
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


async def complete_later(
    executor: FastExecutor, awaitable: Any, complete: Run, path: Path | None
) -> Any:
    completed = complete(executor, await awaitable, path)
    if type(completed) is CoroutineType:
        completed = await completed
    return completed


def run_fields(
    executor: FastExecutor, fields: tuple[Field, ...], source: Any, path: Path | None
) -> Any:
    data: dict[str, Any] = {}
    pending: list[str] | None = None
    for key, run, attribute, unchanged, finish in fields:
        if attribute is not None:
            result = getattr(source, attribute)
            if type(result) is not unchanged:
                result = finish(executor, result)  # type: ignore[misc]
        else:
            result = run(executor, source, path)
        data[key] = result
        if type(result) is CoroutineType:
            if pending is None:
                pending = [key]
            else:
                pending.append(key)
    if pending is None:
        return data
    return executor.later(_gather_fields(data, pending))


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
            raise Abandon() from result
    return results


def leaf_value(type_: Any, nullable: bool, unchanged: type | None) -> Run:
    coerce = type_.coerce_output_value

    def run(executor: FastExecutor, value: Any, path: Path | None) -> Any:
        if type(value) is unchanged:
            return value
        if value is None or value is Undefined:
            if nullable:
                return None
            raise Abandon()
        if isinstance(value, Exception):
            raise Abandon()
        coerced = coerce(value)
        if coerced is None or coerced is Undefined:
            raise Abandon()
        return coerced

    return run


def object_value(fields: tuple[Field, ...], nullable: bool) -> Run:
    def run(executor: FastExecutor, value: Any, path: Path | None) -> Any:
        if value is None or value is Undefined:
            if nullable:
                return None
            raise Abandon()
        if isinstance(value, Exception):
            raise Abandon()
        return run_fields(executor, fields, value, path)

    return run


def list_value(item: Value, nullable: bool) -> Run:
    complete, needs_path = item.run, item.needs_path

    def run(executor: FastExecutor, value: Any, path: Path | None) -> Any:
        if value is None or value is Undefined:
            if nullable:
                return None
            raise Abandon()
        if type(value) is not list and type(value) is not tuple:
            raise Abandon()  # other iterables (and async ones) are left to graphql-core
        is_awaitable = executor.is_awaitable
        completed: list[Any] = []
        pending: list[int] | None = None
        for index, entry in enumerate(value):
            item_path = Path(path, index, None) if needs_path else None
            if is_awaitable(entry):
                result = executor.await_and_complete(entry, complete, item_path)
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
        return executor.later(_gather_items(completed, pending))

    return run


async def _gather_items(completed: list[Any], indexes: list[int]) -> list[Any]:
    if len(indexes) == 1:
        completed[indexes[0]] = await completed[indexes[0]]
        return completed
    for index, result in zip(indexes, await _gather([completed[i] for i in indexes]),
                             strict=True):
        completed[index] = result
    return completed
